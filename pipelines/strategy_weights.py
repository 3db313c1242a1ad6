"""Per-strategy priority bonus adapted from each strategy's realised win rate.

Rule: a strategy's bonus is the posterior mean of its win rate under a Beta(prior_wins, prior_losses)
prior, from exponentially decayed counts, clamped to [floor, ceiling]:

    bonus = clamp((wins + a) / (wins + losses + a + b), floor, ceiling)

with a = b = 2 by default (an unseen strategy scores 0.5, and a few trades cannot swing it to 0 or 1).
Closed trades are recorded as they happen, but bonuses change only at adaptation points, at most every
adapt_interval_s (5 min), so the queue's ordering is stable between them. At each adaptation the counts
are multiplied by `decay` (0.9: a trade's weight halves in ~6.6 intervals, ~33 min) so the bonus follows
the current market rather than the whole history. A win is a close with P&L > 0; break-even counts as
neither.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipelines.config import ScoringConfig


@dataclass(slots=True)
class _Tally:
    wins: float = 0.0
    losses: float = 0.0


class StrategyWeights:
    def __init__(self, cfg: ScoringConfig, now: float, prior_wins: float = 2.0, prior_losses: float = 2.0,
                 decay: float = 0.9, floor: float = 0.05, ceiling: float = 0.95) -> None:
        if prior_wins <= 0 or prior_losses <= 0 or not 0 < decay <= 1 or not 0 <= floor <= ceiling <= 1:
            raise ValueError("need prior_wins, prior_losses > 0, 0 < decay <= 1, 0 <= floor <= ceiling <= 1")
        self.interval = cfg.adapt_interval_s
        self.a, self.b, self.decay = prior_wins, prior_losses, decay
        self.floor, self.ceiling = floor, ceiling
        self.last_adapt = now
        self._tally: dict[str, _Tally] = {}        # counts since (decayed at) each adaptation
        self._bonus: dict[str, float] = {}          # frozen between adaptations
        self._default = self._posterior(0.0, 0.0)

    def _posterior(self, wins: float, losses: float) -> float:
        mean = (wins + self.a) / (wins + losses + self.a + self.b)
        return min(self.ceiling, max(self.floor, mean))

    def record(self, strategy: str, pnl_lamports: int) -> None:
        t = self._tally.setdefault(strategy, _Tally())
        if pnl_lamports > 0:
            t.wins += 1
        elif pnl_lamports < 0:
            t.losses += 1

    def adapt(self, now: float) -> bool:
        """Recompute bonuses if adapt_interval_s has passed since the last adaptation; True when it did."""
        if now - self.last_adapt < self.interval:
            return False
        self._bonus = {s: self._posterior(t.wins, t.losses) for s, t in self._tally.items()}
        for t in self._tally.values():
            t.wins *= self.decay
            t.losses *= self.decay
        self.last_adapt = now
        return True

    def bonus(self, strategy: str) -> float:
        return self._bonus.get(strategy, self._default)

    def bonuses(self) -> dict[str, float]:
        return dict(self._bonus)

    def update_config(self, cfg: ScoringConfig) -> None:
        self.interval = cfg.adapt_interval_s

    def snapshot(self) -> dict:
        return {"last_adapt": self.last_adapt, "bonus": dict(self._bonus),
                "tally": {s: [t.wins, t.losses] for s, t in self._tally.items()}}

    def restore_state(self, snap: dict) -> None:
        self.last_adapt = float(snap["last_adapt"])
        self._bonus = {s: float(v) for s, v in snap["bonus"].items()}
        self._tally = {s: _Tally(float(w), float(l)) for s, (w, l) in snap["tally"].items()}
