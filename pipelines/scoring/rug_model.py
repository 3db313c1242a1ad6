"""Naive-Bayes rug probability from signals the analyzer observes.

"Rug" here means: insiders (creator, bundled wallets, authority holders) drain the token's liquidity within
our holding horizon (minutes). The model multiplies the prior odds by one likelihood ratio per signal,
assuming the signals independent given the class:

    odds(rug | s) = PRIOR_RUG / (1 - PRIOR_RUG) * prod_i P(s_i | rug) / P(s_i | ok)

Every signal is cut into bins; each table row is (upper bound, P(bin | rug), P(bin | ok)) and each column sums
to 1. The numbers are *priors written down by hand* from how pump.fun rugs usually look (the creator sells its
early buy, a few wallets hold most of the float, authorities kept, sells overwhelm buys, thin liquidity); they
are not fitted. Calibrate them by backtest: bin the predicted probability, compare with the observed rug rate
(liquidity -80% within 10 minutes) per bin, and re-estimate each table as the per-class bin frequencies.
An unknown signal (None) contributes a ratio of 1. Tables with increasing ratios make the probability monotone
in that signal (tested for the dev sell share).

Thresholds that use the probability live in ScoringConfig.rug_probability_max (REQUIREMENTS: 0.80 in test,
0.20 live).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pipelines.messages import TokenFeatures

PRIOR_RUG = 0.30
INF = float("inf")
LAMPORTS_PER_SOL = 1_000_000_000

# share of the creator's bought tokens it has sold
DEV_SELL_SHARE = ((1e-9, 0.30, 0.80), (0.25, 0.15, 0.10), (0.50, 0.15, 0.05), (0.90, 0.15, 0.03), (INF, 0.25, 0.02))
# share of supply held by the 5 largest non-curve holders
TOP5_SHARE = ((0.10, 0.10, 0.35), (0.20, 0.15, 0.30), (0.30, 0.20, 0.20), (0.50, 0.25, 0.10), (INF, 0.30, 0.05))
# sold lamports / traded lamports over the middle window
SELL_PRESSURE = ((0.30, 0.10, 0.40), (0.50, 0.20, 0.35), (0.70, 0.30, 0.17), (INF, 0.40, 0.08))
# liquidity in SOL (curve real SOL, pool quote reserve)
LIQUIDITY_SOL = ((0.5, 0.40, 0.15), (2.0, 0.30, 0.25), (10.0, 0.20, 0.30), (INF, 0.10, 0.30))
# (P(flag set | rug), P(flag set | ok)) for boolean signals
MINT_AUTHORITY = (0.30, 0.02)
FREEZE_AUTHORITY = (0.30, 0.03)
RISKY_EXTENSION = (0.15, 0.01)


def _table(rows):
    return tuple((ub, math.log(pr / po)) for ub, pr, po in rows)


def _flag(pair):
    pr, po = pair
    return math.log(pr / po), math.log((1 - pr) / (1 - po))


_DEV, _TOP5, _SELL, _LIQ = map(_table, (DEV_SELL_SHARE, TOP5_SHARE, SELL_PRESSURE, LIQUIDITY_SOL))
_MINT, _FREEZE, _EXT = map(_flag, (MINT_AUTHORITY, FREEZE_AUTHORITY, RISKY_EXTENSION))
_PRIOR_LOGIT = math.log(PRIOR_RUG / (1 - PRIOR_RUG))


def _binned(table, x: float | None) -> float:
    if x is None or x != x:
        return 0.0
    for ub, llr in table:
        if x < ub:
            return llr
    return table[-1][1]


def _flagged(pair, x: bool | None) -> float:
    if x is None:
        return 0.0
    return pair[0] if x else pair[1]


@dataclass(frozen=True, slots=True)
class RugSignals:
    dev_sell_share: float | None = None
    top5_share: float | None = None
    sell_pressure: float | None = None
    liquidity_lamports: int | None = None
    mint_authority_active: bool | None = None
    freeze_authority_active: bool | None = None
    risky_extension: bool | None = None


def log_likelihood_ratios(s: RugSignals) -> dict[str, float]:
    """Each signal's contribution to the log-odds (what a breakdown shows)."""
    liq = None if s.liquidity_lamports is None else s.liquidity_lamports / LAMPORTS_PER_SOL
    return {
        "dev_sell_share": _binned(_DEV, s.dev_sell_share),
        "top5_share": _binned(_TOP5, s.top5_share),
        "sell_pressure": _binned(_SELL, s.sell_pressure),
        "liquidity": _binned(_LIQ, liq),
        "mint_authority": _flagged(_MINT, s.mint_authority_active),
        "freeze_authority": _flagged(_FREEZE, s.freeze_authority_active),
        "risky_extension": _flagged(_EXT, s.risky_extension),
    }


def _probability(logit: float) -> float:
    if logit > 40:
        return 1.0
    if logit < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-logit))


def rug_probability(s: RugSignals) -> float:
    return _probability(_PRIOR_LOGIT + sum(log_likelihood_ratios(s).values()))


def rug_probability_of(dev_sell_share: float | None, top5_share: float | None, sell_pressure: float | None,
                       liquidity_lamports: int | None, mint_authority_active: bool | None,
                       freeze_authority_active: bool | None, risky_extension: bool | None) -> float:
    """rug_probability(RugSignals(...)) without building the record (the analyzer's per-batch hot path)."""
    liq = None if liquidity_lamports is None else liquidity_lamports / LAMPORTS_PER_SOL
    return _probability(
        _PRIOR_LOGIT + _binned(_DEV, dev_sell_share) + _binned(_TOP5, top5_share)
        + _binned(_SELL, sell_pressure) + _binned(_LIQ, liq) + _flagged(_MINT, mint_authority_active)
        + _flagged(_FREEZE, freeze_authority_active) + _flagged(_EXT, risky_extension))


def signals_from_features(f: TokenFeatures) -> RugSignals:
    """Signals recovered from a TokenFeatures (authority flags come from its safety reasons)."""
    reasons = f.safety.reasons
    mint_known = "mint_info_unknown" not in reasons
    mid = sorted(f.volume_lamports)[len(f.volume_lamports) // 2] if f.volume_lamports else None
    sell_pressure = None
    if mid is not None and f.volume_lamports.get(mid) and mid in f.buy_volume_lamports:
        vol = f.volume_lamports[mid]
        sell_pressure = (vol - f.buy_volume_lamports[mid]) / vol
    return RugSignals(
        dev_sell_share=f.dev_sell_share,
        top5_share=f.top5_share,
        sell_pressure=sell_pressure,
        liquidity_lamports=f.liquidity_lamports,
        mint_authority_active=("mint_authority_active" in reasons) if mint_known else None,
        freeze_authority_active=("freeze_authority_active" in reasons) if mint_known else None,
        risky_extension=any(r.startswith("risky_extension:") for r in reasons) if mint_known else None,
    )
