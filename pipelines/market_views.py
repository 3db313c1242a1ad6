"""The market state an order is planned and filled against: one bonding curve or one PumpSwap pool, as of a slot.

The live ChainReader (actors/chain_reader.py) builds them from account reads, the ReplayMarket
(pipelines/backtest/market.py) from a recorded event stream; the executor's planning and the paper fill model
(pipelines/stages.py) take them from either, so both paths quote with the same arguments.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipelines.chain import programs as P
from pipelines.chain.amm_state import Fees, Pool
from pipelines.chain.curve import CurveFees
from pipelines.chain.pump_state import BondingCurve


@dataclass(frozen=True, slots=True)
class CurveView:
    """The bonding curve of a mint with the fee rates a trade on it pays, as of `slot`. fee_recipient and
    token_program are what a live transaction needs (a replay does not know them and never sends one)."""
    curve: BondingCurve
    fees: CurveFees
    slot: int
    fee_recipient: str = ""
    token_program: str = P.TOKEN


@dataclass(frozen=True, slots=True)
class PoolView:
    """The canonical PumpSwap pool of a migrated mint with its vault balances and fee tier, as of `slot`."""
    pool_address: str
    pool: Pool
    base_reserve: int
    quote_reserve: int
    fees: Fees
    slot: int
    token_program: str = P.TOKEN


def launch_curve_view(launch, global_state, fee_config, last_trade=None) -> CurveView | None:
    """The curve a pump.fun launch created, from its create event, with no account read: what a sniper plans its
    first buy on. The current CreateEvent carries the starting reserves; a 2024 one does not, and then the
    curve starts at Global's initial reserves (as the create instruction sets it). Most creators buy in the
    create transaction itself: `last_trade`, the last TradeEvent of that transaction on this mint, gives the
    reserves after it (a 2024 TradeEvent has only the virtual ones; the real ones follow, since a pump curve's
    virtual and real reserves differ by constants). None for anything else than a SOL-quoted pump.fun launch
    (those are quoted from a fresh read).

    Only the plan (the slippage bound) uses this state: an order lands on the state after it, which the chain
    (live) or the fresh read of the paper fill (actors/executor.py) decides."""
    from pipelines.chain.fees import pump_curve_fees
    if getattr(launch, "venue", "") != "pumpfun" or launch.quote_mint not in ("", P.WSOL_MINT, P.DEFAULT_PUBKEY):
        return None
    g = global_state
    v_tok = launch.virtual_token_reserves or g.initial_virtual_token_reserves
    v_sol = launch.virtual_sol_reserves or g.initial_virtual_sol_reserves
    r_tok = launch.real_token_reserves or g.initial_real_token_reserves
    supply = launch.token_total_supply or g.token_total_supply
    if min(v_tok, v_sol, r_tok, supply) <= 0:
        return None
    r_sol = 0
    t = last_trade
    if t is not None and t.mint == launch.mint and t.virtual_token_reserves > 0 and t.virtual_sol_reserves > 0:
        tok_offset, sol_offset = v_tok - r_tok, v_sol          # virtual - real, fixed for the curve's life
        v_tok, v_sol = t.virtual_token_reserves, t.virtual_sol_reserves
        r_tok = t.real_token_reserves or v_tok - tok_offset
        r_sol = t.real_sol_reserves or v_sol - sol_offset
        if r_tok < 0 or r_sol < 0:
            return None
    curve = BondingCurve(virtual_token_reserves=v_tok, virtual_sol_reserves=v_sol, real_token_reserves=r_tok,
                         real_sol_reserves=r_sol, token_total_supply=supply, complete=False, creator=launch.creator,
                         is_mayhem_mode=launch.is_mayhem_mode)
    program = launch.token_program if launch.token_program in (P.TOKEN, P.TOKEN_2022) else P.TOKEN
    return CurveView(curve, pump_curve_fees(g, fee_config, curve.state()), launch.slot, g.fee_recipient, program)
