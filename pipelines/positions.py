"""Position accounting from fills: cost basis, realised P&L, fees, marks and exits in flight.

Conventions (all money integer lamports, token amounts integer base units):
- A buy fill's `lamports` is everything that left the wallet for it, fees included, so the cost basis
  includes buy fees. `cost_lamports` is the total paid over all buys; `entry_price = cost / initial_tokens`
  where `initial_tokens` is every token ever bought into the position.
- A sell fill's `lamports` is what arrived, net of fees. `realized_lamports` sums them.
- Average cost: a sell of k of the n tokens held releases `basis * k // n` of the remaining cost basis
  (the last sell releases all that is left, so the released amounts sum to exactly the cost). A sell's
  realised P&L is `fill.lamports - basis released`; a closed position's P&L is `realized - cost`.
- `fees_lamports` sums `fee_lamports` of every fill (already inside the lamports above, kept for reporting).
- Unrealised P&L at a price = `floor(tokens * price * (1 - sell_fee_bps / 10000)) - remaining basis`: the
  spot value net of the sell fee, without price impact (the executor's quote gives the real figure).

Worked example: buy 1 SOL incl. fees (lamports 1_000_000_000, of which fee 12_345_679) for 30_000_000_000
tokens: cost 1_000_000_000, entry price 1e9 / 3e10 = 1/30 lamport per base unit. At twice that spot price sell
half (15_000_000_000 tokens): 1_000_000_000 gross, fee 1.25% = 12_500_000, fill.lamports 987_500_000. It
releases basis 1e9 * 15e9 // 30e9 = 500_000_000, so that sell's P&L is +487_500_000; basis left 500_000_000.
Sell the other half at 1.5x: 750_000_000 gross, fee 9_375_000, net 740_625_000; it releases the last
500_000_000 (P&L +240_625_000) and closes the position: realised 1_728_125_000, P&L 1_728_125_000 -
1_000_000_000 = +728_125_000 (= 487_500_000 + 240_625_000), fees 12_345_679 + 12_500_000 + 9_375_000 = 34_220_679.

Fills are applied once per order id: a retried call with the same fill changes nothing.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, replace

from pipelines.messages import ExitSignal, Fill, Position, Side

BPS = 10_000
SNAPSHOT_VERSION = 1
_MAX_REMEMBERED_FILLS = 8192   # a retried call repeats a recent fill, not one from thousands ago


class PositionError(ValueError):
    """A fill that cannot apply to the book (selling a mint not held, more tokens than held, bad amounts)."""


@dataclass(frozen=True, slots=True)
class PositionChange:
    """What one fill did: the position after it and, for a sell, the basis it released and its P&L."""
    position: Position
    basis_released: int = 0
    pnl_lamports: int = 0
    opened: bool = False
    closed: bool = False
    duplicate: bool = False          # the fill had been applied already: nothing changed


def pnl_lamports(position: Position) -> int:
    """Realised P&L of a closed position (for an open one: what sells returned so far minus all cost)."""
    return position.realized_lamports - position.cost_lamports


class PositionBook:
    def __init__(self, max_closed: int = 10_000) -> None:
        self._open: dict[str, Position] = {}
        self._basis: dict[str, int] = {}                 # mint -> remaining cost basis
        self._closed: deque[Position] = deque(maxlen=max_closed)
        self._seen: set[str] = set()                     # applied fill order ids (the most recent ones)
        self._seen_order: deque[str] = deque()
        self._pending: dict[str, tuple[ExitSignal, int]] = {}  # mint -> (exit in flight, tp steps before it)

    # ---- fills -----------------------------------------------------------------------------------------------
    def apply_fill(self, fill: Fill, now: float, strategy: str = "", venue: str = "",
                   reason: str = "") -> Position:
        return self.settle(fill, now, strategy, venue, reason).position

    def settle(self, fill: Fill, now: float, strategy: str = "", venue: str = "",
               reason: str = "") -> PositionChange:
        """Apply a fill; `reason` is the exit reason recorded when a sell closes the position."""
        # A sell may net negative lamports: selling a drained (rugged) coin can return less than the
        # transaction fee. That loss is real and is booked; a buy never takes lamports in.
        if fill.tokens < 0 or fill.fee_lamports < 0 or (fill.lamports < 0 and fill.side is Side.BUY):
            raise PositionError(f"fill {fill.order_id}: negative amounts")
        if fill.order_id in self._seen:
            pos = self._open.get(fill.mint) or self._last_closed(fill.mint)
            if pos is None:
                raise PositionError(f"fill {fill.order_id} seen before but {fill.mint} is unknown")
            return PositionChange(pos, duplicate=True)
        change = self._buy(fill, now, strategy, venue) if fill.side is Side.BUY else self._sell(fill, now, reason)
        self._remember(fill.order_id)
        return change

    def _remember(self, order_id: str) -> None:
        self._seen.add(order_id)
        self._seen_order.append(order_id)
        if len(self._seen_order) > _MAX_REMEMBERED_FILLS:
            self._seen.discard(self._seen_order.popleft())

    def _buy(self, fill: Fill, now: float, strategy: str, venue: str) -> PositionChange:
        if fill.tokens == 0:
            raise PositionError(f"buy fill {fill.order_id} received no tokens")
        pos = self._open.get(fill.mint)
        price = fill.price if fill.price > 0 else fill.lamports / fill.tokens
        if pos is None:
            pos = Position(mint=fill.mint, opened_at=now, tokens=fill.tokens, initial_tokens=fill.tokens,
                           cost_lamports=fill.lamports, entry_price=fill.lamports / fill.tokens,
                           fees_lamports=fill.fee_lamports, peak_price=price, last_price=price,
                           venue=venue or "pumpfun", strategy=strategy, entry_order_id=fill.order_id)
            self._open[fill.mint] = pos
            self._basis[fill.mint] = fill.lamports
            return PositionChange(pos, opened=True)
        cost = pos.cost_lamports + fill.lamports
        initial = pos.initial_tokens + fill.tokens
        pos = replace(pos, tokens=pos.tokens + fill.tokens, initial_tokens=initial, cost_lamports=cost,
                      entry_price=cost / initial, fees_lamports=pos.fees_lamports + fill.fee_lamports,
                      last_price=price, peak_price=max(pos.peak_price, price))
        self._open[fill.mint] = pos
        self._basis[fill.mint] += fill.lamports
        return PositionChange(pos)

    def _sell(self, fill: Fill, now: float, reason: str) -> PositionChange:
        pos = self._open.get(fill.mint)
        if pos is None:
            raise PositionError(f"sell fill {fill.order_id}: no open position in {fill.mint}")
        if fill.tokens == 0 or fill.tokens > pos.tokens:
            raise PositionError(f"sell fill {fill.order_id}: {fill.tokens} tokens, {pos.tokens} held")
        basis = self._basis[fill.mint]
        left = pos.tokens - fill.tokens
        released = basis if left == 0 else basis * fill.tokens // pos.tokens
        self._basis[fill.mint] = basis - released
        self._pending.pop(fill.mint, None)               # the exit in flight has landed
        pos = replace(pos, tokens=left, realized_lamports=pos.realized_lamports + fill.lamports,
                      fees_lamports=pos.fees_lamports + fill.fee_lamports,
                      last_price=fill.price if fill.price > 0 else pos.last_price,
                      exit_order_ids=(*pos.exit_order_ids, fill.order_id))
        closed = left == 0
        if closed:
            pos = replace(pos, closed_at=now, exit_reason=reason)
            del self._open[fill.mint], self._basis[fill.mint]
            self._closed.append(pos)
        else:
            self._open[fill.mint] = pos
        return PositionChange(pos, basis_released=released, pnl_lamports=fill.lamports - released, closed=closed)

    def _last_closed(self, mint: str) -> Position | None:
        return next((p for p in reversed(self._closed) if p.mint == mint), None)

    # ---- marks -----------------------------------------------------------------------------------------------
    def mark(self, mint: str, price: float, now: float) -> Position | None:
        """Record a market price (last and peak). Unknown mints and unusable prices are skipped (None)."""
        pos = self._open.get(mint)
        if pos is None or not (math.isfinite(price) and price > 0):
            return None
        pos = replace(pos, last_price=price, peak_price=max(pos.peak_price, price))
        self._open[mint] = pos
        return pos

    def basis(self, mint: str) -> int:
        return self._basis.get(mint, 0)

    def unrealized_lamports(self, mint: str, price: float, sell_fee_bps: int = 0) -> int:
        pos = self._open.get(mint)
        if pos is None or not (math.isfinite(price) and price >= 0):
            return 0
        value = math.floor(pos.tokens * price * (BPS - sell_fee_bps) / BPS)
        return value - self._basis[mint]

    def unrealized_all(self, sell_fee_bps: int = 0) -> dict[str, int]:
        """Every open position's unrealised P&L at its last price (what RiskBook.mark_to_market takes)."""
        return {m: self.unrealized_lamports(m, p.last_price, sell_fee_bps) for m, p in self._open.items()}

    # ---- exits in flight -------------------------------------------------------------------------------------
    def begin_exit(self, signal: ExitSignal, tp_steps_done: int | None = None) -> Position | None:
        """Note an exit order in flight (so the same exit is not signalled again) and, for a take-profit
        step, advance tp_steps_done now. None when the mint is not held."""
        pos = self._open.get(signal.mint)
        if pos is None:
            return None
        self._pending[signal.mint] = (signal, pos.tp_steps_done)
        if tp_steps_done is not None and tp_steps_done > pos.tp_steps_done:
            pos = replace(pos, tp_steps_done=tp_steps_done)
            self._open[signal.mint] = pos
        return pos

    def pending_exit(self, mint: str) -> ExitSignal | None:
        p = self._pending.get(mint)
        return p[0] if p else None

    def abort_exit(self, mint: str) -> None:
        """The exit order failed: forget it and undo its take-profit step so the rule can fire again."""
        p = self._pending.pop(mint, None)
        pos = self._open.get(mint)
        if p is not None and pos is not None:
            self._open[mint] = replace(pos, tp_steps_done=p[1])

    # ---- queries and persistence -----------------------------------------------------------------------------
    def get(self, mint: str) -> Position | None:
        return self._open.get(mint)

    def open_positions(self) -> tuple[Position, ...]:
        return tuple(self._open.values())

    def closed(self) -> tuple[Position, ...]:
        return tuple(self._closed)

    def snapshot(self) -> dict:
        return {
            "version": SNAPSHOT_VERSION,
            "open": [asdict(p) for p in self._open.values()],
            "basis": dict(self._basis),
            "closed": [asdict(p) for p in self._closed],
            "seen": list(self._seen_order),
            "pending": {m: [asdict(s), steps] for m, (s, steps) in self._pending.items()},
            "max_closed": self._closed.maxlen,
        }

    @classmethod
    def restore(cls, snap: dict) -> "PositionBook":
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"position snapshot version {snap.get('version')!r}, expected {SNAPSHOT_VERSION}")
        book = cls(max_closed=snap["max_closed"])
        for row in snap["open"]:
            book._open[row["mint"]] = _position(row)
        book._basis = {m: int(v) for m, v in snap["basis"].items()}
        book._closed.extend(_position(row) for row in snap["closed"])
        for oid in snap["seen"]:
            book._remember(oid)
        book._pending = {m: (ExitSignal(**s), int(steps)) for m, (s, steps) in snap["pending"].items()}
        return book


def _position(row: dict) -> Position:
    return Position(**{**row, "exit_order_ids": tuple(row["exit_order_ids"])})
