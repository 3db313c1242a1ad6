"""The decision steps of the actors, as plain functions and one small state object: the one copy that both the
actor system (actors/) and the backtester (pipelines/backtest/engine.py) run.

Each function is the body of one actor method, without the Ray calls around it:

    route(events, n_shards, launch_mints)      IngestCore.route           events -> shards, launches, lifecycle
    route_trade_columns(columns, n_shards)     IngestCore.route_trade_columns  trades' wire columns -> shards
    on_launches(queue, sniper, launches, ...)  Orchestrator.on_launches   sniper opportunities, pushed now
    momentum_opportunities(model, features..)  MomentumEngine.on_features score -> opportunity_from
    marks_from(features)                       MomentumEngine.on_features the price feed of the exits
    tick(queue, now, in_flight)                Orchestrator               the actions one tick hands out
    ExitWatch.on_lifecycle / on_marks / sweep  PositionTracker            exit flags, evaluate_exit, begin_exit
    plan_entry(...)                            Executor._entry            refuse / order with its slippage bound
    plan_exit(...)                             Executor.execute_exit      refuse / order with its slippage bound
    paper_fill(...)                            Executor._paper            fill model on the landing state

The order in which BacktestEngine calls them for one batch is documented in engine.py; the actor system's replay
mode (actors/replay.py) calls the actors in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Callable, Container, Iterable, Iterator

from pipelines.analysis.routing import event_mint, shard_for
from pipelines.chain.amm import pumpswap_sell
from pipelines.chain.curve import buy_exact_sol, sell
from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.config import Config, ExitConfig
from pipelines.decision_queue import Action, DecisionQueue
from pipelines.desk import entry_order, exit_order
from pipelines.exits import ExitFlags, evaluate_exit, flatten, steps_done_after
from pipelines.fills import PaperFillModel, Rejection
from pipelines.market_views import CurveView, PoolView
from pipelines.messages import ExitSignal, Fill, Opportunity, Order, Position, Reservation, Side, TokenFeatures
from pipelines.positions import PositionBook
from pipelines.scoring.momentum import MomentumModel
from pipelines.scoring.opportunities import opportunity_from
from pipelines.scoring.sniper import Sniper
from pipelines.wire import pickle_by_fields

LAMPORTS = 1_000_000_000
RUG_REASONS = ("dev_dump", "liquidity_pulled")          # safety reasons that mean a rug (an urgent exit)
MAX_ACTIONS_PER_TICK = 64
DEFAULT_SELL_FEE_BPS = 100     # the sell fee exits judge prices net of when no fee parameters can be read


# --- Ingest ------------------------------------------------------------------------------------------------------
def route(events: Iterable, n_shards: int, launch_mints: set[str]) -> tuple[dict[int, list], list, list]:
    """IngestCore.route: events by the shard that owns their token (order kept), the first launch of each mint
    (the sniper path; a repeated launch of a mint already seen goes nowhere), lifecycle events (the exits).

    The shard is the one ShardCore files the event under (routing.event_mint: a pool's non-quote side)."""
    by_shard: dict[int, list] = {}
    launches, lifecycle = [], []
    for ev in events:
        if type(ev) is Trade:                 # most events: no launch or lifecycle checks
            shard = 0 if n_shards == 1 else shard_for(ev.mint, n_shards)
            lst = by_shard.get(shard)
            if lst is None:
                lst = by_shard[shard] = []
            lst.append(ev)
            continue
        if isinstance(ev, Launch):
            if ev.mint in launch_mints:
                continue
            launch_mints.add(ev.mint)
            launches.append(ev)
        elif isinstance(ev, (Complete, Migration, PoolCreated)):
            lifecycle.append(ev)
        shard = 0 if n_shards == 1 else shard_for(event_mint(ev), n_shards)
        lst = by_shard.get(shard)
        if lst is None:
            lst = by_shard[shard] = []
        lst.append(ev)
    return by_shard, launches, lifecycle


def route_trade_columns(columns: tuple, n_shards: int) -> dict[int, tuple]:
    """route for trades given as their columns (an EventBatch of trades as it came off the wire: one tuple per
    field, Trade's field order): each shard's trades as columns of their own, by the shard of their mint
    (column 3), order kept. No row is built: ~0.3 us per trade instead of ~1.2 through rows. Trades are
    neither launches nor lifecycle events."""
    if not columns or not columns[0]:
        return {}
    if n_shards == 1:
        return {0: columns}
    groups: dict[int, list[int]] = {}
    for i, mint in enumerate(columns[3]):
        shard = shard_for(mint, n_shards) if type(mint) is str else 0     # garbage: shard 0 counts it as bad
        idx = groups.get(shard)
        if idx is None:
            groups[shard] = [i]
        else:
            idx.append(i)
    if len(groups) == 1:
        return {shard: columns for shard in groups}       # all to one shard: forwarded as they came
    by_shard: dict[int, tuple] = {}
    for shard, idx in groups.items():
        if len(idx) == 1:                                 # itemgetter of one index gives a value, not a tuple
            k = idx[0]
            by_shard[shard] = tuple((col[k],) for col in columns)
        else:
            by_shard[shard] = tuple(map(itemgetter(*idx), columns))
    return by_shard


# --- Orchestrator inputs -----------------------------------------------------------------------------------------
def sniper_size(cfg: Config) -> int:
    return int(cfg.execution.sniper_buy_sol * LAMPORTS)


def momentum_capital(cfg: Config) -> int:
    return int(cfg.risk.max_position_sol * LAMPORTS)


def on_launches(queue: DecisionQueue, sniper: Sniper, launches: list[Launch], now: float,
                size: int, chain_slot: int = 0) -> list[Opportunity]:
    """Orchestrator.on_launches (when the sniper strategy is on): each launch's opportunity pushed now; returns
    the ones the queue took. `chain_slot`: the chain's current slot as the host knows it (sniper.current_slot);
    a launch older than the sniper's window at that slot (learned late, from a backfill) is not sniped."""
    pushed = []
    for launch in launches:
        opp = sniper.on_launch(launch, now, size, chain_slot=chain_slot)
        if opp is not None and queue.push_opportunity(opp, now):
            pushed.append(opp)
    return pushed


def stale_launches(sniper: Sniper, launches: list[Launch], chain_slot: int) -> int:
    """How many of these launches on_launches leaves alone as stale (the hosts count them: stale_launch)."""
    return sum(1 for launch in launches if isinstance(launch, Launch) and sniper.stale(launch, chain_slot))


def momentum_opportunities(model: MomentumModel, features: list[TokenFeatures], cfg: Config, now: float,
                           capital: int, scored: Callable[[TokenFeatures, float], None] | None = None
                           ) -> list[Opportunity]:
    """MomentumEngine.on_features: each feature scored and turned into an opportunity, or not.

    Tokens opportunity_from refuses before looking at the score (unsafe, complete, migrated, rugged, not warm:
    its first test) are not scored: most young tokens are unsafe, and scoring is a fifth of a backtest's time. The result
    is the same list (test_stages checks it on a real recording). With `scored` (the MomentumEngine's ranking)
    every feature is scored and handed to it with its score; the opportunities are the same."""
    out = []
    scoring, exits = cfg.scoring, cfg.exits
    for f in features:
        refused = not f.safety.safe or f.complete or f.migrated or f.rugged or not f.warm
        if refused and scored is None:
            continue
        breakdown = model.score(f)
        if scored is not None:
            scored(f, breakdown.score)
            if refused:
                continue
        opp = opportunity_from(f, breakdown, scoring, now, capital, exits=exits)
        if opp is not None:
            out.append(opp)
    return out


@dataclass(frozen=True, slots=True)
class Mark:
    """One token's price update for the exits (MomentumEngine -> PositionTracker)."""
    mint: str
    price: float
    complete: bool = False
    migrated: bool = False
    rug_signals: tuple[str, ...] = ()


pickle_by_fields(Mark)     # every touched token's mark crosses Ray (MomentumEngine -> PositionTracker): ~3x cheaper


def marks_from(features: Iterable[TokenFeatures], held: Container[str] | None = None) -> list[Mark]:
    """The exits' view of each token's features; only of the mints in `held` when given (ExitWatch skips the
    others: a host that knows the held mints need not build and send them)."""
    return [Mark(f.mint, f.price, bool(f.complete), bool(f.migrated),
                 tuple(r for r in f.safety.reasons if r in RUG_REASONS) + (("rugged",) if f.rugged else ()))
            for f in features if held is None or f.mint in held]


def tick(queue: DecisionQueue, now: float, in_flight: Callable[[], int]) -> Iterator[Action]:
    """One orchestrator tick on a simulated clock: what pop_ready hands out, popped again (with the in-flight
    count as it is then) while a pop hands out a full MAX_ACTIONS_PER_TICK. The caller runs each action to its
    end before taking the next (the live loop instead starts them as tasks and pops once per 10 ms)."""
    while True:
        actions = queue.pop_ready(now, in_flight(), MAX_ACTIONS_PER_TICK)
        yield from actions
        if len(actions) < MAX_ACTIONS_PER_TICK:
            return


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

    def on_marks(self, marks: Iterable[Mark], now: float) -> list[ExitSignal]:
        """Exit flags from each mark of a held mint (the others are skipped), then its exits at that price."""
        out: list[ExitSignal] = []
        book = self.book
        for m in marks:
            if book.get(m.mint) is None:
                continue
            self.flags[m.mint] = ExitFlags(complete=m.complete, migrated=m.migrated, rug_signals=m.rug_signals,
                                           sell_fee_bps=self.sell_fee_bps)
            self._check(m.mint, m.price, now, out)
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
