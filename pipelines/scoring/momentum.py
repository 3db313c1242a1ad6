"""Momentum score of a young token, in [0, 1].

The default model
-----------------
A pump.fun coin runs while *new* money keeps arriving faster than holders take profit. What we can see of that
in real time: who is buying (many distinct new wallets, not one wallet looping), how much (net SOL flowing in
relative to the curve's depth), whether it is speeding up (the last 10 s against the last 5 minutes), and the
price trend that results (Kalman-smoothed, so one big buy is not a trend). So the score is a weighted mean of
normalized features (features.py) times penalties:

    base  = sum_i w_i x_i / sum_i w_i          over the "drive" features below
    score = base * (1 - rug)^a_rug * (1 - drawdown)^a_dd * entropy_factor^a_ent,   0 if gated

    drive feature   weight   why
    buy_pressure     0.20    share of buys among trades (60 s): demand vs supply, hard to fake without paying
    net_flow         0.15    net SOL in (60 s) relative to liquidity: what actually moves a curve
    buyer_growth     0.15    first-time buyers (60 s): breadth; a run with few wallets is a bundle/bot
    velocity         0.15    Kalman velocity of ln price: the trend, robust to single prints
    volume_accel     0.10    10 s vs 300 s volume rate: entering the run early matters more than the run
    buyer_accel      0.10    10 s vs 300 s new-buyer rate: the same for breadth
    activity         0.05    trade count (60 s): enough trades for the rest to mean something
    progress_fit     0.05    5-70% of the curve: proven but not about to migrate (our exits sell on migration)
    freshness        0.05    age decay (10 min): momentum on pump.fun is short-lived

Penalties (their `feature_weights` entry is the exponent; 0 disables one):
    rug        (1 - rug probability): a likely rug is not momentum, however it trades
    drawdown   (1 - price / peak): a coin far below its high is distributing, not running
    entropy    trade-size entropy (bits, half-octave size bins) below ScoringConfig.entropy_threshold means
               bot-like uniform sizes: factor = 0.3 + 0.7 * H / threshold. REQUIREMENTS name 2.5 and 1.5 bits
               for test and live; the default is 1.5 and conf/live.toml sets 2.5, the stricter. With few trades
               entropy is capped by log2(n), so the threshold used is min(threshold, 0.6 * log2(trades)) and
               tokens with fewer than 4 trades are not judged.
Gates (score 0): unsafe verdict, curve complete or migrated (momentum entries are curve buys), rugged, no price.

Reference points (tests/unit/scoring/test_momentum.py builds them from curve-exact events): a fresh launch
with no trades scores ~0.38 (neutral directions, no breadth, no activity); a busy but flat coin (the same few
wallets trading back and forth) ~0.45, ~0.2 when its trade sizes are bot-uniform; a broad, accelerating run
~0.9. ScoringConfig.min_score (default 0.6) sits above "flat".

Weights: ScoringConfig.feature_weights overrides any of them by name; unknown names or negative weights raise
ValueError (MomentumModel.check_weights lists them for a config API to refuse first).

How to validate it (backtests, pipelines/backtest on recorded or simnet streams)
--------------------------------------------------------------------------------
1. Label every (token, time) the model scored with its forward outcome at the exit rules' horizons: did it hit
   the first take-profit before the stop-loss, and the return after 60 s / 300 s (net of fees and slippage).
2. Rank quality: precision@k of the top-k scores per minute against "hit take-profit first", and the mean
   forward return per score decile; it must increase with the decile (monotone), or the weights are wrong.
3. Calibration: the opportunity layer turns the score into a win probability (ScoringConfig.
   win_probability_scale * score * (1 - rug)); bin scores, compare with the observed win rates and refit the
   scale (REQUIREMENTS' 0.85 accuracy threshold applies to this win/lose classification).
4. Ablation: drop one feature at a time (weight 0); a feature whose removal does not hurt precision@k goes.
5. Refit the weights walk-forward (e.g. logistic regression of the drive features on the outcome, trained on
   day d, tested on day d + 1), never on the data it is judged on; keep the defaults until a refit beats them
   out of sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from pipelines.config import ScoringConfig
from pipelines.messages import TokenFeatures
from pipelines.wire import constructor

from .features import FEATURE_NAMES, feature_vector

DRIVE_WEIGHTS = {
    "buy_pressure": 0.20, "net_flow": 0.15, "buyer_growth": 0.15, "velocity": 0.15,
    "volume_accel": 0.10, "buyer_accel": 0.10, "activity": 0.05, "progress_fit": 0.05, "freshness": 0.05,
}
PENALTY_EXPONENTS = {"rug": 1.0, "drawdown": 1.0, "entropy": 1.0}
DEFAULT_WEIGHTS = {**DRIVE_WEIGHTS, **PENALTY_EXPONENTS}
ENTROPY_FLOOR = 0.3
ENTROPY_MIN_TRADES = 4


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    mint: str
    score: float                                  # 0..1
    components: dict[str, float] = field(default_factory=dict)   # drive: weighted share; penalties: factor
    features: dict[str, float] = field(default_factory=dict)     # the normalized vector
    gate: str = ""                                # why the score is forced to 0 ("unsafe", "complete", ...)

    def top(self, n: int = 3) -> list[str]:
        """The n largest drive components' names, largest first (equal shares by name)."""
        drive = sorted([(-v, k) for k, v in self.components.items() if k in DRIVE_WEIGHTS])
        return [k for _, k in drive[:n]]


def entropy_factor(entropy_bits: float, trades: int, threshold: float) -> float:
    if trades < ENTROPY_MIN_TRADES or threshold <= 0:
        return 1.0
    thr = min(threshold, 0.6 * math.log2(trades))
    if entropy_bits >= thr:
        return 1.0
    return ENTROPY_FLOOR + (1.0 - ENTROPY_FLOOR) * max(entropy_bits, 0.0) / thr


def _gate(f: TokenFeatures) -> str:
    if not f.safety.safe:
        return "unsafe"
    if f.rugged:
        return "rugged"
    if f.migrated:
        return "migrated"
    if f.complete:
        return "complete"
    if not f.price > 0:
        return "no_price"
    return ""


_new_breakdown = constructor(ScoreBreakdown)      # one per scored token: see pipelines/wire.py


class MomentumModel:
    def __init__(self, cfg: ScoringConfig | None = None) -> None:
        self.cfg = cfg or ScoringConfig()
        bad = self.check_weights(self.cfg.feature_weights)
        if bad:
            raise ValueError("scoring.feature_weights: " + "; ".join(bad))
        self.weights = {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in self.cfg.feature_weights.items()}}
        self._drive = tuple((k, self.weights[k]) for k in DRIVE_WEIGHTS if self.weights[k] > 0)
        self._drive_total = sum(w for _, w in self._drive)

    @staticmethod
    def check_weights(weights: Mapping[str, float]) -> list[str]:
        out = []
        for k, v in weights.items():
            if k not in DEFAULT_WEIGHTS:
                out.append(f"unknown feature {k!r} (known: {', '.join(FEATURE_NAMES)})")
            elif not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                out.append(f"{k}: weight must be a finite number >= 0, got {v!r}")
        return out

    def score(self, f: TokenFeatures) -> ScoreBreakdown:
        x = feature_vector(f)
        gate = _gate(f)
        components: dict[str, float] = {}
        base = 0.0
        total = self._drive_total
        if total > 0:
            for k, w in self._drive:
                c = w * x[k] / total
                components[k] = c
                base += c
        wt = self.weights
        rug = (1.0 - x["rug"]) ** wt["rug"]
        dd = (1.0 - x["drawdown"]) ** wt["drawdown"]
        ent = entropy_factor(f.trade_size_entropy, f.trades, self.cfg.entropy_threshold) ** wt["entropy"]
        components["rug"], components["drawdown"], components["entropy"] = rug, dd, ent
        score = 0.0 if gate else min(1.0, max(0.0, base * rug * dd * ent))
        return _new_breakdown(mint=f.mint, score=score, components=components, features=x, gate=gate)

    def rank(self, features: Iterable[TokenFeatures]) -> list[tuple[str, float]]:
        """(mint, score), best first; equal scores by mint so the order is deterministic."""
        scored = [(f.mint, self.score(f).score) for f in features]
        scored.sort(key=lambda ms: (-ms[1], ms[0]))
        return scored
