"""pump.fun bonding-curve quotes, in integer arithmetic exactly as the program and SDK do it.

buy n tokens:       cost = n*vSol // (vTok - n) + 1   (n capped at real_token_reserves), fees on top
buy with S lamports: in = (S - 1) * 10000 // (10000 + total_bps); tokens = min(in*vTok // (vSol + in), realTok)
sell n tokens:      out = n*vSol // (vTok + n), fees taken from it
fees:               ceil(amount * bps / 10000) each for protocol and creator; the creator fee only applies when
                    the curve has a creator (or the coin is new). Fee rates come from chain state, never constants.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

BPS = 10_000
LAMPORTS_PER_SOL = 1_000_000_000
TOKEN_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class CurveState:
    virtual_token_reserves: int
    virtual_sol_reserves: int
    real_token_reserves: int
    real_sol_reserves: int
    token_total_supply: int
    complete: bool = False
    has_creator: bool = True


@dataclass(frozen=True, slots=True)
class CurveFees:
    """Fee rates in basis points, read from Global (fee_basis_points, creator_fee_basis_points) or FeeConfig."""
    protocol_bps: int
    creator_bps: int

    def total_bps(self, has_creator: bool) -> int:
        return self.protocol_bps + (self.creator_bps if has_creator else 0)


@dataclass(frozen=True, slots=True)
class BuyQuote:
    tokens: int          # tokens received
    sol_cost: int        # lamports into the curve (before fees)
    protocol_fee: int
    creator_fee: int

    @property
    def total_sol(self) -> int:
        """Lamports leaving the buyer's wallet (excluding network fees)."""
        return self.sol_cost + self.protocol_fee + self.creator_fee


@dataclass(frozen=True, slots=True)
class SellQuote:
    tokens: int          # tokens sold
    sol_out_gross: int   # lamports out of the curve (before fees)
    protocol_fee: int
    creator_fee: int

    @property
    def net_sol(self) -> int:
        """Lamports arriving in the seller's wallet."""
        return self.sol_out_gross - self.protocol_fee - self.creator_fee


def ceil_fee(amount: int, bps: int) -> int:
    return (amount * bps + BPS - 1) // BPS


def _fees(amount: int, state: CurveState, fees: CurveFees) -> tuple[int, int]:
    protocol = ceil_fee(amount, fees.protocol_bps)
    creator = ceil_fee(amount, fees.creator_bps) if state.has_creator else 0
    return protocol, creator


def buy_exact_tokens(state: CurveState, amount: int, fees: CurveFees) -> BuyQuote:
    """Cost of buying `amount` tokens (capped at what the curve still sells)."""
    if amount <= 0 or state.virtual_token_reserves == 0 or state.complete:
        return BuyQuote(0, 0, 0, 0)
    n = min(amount, state.real_token_reserves)
    if n <= 0:
        return BuyQuote(0, 0, 0, 0)
    cost = n * state.virtual_sol_reserves // (state.virtual_token_reserves - n) + 1
    protocol, creator = _fees(cost, state, fees)
    return BuyQuote(n, cost, protocol, creator)


def buy_exact_sol(state: CurveState, spendable: int, fees: CurveFees) -> BuyQuote:
    """Tokens bought by spending at most `spendable` lamports including fees (buy_exact_sol_in)."""
    if spendable <= 1 or state.virtual_token_reserves == 0 or state.complete:
        return BuyQuote(0, 0, 0, 0)
    sol_in = (spendable - 1) * BPS // (BPS + fees.total_bps(state.has_creator))
    tokens = sol_in * state.virtual_token_reserves // (state.virtual_sol_reserves + sol_in)
    tokens = min(tokens, state.real_token_reserves)
    if tokens <= 0:
        return BuyQuote(0, 0, 0, 0)
    # The program charges the exact cost of the tokens it hands out. That cost (n*vSol//(vTok-n) + 1) can reach
    # sol_in + 1, and with two ceil fees on top the total can pass `spendable` by a lamport or two when the
    # division is exact; then take the most tokens whose total still fits.
    quote = buy_exact_tokens(state, tokens, fees)
    if quote.total_sol > spendable:
        tokens = min(tokens, _max_tokens_within(state, spendable, fees))
        quote = buy_exact_tokens(state, tokens, fees) if tokens > 0 else BuyQuote(0, 0, 0, 0)
    return quote


def _max_tokens_within(state: CurveState, spendable: int, fees: CurveFees) -> int:
    """Largest n whose cost plus fees is <= spendable: find the largest affordable cost c, then the largest n
    with n*vSol//(vTok-n) + 1 <= c, i.e. n < c*vTok/(vSol+c)."""
    c = spendable * BPS // (BPS + fees.total_bps(state.has_creator))
    while c > 0 and c + sum(_fees(c, state, fees)) > spendable:
        c -= 1
    if c <= 0:
        return 0
    v_tok, v_sol = state.virtual_token_reserves, state.virtual_sol_reserves
    return (c * v_tok + v_sol + c - 1) // (v_sol + c) - 1


def sell(state: CurveState, amount: int, fees: CurveFees) -> SellQuote:
    """Lamports received for selling `amount` tokens."""
    if amount <= 0 or state.virtual_token_reserves == 0 or state.complete:
        return SellQuote(0, 0, 0, 0)
    gross = amount * state.virtual_sol_reserves // (state.virtual_token_reserves + amount)
    gross = min(gross, state.real_sol_reserves)
    protocol, creator = _fees(gross, state, fees)
    if protocol + creator > gross:
        return SellQuote(amount, gross, gross, 0)
    return SellQuote(amount, gross, protocol, creator)


def apply_buy(state: CurveState, quote: BuyQuote) -> CurveState:
    """Curve state after a buy; completes when the real token reserves run out."""
    real_tok = state.real_token_reserves - quote.tokens
    return replace(
        state,
        virtual_token_reserves=state.virtual_token_reserves - quote.tokens,
        virtual_sol_reserves=state.virtual_sol_reserves + quote.sol_cost,
        real_token_reserves=real_tok,
        real_sol_reserves=state.real_sol_reserves + quote.sol_cost,
        complete=real_tok == 0,
    )


def apply_sell(state: CurveState, quote: SellQuote) -> CurveState:
    return replace(
        state,
        virtual_token_reserves=state.virtual_token_reserves + quote.tokens,
        virtual_sol_reserves=state.virtual_sol_reserves - quote.sol_out_gross,
        real_token_reserves=state.real_token_reserves + quote.tokens,
        real_sol_reserves=state.real_sol_reserves - quote.sol_out_gross,
    )


def price_lamports_per_token(state: CurveState) -> float:
    """Marginal price in lamports per base unit of token (vSol / vTok)."""
    if state.virtual_token_reserves == 0:
        return 0.0
    return state.virtual_sol_reserves / state.virtual_token_reserves


def price_sol_per_token(state: CurveState) -> float:
    """Marginal price in SOL per whole token (6 decimals)."""
    return price_lamports_per_token(state) * 10**TOKEN_DECIMALS / LAMPORTS_PER_SOL


def market_cap_lamports(state: CurveState) -> int:
    if state.virtual_token_reserves == 0:
        return 0
    return state.virtual_sol_reserves * state.token_total_supply // state.virtual_token_reserves


def progress(state: CurveState, initial_real_token_reserves: int) -> float:
    """Share of the curve's sellable tokens already sold, 0..1 (1 = complete)."""
    if state.complete:
        return 1.0
    if initial_real_token_reserves <= 0:
        return 0.0
    sold = initial_real_token_reserves - state.real_token_reserves
    return max(0.0, min(1.0, sold / initial_real_token_reserves))


def slippage_max_cost(total_sol: int, slippage_bps: int) -> int:
    """max_sol_cost for a buy: the quoted total plus the slippage allowance."""
    return total_sol + total_sol * slippage_bps // BPS


def slippage_min_out(amount: int, slippage_bps: int) -> int:
    """min output for a sell or an exact-in buy: the quote less the slippage allowance."""
    return amount - (amount * slippage_bps + BPS - 1) // BPS
