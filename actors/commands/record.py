"""`launchray record --out DIR [--profile P] [--duration S]`: record the decoded chain event stream.

Subscribes like Ingest: one logsSubscribe per watched program on the chain's WebSocket, each transaction taken
once (signature dedupe), failed ones skipped, logs decoded with pipelines/chain/decode.py decode_logs (a
truncated log is re-read in full with getTransaction); on a disconnect it reconnects with backoff and fills the
gap with getSignaturesForAddress + getTransaction. The chain is the embedded simnet with its market by default
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
import random
import signal
import sys
import time
from pathlib import Path

HELP = "record the decoded event stream of the chain (simnet by default) to hour-partitioned Parquet"
TRUNCATED = "Log truncated"
FETCH_ATTEMPTS = 6
FETCH_RETRY_S = 0.25


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


class StreamRecorder:
    """The WebSocket side: subscriptions, dedupe, decode, backfill; everything decoded goes to `recorder`."""

    def __init__(self, cfg, ws_urls: list[str], rpc: _Rpc, recorder, programs: list[str]) -> None:
        from pipelines.ingest import GapTracker, SignatureDedupe
        from pipelines.rpc.policy import Backoff
        self.cfg, self.ws_urls, self.rpc, self.recorder, self.programs = cfg, ws_urls, rpc, recorder, programs
        self.dedupe = SignatureDedupe()
        self.gaps = GapTracker()
        self.backoff = Backoff(cfg.rpc.backoff_base_s, cfg.rpc.backoff_max_s)
        self.rng = random.Random()
        self.subscribed = asyncio.Event()
        self._plans: list = []
        self.running = True
        self.stats = {"notifications": 0, "duplicates": 0, "failed_tx": 0, "decode_errors": 0, "truncated": 0,
                      "backfilled": 0, "reconnects": 0, "fetch_missing": 0}

    def _take(self, program: str, sig: str, slot: int, err) -> bool:
        self.stats["notifications"] += 1
        self.gaps.seen(program, sig, slot)
        if not self.dedupe.first_time(sig):
            self.stats["duplicates"] += 1
            return False
        if err is not None:
            self.stats["failed_tx"] += 1
            return False
        return True

    async def run(self) -> None:
        import itertools

        import aiohttp
        attempt = 0
        urls = itertools.cycle(self.ws_urls)
        async with aiohttp.ClientSession() as session:
            while self.running:
                url = next(urls)
                try:
                    async with session.ws_connect(url, heartbeat=20, max_msg_size=0) as ws:
                        subs = await self._subscribe(ws)
                        attempt = 0
                        self.subscribed.set()
                        backfill = asyncio.create_task(self._backfill_all())
                        await self._receive(ws, subs)
                        backfill.cancel()
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ConnectionError) as exc:
                    print(f"launchray record: websocket {url}: {type(exc).__name__}", file=sys.stderr)
                for p in self.programs:
                    self.gaps.disconnected(p)
                if not self.running:
                    break
                attempt += 1
                self.stats["reconnects"] += 1
                await asyncio.sleep(self.backoff.delay(attempt, self.rng))

    async def _subscribe(self, ws) -> dict:
        import aiohttp
        pending = {}
        for i, program in enumerate(self.programs, start=1):
            pending[i] = program
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": i, "method": "logsSubscribe",
                                          "params": [{"mentions": [program]},
                                                     {"commitment": self.cfg.chain.commitment}]}))
        subs = {}
        while pending:
            msg = await asyncio.wait_for(ws.receive(), timeout=self.cfg.rpc.timeout_s)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"websocket closed during subscribe ({msg.type})")
            data = json.loads(msg.data)
            if data.get("id") in pending:
                if "error" in data:
                    raise ConnectionError(f"logsSubscribe refused: {data['error']}")
                subs[data["result"]] = pending.pop(data["id"])
        # a plan for each program we had seen something on (none on the first connect)
        self._plans = [plan for plan in map(self.gaps.reconnected, self.programs) if plan is not None]
        return subs

    async def _receive(self, ws, subs: dict) -> None:
        import aiohttp

        from pipelines.chain.decode import decode_logs
        from pipelines.chain.errors import DecodeError
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT or not self.running:
                break
            try:
                data = json.loads(msg.data)
                result = data["params"]["result"]
                value, slot = result["value"], result["context"]["slot"]
                program = subs.get(data["params"]["subscription"], "")
                sig = value["signature"]
                logs = value.get("logs") or []
            except (KeyError, TypeError, ValueError):
                continue
            recv = time.time()
            if not self._take(program, sig, slot, value.get("err")):
                continue
            if any(TRUNCATED in line for line in logs[-3:]):
                self.stats["truncated"] += 1
                asyncio.create_task(self._fetch(sig, slot, recv))
                continue
            try:
                events = decode_logs(sig, slot, logs, None)
            except DecodeError:
                self.stats["decode_errors"] += 1
                continue
            if events:
                self.recorder.add(events, recv)

    async def _fetch(self, sig: str, slot: int | None, recv: float) -> None:
        from pipelines.chain.decode import decode_transaction
        from pipelines.chain.errors import DecodeError
        try:
            for attempt in range(FETCH_ATTEMPTS):   # null until the tx reaches the commitment asked for
                tx = await self.rpc.call("getTransaction", [sig, {"encoding": "json", "commitment": "confirmed",
                                                                   "maxSupportedTransactionVersion": 0}])
                if tx is not None:
                    break
                await asyncio.sleep(FETCH_RETRY_S * (attempt + 1))
            else:
                self.stats["fetch_missing"] += 1
                print(f"launchray record: tx {sig[:12]}.. not found after {FETCH_ATTEMPTS} tries", file=sys.stderr)
                return
            events = decode_transaction(tx, signature=sig, slot=slot)
            if events:
                self.recorder.add(events, recv)
        except (DecodeError, ConnectionError) as exc:
            self.stats["decode_errors"] += 1
            print(f"launchray record: tx {sig[:12]}..: {exc}", file=sys.stderr)

    async def _backfill_all(self) -> None:
        from pipelines.ingest import backfill_order
        plans, self._plans = self._plans, []
        for plan in plans:
            try:
                pages, before = [], None
                while True:
                    opts = {"until": plan.until, "limit": plan.page_limit}
                    if before:
                        opts["before"] = before
                    page = await self.rpc.call("getSignaturesForAddress", [plan.program, opts]) or []
                    pages.append(page)
                    if len(page) < plan.page_limit:
                        break
                    before = page[-1]["signature"]
                for entry in backfill_order(pages, plan):
                    sig = entry["signature"]
                    if sig in self.dedupe:
                        continue
                    self.dedupe.first_time(sig)
                    self.stats["backfilled"] += 1
                    await self._fetch(sig, entry.get("slot"), time.time())
            except Exception as exc:      # a failed backfill never stops the recording
                print(f"launchray record: backfill {plan.program[:8]}: {exc}", file=sys.stderr)


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
        stream = StreamRecorder(cfg, ws, rpc, recorder, list(cfg.chain.programs or WATCHED_PROGRAMS))
        task = asyncio.create_task(stream.run())
        try:
            await asyncio.wait_for(stream.subscribed.wait(), timeout=cfg.rpc.timeout_s * 3)
        except asyncio.TimeoutError:
            stream.running = False
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
        stream.running = False
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        return stream.stats


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
