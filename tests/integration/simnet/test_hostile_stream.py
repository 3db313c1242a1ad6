"""The malformed-notification stream (issue 14): a provider that mixes every kind of bad input into a live
subscription must not cost a single launch. LogsStream is driven directly (no Ray) against a real aiohttp WebSocket
on 127.0.0.1 (tests/integration/simnet/hostile.py) whose launches are real pump.fun creates executed by simnet's
bank; the backfill after a reconnect reads simnet's real JSON-RPC through RpcClient.

What today's code did with the first of these inputs (`"logs": [1, 2, 3]` on a live subscription id): `is_truncated`
raised TypeError, the stream task died silently and every later launch was missed.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter

from aiohttp import web

from actors.ingest import IngestCore
from actors.logs_stream import LogsStream
from actors.metrics import flush_tallies, metrics
from actors.rpc_client import RpcClient
from actors.supervised import supervise
from pipelines.chain import programs as P
from pipelines.config import RpcConfig
from pipelines.rpc.policy import Backoff

from .hostile import SUB_ID, HostileProvider, answer_subscribes, launch, notification, of

FAST = RpcConfig(requests_per_second=1000, burst=1000, backoff_base_s=0.02, backoff_max_s=0.1, max_retries=2)


class ClientRpc:
    """LogsStream's two chain reads through RpcClient (what the RpcPool actor hosts), without Ray."""

    def __init__(self, client: RpcClient) -> None:
        self.client = client

    async def signatures(self, program, until, before, limit):
        return await self.client.get_signatures_for_address(program, until, before, limit)

    async def transaction(self, signature):
        return await self.client.get_transaction(signature)


def decode_errors() -> Counter:
    flush_tallies()
    return Counter({dict(s.labels)["source"]: s.value for s in metrics().registry.snapshot()
                    if s.name == "launchray_decode_errors"})


class Run:
    """A LogsStream on the provider, every launch it delivers collected (from notifications and backfill)."""

    def __init__(self, provider: HostileProvider, rpc_url: str, timeout_s: float = 2.0,
                 suspect_delay_s: float = 2.0) -> None:
        self.core = IngestCore(1)
        self.launches: list[str] = []
        self.client = RpcClient([rpc_url], FAST)
        self.stream = LogsStream(self.core, [provider.ws_url], [P.PUMP], commitment="confirmed", timeout_s=timeout_s,
                                 backoff=Backoff(0.05, 0.2), rpc=ClientRpc(self.client),
                                 on_logs=self.on_logs, on_events=self.on_events, suspect_delay_s=suspect_delay_s)

    def on_logs(self, sig, slot, logs, recv):
        events, _ = self.core.decode_batch([(sig, slot, logs)])
        self.launches.extend(ev.mint for ev in events if ev.kind == "launch")

    async def on_events(self, events, recv):
        self.launches.extend(ev.mint for ev in events if ev.kind == "launch")

    async def until(self, done, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    async def close(self, task) -> None:
        await self.stream.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self.client.close()


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


async def test_every_launch_survives_every_kind_of_malformed_notification(sn, caplog):
    caplog.set_level(logging.WARNING, logger="launchray.logs_stream")
    L = [launch(sn.bank) for _ in range(6)]
    huge_slot = 10**12          # a bad message carrying it must not move a cursor
    nested_err = {"InstructionError": [0, json.loads(deep(40))]}
    hostile = [
        # the user's report: non-string log lines on the live subscription, carrying a launch's own signature
        notification(SUB_ID, L[1].signature, huge_slot, [1, 2, 3]),
        notification(SUB_ID, [L[2].signature], L[2].slot, list(L[2].logs)),          # a list as signature
        notification(SUB_ID, None, L[2].slot, list(L[2].logs)),                      # null signature
        notification(SUB_ID, L[2].signature, None, list(L[2].logs)),                 # null slot
        notification(SUB_ID, L[2].signature, L[2].slot, None),                       # null logs
        json.dumps({"jsonrpc": "2.0", "method": "logsNotification",
                    "params": {"subscription": SUB_ID, "result": {"context": {"slot": 1}, "value": None}}}),
        notification(SUB_ID, L[2].signature, True, list(L[2].logs)),                 # a bool is not a slot
        notification(SUB_ID, L[2].signature, -5, list(L[2].logs)),                   # nor is a negative int
        "{not json",                                                                 # garbage JSON
        "[1, 2]", "42",                                                              # JSON, not an object
        b"\x00\x01binary",                                                           # a binary frame
        notification(SUB_ID + 1, L[3].signature, huge_slot, list(L[3].logs)),        # unknown subscription
        deep(100_000),                                                               # deeper than the parser
        notification(SUB_ID, L[3].signature, L[3].slot, list(L[3].logs), nested_err),  # err nested 42 deep
    ]
    expected = Counter({"ws_shape": 8, "ws_json": 4, "ws_unknown_sub": 1, "ws_depth": 2, "ws_size": 1})

    async def script(ws: web.WebSocketResponse, n: int) -> None:
        await answer_subscribes(ws)
        if n == 0:
            await ws.send_str(of(L[0]))
            for frame in hostile:
                await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
            for landed in L[1:4]:
                await ws.send_str(of(landed))
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "pad": "x" * (2 << 20)}))   # 2 MiB: over the bound
            await ws.send_str(of(L[4]))      # never read on this connection: the client closed it (1009)
        else:
            for landed in L[4:]:
                await ws.send_str(of(landed))

    before = decode_errors()
    async with HostileProvider(script, upstream=sn.http_url) as provider:
        run = Run(provider, provider.http_url)
        task = asyncio.create_task(run.stream.run())
        await run.until(lambda: len(set(run.launches)) == len(L) and not run.stream._plans)
        await asyncio.sleep(0.2)             # anything delivered twice would arrive now
        await run.close(task)
    assert run.launches and len(run.launches) == len(set(run.launches))      # nothing twice
    assert sorted(run.launches) == sorted(x.mint for x in L)                  # all 6 of 6
    assert run.stream.rejects == expected
    assert decode_errors() - before == expected                              # launchray_decode_errors{source}
    # only the oversize frame cost a connection; no other bad input did
    assert provider.connections == 2 and run.core.stats["reconnects"] == 1
    # the bad messages never reached the dedupe or the cursors
    assert run.core.gaps.cursor(P.PUMP).last_slot == max(x.slot for x in L)
    skipped = [r.getMessage() for r in caplog.records if "stream input skipped" in r.getMessage()]
    assert len(skipped) == len(expected)                                      # once per kind, not per message
    assert {m.split(": ", 1)[1].split(" ")[0] for m in skipped} == {"shape", "json", "unknown_sub", "depth", "size"}


async def test_a_launch_whose_notification_was_replaced_by_garbage_is_read_back_from_the_chain(sn):
    """What simnet's malformed_notifications fault does: the bad variant REPLACES the real notification, so the
    real one never comes. Each skipped message makes the stream read its program's transactions after the
    cursor back from the chain (a moment later, so what is merely in flight is not read twice): nothing is lost,
    and the connection stays up."""
    L = [launch(sn.bank) for _ in range(7)]
    replaced = [
        notification(SUB_ID, L[1].signature, L[1].slot, [1, 2, 3]),
        json.dumps({"jsonrpc": "2.0", "method": "logsNotification",
                    "params": {"subscription": SUB_ID, "result": {"context": {"slot": L[2].slot}, "value": None}}}),
        of(L[3], sub=SUB_ID + 99),                                   # the real notification, a stranger's sub id
        of(L[4]).encode(),                                           # the real notification in a binary frame
        '}{"jsonrpc": 2.0, method: logsNotification ]]',             # L5's, unreadable
    ]

    async def script(ws, n):
        await answer_subscribes(ws)
        await ws.send_str(of(L[0]))
        for frame in replaced:
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        await ws.send_str(of(L[6]))

    async with HostileProvider(script, upstream=sn.http_url) as provider:
        run = Run(provider, provider.http_url, suspect_delay_s=0.2)
        task = asyncio.create_task(run.stream.run())
        await run.until(lambda: len(set(run.launches)) == len(L))
        await asyncio.sleep(0.3)
        await run.close(task)
    assert sorted(run.launches) == sorted(x.mint for x in L) and len(run.launches) == len(L)
    assert run.stream.rejects == Counter({"ws_shape": 2, "ws_unknown_sub": 1, "ws_json": 2})
    assert provider.connections == 1 and run.core.stats["reconnects"] == 0
    assert 1 <= run.core.stats["suspect_backfills"] <= 2     # one read-back per program at a time, not per message


async def test_garbage_while_subscribing_is_counted_and_the_next_connection_delivers(sn):
    L = [launch(sn.bank) for _ in range(2)]

    async def script(ws, n):
        if n == 0:
            req = json.loads((await ws.receive()).data)
            await ws.send_str("{not json")                                            # skipped, still waiting
            await ws.send_bytes(b"\xff")                                              # skipped
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": "abc"}))   # no usable id
        else:
            await answer_subscribes(ws)
            for landed in L:
                await ws.send_str(of(landed))

    async with HostileProvider(script, upstream=sn.http_url) as provider:
        run = Run(provider, provider.http_url)
        task = asyncio.create_task(run.stream.run())
        await run.until(lambda: len(set(run.launches)) == len(L))
        await run.close(task)
    assert sorted(run.launches) == sorted(x.mint for x in L)
    assert run.stream.rejects == Counter({"ws_json": 2, "ws_subscribe": 1})
    assert provider.connections == 2


async def test_a_subscribe_that_is_never_answered_is_cut_even_while_notifications_flow(sn):
    """A provider that never answers logsSubscribe but keeps sending notifications: each one used to restart the
    per-message timeout, so the stream waited forever. The whole exchange has one deadline (2 x timeout_s)."""
    L = [launch(sn.bank) for _ in range(2)]

    async def script(ws, n):
        if n == 0:
            await ws.receive()                                  # the request, never answered
            while not ws.closed:
                await ws.send_str(of(L[0]))
                await asyncio.sleep(0.05)
        else:
            await answer_subscribes(ws)
            for landed in L:
                await ws.send_str(of(landed))

    async with HostileProvider(script, upstream=sn.http_url) as provider:
        run = Run(provider, provider.http_url, timeout_s=0.5)
        task = asyncio.create_task(run.stream.run())
        await run.until(lambda: len(set(run.launches)) == len(L), timeout=6.0)
        await run.close(task)
    assert sorted(run.launches) == sorted(x.mint for x in L)
    assert provider.connections == 2 and run.core.stats["reconnects"] == 1


async def test_backfill_skips_what_the_rpc_gets_wrong_and_keeps_the_rest(sn):
    """After a reconnect the gap is read with getSignaturesForAddress + getTransaction: pages, entries and results
    of the wrong shape are counted and skipped (or retried), and the real launches in the gap are all recovered."""
    first, *gap = [launch(sn.bank) for _ in range(3)]
    broken = gap[0].signature          # its getTransaction answers a list first, then the real transaction
    calls = Counter()
    real_page: list = []

    async def rpc_override(method, params, upstream):
        calls[method] += 1
        if method == "getSignaturesForAddress":
            if calls[method] == 1:
                return ({"not": "a page"},)                 # the whole page is wrong: the gap is retried
            page = await upstream()
            real_page.extend(page)
            # simnet's real page with garbage mixed in: a string, a list signature, a bool slot, a null slot
            return (["garbage", {"signature": [1], "slot": 3}, {"signature": gap[1].signature, "slot": True},
                     {"signature": gap[1].signature, "slot": None}, *page],)
        if method == "getTransaction" and params[0] == broken:
            calls["broken"] += 1
            if calls["broken"] == 1:
                return ([1, 2, 3],)
        return None

    async def script(ws, n):
        await answer_subscribes(ws)
        if n == 0:
            await ws.send_str(of(first))
            await asyncio.sleep(0.1)
            await ws.close()                                    # a gap: the other two come from the backfill

    async with HostileProvider(script, upstream=sn.http_url, rpc_override=rpc_override) as provider:
        run = Run(provider, provider.http_url)
        task = asyncio.create_task(run.stream.run())
        await run.until(lambda: len(set(run.launches)) == 3 and not run.stream._plans)
        await asyncio.sleep(0.2)
        await run.close(task)
    assert {e["signature"] for e in real_page} >= {g.signature for g in gap}     # the gap was real
    assert sorted(run.launches) == sorted(x.mint for x in (first, *gap))
    assert len(run.launches) == 3
    assert calls["broken"] == 2                                                    # the bad answer was read again
    assert run.stream.rejects == Counter({"rpc_signatures": 1 + 4, "rpc_transaction": 1})


async def test_a_stream_task_that_raises_is_restarted_by_its_supervisor(sn):
    """Anything that escapes LogsStream.run (here the consumer's callback failing once) ends the task; under
    `supervise` it is logged, counted and started again, and the later launches still arrive."""
    L = [launch(sn.bank) for _ in range(3)]

    async def script(ws, n):
        await answer_subscribes(ws)
        for landed in (L[:2] if n == 0 else L[1:]):
            await ws.send_str(of(landed))

    async with HostileProvider(script, upstream=sn.http_url) as provider:
        run = Run(provider, provider.http_url)
        deliver, failed = run.on_logs, []

        def on_logs(sig, slot, logs, recv):
            if not failed:
                failed.append(sig)
                raise RuntimeError("consumer bug")
            deliver(sig, slot, logs, recv)

        run.stream.on_logs = on_logs
        restarts = Counter()
        task = supervise("test.stream", run.stream.run, running=lambda: run.stream.running,
                         backoff=Backoff(0.02, 0.05), restarts=restarts)
        await run.until(lambda: set(run.launches) >= {x.mint for x in L[1:]})
        await run.close(task)
    assert restarts == Counter({"test.stream": 1})
    assert set(run.launches) == {x.mint for x in L[1:]}      # the first was taken by the failing consumer


async def test_a_gap_launch_whose_delivery_fails_is_taken_again_by_the_retry(sn):
    """The consumer of a backfilled transaction fails once (a peer restarting): the plan's retry must deliver it,
    not skip it as already seen."""
    first, *gap = [launch(sn.bank) for _ in range(2)]

    async def script(ws, n):
        await answer_subscribes(ws)
        if n == 0:
            await ws.send_str(of(first))
            await asyncio.sleep(0.1)
            await ws.close()                                    # the second launch is in the gap

    async with HostileProvider(script, upstream=sn.http_url) as provider:
        run = Run(provider, provider.http_url)
        delivered = run.on_events
        failures = Counter()

        async def flaky(events, recv):
            if any(ev.kind == "launch" for ev in events) and not failures["launch"]:
                failures["launch"] += 1
                raise RuntimeError("peer restarting")
            await delivered(events, recv)

        run.stream.on_events = flaky
        task = asyncio.create_task(run.stream.run())
        await run.until(lambda: len(run.launches) == 2 and not run.stream._plans)
        await asyncio.sleep(0.2)
        await run.close(task)
    assert failures["launch"] == 1
    assert sorted(run.launches) == sorted(x.mint for x in (first, *gap))
