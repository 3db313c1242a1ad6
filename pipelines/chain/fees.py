"""Which fee rates a pump.fun curve trade pays: one rule for the program (simnet) and every client.

Since Sept 2025 the pump program takes its rates from the fee program's FeeConfig for the pump program
(PDA ["fee_config", pump id] under pfee...): the tier for the curve's market cap in lamports. Without such an
account (older deployments) it falls back to Global's flat fee_basis_points / creator_fee_basis_points.
"""
from __future__ import annotations

from .amm_state import FeeConfig
from .curve import CurveFees, CurveState, market_cap_lamports
from .pump_state import Global


def pump_curve_fees(global_state: Global, fee_config: FeeConfig | None, state: CurveState | None) -> CurveFees:
    """Rates for a trade on `state` (None: the rates of a brand-new curve, the lowest tier)."""
    if fee_config is None:
        return global_state.fees()
    if not fee_config.fee_tiers:
        return fee_config.flat_fees.curve_fees()
    mcap = market_cap_lamports(state) if state is not None else 0
    return fee_config.fee_tier_for(mcap).curve_fees()
