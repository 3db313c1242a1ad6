"""`launchray record --out DIR [--profile P] [--duration S]`: record the decoded chain event stream.

Reads the chain exactly as Ingest does, through actors/logs_stream.LogsStream: one logsSubscribe per watched
program on the chain's WebSocket, each transaction taken once (signature dedupe), failed ones skipped, logs
decoded with pipelines/chain/decode.py decode_logs (a truncated log is re-read in full with getTransaction); on
a disconnect it reconnects with backoff and fills the gap with getSignaturesForAddress + getTransaction. The chain is the embedded simnet with its market by default
(the market starts once the subscriptions are up, so every launch is recorded), or the profile's RPC URLs.
Events go to actors/recorder.Recorder: DIR/date=YYYY-MM-DD/hour=HH/part-N.parquet, plus DIR/meta.json with the
fee accounts (pump Global, the fee program's FeeConfig for pump and for PumpSwap) read when recording started,
so backtests compute fees exactly as the chain did. Stops after --duration seconds, or on Ctrl+C / SIGTERM,
and always flushes what it holds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path

HELP = "record the decoded event stream of the chain (simnet by default) to hour-partitioned Parquet"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="recording directory (created; more parts are added if it exists)")
    p.add_argument("--profile", default="sim", help="profile name in conf/ or a TOML path (default: sim)")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (default: until Ctrl+C)")
    p.add_argument("--speed", type=float, default=0.0, help="simnet only: slots run this many times faster than 400 ms")
    p.add_argument("--flush-rows", type=int, default=50_000, help="write a part every N events (default 50000)")
    p.add_argument("--flush-s", type=float, default=30.0, help="... or every N seconds (default 30)")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def _fail(msg: str) -> int:
    print(f"launchray record: {msg}".replace("\n", "; "), file=sys.stderr)
    return 2


class _Rpc:
    """The few JSON-RPC calls the recorder makes (aiohttp, first URL that answers)."""

    def __init__(self, session, urls: list[str], timeout_s: float) -> None:
        self.session, self.urls, self.timeout_s = session, list(urls), timeout_s
        self._id = 0

    async def call(self, method: str, params: list):
        import aiohttp
        last: Exception | None = None
        for url in self.urls:
            self._id += 1
            try:
                async with self.session.post(url, json={"jsonrpc": "2.0", "id": self._id, "method": method,
                                                        "params": params},
                                             timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
                    data = await resp.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                last = exc
                continue
            if isinstance(data, dict) and "error" in data:
                last = RuntimeError(f"{method}: {data['error']}")
                continue
            return data.get("result") if isinstance(data, dict) else None
        raise ConnectionError(f"{method} failed on every RPC URL: {last}")

    async def signatures(self, program: str, until, before, limit: int) -> list[dict]:
        # at "confirmed", as getTransaction reads: the provider's default (finalized) misses the newest ~32 slots
        opts = {"until": until, "limit": limit, "commitment": "confirmed"} | ({"before": before} if before else {})
        return await self.call("getSignaturesForAddress", [program, opts]) or []

    async def transaction(self, signature: str) -> dict | None:
        return await self.call("getTransaction", [signature, {"encoding": "json", "commitment": "confirmed",
                                                              "maxSupportedTransactionVersion": 0}])


def stream_into(recorder, cfg, ws_urls: list[str], rpc: _Rpc, programs: list[str]):
    """The chain's log stream (actors/logs_stream.LogsStream, as Ingest reads it: dedupe, reconnect, gap
    backfill, truncated logs re-read), every decoded event into `recorder` with its receive time."""
    from actors.ingest import IngestCore
    from actors.logs_stream import LogsStream
    from pipelines.chain.decode import decode_logs
    from pipelines.chain.errors import DecodeError
    from pipelines.rpc.policy import Backoff
    core = IngestCore(1)

    def on_logs(sig: str, slot: int, logs: list, recv: float) -> None:
        try:
            events = decode_logs(sig, slot, logs, None)
        except DecodeError:
            core.stats["decode_errors"] += 1
            return
        if events:
            recorder.add(events, recv)

    async def on_events(events: list, recv: float) -> None:
        recorder.add(events, recv)

    return LogsStream(core, ws_urls, programs, commitment=cfg.chain.commitment, timeout_s=cfg.rpc.timeout_s,
                      backoff=Backoff(cfg.rpc.backoff_base_s, cfg.rpc.backoff_max_s), rpc=rpc,
                      on_logs=on_logs, on_events=on_events)


def _attach_market(sn, cfg) -> None:
    """Start simnet's market now that we are subscribed (on simnet's loop: the bank is single-threaded)."""
    from simnet.market import Market
    simnet = sn.simnet

    def attach():
        market = Market(simnet.bank, cfg.simnet, cfg.simnet.seed)
        if hasattr(simnet, "attach_market"):
            simnet.attach_market(market)
        else:
            simnet.market = market
            simnet.clock.before_advance = market.on_slot
        return market
    return sn.call(attach)


async def _record(args, cfg, recorder, http: list[str], ws: list[str], on_subscribed) -> dict:
    import aiohttp

    from actors.recorder import fee_accounts, recording_meta
    from pipelines.chain.programs import WATCHED_PROGRAMS
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    async with aiohttp.ClientSession() as session:
        rpc = _Rpc(session, http, cfg.rpc.timeout_s)
        try:
            accounts = await fee_accounts(rpc)
        except ConnectionError as exc:
            print(f"launchray record: fee accounts not read ({exc}); backtests will use trade event rates",
                  file=sys.stderr)
            accounts = {}
        meta = recording_meta(cfg, accounts, time.time())
        recorder.write_meta(meta)
        stream = stream_into(recorder, cfg, ws, rpc, list(cfg.chain.programs or WATCHED_PROGRAMS))
        task = asyncio.create_task(stream.run())
        try:
            await asyncio.wait_for(stream.subscribed.wait(), timeout=cfg.rpc.timeout_s * 3)
        except asyncio.TimeoutError:
            await stream.close()
            task.cancel()
            raise ConnectionError(f"could not subscribe on {ws}")
        if on_subscribed is not None:
            await loop.run_in_executor(None, on_subscribed)
        started = time.time()
        deadline = started + args.duration if args.duration > 0 else float("inf")
        last = 0.0
        while not stop.is_set() and time.time() < deadline and not task.done():
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(1.0, max(0.01, deadline - time.time())))
            except asyncio.TimeoutError:
                pass
            recorder.maybe_flush()
            if not args.quiet and time.time() - last >= 5:
                last = time.time()
                print(f"[{time.time() - started:>6.0f}s] events {recorder.stats['events']} "
                      f"{json.dumps(recorder.by_kind, sort_keys=True)} | files {recorder.stats['files']}",
                      file=sys.stderr, flush=True)
        await stream.close()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        return stream.core.stats


def main(args: argparse.Namespace) -> int:
    from actors.recorder import Recorder
    from pipelines.config import ConfigError, config_with, load_config
    try:
        cfg = load_config(args.profile)
        if args.speed:
            cfg = config_with(cfg, {"simnet": {"speed": args.speed}})
        recorder = Recorder(args.out, max_rows=args.flush_rows, max_age_s=args.flush_s)
    except (ConfigError, ValueError, OSError) as exc:
        return _fail(str(exc))
    sn = None
    try:
        if cfg.chain.source == "simnet":
            from simnet.server import SimnetThread
            sn = SimnetThread(cfg).start()
            http, ws = [sn.simnet.http_url], [sn.simnet.ws_url]
            on_subscribed = lambda: _attach_market(sn, cfg)   # noqa: E731
            if not args.quiet:
                print(f"simnet: {http[0]} (ws {ws[0]}), seed {cfg.simnet.seed}, speed {cfg.simnet.speed}",
                      file=sys.stderr)
        elif cfg.chain.source == "rpc":
            http, ws, on_subscribed = list(cfg.chain.rpc_http), list(cfg.chain.rpc_ws), None
            if not ws:
                return _fail("chain.rpc_ws is empty: set the WebSocket URLs of the RPC in the profile")
        else:
            return _fail(f"chain.source = {cfg.chain.source!r} has no live stream to record")
        try:
            stats = asyncio.run(_record(args, cfg, recorder, http, ws, on_subscribed))
        except ConnectionError as exc:
            return _fail(str(exc))
        except KeyboardInterrupt:
            stats = {}
    finally:
        recorder.close()
        if sn is not None:
            sn.stop()
    summary = {"out": str(Path(args.out)), "events": recorder.stats["events"], "by_kind": recorder.by_kind,
               "files": recorder.stats["files"], "bytes": recorder.stats["bytes"],
               "skipped": recorder.stats["skipped"], "stream": stats}
    print(json.dumps(summary, indent=2))
    return 0
