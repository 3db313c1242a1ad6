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
