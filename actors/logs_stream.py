"""LogsStream: the chain's log notifications, complete across disconnects. Ingest and `launchray record` both
read the chain through it.

One logsSubscribe per program on the first WebSocket URL that answers. On a disconnect it reconnects with
backoff and then, in this order: plans the gap from the cursors as they stand (before any new notification
moves them), subscribes (notifications arriving meanwhile are kept), and backfills the gap with
getSignaturesForAddress + getTransaction. A notification whose logs were cut off is re-read as a whole
transaction (its event-CPI inner instructions carry the events), retried while it is not yet at the
commitment. Every signature is taken once (the core's dedupe), so nothing is detected twice and nothing is
lost across a reconnect.

Every input is checked at the edge before it is trusted (pipelines/stream_input.py): a frame over 1 MiB (aiohttp
closes the socket: counted, reconnected, the gap backfilled), a binary frame, garbage or too deeply nested JSON, a
notification of the wrong shape or for an unknown subscription, a bad subscribe reply, a wrong signature page or
transaction. Each is counted (`rejects`, and launchray_decode_errors{source} through `on_decode_error`), logged
once per kind and skipped; only a broken subscribe or frame costs the connection. The check comes before the
core's accept, so a bad message never marks a signature seen or moves a cursor. A message skipped on a live
subscription may have replaced a real notification, so its program's transactions after the cursor are read back
from the chain SUSPECT_DELAY_S later (the same backfill as after a reconnect; what merely arrived late is in the
dedupe by then and is not read twice).

The decisions (accept a notification, the gap plans, dedupe, counters) are the `core`'s (actors/ingest.py
IngestCore, over pipelines/ingest.py); this class does the sockets. What it produces goes to two callbacks:
  on_logs(signature, slot, logs, recv_ts)   an accepted notification, to decode (in batches, or at once)
  on_events(events, recv_ts)                events decoded from a fetched transaction (backfill, truncated)
`rpc` is anything with `async signatures(program, until, before, limit)` and `async transaction(signature)`.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections import Counter
from typing import Awaitable, Callable, Protocol

import aiohttp

from actors.metrics import tally
from pipelines.chain.decode import decode_transaction
from pipelines.chain.errors import DecodeError
from pipelines.ingest import backfill_order
from pipelines.redaction import redact_url
from pipelines.rpc.policy import Backoff
from pipelines.stream_input import (MAX_FRAME_BYTES, SUSPECT, LogsNote, Reject, parse_frame, read_notification,
                                    read_subscribe_reply, signature_entries, subscription_of, transaction_result)

log = logging.getLogger("launchray.logs_stream")

TRUNCATED = "Log truncated"
TRUNCATED_RETRIES = 8
MAX_BACKFILL_PAGES = 20   # 20,000 signatures per program; a longer outage is reported, not replayed forever
BACKFILL_ATTEMPTS = 12    # per gap, with backoff: minutes of RPC trouble
MAX_EARLY = 50_000        # notifications held while subscribing; a subscribe that never completes is cut
MAX_BACKGROUND_READS = 1024   # truncated-log re-reads in flight; a flood past it is counted, not queued forever
# A message skipped on a live subscription may have replaced a real notification: that program's transactions
# after the cursor are read back this long after (what is only late arrives first and is not read twice).
SUSPECT_DELAY_S = 2.0


class ChainRpc(Protocol):
    async def signatures(self, program: str, until: str | None, before: str | None, limit: int) -> list[dict]: ...

    async def transaction(self, signature: str) -> dict | None: ...


def is_truncated(logs: list[str]) -> bool:
    return any(type(line) is str and TRUNCATED in line for line in logs[-3:])


def count_decode_error(source: str) -> None:
    tally().count("decode_errors", 1, source=source)


class LogsStream:
    def __init__(self, core, ws_urls: list[str], programs: list[str], *, commitment: str, timeout_s: float,
                 backoff: Backoff, rpc: ChainRpc, on_logs: Callable[[str, int, list, float], None],
                 on_events: Callable[[list, float], Awaitable[None]],
                 on_decode_error: Callable[[str], None] = count_decode_error,
                 suspect_delay_s: float = SUSPECT_DELAY_S) -> None:
        self.core, self.ws_urls, self.programs = core, list(ws_urls), list(programs)
        self.commitment, self.timeout_s, self.backoff, self.rpc = commitment, timeout_s, backoff, rpc
        self.on_logs, self.on_events, self.on_decode_error = on_logs, on_events, on_decode_error
        self.running = True
        self.connected = False
        self.subscribed = asyncio.Event()      # set at the first successful subscription
        self.connections = 0                   # successful subscriptions so far (a new one: a new connection)
        self.rejects: Counter[str] = Counter()  # inputs skipped, by Reject label (also in launchray_decode_errors)
        self._logged: set[str] = set()         # reject kinds already logged (each is logged once, then counted)
        self.chain_slot = 0                    # the chain's slot as last read by the owner (0: unknown)
        self.suspect_delay_s = suspect_delay_s
        self._suspects: set[str] = set()       # programs with a read-back scheduled after a skipped message
        self._ws = None
        self._rng = random.Random()
        self._tasks: set[asyncio.Task] = set()
        self._plans: list = []                 # gaps still to backfill, oldest first
        self._backfiller: asyncio.Future | None = None

    async def run(self) -> None:
        attempt = 0
        urls = itertools.cycle(self.ws_urls)
        async with aiohttp.ClientSession() as session:
            while self.running:
                url = next(urls)
                try:
                    # max_msg_size: a frame over the bound closes the socket (counted ws_size, then a reconnect
                    # whose backfill covers the gap) instead of growing memory without limit
                    async with session.ws_connect(url, heartbeat=20, max_msg_size=MAX_FRAME_BYTES) as ws:
                        self._ws = ws
                        # The gap is what lies after the cursors as they stand NOW, before any new
                        # notification moves them: plan first, then subscribe, then fill the gap.
                        plans = [p for p in map(self.core.gaps.reconnected, self.programs) if p is not None]
                        subs, early = await self._subscribe(ws)
                        self.connected, attempt = True, 0
                        self.connections += 1
                        self.subscribed.set()
                        for data in early:
                            self._on_message(data, subs)
                        self._plans.extend(plans)      # a gap outlives the connection that found it
                        self._start_backfill()
                        await self._receive(ws, subs)
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ConnectionError) as exc:
                    log.warning("websocket %s: %s", redact_url(url), type(exc).__name__)   # no API key in logs
                finally:       # also when something unexpected escapes to the task's supervisor
                    self.connected = False
                    for p in self.programs:
                        self.core.gaps.disconnected(p)
                if not self.running:
                    break
                attempt += 1
                self.core.stats["reconnects"] += 1
                await asyncio.sleep(self.backoff.delay(attempt, self._rng))

    def delivered(self) -> dict[str, int]:
        """Per watched program, the newest slot the stream delivered (what stream health weighs)."""
        cursors = self.core.gaps.cursors
        return {p: cursors[p].last_slot if p in cursors else 0 for p in self.programs}

    def _reject(self, kind: Reject, n: int = 1) -> None:
        """Skip an input: counted (launchray_decode_errors{source}), logged once per kind, never raised."""
        self.rejects[kind.value] += n
        self.core.stats["rejected"] = self.core.stats.get("rejected", 0) + n
        for _ in range(n):
            self.on_decode_error(kind.value)
        if kind.value not in self._logged:
            self._logged.add(kind.value)
            log.warning("stream input skipped: %s (counted in launchray_decode_errors{source=%s}; later ones are "
                        "counted, not logged)", kind.name.lower(), kind.value)

    def _suspect(self, kind: Reject, program: str | None) -> None:
        """A skipped message may have been a real notification in disguise: read its program's transactions
        after the cursor back from the chain (all programs when it named none), once per program at a time."""
        if kind not in SUSPECT:
            return
        for p in [program] if program else self.programs:
            if p in self._suspects:
                continue
            plan = self.core.gaps.suspected(p)
            if plan is not None:
                self._suspects.add(p)
                self._spawn(self._backfill_later(plan))

    async def _backfill_later(self, plan) -> None:
        await asyncio.sleep(self.suspect_delay_s)
        self._suspects.discard(plan.program)
        self.core.stats["suspect_backfills"] = self.core.stats.get("suspect_backfills", 0) + 1
        self._plans.append(plan)
        self._start_backfill()

    def _start_backfill(self) -> None:
        if self._backfiller is None or self._backfiller.done():
            self._backfiller = asyncio.ensure_future(self._backfill_plans())

    def _frame_error(self, msg) -> Reject:
        code = getattr(msg.data, "code", None)
        return Reject.SIZE if code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG else Reject.FRAME

    async def close(self) -> None:
        self.running = False
        if self._ws is not None:
            await self._ws.close()
        for t in [*self._tasks, *([self._backfiller] if self._backfiller is not None else [])]:
            t.cancel()

    async def force_disconnect(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _subscribe(self, ws) -> tuple[dict[int, str], list[dict]]:
        """Subscribe to every program; notifications that arrive meanwhile are kept, not dropped. A reply of the
        wrong shape or a refusal ends this connection (ConnectionError: the run loop reconnects with backoff);
        the whole exchange has one deadline, so a stream of notifications cannot keep an unanswered one open."""
        early: list[dict] = []
        pending: dict[int, str] = {}
        for i, program in enumerate(self.programs, start=1):
            pending[i] = program
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": i, "method": "logsSubscribe",
                                          "params": [{"mentions": [program]}, {"commitment": self.commitment}]}))
        subs: dict[int, str] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.timeout_s
        while pending:
            msg = await asyncio.wait_for(ws.receive(), timeout=max(0.0, deadline - loop.time()))
            if msg.type == aiohttp.WSMsgType.BINARY:
                self._reject(Reject.JSON)
                continue
            if msg.type == aiohttp.WSMsgType.ERROR:
                self._reject(self._frame_error(msg))
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"websocket closed during subscribe ({msg.type})")
            data = parse_frame(msg.data)
            if isinstance(data, Reject):
                self._reject(data)
                continue
            reply = read_subscribe_reply(data, pending)
            if isinstance(reply, Reject):
                self._reject(reply)
                raise ConnectionError("logsSubscribe reply of the wrong shape")
            if reply is not None:
                if reply.subscription is None:
                    raise ConnectionError("logsSubscribe refused")
                subs[reply.subscription] = pending.pop(reply.request_id)
            elif data.get("method") == "logsNotification":
                if len(early) >= MAX_EARLY:
                    raise ConnectionError("subscribe never completed")
                early.append(data)
            else:
                self._reject(Reject.SHAPE)
        return subs, early

    async def _receive(self, ws, subs: dict[int, str]) -> None:
        async for msg in ws:
            if not self.running:
                break
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = parse_frame(msg.data)
                if isinstance(data, Reject):
                    self._reject(data)
                    self._suspect(data, None)
                else:
                    self._on_message(data, subs)
            elif msg.type == aiohttp.WSMsgType.BINARY:      # Solana's pubsub sends text only
                self._reject(Reject.JSON)
                self._suspect(Reject.JSON, None)
            elif msg.type == aiohttp.WSMsgType.ERROR:       # aiohttp has closed the socket: reconnect
                self._reject(self._frame_error(msg))
                break
            else:
                break

    def _on_message(self, data, subs: dict[int, str]) -> None:
        """One parsed message: checked before the dedupe and the cursors see it (a bad one must not mark a
        signature seen or move a cursor), then accepted, decoded in a batch or, when its logs were cut off,
        re-read as a whole transaction."""
        note = read_notification(data, subs, self.chain_slot)
        if isinstance(note, Reject):
            self._reject(note)
            self._suspect(note, subscription_of(data, subs))
            return
        self._accept(note)

    def _accept(self, note: LogsNote) -> None:
        if not self.core.accept(note.program, note.signature, note.slot, note.err):
            return
        recv = time.time()
        if is_truncated(note.logs):
            self.core.stats["truncated"] += 1
            if len(self._tasks) >= MAX_BACKGROUND_READS:
                self.core.stats["truncated_lost"] = self.core.stats.get("truncated_lost", 0) + 1
                self._reject(Reject.OVERFLOW)
                return
            self._spawn(self.fetch(note.signature, note.slot, recv))
        else:
            self.on_logs(note.signature, note.slot, note.logs, recv)

    def fetch_later(self, sig: str) -> None:
        """Read a transaction whose logs came cut off (retried in the background, its events to on_events)."""
        self._spawn(self.fetch(sig, None, time.time()))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        """A background read that raised is reported, not left for the garbage collector to mention."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("stream background read failed: %s", type(exc).__name__)
            self.on_decode_error("stream_task")

    async def fetch(self, sig: str, slot: int | None, recv: float) -> None:
        """Logs were cut off: the events come from the whole transaction. A notification can arrive before the
        transaction reaches the commitment getTransaction reads at, so retry for a few slots."""
        for attempt in range(TRUNCATED_RETRIES):
            try:
                tx = await self.rpc.transaction(sig)
            except Exception as exc:     # the RPC pool restarting, every endpoint down: retried
                log.warning("truncated tx %s: %s", sig, type(exc).__name__)
                tx = None
            tx = self._checked_tx(tx)
            if tx is not None:
                try:
                    await self._decode_and_emit(tx, sig, slot, recv)
                    return
                except Exception as exc:   # a peer failing mid-restart: reported, and tried again below
                    log.error("truncated tx %s: events not dispatched: %s", sig, type(exc).__name__)
                    self.on_decode_error("dispatch")
            await asyncio.sleep(0.4 * (attempt + 1))
        self.core.dedupe.forget(sig)       # a later backfill that lists it may still take it
        self.core.stats["truncated_lost"] = self.core.stats.get("truncated_lost", 0) + 1
        log.error("truncated tx %s: not delivered after %d reads; its events are missing", sig, TRUNCATED_RETRIES)

    async def fetch_marked(self, sig: str, slot: int | None) -> None:
        if sig not in self.core.dedupe:
            self.core.dedupe.first_time(sig)
            self.core.stats["backfilled"] += 1
            await self.fetch(sig, slot, time.time())

    def _checked_tx(self, tx) -> dict | None:
        """A getTransaction result of the wrong shape counts and reads as 'not available yet' (retried)."""
        checked = transaction_result(tx)
        if isinstance(checked, Reject):
            self._reject(checked)
            return None
        return checked

    async def _decode_and_emit(self, tx: dict, sig: str, slot: int | None, recv: float) -> None:
        try:
            events = decode_transaction(tx, signature=sig, slot=slot)
        except DecodeError:
            self.core.stats["decode_errors"] += 1
            self.on_decode_error("transaction")
            return
        except Exception as exc:   # hostile tx JSON can trip more than DecodeError (TypeError, KeyError, ...)
            self.core.stats["decode_errors"] += 1
            self.on_decode_error("transaction")
            if "transaction_bug" not in self._logged:
                self._logged.add("transaction_bug")
                log.warning("tx %s failed to decode: %s (counted as source=transaction)", sig, type(exc).__name__)
            return
        if events:
            await self.on_events(events, recv)

    async def _backfill_plans(self) -> None:
        """Every gap, oldest first, each retried with backoff until it is done: neither a later disconnect (the
        RPC reads do not need the WebSocket) nor an RPC storm loses a gap. What a retry meets again is skipped
        (dedupe). A gap that fails BACKFILL_ATTEMPTS times is reported and counted."""
        attempt = 0
        while self._plans and self.running:
            plan = self._plans[0]
            try:
                await self._backfill(plan)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                if attempt < BACKFILL_ATTEMPTS:
                    log.warning("backfill %s failed (%s), retrying", plan.program, type(exc).__name__)
                    await asyncio.sleep(self.backoff.delay(attempt, self._rng))
                    continue
                self.core.stats["backfill_failed"] = self.core.stats.get("backfill_failed", 0) + 1
                log.error("backfill %s failed %d times: this gap's events are missing (%s)", plan.program,
                          attempt, type(exc).__name__)
            self._plans.pop(0)
            attempt = 0

    async def _backfill(self, plan) -> None:
        pages, before = [], None
        while True:
            raw = await self.rpc.signatures(plan.program, plan.until, before, plan.page_limit)
            try:
                page, bad = signature_entries(raw)
            except ValueError:              # not a page at all: the plan is retried (with backoff)
                self._reject(Reject.SIGNATURES)
                raise
            if bad:
                self._reject(Reject.SIGNATURES, bad)
            pages.append(page)
            if len(raw or ()) < plan.page_limit:
                break
            if len(pages) >= MAX_BACKFILL_PAGES or not page:
                self.core.stats["backfill_truncated"] = self.core.stats.get("backfill_truncated", 0) + 1
                log.error("backfill of %s stopped after %d pages: older gap not replayed", plan.program, len(pages))
                break
            before = page[-1]["signature"]
        for entry in backfill_order(pages, plan):
            sig = entry["signature"]
            if sig in self.core.dedupe:
                continue
            tx = self._checked_tx(await self.rpc.transaction(sig))
            if tx is None:        # listed but not readable yet: read it like a truncated one (retries, counted)
                self._spawn(self.fetch_marked(sig, entry["slot"]))
                continue
            self.core.dedupe.first_time(sig)
            try:
                await self._decode_and_emit(tx, sig, entry["slot"], time.time())
            except BaseException:     # not delivered (a peer down): the plan's retry must take it again
                self.core.dedupe.forget(sig)
                raise
            self.core.stats["backfilled"] += 1
