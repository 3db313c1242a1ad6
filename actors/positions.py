"""PositionTracker actor: hosts the PositionBook and runs the exits on every price update.

Fills arrive from the Executor after the ledger holds them; each is settled once (by order id) and its risk
effect sent to the RiskSupervisor; an opened position's mint is pushed to the MomentumEngine at once. Prices
arrive batched from the MomentumEngine (every changed held token: it polls `held_mints`), and
completion / migration events straight from Ingest. What fires is decided by pipelines/stages.ExitWatch (the
object the backtester runs) over this actor's book: an exit that fires is marked in flight in the book (so a
take-profit step is not fired twice) and the batch's exits are pushed to the Orchestrator, ahead of every entry.

Replay mode (chain.source = "replay"): time is the replay's (passed with each call, or pushed by the
Orchestrator before a fill), the housekeeping sweep runs when the replay driver calls `sweep`, and exits pushed
to the Orchestrator are awaited (they have run when the call returns).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time

import ray

from actors import names, observe, runtime_config
from actors.chain_reader import reader_for
from actors.clock import ActorClock
from pipelines.config import Config
from pipelines.desk import settle_fill
from pipelines.housekeeping import SWEEP_EVERY_S
from pipelines.messages import ExitSignal, Fill, Order
from pipelines.positions import PositionBook
from pipelines.stages import DEFAULT_SELL_FEE_BPS, ExitWatch, Mark

log = logging.getLogger("launchray.positions")
SNAPSHOT_KEY = "position_book"


@ray.remote(num_cpus=0)
class PositionTracker:
    def __init__(self, cfg: Config) -> None:
        observe.init_observability(cfg, "position_tracker")
        cfg = runtime_config.restore(cfg, "position_tracker")   # this run's PATCHed exit rules before the first mark
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.clock = ActorClock.for_config(cfg)
        self.ledger = self.peers(names.LEDGER)
        counters = ray.get(self.ledger.load_counters.remote())
        snap = counters.get(SNAPSHOT_KEY)
        self.book = PositionBook.restore(snap) if snap else PositionBook()
        # Fills the ledger holds but the snapshot had not seen yet (crash between the two writes).
        self.replayed = 0
        self._replayed_bookings = []
        replayed_positions = {}
        # Only the fills from the oldest one the book remembers on: it forgets settled ids past 8192, and an older
        # fill replayed again would be applied twice (a closed position opened again).
        for fill in ray.get(self.ledger.fills_to_replay.remote(list(snap["seen"]) if snap else [])):
            order = ray.get(self.ledger.get_order.remote(fill.order_id))
            if order is not None:
                change, booking = settle_fill(fill, order, self.book, fill.ts)
                if not change.duplicate:
                    self.replayed += 1
                    self._replayed_bookings.append(booking)
                    replayed_positions[change.position.mint] = change.position
        # ... and their position rows, written before any call is taken: the on_fill that Ray retries after this
        # restart finds its fill already in the book (a duplicate, nothing written), so this is the only write
        if replayed_positions:
            ray.get([self.ledger.upsert_position.remote(pos) for pos in replayed_positions.values()])
        self.watch = ExitWatch(self.book, cfg.exits, DEFAULT_SELL_FEE_BPS)
        self._fees_loaded = False
        self._dirty = bool(self.replayed)
        self.monitoring = True          # False after stop_monitors (graceful shutdown): no exit fires
        self.flattening = ""            # a flatten in force (its reason) until no position is left
        self._pushes: collections.deque = collections.deque(maxlen=256)   # exits pushed, not yet awaited
        self._task = asyncio.get_event_loop().create_task(self._housekeeping())

    @property
    def sell_fee_bps(self) -> int:
        return self.watch.sell_fee_bps

    async def _housekeeping(self) -> None:
        risk = self.peers(names.RISK)
        for booking in self._replayed_bookings:   # the risk book ignores order ids it has booked already
            if booking.kind != "none":
                risk.apply_booking.remote(booking)
        self._replayed_bookings = []
        await self.load_fees()
        if self.clock.replay:
            return                               # the replay driver calls sweep() when it is due
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            await self.sweep()

    async def sweep(self, now: float | None = None) -> int:
        """Housekeeping: exits on time (max hold fires even for tokens nobody trades), then the open positions
        marked to market in the risk book. Returns how many exits fired."""
        signals = self.watch.sweep(self.clock.at(now))
        if self.flattening:
            # a flatten (kill switch, shutdown close) whose exit failed is fired again until nothing is held
            if self.book.open_positions():
                signals += self.watch.flatten_all(self.flattening)
            else:
                self.flattening = ""
        fired = await self._send(signals)
        unrealized = self.book.unrealized_all(self.sell_fee_bps)
        if unrealized:
            marked = self.peers(names.RISK).mark_to_market.remote(unrealized, self.clock.sent())
            if self.clock.replay:
                await marked
        self._persist()
        return fired

    async def load_fees(self) -> int:
        """The sell fee the exits judge prices net of: the pump curve's fee rates (read once; the replay driver
        awaits it before the first batch). Falls back to DEFAULT_SELL_FEE_BPS when they cannot be read."""
        if not self._fees_loaded:
            try:
                fees = await reader_for(self.cfg, self.peers).curve_fees()
                self.watch.sell_fee_bps = fees.protocol_bps + fees.creator_bps
            except Exception as exc:
                log.warning("could not read pump curve fees (%s); using %d bps", exc, DEFAULT_SELL_FEE_BPS)
            self._fees_loaded = True
        return self.sell_fee_bps

    def _persist(self) -> None:
        if self._dirty:
            self._dirty = False
            self.ledger.save_counters.remote({SNAPSHOT_KEY: self.book.snapshot()}, time.time())

    # --- fills -------------------------------------------------------------------------------------------------
    async def on_fill(self, fill: Fill, order: Order, now: float | None = None) -> dict:
        """`now`: when the fill is settled (a replayed fill: its own time), else this actor's clock."""
        change, booking = settle_fill(fill, order, self.book, self.clock.now() if now is None else now)
        if not change.duplicate:
            await self.ledger.upsert_position.remote(change.position)
            self._dirty = True
            self._persist()
            if change.opened and not self.clock.replay:
                self._push_held(change.position.mint)
        if booking.kind != "none":
            await self.peers(names.RISK).apply_booking.remote(booking)
        if booking.kind == "close":
            day = time.strftime("%Y-%m-%d", time.gmtime(fill.ts))
            await self.ledger.add_daily_pnl.remote(day, booking.pnl_lamports, booking.pnl_lamports > 0, fill.order_id)
            learned = self.peers(names.ORCHESTRATOR).on_closed.remote(booking.strategy, booking.pnl_lamports)
            if self.clock.replay:            # the strategy weights learn before the next decision
                await learned
        return {"opened": change.opened, "closed": change.closed, "duplicate": change.duplicate,
                "tokens": change.position.tokens, "pnl_lamports": booking.pnl_lamports}

    async def replay_ledger(self) -> int:
        """Settle the fills the ledger holds that this book has not (an Executor that died between its ledger
        write and its on_fill, while this tracker kept running): the restarted Executor calls this at start.
        Each goes through on_fill, which settles a fill once by order id. Returns how many were new."""
        fills = await self.ledger.fills_to_replay.remote(list(self.book.snapshot()["seen"]))
        orders = await asyncio.gather(*(self.ledger.get_order.remote(f.order_id) for f in fills))
        new = 0
        for fill, order in zip(fills, orders):
            if order is not None and not (await self.on_fill(fill, order, fill.ts))["duplicate"]:
                new += 1
        self.replayed += new
        return new

    def _push_held(self, mint: str) -> None:
        """Tell the MomentumEngine at once: its marks for `mint` start with the next features batch instead of
        its next poll of held_mints. A MomentumEngine that is away polls the list when it is back."""
        try:
            self.peers(names.MOMENTUM).hold.remote(mint)
        except Exception as exc:   # noqa: BLE001 - never fails the fill it follows
            log.debug("held mint not pushed (%s)", type(exc).__name__)

    def exit_failed(self, mint: str) -> None:
        """The exit for `mint` did not fill: it may fire again on the next price."""
        self.watch.exit_failed(mint)

    # --- prices and lifecycle ----------------------------------------------------------------------------------
    async def on_marks(self, marks: list[Mark], now: float | None = None) -> int:
        """Price updates (stages.marks_from, from the MomentumEngine). Returns how many exits fired."""
        return await self._send(self.watch.on_marks(marks, self.clock.at(now)))

    async def on_lifecycle(self, events: list, now: float | None = None) -> int:
        """Completion / migration / new pool events from Ingest: urgent exits for held mints."""
        return await self._send(self.watch.on_lifecycle(events, self.clock.at(now)))

    async def _send(self, signals: list[ExitSignal]) -> int:
        """The exits that fired (already in flight in the book) to the Orchestrator in one call."""
        if not signals:
            return 0
        self._dirty = True
        if not self.monitoring:      # shutting down: the exit is not sent, the position is reported open
            for s in signals:
                self.watch.exit_failed(s.mint)
            return 0
        pushed = self.peers(names.ORCHESTRATOR).push_exits.remote(signals, self.clock.sent())
        if self.clock.replay:
            await pushed
        else:
            self._pushes.append(pushed)
        return len(signals)

    # --- operator / shutdown -------------------------------------------------------------------------------------
    async def flatten_all(self, reason: str = "kill") -> int:
        """Sell every position now; one whose sell fails (exit_failed) is sold again by the next sweep."""
        self.flattening = reason
        return await self._send(self.watch.flatten_all(reason))

    async def settle(self, mode: str = "report", timeout_s: float = 20.0) -> list[dict]:
        """On shutdown: 'close' sells everything (waits up to timeout_s); 'report' just lists what is open."""
        if mode == "close":
            await self.flatten_all("shutdown")
            deadline = time.time() + timeout_s
            while self.book.open_positions() and time.time() < deadline:
                await asyncio.sleep(0.2)
        self._persist()
        return [self._describe(p) for p in self.book.open_positions()]

    async def stop_monitors(self) -> int:
        """Graceful shutdown, after settle: no exit fires from here on (prices still mark the book), and the
        exits already pushed have reached the Orchestrator, so its stop() waits for every one of them."""
        self.monitoring = False
        pending = list(self._pushes)
        self._pushes.clear()
        for ref in pending:
            try:
                await ref
            except Exception as exc:     # an Orchestrator restarting: those exits fire again after restart
                log.warning("exit push: %s", type(exc).__name__)
        self._persist()
        return len(pending)

    def _describe(self, p) -> dict:
        unreal = self.book.unrealized_lamports(p.mint, p.last_price, self.sell_fee_bps) if p.last_price > 0 else 0
        return {"mint": p.mint, "tokens": p.tokens, "cost_lamports": p.cost_lamports, "entry_price": p.entry_price,
                "last_price": p.last_price, "unrealized_lamports": unreal, "opened_at": p.opened_at,
                "strategy": p.strategy, "tp_steps_done": p.tp_steps_done,
                "pct": (p.last_price / p.entry_price - 1) if p.entry_price > 0 and p.last_price > 0 else 0.0}

    def positions(self) -> list[dict]:
        return [self._describe(p) for p in self.book.open_positions()]

    def get(self, mint: str):
        return self.book.get(mint)

    def held_mints(self) -> list[str]:
        return [p.mint for p in self.book.open_positions()]

    def update_config(self, cfg: Config) -> None:
        """Runtime change (control API): the exit rules apply from the next price update."""
        self.cfg = cfg
        self.watch.exits = cfg.exits

    def set_clock(self, now: float) -> float:
        return self.clock.advance(now)

    def status(self) -> dict:
        closed = self.book.closed()
        return {"open": len(self.book.open_positions()), "closed": len(closed),
                "unrealized_lamports": sum(self.book.unrealized_all(self.sell_fee_bps).values()),
                "exits_fired": dict(self.watch.fired), "replayed_fills": self.replayed}

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()


