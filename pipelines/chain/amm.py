"""Constant-product AMM quotes in integer math, rounding exactly as each program does.

Raydium AMM v4 (raydium-amm processor.rs / math.rs), fee swap_fee_numerator/denominator (25/10000) taken
from the input:
  swap_base_in:  fee = ceil*(in * num / den); out = reserve_out * (in - fee) // (reserve_in + in - fee)
  swap_base_out: before = ceil*(reserve_in * out / (reserve_out - out)); in = ceil*(before * den / (den - num))
where ceil* is Raydium's CheckedCeilDiv: a true ceiling, except that a quotient below 1 rounds half-up to 1 or 0.
Raydium CPMM (raydium-cp-swap curve/): trade fee = ceil(in * rate / 1e6) from the input (default AmmConfig
rate 2500); base_output grosses the curve input up with ceil(x * 1e6 / (1e6 - rate)).
PumpSwap (pump-swap-sdk buy.ts / sell.ts): fees are ceil(amount * bps / 10000) each for lp, protocol and
coin creator (creator only when the pool has one); on a buy they are added on top of the quote paid into
the curve; on a sell they are taken out of the quote that leaves it. The LP fee stays in the pool.
Reserves passed in are the tradable ones (vault balances less pnl/fee buckets the pool owes).
"""
from __future__ import annotations

from dataclasses import dataclass

from .curve import BPS, slippage_max_cost as max_in_with_slippage, slippage_min_out as min_out_with_slippage

U64_MAX = 2**64 - 1
RAYDIUM_V4_FEE_NUMERATOR = 25
RAYDIUM_V4_FEE_DENOMINATOR = 10_000
CPMM_FEE_DENOMINATOR = 1_000_000
CPMM_DEFAULT_TRADE_FEE_RATE = 2_500

__all__ = [
    "SwapQuote", "PumpSwapBuyQuote", "PumpSwapSellQuote", "raydium_ceil_div", "swap_base_in", "swap_base_out",
    "raydium_v4_swap_base_in", "raydium_v4_swap_base_out", "cpmm_swap_base_input", "cpmm_swap_base_output",
    "pumpswap_buy", "pumpswap_buy_exact_quote_in", "pumpswap_sell", "max_in_with_slippage",
    "min_out_with_slippage",
]


@dataclass(frozen=True, slots=True)
class SwapQuote:
    amount_in: int      # taken from the user, fee included
    amount_out: int     # given to the user
    fee: int            # trade fee, in the input token (part of amount_in)


def _check(**amounts: int) -> None:
    for name, v in amounts.items():
        if not 0 <= v <= U64_MAX:
            raise ValueError(f"{name}={v} is not a u64")


def _u64(v: int, what: str) -> int:
    if v > U64_MAX:
        raise ValueError(f"{what} {v} overflows u64 (the program would fail)")
    return v


def raydium_ceil_div(a: int, b: int) -> int:
    """Raydium's CheckedCeilDiv quotient (raydium-amm math.rs, raydium-cp-swap utils/math.rs)."""
    if b <= 0:
        raise ValueError("division by zero")
    q = a // b
    if q == 0:
        return 1 if 2 * a >= b else 0
    return q + 1 if a % b else q


# --- Raydium AMM v4 ---

def swap_base_in(amount_in: int, reserve_in: int, reserve_out: int,
                 fee_numerator: int = RAYDIUM_V4_FEE_NUMERATOR,
                 fee_denominator: int = RAYDIUM_V4_FEE_DENOMINATOR) -> SwapQuote:
    """Raydium AMM v4 SwapBaseIn (tag 9 / 16): exact input."""
    _check(amount_in=amount_in, reserve_in=reserve_in, reserve_out=reserve_out)
    if not 0 <= fee_numerator < fee_denominator:
        raise ValueError("invalid fee fraction")
    fee = raydium_ceil_div(amount_in * fee_numerator, fee_denominator)
    net = amount_in - fee
    if reserve_in + net == 0:
        return SwapQuote(amount_in, 0, fee)
    return SwapQuote(amount_in, reserve_out * net // (reserve_in + net), fee)


def swap_base_out(amount_out: int, reserve_in: int, reserve_out: int,
                  fee_numerator: int = RAYDIUM_V4_FEE_NUMERATOR,
                  fee_denominator: int = RAYDIUM_V4_FEE_DENOMINATOR) -> SwapQuote:
    """Raydium AMM v4 SwapBaseOut (tag 11 / 17): exact output; ValueError if the pool cannot pay it."""
    _check(amount_out=amount_out, reserve_in=reserve_in, reserve_out=reserve_out)
    if not 0 <= fee_numerator < fee_denominator:
        raise ValueError("invalid fee fraction")
    if amount_out >= reserve_out:
        raise ValueError(f"amount_out {amount_out} >= reserve_out {reserve_out}")
    before = raydium_ceil_div(reserve_in * amount_out, reserve_out - amount_out)
    after = _u64(raydium_ceil_div(before * fee_denominator, fee_denominator - fee_numerator), "amount_in")
    return SwapQuote(after, amount_out, after - before)


raydium_v4_swap_base_in = swap_base_in
raydium_v4_swap_base_out = swap_base_out


# --- Raydium CPMM ---

def cpmm_swap_base_input(amount_in: int, reserve_in: int, reserve_out: int,
                         trade_fee_rate: int = CPMM_DEFAULT_TRADE_FEE_RATE) -> SwapQuote:
    _check(amount_in=amount_in, reserve_in=reserve_in, reserve_out=reserve_out)
    if not 0 <= trade_fee_rate < CPMM_FEE_DENOMINATOR:
        raise ValueError("invalid trade fee rate")
    fee = (amount_in * trade_fee_rate + CPMM_FEE_DENOMINATOR - 1) // CPMM_FEE_DENOMINATOR
    net = amount_in - fee
    if reserve_in + net == 0:
        return SwapQuote(amount_in, 0, fee)
    return SwapQuote(amount_in, net * reserve_out // (reserve_in + net), fee)


def cpmm_swap_base_output(amount_out: int, reserve_in: int, reserve_out: int,
                          trade_fee_rate: int = CPMM_DEFAULT_TRADE_FEE_RATE) -> SwapQuote:
    _check(amount_out=amount_out, reserve_in=reserve_in, reserve_out=reserve_out)
    if not 0 <= trade_fee_rate < CPMM_FEE_DENOMINATOR:
        raise ValueError("invalid trade fee rate")
    if amount_out >= reserve_out:
        raise ValueError(f"amount_out {amount_out} >= reserve_out {reserve_out}")
    before = raydium_ceil_div(reserve_in * amount_out, reserve_out - amount_out)
    denom = CPMM_FEE_DENOMINATOR - trade_fee_rate
    gross = before if trade_fee_rate == 0 else (before * CPMM_FEE_DENOMINATOR + denom - 1) // denom
    gross = _u64(gross, "amount_in")
    fee = (gross * trade_fee_rate + CPMM_FEE_DENOMINATOR - 1) // CPMM_FEE_DENOMINATOR
    return SwapQuote(gross, amount_out, fee)


# --- PumpSwap ---

def _ceil_fee(amount: int, bps: int) -> int:
    return (amount * bps + BPS - 1) // BPS


@dataclass(frozen=True, slots=True)
class PumpSwapBuyQuote:
    base_out: int       # base tokens received
    quote_in: int       # quote paid into the curve, before fees
    lp_fee: int
    protocol_fee: int
    creator_fee: int

    @property
    def total_quote(self) -> int:
        """Quote leaving the buyer (the bound max_quote_amount_in is checked against this)."""
        return self.quote_in + self.lp_fee + self.protocol_fee + self.creator_fee

    def reserves_after(self, base_reserve: int, quote_reserve: int) -> tuple[int, int]:
        """(base, quote) pool vault balances after the buy: the LP fee stays in the pool."""
        return base_reserve - self.base_out, quote_reserve + self.quote_in + self.lp_fee


@dataclass(frozen=True, slots=True)
class PumpSwapSellQuote:
    base_in: int
    quote_out_gross: int    # quote leaving the curve before fees
    lp_fee: int
    protocol_fee: int
    creator_fee: int

    @property
    def net_quote(self) -> int:
        """Quote arriving at the seller (min_quote_amount_out is checked against this)."""
        return self.quote_out_gross - self.lp_fee - self.protocol_fee - self.creator_fee

    def reserves_after(self, base_reserve: int, quote_reserve: int) -> tuple[int, int]:
        return base_reserve + self.base_in, quote_reserve - (self.quote_out_gross - self.lp_fee)


def _fees(amount: int, lp_bps: int, protocol_bps: int, creator_bps: int, has_creator: bool) -> tuple[int, int, int]:
    return (_ceil_fee(amount, lp_bps), _ceil_fee(amount, protocol_bps),
            _ceil_fee(amount, creator_bps) if has_creator else 0)


def pumpswap_buy(base_out: int, base_reserve: int, quote_reserve: int, lp_bps: int, protocol_bps: int,
                 creator_bps: int, *, has_creator: bool = True, virtual_quote_reserves: int = 0) -> PumpSwapBuyQuote:
    """`buy` (exact base out): quote_in = ceil(Q * base / (B - base)), fees on top."""
    _check(base_out=base_out, base_reserve=base_reserve, quote_reserve=quote_reserve)
    q = quote_reserve + virtual_quote_reserves
    if base_reserve == 0 or q <= 0:
        raise ValueError("empty pool")
    if base_out >= base_reserve:
        raise ValueError(f"base_out {base_out} >= base reserve {base_reserve}")
    quote_in = _u64(-(-q * base_out // (base_reserve - base_out)), "quote_in")
    lp, protocol, creator = _fees(quote_in, lp_bps, protocol_bps, creator_bps, has_creator)
    return PumpSwapBuyQuote(base_out, quote_in, lp, protocol, creator)


def pumpswap_buy_exact_quote_in(spendable: int, base_reserve: int, quote_reserve: int, lp_bps: int,
                                protocol_bps: int, creator_bps: int, *, has_creator: bool = True,
                                virtual_quote_reserves: int = 0) -> PumpSwapBuyQuote:
    """`buy_exact_quote_in`: the base bought with at most `spendable` quote, fees included (SDK buyQuoteInput),
    charged as the exact cost of that base (which never exceeds the budget)."""
    _check(spendable=spendable, base_reserve=base_reserve, quote_reserve=quote_reserve)
    q = quote_reserve + virtual_quote_reserves
    if base_reserve == 0 or q <= 0:
        raise ValueError("empty pool")
    total_bps = lp_bps + protocol_bps + (creator_bps if has_creator else 0)
    effective = spendable * BPS // (BPS + total_bps)
    over = effective + sum(_fees(effective, lp_bps, protocol_bps, creator_bps, has_creator)) - spendable
    if over > 0:
        effective -= over
    if effective <= 1:
        return PumpSwapBuyQuote(0, 0, 0, 0, 0)
    base = base_reserve * (effective - 1) // (q + effective - 1)
    if base == 0:
        return PumpSwapBuyQuote(0, 0, 0, 0, 0)
    return pumpswap_buy(base, base_reserve, quote_reserve, lp_bps, protocol_bps, creator_bps,
                        has_creator=has_creator, virtual_quote_reserves=virtual_quote_reserves)


def pumpswap_sell(base_in: int, base_reserve: int, quote_reserve: int, lp_bps: int, protocol_bps: int,
                  creator_bps: int, *, has_creator: bool = True, virtual_quote_reserves: int = 0) -> PumpSwapSellQuote:
    """`sell` (exact base in): quote_out = Q * base // (B + base), fees taken from it."""
    _check(base_in=base_in, base_reserve=base_reserve, quote_reserve=quote_reserve)
    q = quote_reserve + virtual_quote_reserves
    if base_reserve + base_in == 0 or q <= 0:
        raise ValueError("empty pool")
    gross = q * base_in // (base_reserve + base_in)
    lp, protocol, creator = _fees(gross, lp_bps, protocol_bps, creator_bps, has_creator)
    if lp + protocol + creator > gross:
        raise ValueError("fees exceed the sell output")
    if gross - lp > quote_reserve:
        raise ValueError("the pool's real quote reserve cannot cover the sell")
    return PumpSwapSellQuote(base_in, gross, lp, protocol, creator)
