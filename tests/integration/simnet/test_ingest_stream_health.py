"""The real Ingest actor (in the session's Ray) on a provider that first sends a malformed notification and then
goes silent on an open socket while simnet's chain keeps launching coins: the bad message is counted and skipped,
the stream is reported stale in `status()["stream"]` and the `launchray_stream_stale` gauge, it is given a new
connection, and the launches it missed come back through the backfill (RpcPool -> the provider -> simnet)."""
from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import ray

from actors import names
from actors.analyzer import AnalyzerShard
from actors.ingest import Ingest
from actors.ledger import LedgerActor
from actors.orchestrator import Orchestrator
from actors.rpc_pool import RpcPool
from pipelines.chain import programs as P
from pipelines.config import config_with, load_config

from .hostile import SUB_ID, HostileProvider, answer_subscribes, launch, notification, of

pytestmark = pytest.mark.ray

STREAM_KEYS = {"state", "slots_behind", "last_notification_slot", "chain_slot"}


async def test_a_silent_stream_is_stale_reconnected_and_its_gap_recovered(ray_session, sn, tmp_path):
    first, second = launch(sn.bank), launch(sn.bank)

    async def script(ws, n):
        await answer_subscribes(ws)
        if n == 0:
            await ws.send_str(of(first))
            await ws.send_str(notification(SUB_ID, second.signature, 10**12, [1, 2, 3]))   # the user's report
            await ws.send_str(of(second))
        # then silence, on this connection and every later one

    ns = f"ingest-health-{uuid.uuid4().hex[:8]}"
    cfg = config_with(load_config("sim", env={}), {
        "ray": {"namespace": ns, "realtime_priority": 0}, "orchestrator": {"strategies": ["momentum"]},
        "chain": {"programs": [P.PUMP], "stale_after_slots": 10, "stale_probe_s": 0.1},
        "rpc": {"backoff_base_s": 0.05, "backoff_max_s": 0.2, "timeout_s": 2.0},
        "logging": {"dir": str(tmp_path / "logs")}, "telemetry": {"trace_file": str(tmp_path / "traces.jsonl")}})
    async with HostileProvider(script, upstream=sn.http_url) as provider:
        ledger = LedgerActor.options(name=names.LEDGER, namespace=ns).remote(str(tmp_path / "ledger.sqlite"))
        pool = RpcPool.options(name=names.RPC_POOL, namespace=ns).remote([provider.http_url], cfg.rpc)
        shard = AnalyzerShard.options(name=names.shard_name(0), namespace=ns).remote(cfg, 0, 1)
        orchestrator = Orchestrator.options(name=names.ORCHESTRATOR, namespace=ns).remote(cfg)   # takes launches
        for actor in (pool, ledger, shard, orchestrator):
            await actor.ping.remote()
        # a damaged cursor row in the ledger (a file is outside input too) must not keep Ingest from starting
        await ledger.save_counters.remote({"ingest_cursors": {P.PUMP: "garbage", "x": [[1], True]}}, 0.0)
        ingest = Ingest.options(name=names.INGEST, namespace=ns).remote(cfg, [provider.ws_url], 1)
        try:
            seen: list[dict] = []
            missed = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while loop.time() < deadline:
                if len(missed) < 5:
                    missed.append(launch(sn.bank))          # chain activity the silent stream does not deliver
                st = await ingest.status.remote()
                seen.append(st)
                if (provider.connections >= 2 and st["launches_seen"] == 2 + len(missed) == 7
                        and any(s["stream"]["state"] == "stale" for s in seen)):
                    break
                await asyncio.sleep(0.1)
            # raw notifications fed without a socket (recordings, benchmarks) are checked the same way
            fed = launch(sn.bank)
            events = await ingest.ingest_notifications.remote(
                [{"garbage": 1}, 5, json.loads(notification(1, fed.signature, fed.slot, [1, 2, 3])),
                 json.loads(of(fed))])
            after_feed = await ingest.status.remote()
            samples = await ingest.metrics_snapshot.remote()
        finally:
            for actor in (ingest, orchestrator, shard, pool, ledger):
                ray.kill(actor)
    assert all(set(s["stream"]) == STREAM_KEYS for s in seen)
    states = [s["stream"]["state"] for s in seen]
    assert "stale" in states and states[0] in ("live", "disconnected")
    for stale in (s["stream"] for s in seen if s["stream"]["state"] == "stale"):
        assert stale["last_notification_slot"] == second.slot     # the bad message's slot (10**12) moved nothing
        assert stale["slots_behind"] == stale["chain_slot"] - second.slot >= 10
    assert provider.connections >= 2 and seen[-1]["reconnects"] >= 1      # a new connection for the stale stream
    assert seen[-1]["launches_seen"] == 7                     # the two it was sent + the five the backfill found
    assert seen[-1]["rejects"] == {"ws_shape": 1}
    assert [s.value for s in samples if s.name == "launchray_stream_stale"] in ([0.0], [1.0])   # the gauge is out
    assert events == 1 and after_feed["launches_seen"] == 8                # the create's launch event; 3 rejected
    assert after_feed["rejected"] == seen[-1]["rejected"] + 3
    assert sum(s.value for s in samples if s.name == "launchray_decode_errors"
               and dict(s.labels)["source"] == "ws_shape") == 1 + 3      # the stream's one, the feed's three
