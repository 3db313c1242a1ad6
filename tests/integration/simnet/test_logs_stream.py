"""LogsStream against simnet's real WebSocket and RPC on loopback: every launch the market made comes out exactly
once, across a pubsub outage, an RPC 429 storm during the backfill, and a second disconnect in the middle of it
(the first gap's backfill must survive the second connection's loss)."""
from __future__ import annotations

import asyncio
import time

import aiohttp

from actors.commands.record import _attach_market, _Rpc
from actors.ingest import IngestCore
from actors.logs_stream import LogsStream
from pipelines.chain.decode import decode_logs
from pipelines.config import config_with, load_config
from pipelines.rpc.policy import Backoff
from simnet.server import SimnetThread


def test_every_launch_once_across_an_outage_a_429_storm_and_a_second_disconnect():
    cfg = config_with(load_config("sim", env={}), {
        "simnet": {"speed": 8.0, "launches_per_minute": 60.0}, "rpc": {"backoff_base_s": 0.05, "backoff_max_s": 0.5}})
    sn = SimnetThread(cfg).start()
    launches: list[str] = []
    core = IngestCore(1)

    def collect(events):
        launches.extend(ev.mint for ev in events if ev.kind == "launch")

    def on_logs(sig, slot, logs, recv):
        collect(decode_logs(sig, slot, logs, None))

    async def on_events(events, recv):
        collect(events)

    def faults(changes: dict) -> None:
        sn.call(sn.simnet.faults.configure, changes)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            rpc = _Rpc(session, [sn.simnet.http_url], 2.0)
            stream = LogsStream(core, [sn.simnet.ws_url], ["6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"],
                                commitment="confirmed", timeout_s=2.0, backoff=Backoff(0.05, 0.5), rpc=rpc,
                                on_logs=on_logs, on_events=on_events)
            task = asyncio.create_task(stream.run())
            await asyncio.wait_for(stream.subscribed.wait(), 10)
            _attach_market(sn, cfg)
            steps = [(2.0, {"ws_disconnect_now": True, "ws_refuse_connections": True}),   # an outage: a gap
                     (4.0, {"http_429_rate": 0.7}),                                       # back, but RPC storms
                     (4.6, {"ws_disconnect_now": True, "http_429_rate": 0.7}),            # cut mid-backfill
                     (6.5, {})]
            start = time.monotonic()
            for at, changes in steps:
                await asyncio.sleep(max(0.0, at - (time.monotonic() - start)))
                faults(changes)
            await asyncio.sleep(2.0)
            market = sn.simnet.market
            sn.call(sn.simnet.attach_market, None)                 # no launch after this one
            truth.extend(launch["mint"] for launch in sn.call(lambda: market.ground_truth()["launches"]))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (len(set(launches)) < len(truth) or stream._plans):
                await asyncio.sleep(0.2)
            await stream.close()
            task.cancel()

    truth: list[str] = []
    try:
        asyncio.run(scenario())
    finally:
        sn.stop()
    assert core.stats["reconnects"] >= 2 and core.stats["backfilled"] > 0     # the gap was real
    seen = set(launches)
    assert len(launches) == len(seen)                                         # nothing twice
    assert len(truth) >= 5
    missing = [m for m in truth if m not in seen]
    assert not missing, f"{len(missing)} of {len(truth)} launches missed"
    assert seen == set(truth)


def test_every_launch_once_under_simnets_malformed_notifications_fault():
    """simnet's own hostile provider (the malformed_notifications fault: every kind in turn, each REPLACING a
    real notification, the huge frame costing the connection): every launch the market made still comes out
    exactly once: a skipped message makes the stream read its program back from the chain, a cut connection
    is backfilled. The reads go through RpcClient, as Ingest's do through the RpcPool."""
    from actors.rpc_client import RpcClient
    from pipelines.config import RpcConfig

    cfg = config_with(load_config("sim", env={}), {
        "simnet": {"speed": 8.0, "launches_per_minute": 60.0}, "rpc": {"backoff_base_s": 0.05, "backoff_max_s": 0.5}})
    sn = SimnetThread(cfg).start()
    launches: list[str] = []
    core = IngestCore(1)
    fired: dict = {}

    def on_logs(sig, slot, logs, recv):
        events, _ = core.decode_batch([(sig, slot, logs)])
        launches.extend(ev.mint for ev in events if ev.kind == "launch")

    async def on_events(events, recv):
        launches.extend(ev.mint for ev in events if ev.kind == "launch")

    class ClientRpc:
        def __init__(self, client):
            self.client = client

        async def signatures(self, program, until, before, limit):
            return await self.client.get_signatures_for_address(program, until, before, limit)

        async def transaction(self, signature):
            return await self.client.get_transaction(signature)

    async def scenario() -> None:
        client = RpcClient([sn.simnet.http_url], RpcConfig(requests_per_second=1000, burst=1000))
        stream = LogsStream(core, [sn.simnet.ws_url], ["6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"],
                            commitment="confirmed", timeout_s=2.0, backoff=Backoff(0.05, 0.5), rpc=ClientRpc(client),
                            on_logs=on_logs, on_events=on_events, suspect_delay_s=0.5)
        task = asyncio.create_task(stream.run())
        await asyncio.wait_for(stream.subscribed.wait(), 10)
        _attach_market(sn, cfg)
        await asyncio.sleep(1.0)
        sn.call(sn.simnet.faults.configure, {"malformed_notifications": 0.3})
        await asyncio.sleep(4.0)
        fired.update(sn.call(sn.simnet.faults.snapshot)["malformed_by_kind"])
        sn.call(sn.simnet.faults.configure, {})
        await asyncio.sleep(1.0)
        market = sn.simnet.market
        sn.call(sn.simnet.attach_market, None)
        truth.extend(launch["mint"] for launch in sn.call(lambda: market.ground_truth()["launches"]))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (len(set(launches)) < len(truth) or stream._plans):
            await asyncio.sleep(0.2)
        rejects.update(stream.rejects)
        await stream.close()
        task.cancel()
        await client.close()

    truth: list[str] = []
    rejects: dict = {}
    try:
        asyncio.run(scenario())
    finally:
        sn.stop()
    assert set(fired) == {"logs_not_strings", "signature_list", "null_value", "null_logs", "garbage_text",
                          "unknown_subscription", "deep_nesting", "huge_frame", "binary_frame"}   # all kinds came
    assert {"ws_shape", "ws_json", "ws_unknown_sub", "ws_depth", "ws_size"} <= set(rejects)
    assert len(truth) >= 5 and len(launches) == len(set(launches))
    missing = [m for m in truth if m not in set(launches)]
    assert not missing, f"{len(missing)} of {len(truth)} launches missed"
