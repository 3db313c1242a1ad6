"""BacktestEngine: the live decision code over a replayed event stream, in one process, on a simulated clock.

Nothing here re-implements a trading rule: analysis is ShardCore, scoring MomentumModel + opportunity_from +
Sniper, orchestration DecisionQueue + StrategyWeights, risk RiskBook.approve_and_reserve, execution
PaperFillModel on ReplayMarket state (desk.entry_order / exit_order), booking desk.book_fill into PositionBook
and RiskBook, exits evaluate_exit; pipelines/stages.py holds the actor method bodies that glue them (the actors
call the same functions) and pipelines/housekeeping.py the actors' periodic work. Same data + profile
+ latency (+ seed, with jitter) -> the same trades, bit for bit (the fingerprint in report.py proves it).

Time line (latency.py): the stream is cut into one batch per slot. For every slot T in order:
  1. the market applies the events of slot T (ReplayMarket: the state at the end of T);
  2. orders landing at T fill against that state (entries first sent at T - send_to_land, in send order);
  3. the batch of slot T - detection_slots is delivered to the pipeline at now = clock(T):
     a. housekeeping when due on the simulated clock (pipelines/housekeeping.py, the actors' periods):
        reservations expire (every step), available capital to the queue (1 s), shard refresh (5 s: features of
        every live token, since windows decay without trades) and eviction (10 s), exit sweep for max-hold +
        mark-to-market of the risk book (1 s);
     b. route (IngestCore.route);
     c. sniper: first launches -> Sniper.on_launch -> queue (Orchestrator.on_launches), then a tick; a launch
        delivered more than scoring.sniper_max_age_slots after its own slot (the delivery slot is the chain's) is
        counted stale_launch and not sniped, as live;
     d. lifecycle (Complete / Migration / PoolCreated) -> ExitWatch.on_lifecycle -> exits queued, a tick if any;
     e. per shard, in shard order (each shard's batch goes to the MomentumEngine on its own, as live):
        analysis: ShardCore.apply_states -> the touched tokens, merged into that shard's refreshed ones when a
        refresh was due (AnalyzerShard's pending batch: a token's batch features replace its refreshed ones),
        then features at `now` of those that can matter (`_wanted`: held, or scorable with momentum on); the
        actors read every one (the MomentumEngine ranks them all), which changes no decision;
        f. scoring: MomentumModel.score + opportunity_from -> queue (MomentumEngine -> Orchestrator);
        g. marks: ExitWatch.on_marks(marks_from(features)) -> exits queued, a tick if any;
  4. a tick (the orchestrator's 10 ms loop), repeated while a tick hands out a full 64 actions:
     StrategyWeights.adapt, DecisionQueue.pop_ready(now, in_flight): cancels, exits, then entries up to
     max_concurrent_executions - in_flight. An entry: RiskBook.approve_and_reserve -> plan_entry on the state
     now -> an order landing at T + send_to_land (+ jitter); an exit: plan_exit -> an order likewise. With
     send_to_land 0 the order fills at once (step 2 of the same slot). in_flight = entries sent, not landed.
A fill is booked with desk.book_fill (positions, risk, strategy weights); a rejection releases the reservation
(entry) or aborts the exit so it can fire again (PositionBook.abort_exit), as the executor's _undo does, and a
rejected transaction that would have landed and failed costs its fee (RiskBook.on_cost, as the executor books it).
Slots with no events but due deliveries or landings are processed in order too (the state is unchanged since
the last event). At the end every delivery and landing left runs; then, if the profile says
execution.settle_on_shutdown = "close", every open position is sold (reason "shutdown") like the live shutdown.
"""
from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from pipelines import stages as S
from pipelines.analysis.shard import ShardCore
from pipelines.config import Config
from pipelines.decision_queue import CANCEL, ENTRY, EXIT, DecisionQueue
from pipelines.desk import book_fill
from pipelines.fills import LatencyModel, PaperFillModel, Rejection
from pipelines.housekeeping import Housekeeping
from pipelines.messages import ExitSignal, Fill, Opportunity, Order, OrderState, Position, Reservation, Side
from pipelines.orders import transition
from pipelines.positions import PositionBook, PositionError
from pipelines.risk import RiskBook
from pipelines.scoring.momentum import MomentumModel
from pipelines.scoring.sniper import Sniper, current_slot as snipe_slot
from pipelines.strategy_weights import StrategyWeights

from .latency import DEFAULT_SLOT_MS, SlotClock
from .market import ChainFees, ReplayMarket

MODE = "paper"


@dataclass(frozen=True, slots=True)
class SellRecord:
    """One sell fill of a position and the P&L it realised (fill lamports - cost basis it released)."""
    mint: str
    opened_at: float
    reason: str
    pnl_lamports: int
    ts: float


@dataclass(slots=True)
class BacktestResult:
    """Everything a report needs; plain data (picklable for Ray sweeps)."""
    closed: list[Position]
    open: list[Position]
    fills: list[Fill]
    orders: dict[str, Order]
    sells: list[SellRecord]
    entry_scores: dict[str, float]                  # entry order id -> the opportunity's score
    equity: list[tuple[float, int, int]]            # (t, book equity, unrealised) samples
    starting_capital: int
    start: float
    end: float
    events: int
    counts: dict[str, int] = field(default_factory=dict)
    sell_fee_bps: int = 0
    open_basis: dict[str, int] = field(default_factory=dict)     # open positions: cost basis not yet sold
    unrealized: dict[str, int] = field(default_factory=dict)     # open positions at their last mark, net of fee


@dataclass(slots=True)
class _InFlight:
    landing: int
    seq: int
    planned: S.Planned
    reservation: Reservation | None = None
    opportunity: Opportunity | None = None

    def __lt__(self, other: "_InFlight") -> bool:
        return (self.landing, self.seq) < (other.landing, other.seq)


def slot_batches(events: Iterable) -> Iterator[tuple[int, list]]:
    """Consecutive events of one slot as one batch. The stream must not go back in slot (ValueError)."""
    batch: list = []
    slot = None
    for ev in events:
        s = ev.slot
        if s != slot:
            if batch:
                yield slot, batch
            if slot is not None and s < slot:
                raise ValueError(f"events go back from slot {slot} to {s}: sort the stream by slot first")
            batch, slot = [], s
        batch.append(ev)
    if batch:
        yield slot, batch


class BacktestEngine:
    def __init__(self, cfg: Config, fees: ChainFees, *, latency: LatencyModel | None = None,
                 slot_ms: int = DEFAULT_SLOT_MS, shards: int | None = None, seed: int = 0,
                 t0: float | None = None) -> None:
        self.cfg = cfg
        self.latency = latency or LatencyModel(0, 0)
        self.slot_ms = slot_ms
        self.t0 = t0
        self.n_shards = max(1, shards or cfg.ray.shards or 1)
        self.rng = random.Random(seed) if self.latency.jitter_slots else None
        self.market = ReplayMarket(fees)
        self.fill_model = PaperFillModel(cfg.execution, LatencyModel(send_to_land_slots=0))
        self.shards = [ShardCore(cfg.analysis, cfg.risk.blacklist) for _ in range(self.n_shards)]
        self.model = MomentumModel(cfg.scoring)
        self.sniper = Sniper(cfg.scoring, cfg.analysis, cfg.risk.blacklist)
        self.sniper_on = "sniper" in cfg.orchestrator.strategies
        self.momentum_on = "momentum" in cfg.orchestrator.strategies
        self.book = PositionBook(max_closed=10**9)
        self.watch = S.ExitWatch(self.book, cfg.exits, fees.exit_sell_fee_bps())
        self.clock: SlotClock | None = None
        self.risk: RiskBook | None = None
        self.weights: StrategyWeights | None = None
        self.queue: DecisionQueue | None = None
        self.launch_mints: set[str] = set()
        self.orders: dict[str, Order] = {}
        self.entry_for: dict[str, str] = {}          # opportunity id -> entry order id (ledger.entry_order_for)
        self.entry_scores: dict[str, float] = {}
        self.fills: list[Fill] = []
        self.sells: list[SellRecord] = []
        self.equity: list[tuple[float, int, int]] = []
        self.counts: dict[str, int] = {}
        self.in_flight = 0
        self.entries_enabled = True
        self._landings: list[_InFlight] = []
        self._deliveries: deque[tuple[int, list]] = deque()
        self._seq = 0
        self._events = 0
        self._first_slot: int | None = None
        self._last_slot = 0
        self._now = 0.0
        self._sniper_size = S.sniper_size(cfg)
        self._capital = S.momentum_capital(cfg)
        self._slippage = cfg.execution.slippage_bps

    # --- driving ---------------------------------------------------------------------------------------------
    def run(self, events: Iterable) -> BacktestResult:
        for slot, batch in slot_batches(events):
            self.step(slot, batch)
        return self.finish()

    def step(self, slot: int, batch: list) -> None:
        """Feed one slot's events (slots strictly increasing)."""
        if self._first_slot is None:
            self._start(slot, batch)
        elif slot <= self._last_slot:
            raise ValueError(f"slot {slot} after slot {self._last_slot}: one batch per slot, in order")
        self._run_until(slot - 1)
        self._last_slot = slot
        self._events += len(batch)
        self.market.apply_batch(batch)
        self._deliveries.append((slot + self.latency.detection_slots, batch))
        self._run_until(slot)

    def finish(self) -> BacktestResult:
        self._run_until(math.inf)
        if self.cfg.execution.settle_on_shutdown == "close" and self.clock is not None:
            slot = max(self._last_slot, self.market.slot)
            now = self._set_now(slot)
            self.entries_enabled = False          # the live shutdown: stop entries, then sell everything
            for sig in self.watch.flatten_all("shutdown"):
                self.queue.push_exit(sig)
            self._tick(slot, now)
            self._run_until(math.inf)
        return self._result()

    def _start(self, slot: int, batch: list) -> None:
        t0 = self.t0 if self.t0 is not None else _first_time(batch)
        self.clock = SlotClock(t0, slot, self.slot_ms)
        self._first_slot = slot
        self._now = t0
        cfg = self.cfg
        self.risk = RiskBook(cfg.risk, t0)
        self.weights = StrategyWeights(cfg.scoring, t0)
        self.queue = DecisionQueue(cfg.orchestrator, cfg.scoring, self.weights)
        self._housekeeping_due = Housekeeping(t0)
        self.equity.append((t0, self.risk.book_equity, 0))

    def _set_now(self, slot: float) -> float:
        now = self.clock.at(slot)
        if now > self._now:
            self._now = now
        return self._now

    def _run_until(self, upto: float) -> None:
        """Process landings and deliveries due at slots <= upto, slot by slot (landings before deliveries)."""
        landings, deliveries = self._landings, self._deliveries
        while landings or deliveries:
            nl = landings[0].landing if landings else math.inf
            nd = deliveries[0][0] if deliveries else math.inf
            slot = nl if nl < nd else nd
            if slot > upto:
                return
            now = self._set_now(slot)
            self.weights.adapt(now)
            while landings and landings[0].landing == slot:
                self._land(heapq.heappop(landings), slot, now)
            if nd == slot:
                _, batch = deliveries.popleft()
                self._deliver(slot, batch, now)
            self._tick(slot, now)

    # --- one delivery ----------------------------------------------------------------------------------------
    def _deliver(self, slot: int, batch: list, now: float) -> None:
        refreshed = self._housekeeping(slot, now)
        by_shard, launches, lifecycle = S.route(batch, self.n_shards, self.launch_mints)
        queue = self.queue
        if launches and self.sniper_on:
            # the delivery's slot is the chain's now: a launch delivered more than the sniper's window after its
            # own slot (detection latency) is stale, as the Orchestrator judges it (Orchestrator.on_launches)
            chain_slot = snipe_slot(int(slot), launches)
            stale = S.stale_launches(self.sniper, launches, chain_slot)
            if stale:
                self._count("stale_launch", stale)
            if S.on_launches(queue, self.sniper, launches, now, self._sniper_size, chain_slot):
                self._count("sniper_opportunities")
                self._tick(slot, now)
        if lifecycle:
            self._push_exits(self.watch.on_lifecycle(lifecycle, now), slot, now)
        wanted = self._wanted
        for i in sorted(set(by_shard) | set(refreshed)):
            core = self.shards[i]
            states = core.apply_states(by_shard[i], now) if i in by_shard else {}
            pending = refreshed.get(i)
            if pending:       # AnalyzerShard's pending batch: refreshed first, a token's batch features win
                pending.update(states)
                states = pending
            if states:
                self._features(core.features_for(states, now, wanted), slot, now)

    def _wanted(self, mint: str, st) -> bool:
        """Whether a token's features can matter here: a held mint's (its mark) or, with momentum on, one
        momentum_opportunities would score (TokenState.scorable is its refusal test, which no time changes).
        The others' features would be computed and thrown away: the actors compute them for the MomentumEngine's
        ranking, which a backtest has no use for."""
        return (self.book.get(mint) is not None) or (self.momentum_on and st.scorable())

    def _features(self, features: list, slot: int, now: float) -> None:
        if not features:
            return
        if self.momentum_on:
            queue = self.queue
            for opp in S.momentum_opportunities(self.model, features, self.cfg, now, self._capital):
                queue.push_opportunity(opp, now)
        if self.book.open_positions():            # marks only matter for held mints
            self._push_exits(self.watch.on_marks(S.marks_from(features), now), slot, now)

    def _push_exits(self, signals: list[ExitSignal], slot: int, now: float) -> None:
        if signals:
            for sig in signals:
                self.queue.push_exit(sig)
            self._tick(slot, now)

    def _housekeeping(self, slot: int, now: float) -> dict[int, dict]:
        """The actors' periodic work that is due; returns each shard's refreshed states (when due) for the
        delivery to merge with the batch's. Their features are read at the same `now` when the shard's turn
        comes: a state no event touched in between reads the same, and a touched one is replaced anyway."""
        risk = self.risk
        risk.expire(now)
        refreshed: dict[int, dict] = {}
        due = self._housekeeping_due.due(now)
        if due.capital:
            self.queue.set_available_capital(risk.available)
        if due.refresh:
            active = self.cfg.analysis.evict_after_idle_s
            for i, core in enumerate(self.shards):
                states = core.refresh_states(now, active_within_s=active)
                if states:
                    refreshed[i] = states
        if due.evict:
            for core in self.shards:
                core.evict(now)
        if due.sweep:
            self._push_exits(self.watch.sweep(now), slot, now)
            unrealized = self.book.unrealized_all(self.watch.sell_fee_bps)
            if unrealized:
                risk.mark_to_market(unrealized, now)
            self._sample(now)
        return refreshed

    def _sample(self, now: float) -> None:
        point = (now, self.risk.book_equity, self.risk.unrealized_total)
        last = self.equity[-1]
        if point[1:] != last[1:]:
            self.equity.append(point)

    # --- the orchestrator's tick -----------------------------------------------------------------------------
    def _tick(self, slot: int, now: float) -> None:
        queue = self.queue
        if not len(queue):
            return
        self.weights.adapt(now)
        for action in S.tick(queue, now, lambda: self.in_flight):
            if action.kind == ENTRY:
                if self.entries_enabled:
                    self._enter(action.opportunity, slot, now)
                else:
                    queue.finish(action.mint)
            elif action.kind == EXIT:
                self._count(f"exit_{action.exit.reason}")
                self._exit(action.exit, slot, now)
            elif action.kind == CANCEL:
                self._count("cancel")

    def _enter(self, opp: Opportunity, slot: int, now: float) -> None:
        decision = self.risk.approve_and_reserve(opp, now)
        if not decision.approved:
            self._count(f"refused_{decision.reason}")
            self.queue.finish(opp.mint)
            return
        self._count("approved")
        res = decision.reservation
        if opp.id in self.entry_for:                 # the executor's ledger check: one entry per opportunity
            self._count("duplicate_entry")
            self.queue.finish(opp.mint)
            return
        planned = S.plan_entry(opp, res, self.market.curve_view(opp.mint), self.fill_model, self._slippage, MODE, now)
        if isinstance(planned, str):
            self.risk.release(res.id)
            self._count("not_on_curve")
            self.queue.finish(opp.mint)
            return
        order = planned.order
        self.orders[order.id] = order
        self.entry_for[opp.id] = order.id
        self.entry_scores[order.id] = opp.score
        self.in_flight += 1
        self._send(_InFlight(0, 0, planned, res, opp), slot, now)

    def _exit(self, signal: ExitSignal, slot: int, now: float) -> None:
        mint = signal.mint
        market = self.market
        curve = market.curve_view(mint)
        pool = market.pool_view(mint) if curve is None or curve.curve.complete else None
        planned = S.plan_exit(self.book.get(mint), signal, curve, pool, self._slippage, MODE, now, self._reusable)
        if isinstance(planned, str):
            self._count("exit_" + planned.replace(" ", "_").split(":")[0])
            if planned != "no_position":
                self.watch.exit_failed(mint)
            return
        self.orders[planned.order.id] = planned.order
        self._send(_InFlight(0, 0, planned), slot, now)

    def _reusable(self, order_id: str) -> bool:
        prior = self.orders.get(order_id)
        return prior is None or prior.state not in (OrderState.FAILED, OrderState.EXPIRED)

    def _send(self, item: _InFlight, slot: int, now: float) -> None:
        landing = self.latency.landing_slot(slot, self.rng)
        if landing <= slot:
            self._land(item, slot, now)
            return
        self._seq += 1
        item.landing, item.seq = landing, self._seq
        heapq.heappush(self._landings, item)

    # --- landing ---------------------------------------------------------------------------------------------
    def _land(self, item: _InFlight, slot: int, now: float) -> None:
        planned = item.planned
        order = planned.order
        mint = order.mint
        market = self.market
        curve, pool = planned.curve, planned.pool
        if pool is not None:       # re-read the same kind of state as of the landing slot (or keep the old)
            pool = market.pool_view(mint, slot) or pool
        elif curve is not None:
            curve = market.curve_view(mint, slot) or curve
        result = S.paper_fill(order, self.fill_model, curve, pool, now)
        submitted = transition(order, OrderState.SUBMITTED, now)
        if isinstance(result, Rejection):
            self.orders[order.id] = transition(submitted, OrderState.FAILED, now, error=result.reason)
            self._count(f"rejected_{result.reason}")
            if order.side is Side.BUY:
                self.risk.release(item.reservation.id)
            else:
                self.watch.exit_failed(mint)
            if result.fee_lamports > 0 and self.risk.on_cost(order.id, result.fee_lamports, now):
                self._count("failed_tx_fees")     # landed and failed: its fee is gone (Executor._book_cost)
        else:
            confirmed = transition(submitted, OrderState.CONFIRMED, result.ts)
            self.orders[order.id] = confirmed
            self._book(result, confirmed, now)
        if order.side is Side.BUY:
            self.in_flight -= 1
            self.queue.finish(mint)

    def _book(self, fill: Fill, order: Order, now: float) -> None:
        self.fills.append(fill)
        self._count(f"filled_{fill.side.value}")
        opened_at = self.book.get(fill.mint).opened_at if fill.side is Side.SELL else 0.0
        try:
            change, booking = book_fill(fill, order, self.book, self.risk, self.weights, now)
        except PositionError:                     # cannot happen with one exit in flight per mint; never crash
            self._count("book_error")
            return
        if fill.side is Side.SELL and not change.duplicate:
            self.sells.append(SellRecord(fill.mint, opened_at, order.reason, change.pnl_lamports, fill.ts))
        if booking.kind in ("close", "partial_exit"):
            self._sample(now)

    # --- results ---------------------------------------------------------------------------------------------
    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def _result(self) -> BacktestResult:
        start = self.clock.t0 if self.clock else 0.0
        if self.risk is not None:
            self._sample(self._now)
        counts = dict(self.counts)
        for i, core in enumerate(self.shards):
            for k, v in core.counters.items():
                counts[f"analysis_{k}"] = counts.get(f"analysis_{k}", 0) + v
        counts["market_skipped"] = self.market.skipped
        return BacktestResult(
            closed=list(self.book.closed()), open=list(self.book.open_positions()), fills=list(self.fills),
            orders=dict(self.orders), sells=list(self.sells), entry_scores=dict(self.entry_scores),
            equity=list(self.equity), starting_capital=self.risk.capital if self.risk else 0, start=start,
            end=self._now, events=self._events, counts=counts, sell_fee_bps=self.watch.sell_fee_bps,
            open_basis={p.mint: self.book.basis(p.mint) for p in self.book.open_positions()},
            unrealized=self.book.unrealized_all(self.watch.sell_fee_bps))


def _first_time(batch: list) -> float:
    ts = next((ev.timestamp for ev in batch if getattr(ev, "timestamp", 0)), 0)
    return float(ts)
