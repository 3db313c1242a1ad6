"""PositionTracker actor: hosts the PositionBook and runs the exits on every price update.

Fills arrive from the Executor after the ledger holds them; each is settled once (by order id) and its risk
effect sent to the RiskSupervisor. Prices arrive batched from the MomentumEngine (every changed token), and
completion / migration events straight from Ingest. An exit that fires is marked in flight in the book (so a
take-profit step is not fired twice) and pushed to the Orchestrator, ahead of every entry.
"""
from __future__ import annotations

import asyncio
import logging
import time

import ray

from actors import names

from pipelines.chain.events import Complete, Migration, PoolCreated
from actors.chain_reader import ChainReader
from pipelines.config import Config
from pipelines.desk import settle_fill
from pipelines.exits import ExitFlags, evaluate_exit, flatten, steps_done_after
from pipelines.messages import ExitSignal, Fill, Order
from pipelines.positions import PositionBook

log = logging.getLogger("launchray.positions")
SNAPSHOT_KEY = "position_book"
DEFAULT_SELL_FEE_BPS = 100


@ray.remote(num_cpus=0)
class PositionTracker:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.ledger = self.peers(names.LEDGER)
        counters = ray.get(self.ledger.load_counters.remote())
        snap = counters.get(SNAPSHOT_KEY)
        self.book = PositionBook.restore(snap) if snap else PositionBook()
        # Fills the ledger holds but the snapshot had not seen yet (crash between the two writes).
        self.replayed = 0
        self._replayed_bookings = []
        for fill in ray.get(self.ledger.fills.remote()):
            order = ray.get(self.ledger.get_order.remote(fill.order_id))
            if order is not None:
                change, booking = settle_fill(fill, order, self.book, fill.ts)
                if not change.duplicate:
                    self.replayed += 1
                    self._replayed_bookings.append(booking)
        self.sell_fee_bps = DEFAULT_SELL_FEE_BPS
        self.flags: dict[str, ExitFlags] = {}
        self.exits_fired: dict[str, int] = {}
        self._dirty = bool(self.replayed)
        self._task = asyncio.get_event_loop().create_task(self._housekeeping())

    async def _housekeeping(self) -> None:
        risk = self.peers(names.RISK)
        for booking in self._replayed_bookings:   # the risk book ignores order ids it has booked already
            if booking.kind != "none":
                risk.apply_booking.remote(booking)
        self._replayed_bookings = []
        await self._load_fees()
        while True:
            await asyncio.sleep(1.0)
            now = time.time()
            for pos in self.book.open_positions():   # max-hold fires even for tokens nobody trades
                self._check(pos.mint, pos.last_price, now)
            unrealized = self.book.unrealized_all(self.sell_fee_bps)
            if unrealized:
                self.peers(names.RISK).mark_to_market.remote(unrealized)
            self._persist()

    async def _load_fees(self) -> None:
        try:
            fees = await ChainReader(self.peers(names.RPC_POOL)).curve_fees()
            self.sell_fee_bps = fees.protocol_bps + fees.creator_bps
        except Exception as exc:
            log.warning("could not read pump curve fees (%s); using %d bps", exc, DEFAULT_SELL_FEE_BPS)

    def _persist(self) -> None:
        if self._dirty:
            self._dirty = False
            self.ledger.save_counters.remote({SNAPSHOT_KEY: self.book.snapshot()}, time.time())

    # --- fills -------------------------------------------------------------------------------------------------
    async def on_fill(self, fill: Fill, order: Order) -> dict:
        change, booking = settle_fill(fill, order, self.book, time.time())
        if not change.duplicate:
            await self.ledger.upsert_position.remote(change.position)
            self._dirty = True
            self._persist()
        if booking.kind != "none":
            await self.peers(names.RISK).apply_booking.remote(booking)
        if booking.kind == "close":
            day = time.strftime("%Y-%m-%d", time.gmtime(fill.ts))
            await self.ledger.add_daily_pnl.remote(day, booking.pnl_lamports, booking.pnl_lamports > 0, fill.order_id)
            self.peers(names.ORCHESTRATOR).on_closed.remote(booking.strategy, booking.pnl_lamports)
        return {"opened": change.opened, "closed": change.closed, "duplicate": change.duplicate,
                "tokens": change.position.tokens, "pnl_lamports": booking.pnl_lamports}

    def exit_failed(self, mint: str) -> None:
        """The exit for `mint` did not fill: it may fire again on the next price."""
        self.book.abort_exit(mint)

    # --- prices and lifecycle ----------------------------------------------------------------------------------
    def on_marks(self, marks: dict) -> int:
        """marks: mint -> (price, {"complete", "migrated", "rug_signals"}). Returns how many exits fired."""
        now = time.time()
        fired = 0
        for mint, (price, f) in marks.items():
            if self.book.get(mint) is None:
                continue
            self.flags[mint] = ExitFlags(complete=bool(f.get("complete")), migrated=bool(f.get("migrated")),
                                         rug_signals=tuple(f.get("rug_signals", ())), sell_fee_bps=self.sell_fee_bps)
            fired += self._check(mint, price, now)
        return fired

    def on_lifecycle(self, events: list) -> int:
        now = time.time()
        fired = 0
        for ev in events:
            mint = getattr(ev, "mint", "") or getattr(ev, "mint_b", "")
            if isinstance(ev, PoolCreated):
                mint = ev.mint_b if self.book.get(ev.mint_b) else ev.mint_a
            pos = self.book.get(mint)
            if pos is None:
                continue
            old = self.flags.get(mint, ExitFlags(sell_fee_bps=self.sell_fee_bps))
            self.flags[mint] = ExitFlags(complete=True, migrated=isinstance(ev, (Migration, PoolCreated)) or old.migrated,
                                         rug_signals=old.rug_signals, sell_fee_bps=old.sell_fee_bps)
            fired += self._check(mint, pos.last_price, now)
        return fired

    def _check(self, mint: str, price: float, now: float) -> int:
        pos = self.book.get(mint)
        if pos is None or self.book.pending_exit(mint) is not None:
            return 0
        if price > 0:
            pos = self.book.mark(mint, price, now) or pos
        signal = evaluate_exit(pos, price, now, self.cfg.exits, self.flags.get(mint))
        if signal is None:
            return 0
        return self._fire(signal)

    def _fire(self, signal: ExitSignal) -> int:
        if self.book.begin_exit(signal, steps_done_after(signal)) is None:
            return 0
        self.exits_fired[signal.reason] = self.exits_fired.get(signal.reason, 0) + 1
        self.peers(names.ORCHESTRATOR).push_exit.remote(signal)
        self._dirty = True
        return 1

    # --- operator / shutdown -------------------------------------------------------------------------------------
    def flatten_all(self, reason: str = "kill") -> int:
        fired = 0
        for pos in self.book.open_positions():
            if self.book.pending_exit(pos.mint) is None:
                sig = flatten(pos)
                fired += self._fire(ExitSignal(sig.mint, reason, sig.tokens, urgent=True))
        return fired

    async def settle(self, mode: str = "report", timeout_s: float = 20.0) -> list[dict]:
        """On shutdown: 'close' sells everything (waits up to timeout_s); 'report' just lists what is open."""
        if mode == "close":
            self.flatten_all("shutdown")
            deadline = time.time() + timeout_s
            while self.book.open_positions() and time.time() < deadline:
                await asyncio.sleep(0.2)
        self._persist()
        return [self._describe(p) for p in self.book.open_positions()]

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

    def status(self) -> dict:
        closed = self.book.closed()
        return {"open": len(self.book.open_positions()), "closed": len(closed),
                "unrealized_lamports": sum(self.book.unrealized_all(self.sell_fee_bps).values()),
                "exits_fired": dict(self.exits_fired), "replayed_fills": self.replayed}

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()


