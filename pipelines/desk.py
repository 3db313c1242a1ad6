"""The trading desk's bookkeeping rules, shared by the actors and the backtester.

One place decides how an approved opportunity becomes an order, how an exit signal becomes an order, and how
a fill is booked into the position book, the risk book and the strategy weights. The live system spreads these
calls over the Executor, PositionTracker and RiskSupervisor actors; the backtester calls them in one process.
Keeping the rules here is what makes both produce the same trades.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipelines.chain.curve import slippage_min_out
from pipelines.messages import ExitSignal, Fill, Opportunity, Order, OrderState, Position, Reservation, Side
from pipelines.orders import entry_order_id, exit_order_id
from pipelines.positions import PositionBook, PositionChange, pnl_lamports
from pipelines.risk import RiskBook
from pipelines.strategy_weights import StrategyWeights


def entry_order(opp: Opportunity, reservation: Reservation, mode: str, tx_fee_lamports: int,
                expected_tokens: int, slippage_bps: int, now: float) -> Order:
    """A buy that spends the reservation less the transaction's own fees (paid on top, as on chain), with
    the minimum tokens out set from the quote and the slippage allowance."""
    spend = max(0, reservation.lamports - tx_fee_lamports)
    return Order(id=entry_order_id(opp.id), mint=opp.mint, side=Side.BUY, venue=opp.venue, amount=spend,
                 limit=slippage_min_out(expected_tokens, slippage_bps) if expected_tokens > 0 else 0,
                 mode=mode, state=OrderState.INTENT, reason=opp.strategy, reservation_id=reservation.id,
                 opportunity_id=opp.id, created_at=now, updated_at=now, trace_id=opp.trace_id)


def exit_order(position: Position, signal: ExitSignal, mode: str, expected_lamports: int, slippage_bps: int,
               now: float, attempt: int = 0) -> Order:
    """A sell of the signal's tokens (never more than held) with a minimum SOL out from the quote. Urgent
    exits (rug, migration, kill) accept any price: getting out beats the slippage bound."""
    tokens = min(signal.tokens, position.tokens)
    limit = 0 if signal.urgent else slippage_min_out(expected_lamports, slippage_bps)
    return Order(id=exit_order_id(position.mint, position.opened_at, signal.reason, position.tp_steps_done, attempt),
                 mint=position.mint, side=Side.SELL, venue=position.venue, amount=tokens, limit=max(0, limit),
                 mode=mode, state=OrderState.INTENT, reason=signal.reason, created_at=now, updated_at=now)


@dataclass(frozen=True, slots=True)
class RiskBooking:
    """What a settled fill means to the risk book (a message: in the live system it crosses actors)."""
    kind: str                        # "entry" | "partial_exit" | "close" | "none"
    fill: Fill
    reservation_id: str = ""
    basis_released: int = 0
    pnl_lamports: int = 0
    strategy: str = ""


def settle_fill(fill: Fill, order: Order, positions: PositionBook, now: float) -> tuple[PositionChange, RiskBooking]:
    """Apply a fill to the position book (once per order id) and say what the risk book must do about it."""
    change = positions.settle(fill, now, strategy=order.reason if fill.side is Side.BUY else "",
                              venue=order.venue, reason=order.reason if fill.side is Side.SELL else "")
    if change.duplicate:
        return change, RiskBooking("none", fill)
    if fill.side is Side.BUY:
        return change, RiskBooking("entry", fill, reservation_id=order.reservation_id, strategy=order.reason)
    if change.closed:
        return change, RiskBooking("close", fill, pnl_lamports=pnl_lamports(change.position),
                                   strategy=change.position.strategy)
    return change, RiskBooking("partial_exit", fill, basis_released=change.basis_released,
                               strategy=change.position.strategy)


def apply_risk_booking(b: RiskBooking, risk: RiskBook, now: float) -> bool:
    """Book it in the risk book; each RiskBook call is itself idempotent per order id."""
    if b.kind == "entry":
        return risk.on_fill(b.reservation_id, b.fill)
    if b.kind == "partial_exit":
        return risk.on_partial_exit(b.fill, b.basis_released, now)
    if b.kind == "close":
        return risk.on_position_closed(b.fill.mint, b.pnl_lamports, now)
    return False


def book_fill(fill: Fill, order: Order, positions: PositionBook, risk: RiskBook, weights: StrategyWeights | None,
              now: float) -> tuple[PositionChange, RiskBooking]:
    """Both steps in one process (the backtester); the strategy weights learn from each close."""
    change, booking = settle_fill(fill, order, positions, now)
    apply_risk_booking(booking, risk, now)
    if booking.kind == "close" and weights is not None:
        weights.record(booking.strategy, booking.pnl_lamports)
    return change, booking
