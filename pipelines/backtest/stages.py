"""The decision steps the actors perform, as plain functions and one small state object, shared by the
backtester and (for replay parity) the actors themselves.

Each function is the body of one actor method, without the Ray calls around it:

    route(events, n_shards, launch_mints)      IngestCore.route           events -> shards, launches, lifecycle
    on_launches(queue, sniper, launches, ...)  Orchestrator.on_launches   sniper opportunities, pushed now
    momentum_opportunities(model, features..)  MomentumEngine.on_features score -> opportunity_from
    ExitWatch.on_lifecycle / on_marks / sweep  PositionTracker            exit flags, evaluate_exit, begin_exit
    plan_entry(...)                            Executor._entry            refuse / order with its slippage bound
    plan_exit(...)                             Executor.execute_exit      refuse / order with its slippage bound
    paper_fill(...)                            Executor._paper            fill model on the landing state

The order in which BacktestEngine calls them for one batch is documented in engine.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from pipelines.analysis.routing import shard_for
from pipelines.chain.amm import pumpswap_sell
from pipelines.chain.curve import buy_exact_sol, sell
from pipelines.chain.events import Complete, Launch, Migration, PoolCreated
from pipelines.config import Config, ExitConfig
from pipelines.decision_queue import DecisionQueue
from pipelines.desk import entry_order, exit_order
from pipelines.exits import ExitFlags, evaluate_exit, flatten, steps_done_after
from pipelines.fills import PaperFillModel, Rejection
from pipelines.messages import ExitSignal, Fill, Opportunity, Order, Position, Reservation, Side, TokenFeatures
from pipelines.positions import PositionBook
from pipelines.scoring.momentum import MomentumModel
from pipelines.scoring.opportunities import opportunity_from
from pipelines.scoring.sniper import Sniper

from .market import CurveView, PoolView

LAMPORTS = 1_000_000_000
RUG_REASONS = ("dev_dump", "liquidity_pulled")          # actors/momentum.py: safety reasons that mean a rug
MAX_ACTIONS_PER_TICK = 64                               # actors/orchestrator.py


# --- Ingest ------------------------------------------------------------------------------------------------------
def route(events: Iterable, n_shards: int, launch_mints: set[str]) -> tuple[dict[int, list], list, list]:
    """IngestCore.route: events by shard (order kept), first launches per mint, lifecycle events."""
    by_shard: dict[int, list] = {}
    launches, lifecycle = [], []
    for ev in events:
        if isinstance(ev, Launch):
            if ev.mint not in launch_mints:
                launch_mints.add(ev.mint)
                launches.append(ev)
        elif isinstance(ev, (Complete, Migration, PoolCreated)):
            lifecycle.append(ev)
        if n_shards == 1:
            shard = 0
        else:
            shard = shard_for(getattr(ev, "mint", "") or getattr(ev, "mint_a", ""), n_shards)
        lst = by_shard.get(shard)
        if lst is None:
            lst = by_shard[shard] = []
        lst.append(ev)
    return by_shard, launches, lifecycle


# --- Orchestrator inputs -----------------------------------------------------------------------------------------
def sniper_size(cfg: Config) -> int:
    return int(cfg.execution.sniper_buy_sol * LAMPORTS)


def momentum_capital(cfg: Config) -> int:
    return int(cfg.risk.max_position_sol * LAMPORTS)


def on_launches(queue: DecisionQueue, sniper: Sniper, launches: list[Launch], now: float, size: int) -> int:
    """Orchestrator.on_launches (when the sniper strategy is on): push each launch's opportunity now."""
    pushed = 0
    for launch in launches:
        opp = sniper.on_launch(launch, now, size)
        if opp is not None and queue.push_opportunity(opp, now):
            pushed += 1
    return pushed


def momentum_opportunities(model: MomentumModel, features: list[TokenFeatures], cfg: Config, now: float,
                           capital: int) -> list[Opportunity]:
    """MomentumEngine.on_features: each feature scored and turned into an opportunity, or not.

    Tokens opportunity_from refuses before looking at the score (unsafe, complete, migrated, rugged: its first
    test) are not scored: most young tokens are unsafe, and scoring is a fifth of a backtest's time. The result
    is the same list (test_stages checks it on a real recording)."""
    out = []
    scoring, exits = cfg.scoring, cfg.exits
    for f in features:
        if not f.safety.safe or f.complete or f.migrated or f.rugged:
            continue
        opp = opportunity_from(f, model.score(f), scoring, now, capital, exits=exits)
        if opp is not None:
            out.append(opp)
    return out


# --- PositionTracker ---------------------------------------------------------------------------------------------
class ExitWatch:
    """What PositionTracker decides: exit flags per mint, exits on every mark, lifecycle event and housekeeping
    sweep, each marked in flight in the book before it is handed to the orchestrator."""

    def __init__(self, book: PositionBook, exits: ExitConfig, sell_fee_bps: int) -> None:
        self.book = book
        self.exits = exits
        self.sell_fee_bps = sell_fee_bps
        self.flags: dict[str, ExitFlags] = {}
        self.fired: dict[str, int] = {}

    def on_marks(self, features: list[TokenFeatures], now: float) -> list[ExitSignal]:
        """on_marks(marks_from(features)), for the held mints only (the others are skipped there too)."""
        out: list[ExitSignal] = []
        book = self.book
        for f in features:
            if book.get(f.mint) is None:
                continue
            rug = tuple(r for r in f.safety.reasons if r in RUG_REASONS) + (("rugged",) if f.rugged else ())
            self.flags[f.mint] = ExitFlags(complete=bool(f.complete), migrated=bool(f.migrated), rug_signals=rug,
                                           sell_fee_bps=self.sell_fee_bps)
            self._check(f.mint, f.price, now, out)
        return out

    def on_lifecycle(self, events: list, now: float) -> list[ExitSignal]:
        out: list[ExitSignal] = []
        book = self.book
        for ev in events:
            mint = getattr(ev, "mint", "") or getattr(ev, "mint_b", "")
            if isinstance(ev, PoolCreated):
                mint = ev.mint_b if book.get(ev.mint_b) else ev.mint_a
            pos = book.get(mint)
            if pos is None:
                continue
            old = self.flags.get(mint, ExitFlags(sell_fee_bps=self.sell_fee_bps))
            self.flags[mint] = ExitFlags(complete=True,
                                         migrated=isinstance(ev, (Migration, PoolCreated)) or old.migrated,
                                         rug_signals=old.rug_signals, sell_fee_bps=old.sell_fee_bps)
            self._check(mint, pos.last_price, now, out)
        return out

    def sweep(self, now: float) -> list[ExitSignal]:
        """The 1 s housekeeping pass: max-hold fires even for tokens nobody trades."""
        out: list[ExitSignal] = []
        for pos in self.book.open_positions():
            self._check(pos.mint, pos.last_price, now, out)
        return out

    def flatten_all(self, reason: str) -> list[ExitSignal]:
        out = []
        for pos in self.book.open_positions():
            if self.book.pending_exit(pos.mint) is None:
                sig = flatten(pos)
                self._fire(ExitSignal(sig.mint, reason, sig.tokens, urgent=True), out)
        return out

    def exit_failed(self, mint: str) -> None:
        self.book.abort_exit(mint)

    def _check(self, mint: str, price: float, now: float, out: list[ExitSignal]) -> None:
        book = self.book
        pos = book.get(mint)
        if pos is None or book.pending_exit(mint) is not None:
            return
        if price > 0:
            pos = book.mark(mint, price, now) or pos
        signal = evaluate_exit(pos, price, now, self.exits, self.flags.get(mint))
        if signal is not None:
            self._fire(signal, out)

    def _fire(self, signal: ExitSignal, out: list[ExitSignal]) -> None:
        if self.book.begin_exit(signal, steps_done_after(signal)) is None:
            return
        self.fired[signal.reason] = self.fired.get(signal.reason, 0) + 1
        out.append(signal)


# --- Executor ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Planned:
    """An order ready to send, with the state it was planned on (the fallback if a re-read finds nothing)."""
    order: Order
    curve: CurveView | None = None
    pool: PoolView | None = None


def plan_entry(opp: Opportunity, reservation: Reservation, view: CurveView | None, fm: PaperFillModel,
               slippage_bps: int, mode: str, now: float) -> Planned | str:
    """Executor._entry after the duplicate check: a refusal reason, or the buy order (min tokens from the quote)."""
    if view is None or view.curve.complete:
        return "no active curve"
    tx_fee = fm.tx_fee_lamports()
    spend = max(0, reservation.lamports - tx_fee)
    expected = buy_exact_sol(view.curve.state(), spend, view.fees).tokens
    return Planned(entry_order(opp, reservation, mode, tx_fee, expected, slippage_bps, now), curve=view)


def plan_exit(pos: Position | None, signal: ExitSignal, curve: CurveView | None, pool: PoolView | None,
              slippage_bps: int, mode: str, now: float, reusable: Callable[[str], bool]) -> Planned | str:
    """Executor.execute_exit: "no_position", a refusal, or the sell order. `pool` is only consulted when the
    curve is gone or complete (the caller reads it then); `reusable(order_id)` says whether an exit order id is
    free (never used, or its earlier attempt did not fail): _fresh_exit_order's attempt numbering."""
    if pos is None or not pos.is_open:
        return "no_position"
    tokens = min(signal.tokens, pos.tokens)
    if pool is not None:
        f = pool.fees
        try:
            expected = pumpswap_sell(tokens, pool.base_reserve, pool.quote_reserve, f.lp_fee_bps, f.protocol_fee_bps,
                                     f.creator_fee_bps, has_creator=pool.pool.has_coin_creator).net_quote
        except ValueError as exc:
            return f"pool cannot quote: {exc}"
    elif curve is not None and not curve.curve.complete:
        expected = sell(curve.curve.state(), tokens, curve.fees).net_sol
    else:
        return "no market for the token"
    sig = ExitSignal(signal.mint, signal.reason, tokens, signal.urgent)
    for attempt in range(100):
        order = exit_order(pos, sig, mode, expected, slippage_bps, now, attempt)
        if reusable(order.id):
            return Planned(order, curve=curve if pool is None else None, pool=pool)
    return "too many failed exit attempts"


def paper_fill(order: Order, fm: PaperFillModel, curve: CurveView | None, pool: PoolView | None,
               now: float) -> Fill | Rejection:
    """Executor._paper: the fill model on the (re-read) state the order lands on."""
    if pool is not None:
        p = pool
        if order.side is Side.SELL:
            return fm.fill_sell_pool(order, p.pool, p.base_reserve, p.quote_reserve, p.fees, p.slot, now)
        return fm.fill_buy_pool(order, p.pool, p.base_reserve, p.quote_reserve, p.fees, p.slot, now)
    if order.side is Side.BUY:
        return fm.fill_buy(order, curve.curve, curve.fees, curve.slot, now)
    return fm.fill_sell(order, curve.curve, curve.fees, curve.slot, now)
