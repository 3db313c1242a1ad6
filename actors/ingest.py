"""Ingest actor: chain notifications in, decoded events out to the shards, in batches.

The chain's log notifications come through actors/logs_stream.LogsStream (one logsSubscribe per watched program;
on a disconnect: reconnect with backoff, plan the gap, re-subscribe, backfill it with getSignaturesForAddress +
getTransaction through RpcPool), so nothing is lost; signatures are deduplicated so nothing is detected twice. Decoding happens in
batches; events go to AnalyzerShard actors routed by a stable hash of the mint, launches also go straight to the
Orchestrator (the sniper path), and completion/migration to the PositionTracker (emergency exits). Routing is
pipelines/stages.route, the function the backtester runs.

Nothing a provider sends can stop the stream: every notification, subscribe reply, signature page and
transaction is checked at the edge (pipelines/stream_input.py) before the dedupe or the cursors see it, a bad one
counted in launchray_decode_errors{source}, logged once per kind and skipped. Every long-running loop here is
supervised (actors/supervised.py: logged, counted in launchray_task_restarts{task}, restarted with backoff). The
stream's health (live / stale / disconnected, pipelines/stream_health.py) is probed every chain.stale_probe_s
through the RpcPool and shown in status()["stream"] and launchray_stream_stale; a stale stream gets a new
connection.

Replay mode (chain.source = "replay"): no WebSocket; the replay driver (actors/replay.py) hands each slot's
decoded events to `replay_batch`, which makes the same calls but awaits each one, so the batch has gone all the
way through the system when it returns.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter

import ray

from actors import names, observe
from actors.clock import ActorClock
from actors.metrics import count_events, count_trade_columns, metrics, tally
from actors.supervised import supervise
from pipelines import stages
from actors.logs_stream import LogsStream, is_truncated
from pipelines.chain.decode import decode_logs
from pipelines.chain.errors import DecodeError
from pipelines.chain.programs import WATCHED_PROGRAMS
from pipelines.config import Config
from pipelines.ingest import GapTracker, SignatureDedupe
from pipelines.redaction import redact_url
from pipelines.rpc.policy import Backoff
from pipelines.stream_health import StaleWatch, StreamHealth, StreamState, grace_for
from pipelines.stream_input import Reject, is_signature, is_slot, read_notification, signature_entries
from pipelines.chain.events import Trade
from pipelines.wire import EventBatch, events_of, join_batches

log = logging.getLogger("launchray.ingest")

MAX_BATCH = 2048
MAX_INFLIGHT_PER_SHARD = 8
MAX_SHARD_BATCH = 4096
CURSORS_KEY = "ingest_cursors"


class IngestCore:
    """Everything Ingest decides, without sockets: dedupe, decode, routing. Also drives replays."""

    def __init__(self, n_shards: int) -> None:
        self.n_shards = n_shards
        self.dedupe = SignatureDedupe()
        self.gaps = GapTracker()
        self.launch_mints: set[str] = set()
        self.stats = {"notifications": 0, "duplicates": 0, "failed_tx": 0, "events": 0, "decode_errors": 0,
                      "launches": 0, "truncated": 0, "backfilled": 0, "reconnects": 0, "rejected": 0}
        self._decode_bug_logged = False

    def accept(self, program: str, signature: str, slot: int, err) -> bool:
        """Should this notification be decoded? (first sighting of a successful transaction)"""
        self.stats["notifications"] += 1
        self.gaps.seen(program, signature, slot)
        if not self.dedupe.first_time(signature):
            self.stats["duplicates"] += 1
            return False
        if err is not None:
            self.stats["failed_tx"] += 1
            return False
        return True

    def decode_batch(self, items: list[tuple[str, int, list[str]]]) -> tuple[list, list[str]]:
        """Decode (signature, slot, logs); returns events and signatures whose logs were truncated. An item that
        fails to decode, whatever it holds, is counted and skipped: the rest of the batch goes on."""
        events, truncated = [], []
        errors_before = self.stats["decode_errors"]
        for item in items:
            try:
                sig, slot, logs = item
                if is_truncated(logs):
                    truncated.append(sig)
                    self.stats["truncated"] += 1
                    continue
                events.extend(decode_logs(sig, slot, logs, None))
            except DecodeError:
                self.stats["decode_errors"] += 1
            except Exception as exc:    # noqa: BLE001 - hostile logs can trip more than DecodeError
                self.stats["decode_errors"] += 1
                if not self._decode_bug_logged:
                    self._decode_bug_logged = True
                    log.warning("ingest: notification failed to decode: %s (counted as source=logs; later "
                                "ones are counted, not logged)", type(exc).__name__)
        tally().count("decode_errors", self.stats["decode_errors"] - errors_before, source="logs")   # per batch
        return events, truncated

    def route_trade_columns(self, columns: tuple) -> dict[int, tuple]:
        """route for trades given as their wire columns (no Trade objects built)."""
        by_shard = stages.route_trade_columns(columns, self.n_shards)
        self.stats["events"] += len(columns[0]) if columns else 0
        count_trade_columns(by_shard.values())
        return by_shard

    def route(self, events: list) -> tuple[dict[int, list], list, list]:
        """Split events by shard; pull out launches (sniper path) and lifecycle events (exits)."""
        by_shard, launches, lifecycle = stages.route(events, self.n_shards, self.launch_mints)
        self.stats["launches"] += len(launches)
        self.stats["events"] += len(events)
        count_events(events)              # launchray_events_in, once per batch
        return by_shard, launches, lifecycle


class PoolRpc:
    """The stream's two chain reads, through the RpcPool actor (rate limits, failover, backoff)."""

    def __init__(self, peers) -> None:
        self.peers = peers

    async def signatures(self, program: str, until, before, limit: int) -> list[dict]:
        return await self.peers(names.RPC_POOL).get_signatures_for_address.remote(program, until, before, limit)

    async def transaction(self, signature: str) -> dict | None:
        return await self.peers(names.RPC_POOL).get_transaction.remote(signature, "json")


@ray.remote(num_cpus=0)
class Ingest:
    def __init__(self, cfg: Config, ws_urls: list[str], n_shards: int) -> None:
        observe.init_observability(cfg, "ingest")
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.clock = ActorClock.for_config(cfg)
        self.ws_urls = list(ws_urls)
        self.core = IngestCore(n_shards)
        self.programs = list(cfg.chain.programs or WATCHED_PROGRAMS)
        self.restored_cursors = self._restore_cursors()
        self.shards = [self.peers(names.shard_name(i)) for i in range(n_shards)]
        self._inflight: dict[int, list] = {i: [] for i in range(n_shards)}
        # Routed events wait here for their shard's sender task: a shard that falls behind holds back only its
        # own stream, never the decode of new notifications or the launches on their way to the Orchestrator.
        # In chunks as they were routed: a list of events, or an EventBatch of trades' columns (ingest_events).
        self._pending: dict[int, list] = {i: [] for i in range(n_shards)}
        self._wake = {i: asyncio.Event() for i in range(n_shards)}
        self._queue: list[tuple[str, int, list[str]]] = []
        self._queue_since = 0.0   # receive time of the oldest queued notification (detect-to-send starts here)
        self._queued = asyncio.Event()   # set when the queue has notifications for the flusher
        self._running = True
        self.stream = LogsStream(
            self.core, self.ws_urls, self.programs, commitment=cfg.chain.commitment, timeout_s=cfg.rpc.timeout_s,
            backoff=Backoff(cfg.rpc.backoff_base_s, cfg.rpc.backoff_max_s), rpc=PoolRpc(self.peers),
            on_logs=self._enqueue, on_events=self._on_fetched)
        self.last_event_ts = 0.0
        self.stale_watch = StaleWatch(cfg.chain.stale_after_slots, grace_for(cfg.chain.commitment))
        self.health: StreamHealth | None = None     # the last probe's verdict (None: not probed yet)
        self.restarts: Counter = Counter()         # supervised tasks restarted, by name (status)
        loop = asyncio.get_event_loop()
        self.recorder = self._open_recorder()
        # Every long-running loop is supervised (actors/supervised.py): one that ends or raises is logged,
        # counted (launchray_task_restarts{task}) and started again; none dies silently.
        watched = self._supervised
        self._tasks = []
        if self.ws_urls:
            self._tasks += [watched("ingest.stream", self.stream.run),
                            watched("ingest.stream_health", self._health_loop)]
        if not self.clock.replay:      # a replay has no notifications to decode and no cursors to keep
            self._flush_task = watched("ingest.flusher", self._flusher)
            self._tasks += [self._flush_task, watched("ingest.checkpoint", self._checkpoint_loop),
                            loop.create_task(self.peers.warm(names.ORCHESTRATOR, names.LEDGER))]
        if self.recorder is not None:
            self._tasks.append(watched("ingest.record", self._record_loop))
        self._tasks += [watched(f"ingest.shard_sender_{i}", functools.partial(self._shard_sender, i))
                        for i in range(n_shards)]

    def _supervised(self, name: str, factory) -> asyncio.Task:
        return supervise(name, factory, running=lambda: self._running, restarts=self.restarts)

    # --- recording (run --record DIR) --------------------------------------------------------------------------
    def _open_recorder(self):
        """A Recorder on recording.dir, or None. A restarted Ingest adds parts after the ones already written;
        a crash loses at most the buffer (recording.flush_rows / flush_s), never a written part."""
        rc = self.cfg.recording
        if not rc.dir or self.clock.replay:
            return None
        from actors.recorder import Recorder
        return Recorder(rc.dir, max_rows=rc.flush_rows, max_age_s=rc.flush_s)

    async def _record_loop(self) -> None:
        from actors.recorder import fee_accounts, recording_meta

        class _Pool:      # fee_accounts takes any `call(method, params)`; ours goes through RpcPool
            async def call(_, method, params):
                return await self.peers(names.RPC_POOL).call.remote(method, params)
        try:
            accounts = await fee_accounts(_Pool())
        except Exception as exc:   # recorded anyway; backtests then use the trade events' fee rates
            log.warning("recording: fee accounts not read (%s)", type(exc).__name__)
            accounts = {}
        self.recorder.write_meta(recording_meta(self.cfg, accounts, time.time()))
        while self._running:
            await asyncio.sleep(1.0)
            try:
                self.recorder.maybe_flush()
            except Exception as exc:   # a full disk must not stop trading: report it and keep the buffer
                log.error("recording: flush failed: %s", exc)

    def _restore_cursors(self) -> int:
        """Cursors saved by a previous incarnation: the first connect then backfills what was missed."""
        saved = ray.get(self.peers(names.LEDGER).load_counters.remote()).get(CURSORS_KEY) or {}
        restored = 0
        for program, cursor in (saved.items() if isinstance(saved, dict) else ()):
            # a damaged row must not stop the actor from starting: that program starts without a gap plan
            if (isinstance(program, str) and isinstance(cursor, (list, tuple)) and len(cursor) == 2
                    and is_signature(cursor[0]) and is_slot(cursor[1])):
                c = self.core.gaps.cursor(program)
                c.last_signature, c.last_slot = cursor
                restored += 1
            else:
                log.warning("ingest: a saved cursor is unreadable (%.8r); no backfill for it", program)
        return restored

    async def _checkpoint_loop(self) -> None:
        last: dict = {}
        while self._running:
            await asyncio.sleep(1.0)
            now = {p: (c.last_signature, c.last_slot) for p, c in self.core.gaps.cursors.items() if c.last_signature}
            if now != last:
                self.peers(names.LEDGER).save_counters.remote({CURSORS_KEY: now}, time.time())
                last = now

    # --- WebSocket (actors/logs_stream.py) ---------------------------------------------------------------------
    def _enqueue(self, sig: str, slot: int, logs: list, recv: float) -> None:
        """An accepted notification, decoded with the others of its batch by the flusher."""
        if not self._queue:
            self._queue_since = recv
            self._queued.set()
        self._queue.append((sig, slot, logs))

    async def _on_fetched(self, events: list, recv: float) -> None:
        await self._dispatch(events)

    # --- decode + route ----------------------------------------------------------------------------------------
    async def _flusher(self) -> None:
        """Decodes as soon as a notification is queued (a launch waits for no timer); what arrives while a batch
        is decoded and dispatched forms the next batch, so a burst is still decoded in batches. After stop() it
        drains what is queued, then ends."""
        while self._running or self._queue:
            await self._queued.wait()
            await asyncio.sleep(0)          # the notifications of this loop pass join the batch
            self._queued.clear()
            if not self._queue:
                continue
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            received_at, self._queue_since = self._queue_since, time.time()
            if self._queue:
                self._queued.set()
            try:
                events, truncated = self.core.decode_batch(batch)
                await self._dispatch(events, received_at)
                for sig in truncated:
                    self.stream.fetch_later(sig)
            except Exception as exc:   # a peer lookup failing mid-restart: this batch is reported, the next decodes
                log.error("ingest: batch of %d notifications not dispatched: %s: %s", len(batch),
                          type(exc).__name__, exc)
                tally().count("decode_errors", len(batch), source="dispatch")

    async def _dispatch(self, events: list, received_at: float = 0.0) -> None:
        if not events:
            return
        self.last_event_ts = time.time()
        by_shard, launches, lifecycle = self.core.route(events)
        if launches:
            # with each launch, the last trade of its own create transaction (the creator's buy): the sniper
            # plans on the curve after it
            sigs = {ev.signature for ev in launches}
            in_tx = {ev.mint: ev for ev in events if ev.kind == "trade" and ev.signature in sigs}
            self.peers(names.ORCHESTRATOR).on_launches.remote(launches, received_at or self.last_event_ts, None,
                                                              list(in_tx.values()), time.time())
            self.peers(names.LEDGER).record_launches.remote(
                [(ev.mint, ev.venue, ev.slot, ev.signature) for ev in launches], self.last_event_ts)
        if self.recorder is not None and not self.recorder.closed:
            self.recorder.add(events, received_at or self.last_event_ts)
        if lifecycle:
            self.peers(names.POSITIONS).on_lifecycle.remote(lifecycle)
        for i, evs in by_shard.items():
            self._queue_for_shard(i, evs)

    def _queue_for_shard(self, i: int, chunk) -> None:
        self._pending[i].append(chunk)
        self._wake[i].set()

    async def _shard_sender(self, i: int) -> None:
        """Shard i's events, in order, in batches of what has accumulated (whole chunks, up to MAX_SHARD_BATCH
        events unless one chunk is bigger), with at most MAX_INFLIGHT_PER_SHARD calls outstanding: a slow shard
        gets bigger batches, nothing is dropped."""
        if self._pending[i]:            # restarted by its supervisor: what waits is sent first
            self._wake[i].set()
        while True:
            await self._wake[i].wait()
            self._wake[i].clear()
            while self._pending[i]:
                futs = [f for f in self._inflight[i] if not f.done()]
                if len(futs) >= MAX_INFLIGHT_PER_SHARD:
                    await asyncio.wait(futs, return_when=asyncio.FIRST_COMPLETED)
                    continue
                pending = self._pending[i]
                take, n = 1, len(pending[0])
                while take < len(pending) and n + len(pending[take]) <= MAX_SHARD_BATCH:
                    n += len(pending[take])
                    take += 1
                batch, self._pending[i] = pending[:take], pending[take:]
                futs.append(asyncio.ensure_future(self.shards[i].ingest.remote(join_batches(batch))))
                self._inflight[i] = futs

    # --- stream health (pipelines/stream_health.py) --------------------------------------------------------------
    async def _health_loop(self) -> None:
        """Every chain.stale_probe_s: the chain's slot and each watched program's newest signature, through the
        RpcPool; StaleWatch decides live / stale / disconnected and when a silent stream gets a new connection."""
        period = self.cfg.chain.stale_probe_s
        while self._running:
            await asyncio.sleep(period)
            await self.probe_stream()

    async def probe_stream(self) -> dict:
        """One health probe (the loop's step; callable on its own). Returns the status' "stream" entry."""
        chain_slot, activity = await self._read_chain_activity()
        health = self.stale_watch.observe(connected=self.stream.connected, connection=self.stream.connections,
                                          delivered=self.stream.delivered(), chain_slot=chain_slot,
                                          activity=activity)
        if health.state is StreamState.STALE and (self.health is None or self.health.state is not StreamState.STALE):
            # a warning: the alert is raised from status()["stream"] (one alert, not one per log line)
            log.warning("ingest: log stream stale: the chain has transactions of a watched program it did not "
                        "deliver (%d slots behind, chain slot %d)", health.slots_behind, health.chain_slot)
        self.health = health
        if health.chain_slot:
            self.stream.chain_slot = health.chain_slot     # notifications far past it are refused
        metrics().stream_stale.set(1.0 if health.state is StreamState.STALE else 0.0)
        if health.reconnect:
            log.warning("ingest: giving the stale log stream a new connection")
            await self.stream.force_disconnect()
        return health.as_status()

    async def _read_chain_activity(self) -> tuple[int | None, dict[str, int | None]]:
        try:
            pool = self.peers(names.RPC_POOL)
            chain_slot = await pool.get_slot.remote()
        except Exception as exc:          # no verdict without the chain's slot; the RpcPool has its own health
            log.debug("ingest: stream health: getSlot failed: %s", type(exc).__name__)
            return None, {}
        if not is_slot(chain_slot):
            tally().count("decode_errors", 1, source="rpc_slot")
            return None, {}
        activity: dict[str, int | None] = {}
        for program in self.programs:
            try:
                entries, bad = signature_entries(
                    await pool.get_signatures_for_address.remote(program, None, None, 1))
            except Exception as exc:
                log.debug("ingest: stream health: %s: %s", program[:8], type(exc).__name__)
                continue
            if bad:
                tally().count("decode_errors", bad, source="rpc_signatures")
            activity[program] = max((e["slot"] for e in entries), default=None)
        return chain_slot, activity

    def stream_status(self) -> dict:
        """{"state": "live"|"stale"|"disconnected", "slots_behind", "last_notification_slot", "chain_slot"}. A
        replay has no stream to go stale: its feed is the stream, live while it runs."""
        if not self.ws_urls:        # a replay's feed is live while it runs; anything else without one is not
            return StreamHealth(StreamState.LIVE if self.clock.replay else StreamState.DISCONNECTED, 0, 0, 0
                                ).as_status()
        h = self.health
        if self.connected and h is not None and h.state is not StreamState.DISCONNECTED:
            return h.as_status()
        last = max(self.stream.delivered().values(), default=0)
        chain = h.chain_slot if h is not None else 0
        state = StreamState.LIVE if self.connected else StreamState.DISCONNECTED
        return StreamHealth(state, max(0, chain - last) if chain else 0, last, chain).as_status()

    # --- replay mode -------------------------------------------------------------------------------------------
    async def replay_batch(self, events: list, now: float, flush_idle_shards: bool = False) -> int:
        """One slot of a replay, routed as _dispatch routes, every call awaited in the BacktestEngine's order:
        launches (the sniper ticks), lifecycle events (their exits run), then each shard in shard order (its
        features go on to the MomentumEngine, the orchestrator and the exits before its call returns). Shards
        with no events flush their refreshed features when `flush_idle_shards` (a refresh was due)."""
        now = self.clock.at(now)
        self.last_event_ts = now
        by_shard, launches, lifecycle = self.core.route(events)
        if launches:
            await self.peers(names.ORCHESTRATOR).on_launches.remote(launches, now, now)
            await self.peers(names.LEDGER).record_launches.remote(
                [(ev.mint, ev.venue, ev.slot, ev.signature) for ev in launches], now)
        if lifecycle:
            await self.peers(names.POSITIONS).on_lifecycle.remote(lifecycle, now)
        for i, shard in enumerate(self.shards):
            if i in by_shard:
                await shard.ingest.remote(by_shard[i], now)
            elif flush_idle_shards:
                await shard.flush.remote(now)
        return len(events)

    async def ingest_events(self, events) -> int:
        """Feed already-decoded events, a list or an EventBatch (recorded streams, benchmarks). An EventBatch of
        trades alone is routed from its wire columns and forwarded as such: no Trade object is built here."""
        columns = events.columns_of(Trade) if isinstance(events, EventBatch) and self.recorder is None else None
        if columns is not None:
            self.last_event_ts = time.time()
            for i, part in self.core.route_trade_columns(columns).items():
                self._queue_for_shard(i, EventBatch.of_columns(Trade, part))
            return len(events)
        events = events_of(events)
        await self._dispatch(events)
        return len(events)

    async def ingest_notifications(self, notifications: list[dict]) -> int:
        """Feed raw logsNotification dicts (recorded streams, benchmarks); each is checked as the stream checks
        one (pipelines/stream_input.py), a bad one counted and skipped."""
        accepted = []
        for n in notifications if isinstance(notifications, list) else ():
            note = read_notification(n, None)
            if isinstance(note, Reject):
                self.core.stats["rejected"] += 1
                tally().count("decode_errors", 1, source=note.value)
            elif self.core.accept(note.program, note.signature, note.slot, note.err):
                accepted.append((note.signature, note.slot, note.logs))
        events, truncated = self.core.decode_batch(accepted)
        await self._dispatch(events)
        return len(events)

    async def drain(self) -> int:
        """Wait until every routed event has been taken by its shard; returns how many calls were waited on."""
        waited = 0
        while True:
            futs = [f for fs in self._inflight.values() for f in fs if not f.done()]
            if not futs and not any(self._pending.values()):
                break
            if futs:
                waited += len(futs)
                await asyncio.gather(*futs, return_exceptions=True)
            else:
                await asyncio.sleep(0.001)     # the senders are about to take what is pending
        for i in self._inflight:
            self._inflight[i] = []
        return waited

    @property
    def connected(self) -> bool:
        return self.stream.connected

    async def force_disconnect(self) -> None:
        await self.stream.force_disconnect()

    async def stop(self) -> None:
        self._running = False
        await self.stream.close()
        flusher = getattr(self, "_flush_task", None)
        if flusher is not None and not flusher.done():    # what was received is decoded and routed, not dropped
            self._queued.set()
            try:
                await asyncio.wait_for(asyncio.shield(flusher), timeout=5.0)
            except Exception as exc:
                log.warning("ingest: final decode: %s", type(exc).__name__)
        if self.recorder is not None and not self.recorder.closed:
            try:
                self.recorder.close()
            except Exception as exc:
                log.error("recording: final flush failed: %s", exc)

    def status(self) -> dict:
        return {"connected": self.connected, "ws_urls": [redact_url(u) for u in self.ws_urls], "programs": len(self.programs),
                "queue": len(self._queue),
                "shard_backlog": sum(len(c) for chunks in self._pending.values() for c in chunks),
                "launches_seen": len(self.core.launch_mints), **self.core.stats,
                "stream": self.stream_status(), "rejects": dict(self.stream.rejects),
                "task_restarts": dict(self.restarts),
                "last_event_ts": self.last_event_ts,
                "recorded": dict(self.recorder.stats) if self.recorder is not None else None,
                "cursors": {p[:8]: c.last_slot for p, c in self.core.gaps.cursors.items()}}

    def launch_mints(self) -> list[str]:
        return sorted(self.core.launch_mints)

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()

