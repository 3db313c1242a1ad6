"""Orchestrator actor: the 10 ms decision loop over the priority queue (pipelines/decision_queue.py).

Each tick hands out what may start now (cancels, then exits, then entries up to the concurrency cap) and
starts each as its own task: an entry is one RiskSupervisor call (approve and reserve and, when approved, hand it
straight to the Executor: RiskSupervisor.approve_and_execute), made in the tick itself (_submit), that answers
with the decision and the execution's outcome (awaited by the task: _settle), so the loop never waits on anything.
Launches and exits do not wait for the next tick: they are dispatched the moment they arrive (the sniper path and
emergency exits). The sniper's opportunities are pipelines/stages.on_launches, the function the backtester runs.
A launch is aged against the chain's current slot as this actor knows it without a call on the sniper path: a
getSlot through the RpcPool every SLOT_POLL_S (live) and the launches' own slots (sniper.current_slot); one
learned late (a backfill after a reconnect or restart) is counted stale_launch and not sniped.

Replay mode (chain.source = "replay"): no wall-clock loops. Time is the replay's (passed with each call), the
replay driver (actors/replay.py) refreshes the available capital when it is due and calls `tick` once per slot,
as the BacktestEngine does; a tick (and every immediate dispatch) first pushes the time to the actors its
actions call, then runs the actions one after the other to their end (pipelines/stages.tick), so the order of
decisions is the backtester's.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from typing import NamedTuple

import ray

from actors import names, observe, priority, runtime_config
from actors.logs import SIGNALS, log_event
from actors.clock import ActorClock
from actors.metrics import tally
from pipelines import stages
from pipelines.config import Config
from pipelines.decision_queue import CANCEL, ENTRY, EXIT, Action, DecisionQueue
from pipelines.housekeeping import CAPITAL_EVERY_S
from pipelines.messages import ExitSignal, Opportunity
from pipelines.risk.handoff import EntryRequest, pack
from pipelines.scoring.sniper import MAX_SLOT, Sniper, current_slot, next_slot
from pipelines.stages import MAX_ACTIONS_PER_TICK
from pipelines.strategy_weights import StrategyWeights

log = logging.getLogger("launchray.orchestrator")
STATUS_TICKS = 2000    # loop periods the status percentiles cover (20 s at 10 ms)
MAX_DETECTED = 4096   # detections kept for queued sniper entries
SLOT_POLL_S = 1.0     # the chain's slot is read this often (live): a launch's age is judged against it
SLOT_POLL_TIMEOUT_S = 5.0
TRUST_AHEAD_SLOTS = 9_000   # (~1 h) a launch slot further past the last getSlot ages its own batch but is not kept


class Detection(NamedTuple):
    at: float                  # when Ingest received the create notification (detect-to-send starts here)
    launch: object             # the Launch event
    creator_trade: object      # the last trade of its create transaction, or None
    arrived: float = 0.0       # when it reached this actor (the trace's "deliver" span: decode, batch, Ray hop)
    sent: float = 0.0          # when Ingest sent it on (the trace's "decode" span: detection to that send)


NOT_DETECTED = Detection(0.0, None, None)


class _Entry(NamedTuple):
    """An entry whose risk call is in flight (Orchestrator._submit), until _settle has its answer."""
    opportunity: Opportunity    # as sent (with its trace id)
    call: object                # the ObjectRef of RiskSupervisor.approve_and_execute
    root: object                # the opportunity's root span, or None
    detection: Detection | None  # when and how it was detected (live sniper entries), for the trace
    asked: float                # when the call was made


@ray.remote(num_cpus=0)
class Orchestrator:
    def __init__(self, cfg: Config) -> None:
        observe.init_observability(cfg, "orchestrator")
        cfg = runtime_config.restore(cfg, "orchestrator")   # this run's PATCHed config before the first decision
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.clock = ActorClock.for_config(cfg)
        self.weights = StrategyWeights(cfg.scoring, self.clock.now())
        self.queue = DecisionQueue(cfg.orchestrator, cfg.scoring, self.weights)
        self.sniper = Sniper(cfg.scoring, cfg.analysis, cfg.risk.blacklist)
        self.sniper_enabled = "sniper" in cfg.orchestrator.strategies
        self.momentum_enabled = "momentum" in cfg.orchestrator.strategies
        self.entries_enabled = True
        self.paused = False
        self.running = True
        self.in_flight = 0
        self.periods_ms: list[float] = []
        self.tick_ms: list[float] = []
        self.counts: dict[str, int] = {}
        self.rejections: dict[str, int] = {}
        self.late_ticks: collections.deque = collections.deque(maxlen=1000)   # (wall time, period ms)
        # queued sniper entries: mint -> when it was detected, its create event and its tx's last trade (the curve
        # the Executor plans on without an account read)
        self.detections: dict[str, Detection] = {}
        self.results: dict[str, dict] = {}
        self._tasks: set[asyncio.Task] = set()
        self._clock_pushed = float("-inf")
        self.chain_slot = 0            # the highest slot known (getSlot, launches): launches are aged against it
        self._polled_slot = 0          # the highest getSlot answer (before one, launch slots are not kept)
        self._slot_errors = 0
        if not self.clock.replay:
            self._slot = asyncio.get_event_loop().create_task(self._slot_loop())
            self._loop = asyncio.get_event_loop().create_task(self._run_loop())
            self._capital = asyncio.get_event_loop().create_task(self._capital_loop())
            self._warm = asyncio.get_event_loop().create_task(
                self.peers.warm(names.RISK, names.EXECUTOR, names.POSITIONS))   # before the first snipe

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    # --- the loop ----------------------------------------------------------------------------------------------
    async def _run_loop(self) -> None:
        period = self.cfg.orchestrator.loop_ms / 1000
        loop_tally = tally()
        ticker = priority.Ticker()     # sub-ms wake-ups when this actor runs real-time (ray.realtime_priority)
        last = time.perf_counter()
        deadline = last
        while self.running:
            deadline += period
            await ticker.sleep(deadline - time.perf_counter())
            t = time.perf_counter()
            self.periods_ms.append((t - last) * 1000)
            if self.periods_ms[-1] > 1.1 * period * 1000:      # late ticks kept with their time, to find the cause
                self.late_ticks.append((time.time(), round(self.periods_ms[-1], 3)))
            loop_tally.observe("loop_period_ms", self.periods_ms[-1])   # recorded once a second, not per tick
            last = t
            if t - deadline > period:          # fell behind (GC, a burst): re-anchor instead of bursting
                deadline = t
            self._tick(time.time())
            self.tick_ms.append((time.perf_counter() - t) * 1000)
            if len(self.periods_ms) > 20_000:
                del self.periods_ms[:10_000], self.tick_ms[:10_000]

    def _tick(self, now: float) -> None:
        self.weights.adapt(now)
        for action in self.queue.pop_ready(now, self.in_flight, MAX_ACTIONS_PER_TICK):
            if action.kind == ENTRY and (not self.entries_enabled or self.paused):
                self.queue.finish(action.mint)
                self._count("entries_dropped_paused")
                continue
            # An entry's risk call leaves now, not at its task's first step: a task starts only at the loop's next
            # turn, after this call (a launch's on_launches) has returned and Ray has sent its reply.
            submitted = self._submit(action.opportunity) if action.kind == ENTRY else None
            task = asyncio.get_event_loop().create_task(self._start(action, submitted))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _replay_tick(self, now: float) -> None:
        """Replay mode: the BacktestEngine's tick, each action run to its end before the next."""
        self.weights.adapt(now)
        for action in stages.tick(self.queue, now, lambda: self.in_flight):
            if action.kind == ENTRY and (not self.entries_enabled or self.paused):
                self.queue.finish(action.mint)
                self._count("entries_dropped_paused")
                continue
            await self._push_clock(now)
            await self._start(action)

    async def _push_clock(self, now: float) -> None:
        """Replay mode: the actors an action calls (and that call each other) act at this tick's time."""
        if now > self._clock_pushed:
            await asyncio.gather(*(self.peers(n).set_clock.remote(now)
                                   for n in (names.RISK, names.EXECUTOR, names.POSITIONS)))
            self._clock_pushed = now

    async def _dispatch_now(self, now: float) -> None:
        """Launches, exits and manual trades start now, not at the next loop tick."""
        if not self.running:     # stopped (graceful shutdown): nothing new starts after stop() waited
            return
        if self.clock.replay:
            await self._replay_tick(now)
        else:
            self._tick(now)

    async def _start(self, action: Action, submitted: "_Entry | Exception | None" = None) -> None:
        """Run an action to its end. `submitted`: an entry's risk call already made (_submit), or why it failed."""
        try:
            if action.kind == ENTRY:
                await self._settle(self._submit(action.opportunity) if submitted is None else submitted)
            elif action.kind == EXIT:
                self._count(f"exit_{action.exit.reason}")
                result = await self.peers(names.EXECUTOR).execute_exit.remote(action.exit)
                self._count(f"exit_result_{result.get('status')}")
            elif action.kind == CANCEL:
                self._count("cancel")
        except Exception as exc:   # an actor restarting mid-call: counted, the loop goes on
            self._count(f"error_{type(exc).__name__}")
            log.warning("action %s %s failed: %s", action.kind, action.mint, exc)
            if action.kind == EXIT:
                self.peers(names.POSITIONS).exit_failed.remote(action.mint)
        finally:
            if action.kind == ENTRY:
                self.queue.finish(action.mint)

    def _submit(self, opp: Opportunity) -> "_Entry | Exception":
        """An entry's one call, made now (no await): the RiskSupervisor decides, hands an approved entry (packed
        once here, passed on as is) straight to the Executor and answers with the decision and the outcome, so the
        send is two hops away (a refusal comes back at once and never reaches the Executor). See
        RiskSupervisor.approve_and_execute for why the answer comes at the end of the execution.
        Returns the call in flight, or the exception that kept it from being made (its trace ended)."""
        # One trace per opportunity, from its detection (wall clock only: replay times are the recording's).
        seen = self.detections.pop(opp.mint, None)
        detected = 0.0 if self.clock.replay or seen is None else seen.at
        root = observe.start_trace("opportunity", detected or opp.created_at, {
            "opportunity.id": opp.id, "mint": opp.mint, "strategy": opp.strategy, "score": opp.score})
        try:      # this runs inside the loop's tick: nothing may escape it
            parent = observe.traceparent(root)
            if parent:
                opp = dataclasses.replace(opp, trace_id=parent)
            sniped = seen if seen is not None and opp.strategy == "sniper" else NOT_DETECTED
            asked = time.time()
            call = self.peers(names.RISK).approve_and_execute.remote(
                pack(EntryRequest(opp, sniped.at, sniped.launch, sniped.creator_trade)))
        except Exception as exc:      # no RiskSupervisor to ask (not there, or its handle failed): nothing reserved
            observe.end_span(root, outcome="error")
            return exc
        self.in_flight += 1
        return _Entry(opp, call, root, seen if detected else None, asked)

    async def _settle(self, entry: "_Entry | Exception") -> None:
        """The rest of an entry once its call is made (_submit): the decision and outcome, counts, trace spans."""
        if isinstance(entry, Exception):
            raise entry
        opp, root = entry.opportunity, entry.root
        result: dict = {}
        decided = 0.0
        try:
            approval = await entry.call
            decision, decided = approval.decision, approval.decided_at
            if not decision.approved:
                self._signal(opp, False, decision.reason, root)
                self.rejections[decision.reason] = self.rejections.get(decision.reason, 0) + 1
                result = {"status": "rejected", "reason": decision.reason}
                if opp.strategy == "manual":   # the operator asks for this one's outcome (control API)
                    self.results[opp.id] = result
                return
            self._count("approved")
            self._signal(opp, True, decision.reason, root)     # after the send: logging is off the hot path
            if approval.error:   # the Executor call failed (the RiskSupervisor released what it could not settle)
                self._count(f"error_{approval.error}")
                log.warning("entry %s %s failed: %s", opp.strategy, opp.mint, approval.error)
                result = {"status": "error", "reason": approval.error}
            else:
                result = approval.outcome
                self._count(f"entry_{result.get('status')}")
            self.results[opp.id] = result
            if len(self.results) > 1000:
                self.results.pop(next(iter(self.results)))
        finally:
            self.in_flight -= 1
            # spans made now, from the times taken on the way: their cost stays off the path to the send
            seen = entry.detection
            if seen is not None:
                observe.past_span("deliver", root, seen.at, seen.arrived)
                if seen.sent:
                    observe.past_span("decode", root, seen.at, seen.sent)
            observe.past_span("approve", root, entry.asked, decided or time.time())
            observe.end_span(root, outcome=str(result.get("status", "error")), reason=result.get("reason"))

    @staticmethod
    def _signal(opp: Opportunity, approved: bool, reason: str, root) -> None:
        """signals.jsonl: one record per risk decision (after it, off the decision path)."""
        log_event(SIGNALS, "approved" if approved else "rejected", opportunity_id=opp.id, mint=opp.mint,
                  strategy=opp.strategy, score=opp.score, capital_lamports=opp.capital_lamports, reason=reason,
                  trace_id=observe.trace_hex(root))

    async def _capital_loop(self) -> None:
        while self.running:
            await asyncio.sleep(CAPITAL_EVERY_S)
            try:
                await self.refresh_capital()
            except Exception:
                pass

    async def _slot_loop(self) -> None:
        """The chain's slot, read off the sniper path (a launch is aged against the last one read)."""
        while self.running:
            try:
                slot = await asyncio.wait_for(self.peers(names.RPC_POOL).get_slot.remote(), SLOT_POLL_TIMEOUT_S)
                if not self.note_slot(slot):
                    raise ValueError(f"getSlot answered {str(slot)[:40]!r}")
            except Exception as exc:       # no pool yet, every endpoint down, garbage: the launches' slots still count
                self._count("slot_poll_errors")
                if self._slot_errors == 0:
                    log.warning("orchestrator: chain slot not read (%s: %s); launches are aged against each other "
                                "until it is", type(exc).__name__, str(exc)[:200])
                self._slot_errors += 1
            await asyncio.sleep(SLOT_POLL_S)

    def note_slot(self, slot) -> bool:
        """A slot the chain is known to have reached (getSlot): kept when it is a sane slot, the highest wins."""
        if type(slot) is not int or not 0 < slot < MAX_SLOT:
            return False
        self._polled_slot = next_slot(self._polled_slot, slot)
        self.chain_slot = next_slot(self.chain_slot, slot)
        return True

    async def refresh_capital(self, now: float | None = None) -> int:
        """The risk book's available capital to the queue (every second live; when due in replay)."""
        self.clock.at(now)
        available = await self.peers(names.RISK).available.remote(self.clock.sent())
        self.queue.set_available_capital(available)
        return available

    # --- inputs ------------------------------------------------------------------------------------------------
    async def on_launches(self, launches: list, received_at: float = 0.0, now: float | None = None,
                          creator_trades: list = (), sent_at: float = 0.0) -> int:
        """Launches straight from Ingest: sniper opportunities dispatched now, not at the next tick.
        `creator_trades`: the last trade of each launch's own transaction (the curve the sniper plans on)."""
        arrived = time.time()
        now = self.clock.at(now)
        chain_slot = current_slot(self.chain_slot, launches)
        if self._polled_slot and chain_slot - self._polled_slot <= TRUST_AHEAD_SLOTS:
            self.chain_slot = chain_slot      # kept only near what the chain said: one bad slot cannot stop the sniper
        if not self.sniper_enabled or not self.entries_enabled or self.paused:
            return 0
        pushed = stages.on_launches(self.queue, self.sniper, launches, now, stages.sniper_size(self.cfg), chain_slot)
        if pushed:
            by_mint = {launch.mint: launch for launch in launches}
            trade_of = {t.mint: t for t in creator_trades}
            for opp in pushed:
                self.detections[opp.mint] = Detection(received_at or now, by_mint.get(opp.mint),
                                                      trade_of.get(opp.mint), arrived, sent_at)
            while len(self.detections) > MAX_DETECTED:    # opportunities that expired queued leave entries
                self.detections.pop(next(iter(self.detections)))
        self._count("sniper_opportunities", len(pushed))
        if pushed:
            await self._dispatch_now(now)
        if len(pushed) < len(launches):     # counted after the dispatch: off the path to the send
            stale = stages.stale_launches(self.sniper, launches, chain_slot)
            if stale:
                self._count("stale_launch", stale)
                log.info("orchestrator: %d launch(es) learned more than %d slots late (chain slot %d): not sniped",
                         stale, self.cfg.scoring.sniper_max_age_slots, chain_slot)
        return len(pushed)

    def on_opportunities(self, opps: list[Opportunity], now: float | None = None) -> int:
        now = self.clock.at(now)
        if not self.momentum_enabled:
            return 0
        pushed = sum(1 for o in opps if self.queue.push_opportunity(o, now))
        self._count("momentum_opportunities", pushed)
        return pushed

    async def on_manual(self, opp: Opportunity) -> dict:
        """An operator's manual trade (control API): queued like every entry, so risk approval still applies."""
        if self.paused or not self.entries_enabled:
            return {"queued": False, "reason": "paused" if self.paused else "entries_stopped"}
        now = self.clock.now()
        if not self.queue.push_opportunity(opp, now):
            return {"queued": False, "reason": "not queued: an entry for this mint is queued or in flight, or expired"}
        self._count("manual_opportunities")
        await self._dispatch_now(now)
        return {"queued": True, "reason": ""}

    def result(self, opportunity_id: str) -> dict | None:
        """The outcome of an entry this orchestrator started (None while queued or unknown)."""
        return self.results.get(opportunity_id)

    async def push_exits(self, signals: list[ExitSignal], now: float | None = None) -> int:
        """Exits from the PositionTracker, all queued, then dispatched now (ahead of every entry)."""
        now = self.clock.at(now)
        if not self.running:
            # After stop() nothing is dispatched (the Executor has drained): the tracker clears these exits'
            # in-flight marks, so the positions are reported open and exit again after a restart.
            positions = self.peers(names.POSITIONS)
            for s in signals:
                positions.exit_failed.remote(s.mint)
            self._count("exits_after_stop", len(signals))
            return 0
        pushed = sum(1 for s in signals if self.queue.push_exit(s))
        await self._dispatch_now(now)
        return pushed

    async def tick(self, now: float | None = None) -> None:
        """Replay mode: the tick that ends each slot (the 10 ms loop's tick live)."""
        await self._dispatch_now(self.clock.at(now))

    def on_closed(self, strategy: str, pnl_lamports: int) -> None:
        self.weights.record(strategy, pnl_lamports)
        self._count("closed_win" if pnl_lamports > 0 else "closed_loss")

    # --- control -------------------------------------------------------------------------------------------------
    def stop_entries(self) -> None:
        self.entries_enabled = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.entries_enabled = True

    def update_config(self, cfg: Config) -> None:
        self.cfg = cfg
        self.queue.update_config(cfg.orchestrator, cfg.scoring)
        self.weights.update_config(cfg.scoring)
        self.sniper = Sniper(cfg.scoring, cfg.analysis, cfg.risk.blacklist)   # thresholds and blacklist

    async def stop(self) -> None:
        """Graceful shutdown: the loop ends, nothing new is dispatched, the actions in flight finish."""
        self.running = False
        self.entries_enabled = False
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        observe.flush()

    def status(self) -> dict:
        # This runs on the loop's own thread: the last 20 s of ticks, each list sorted once (a 5,000-sample sort
        # per percentile was itself a late tick whenever the status was polled).
        def pct(xs: list[float], q: float) -> float:
            return round(xs[min(len(xs) - 1, int(len(xs) * q))], 3) if xs else 0.0
        recent, ticks = sorted(self.periods_ms[-STATUS_TICKS:]), sorted(self.tick_ms[-STATUS_TICKS:])
        return {"entries_enabled": self.entries_enabled, "paused": self.paused, "in_flight": self.in_flight,
                "loop_period_ms_p50": pct(recent, 0.5), "loop_period_ms_p99": pct(recent, 0.99),
                "tick_ms_p99": pct(ticks, 0.99), "queue": self.queue.stats(),
                "counts": dict(self.counts), "rejections": dict(self.rejections), "chain_slot": self.chain_slot,
                "strategy_bonus": self.weights.bonuses()}

    def late_loop_ticks(self) -> list[tuple[float, float]]:
        """The latest ticks that came more than 10% late: (wall time, period ms). For notebooks and benchmarks."""
        return list(self.late_ticks)

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()
