"""From a scored token to an Opportunity the orchestrator may act on (or nothing).

Expected return of an entry of C lamports, with the exit rules' geometry (ExitConfig: first take-profit at
+G, stop-loss at -L):

    p_win  = ScoringConfig.win_probability_scale * score * (1 - rug)      (calibrate the scale by backtest)
    depth  = liquidity + 30 SOL of virtual reserves on a pump.fun curve (what a buy actually moves)
    impact = 2 * C / depth                                                (buy in and sell out, first order)
    expected_profit = p_win * G - (1 - p_win) * L - ROUND_TRIP_FEES - impact
    risk   = 1 - (1 - rug) * (1 - min(1, impact))

Nothing is proposed when the token is gated (unsafe, complete, migrated, rugged, not warm: its analysis state
has a gap, e.g. right after a restart, see TokenFeatures.warm), the score is below
ScoringConfig.min_score, the rug probability is above rug_probability_max, the capital is not positive, or the
expected profit is not positive. The id is stable_id(mint, strategy, slot): the same token seen twice in one
slot gives one opportunity, so a retried call cannot double an entry.
"""
from __future__ import annotations

import math

from pipelines.config import ExitConfig, ScoringConfig
from pipelines.messages import Opportunity, TokenFeatures, stable_id
from pipelines.wire import constructor

from .momentum import ScoreBreakdown

LAMPORTS_PER_SOL = 1_000_000_000
CURVE_VIRTUAL_SOL = 30 * LAMPORTS_PER_SOL
# pump.fun curve fees both ways (0.95% protocol + 0.30% creator, per PROTOCOL.md) plus ~0.2% network/priority.
ROUND_TRIP_FEES = 0.027
_DEFAULT_EXITS = ExitConfig()
_new_opportunity = constructor(Opportunity)      # Opportunity(**kw) for about half the cost (pipelines/wire.py)


def market_depth(f: TokenFeatures) -> int:
    depth = max(f.liquidity_lamports, 0)
    if f.venue == "pumpfun" and not f.migrated:
        depth += CURVE_VIRTUAL_SOL
    return max(depth, 1)


def opportunity_from(features: TokenFeatures, breakdown: ScoreBreakdown, cfg: ScoringConfig, now: float,
                     capital_lamports: int, *, exits: ExitConfig | None = None,
                     strategy: str = "momentum") -> Opportunity | None:
    f = features
    if breakdown.gate or not f.safety.safe or f.complete or f.migrated or f.rugged or not f.warm:
        return None
    if not math.isfinite(now) or capital_lamports <= 0 or not f.price > 0:
        return None
    score = breakdown.score
    if score < cfg.min_score or f.rug_probability > cfg.rug_probability_max:
        return None
    exits = exits or _DEFAULT_EXITS
    gain = exits.take_profit[0][0] if exits.take_profit else 1.0
    loss = exits.stop_loss
    p_win = min(1.0, cfg.win_probability_scale * score * (1.0 - f.rug_probability))
    impact = 2.0 * capital_lamports / market_depth(f)
    expected = p_win * gain - (1.0 - p_win) * loss - ROUND_TRIP_FEES - impact
    if not expected > 0:
        return None
    risk = 1.0 - (1.0 - f.rug_probability) * (1.0 - min(1.0, impact))
    return _new_opportunity(
        id=stable_id(f.mint, strategy, f.slot), mint=f.mint, strategy=strategy, score=score,
        expected_profit=expected, risk=min(1.0, max(0.0, risk)), capital_lamports=int(capital_lamports),
        created_at=now, expires_at=now + cfg.opportunity_ttl_s, venue=f.venue or "pumpfun", price=f.price,
        reason=f"{strategy}:" + ",".join(breakdown.top(3)),
    )
