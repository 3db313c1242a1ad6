"""The paper / backtest fill model: what an order would have got from the given on-chain state.

A fill is exactly the program's integer math on the state passed in (pump.fun curve: `curve.buy_exact_sol` for
an exact-SOL buy, `curve.sell` for a sell; PumpSwap pool after migration: `amm.pumpswap_buy_exact_quote_in` /
`amm.pumpswap_sell` with the LP + protocol + creator fee tier; fees always from chain state), plus what the transaction itself costs:
5000 lamports per signature, the priority fee ceil(cu_limit * cu_price / 1e6) as the runtime charges it, and
the Jito tip when bundles are used. Optionally an extra adverse slippage (`paper_extra_slippage_bps`) models
being filled a little worse than the state we saw. The order's own slippage bound is then checked exactly as
the instruction would (`min_tokens_out` on a buy, `min_sol_output` on a sell).

Who picks the state is the caller's business, and that is where latency lives: live paper trading passes the
freshest account state; the backtester uses `LatencyModel` to decide *which slot's* state an order sees
(event slot + detection delay = decision slot; + send-to-land delay = the slot whose state it fills against).

Amount conventions (see messages.Order): a buy's `amount` is the instruction's spendable SOL (fees of the
curve included); transaction fees are paid on top, as on chain. Fill.lamports is what left (buy) or arrived
in (sell) the wallet, everything included; a dust sell can therefore net negative lamports.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from .chain import programs as P
from .chain.amm import pumpswap_buy_exact_quote_in, pumpswap_sell
from .chain.amm_state import Fees, Pool
from .chain.curve import BPS, CurveFees, buy_exact_sol, sell
from .chain.pump_state import BondingCurve
from .config import ExecutionConfig
from .messages import Fill, Order, Side

LAMPORTS_PER_SIGNATURE = 5_000
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000


class Rng(Protocol):
    def randint(self, a: int, b: int) -> int: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    """An order the model did not fill. `fee_lamports` is what the attempt still cost: a transaction that
    lands and fails (slippage, curve completed under it) pays its network + priority fees; one refused
    before sending (nothing to buy, unsupported quote mint) costs nothing."""
    order_id: str
    reason: str   # "slippage" | "curve_complete" | "zero_fill" | "unsupported_quote_mint" | "pool_cannot_fill"
    detail: str = ""
    quote_slot: int = 0
    fee_lamports: int = 0


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """Delays in slots, for the backtester (and paper trading's landing slot).

    detection_slots: from the chain event to the slot our decision acts on (stream + analysis delay).
    send_to_land_slots: from sending to the slot the transaction lands in; its state is what it fills against.
    jitter_slots: with an rng, each landing adds a uniform 0..jitter_slots extra slots.
    """
    detection_slots: int = 0
    send_to_land_slots: int = 1
    jitter_slots: int = 0

    def __post_init__(self) -> None:
        if min(self.detection_slots, self.send_to_land_slots, self.jitter_slots) < 0:
            raise ValueError("latency slots cannot be negative")

    @classmethod
    def from_config(cls, cfg: ExecutionConfig, slot_ms: int = 400) -> LatencyModel:
        """paper_latency_ms rounded up to whole slots (at least the next slot: nothing lands in the past)."""
        return cls(send_to_land_slots=max(1, math.ceil(cfg.paper_latency_ms / slot_ms)))

    def decision_slot(self, event_slot: int) -> int:
        return event_slot + self.detection_slots

    def landing_slot(self, send_slot: int, rng: Rng | None = None) -> int:
        jitter = rng.randint(0, self.jitter_slots) if rng is not None and self.jitter_slots else 0
        return send_slot + self.send_to_land_slots + jitter


class PaperFillModel:
    def __init__(self, cfg: ExecutionConfig, latency: LatencyModel | None = None):
        self.cfg = cfg
        self.latency = latency or LatencyModel(send_to_land_slots=0)

    # ------------------------------------------------------------------------------------------ costs
    def priority_fee_lamports(self) -> int:
        micro = self.cfg.compute_unit_limit * self.cfg.priority_fee_micro_lamports
        return -(-micro // MICRO_LAMPORTS_PER_LAMPORT)   # the runtime rounds up

    def tx_fee_lamports(self, signatures: int = 1) -> int:
        """Network + priority fee (+ Jito tip) of one transaction."""
        tip = self.cfg.jito_tip_lamports if self.cfg.use_jito else 0
        return LAMPORTS_PER_SIGNATURE * signatures + self.priority_fee_lamports() + tip

    def extra_slippage_bps(self, rng: Rng | None = None) -> int:
        """The configured adverse slippage; with an rng, a uniform draw in 0..configured."""
        bps = self.cfg.paper_extra_slippage_bps
        return rng.randint(0, bps) if rng is not None and bps else bps

    # ----------------------------------------------------------------------------------- pump.fun curve
    def fill_buy(self, order: Order, curve: BondingCurve, fees: CurveFees, slot: int, now: float,
                 rng: Rng | None = None) -> Fill | Rejection:
        """Spend order.amount lamports on the curve state at `slot` (buy_exact_sol_in)."""
        _check_side(order, Side.BUY)
        refused = self._refuse_curve(order, curve, slot)
        if refused:
            return refused
        q = buy_exact_sol(curve.state(), order.amount, fees)
        return self._buy(order, q.tokens, q.total_sol, q.protocol_fee + q.creator_fee, slot, now, rng)

    def fill_sell(self, order: Order, curve: BondingCurve, fees: CurveFees, slot: int, now: float,
                  rng: Rng | None = None) -> Fill | Rejection:
        """Sell order.amount tokens into the curve state at `slot`."""
        _check_side(order, Side.SELL)
        refused = self._refuse_curve(order, curve, slot)
        if refused:
            return refused
        q = sell(curve.state(), order.amount, fees)
        return self._sell(order, q.tokens, q.net_sol, q.protocol_fee + q.creator_fee, slot, now, rng)

    def _refuse_curve(self, order: Order, curve: BondingCurve, slot: int) -> Rejection | None:
        if not curve.is_sol_quoted:
            return Rejection(order.id, "unsupported_quote_mint", f"curve quoted in {curve.quote_mint}", slot)
        if curve.complete:
            return Rejection(order.id, "curve_complete", "the curve completed; trade on the pool", slot,
                             self.tx_fee_lamports())
        return None

    # ------------------------------------------------------------------------------ PumpSwap (migrated)
    def fill_buy_pool(self, order: Order, pool: Pool, base_reserve: int, quote_reserve: int, fees: Fees,
                      slot: int, now: float, rng: Rng | None = None) -> Fill | Rejection:
        """Spend order.amount lamports (fees included) on a token/WSOL PumpSwap pool (buy_exact_quote_in).

        base_reserve / quote_reserve are the pool's vault balances at `slot`; `fees` is the FeeConfig tier
        for the pool's market cap (amm_state.FeeConfig.fees_for)."""
        _check_side(order, Side.BUY)
        if pool.quote_mint != P.WSOL_MINT:
            return Rejection(order.id, "unsupported_quote_mint", f"pool quoted in {pool.quote_mint}", slot)
        try:
            q = pumpswap_buy_exact_quote_in(
                order.amount, base_reserve, quote_reserve, fees.lp_fee_bps, fees.protocol_fee_bps,
                fees.creator_fee_bps, has_creator=pool.has_coin_creator,
                virtual_quote_reserves=pool.virtual_quote_reserves)
        except ValueError as exc:
            return Rejection(order.id, "pool_cannot_fill", str(exc), slot)
        return self._buy(order, q.base_out, q.total_quote, q.lp_fee + q.protocol_fee + q.creator_fee,
                         slot, now, rng)

    def fill_sell_pool(self, order: Order, pool: Pool, base_reserve: int, quote_reserve: int, fees: Fees,
                       slot: int, now: float, rng: Rng | None = None) -> Fill | Rejection:
        """Sell order.amount tokens into a token/WSOL PumpSwap pool (sell, exact base in)."""
        _check_side(order, Side.SELL)
        if pool.quote_mint != P.WSOL_MINT:
            return Rejection(order.id, "unsupported_quote_mint", f"pool quoted in {pool.quote_mint}", slot)
        if order.amount <= 0:
            return Rejection(order.id, "zero_fill", f"cannot sell {order.amount} tokens", slot)
        try:
            q = pumpswap_sell(
                order.amount, base_reserve, quote_reserve, fees.lp_fee_bps, fees.protocol_fee_bps,
                fees.creator_fee_bps, has_creator=pool.has_coin_creator,
                virtual_quote_reserves=pool.virtual_quote_reserves)
        except ValueError as exc:
            return Rejection(order.id, "pool_cannot_fill", str(exc), slot)
        return self._sell(order, q.base_in, q.net_quote, q.lp_fee + q.protocol_fee + q.creator_fee,
                          slot, now, rng)

    # --------------------------------------------------------------------------------- shared ending
    def _buy(self, order: Order, tokens: int, spent: int, venue_fees: int, slot: int, now: float,
             rng: Rng | None) -> Fill | Rejection:
        """`tokens` bought for `spent` lamports (venue fees included): slippage, limit, transaction fees."""
        tokens = _worse(tokens, self.extra_slippage_bps(rng))
        if tokens <= 0:     # checked after slippage: a dust buy can round down to nothing
            return Rejection(order.id, "zero_fill", f"{order.amount} lamports buy no tokens", slot)
        tx_fee = self.tx_fee_lamports()
        if tokens < order.limit:          # min_tokens_out / min_base_amount_out
            return Rejection(order.id, "slippage", f"{tokens} tokens < min {order.limit}", slot, tx_fee)
        lamports = spent + tx_fee
        return Fill(order_id=order.id, mint=order.mint, side=Side.BUY, lamports=lamports, tokens=tokens,
                    fee_lamports=venue_fees + tx_fee, price=lamports / tokens,
                    slot=self.latency.landing_slot(slot, rng), ts=now, signature=order.signature, quote_slot=slot)

    def _sell(self, order: Order, tokens: int, net: int, venue_fees: int, slot: int, now: float,
              rng: Rng | None) -> Fill | Rejection:
        """`tokens` sold for `net` lamports after venue fees: slippage, limit, transaction fees."""
        if tokens <= 0:
            return Rejection(order.id, "zero_fill", f"cannot sell {order.amount} tokens", slot)
        net = _worse(net, self.extra_slippage_bps(rng))
        tx_fee = self.tx_fee_lamports()
        # min_sol_output / min_quote_amount_out is compared with the payout after venue fees (conservative
        # for the curve: it can only reject more often than a check on the gross amount would).
        if net < order.limit:
            return Rejection(order.id, "slippage", f"{net} lamports < min {order.limit}", slot, tx_fee)
        lamports = net - tx_fee
        return Fill(order_id=order.id, mint=order.mint, side=Side.SELL, lamports=lamports, tokens=tokens,
                    fee_lamports=venue_fees + tx_fee, price=lamports / tokens,
                    slot=self.latency.landing_slot(slot, rng), ts=now, signature=order.signature, quote_slot=slot)


def _check_side(order: Order, side: Side) -> None:
    if order.side != side:
        raise ValueError(f"order {order.id} is a {order.side.value}, not a {side.value}")


def _worse(amount: int, bps: int) -> int:
    """`amount` less an adverse slippage of `bps`, rounded against the trader."""
    return amount * (BPS - bps) // BPS if bps else amount
