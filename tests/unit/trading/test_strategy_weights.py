"""StrategyWeights: Beta-posterior win rate with a prior, decayed, bounded, adapted every 5 minutes."""
from __future__ import annotations

import json

import pytest

from pipelines.config import ScoringConfig
from pipelines.strategy_weights import StrategyWeights

T = 10_000.0


def test_unseen_strategy_scores_the_prior_mean():
    assert StrategyWeights(ScoringConfig(), T).bonus("momentum") == 0.5
    assert StrategyWeights(ScoringConfig(), T, prior_wins=1, prior_losses=3).bonus("x") == 0.25


def test_bonus_changes_only_at_adaptation_points():
    w = StrategyWeights(ScoringConfig(), T)
    for pnl in (5, 7, 1, -3):
        w.record("momentum", pnl)
    assert not w.adapt(T + 299.999)
    assert w.bonus("momentum") == 0.5
    assert w.adapt(T + 300)
    assert w.bonus("momentum") == pytest.approx((3 + 2) / (4 + 4))       # 0.625


def test_counts_decay_at_each_adaptation():
    w = StrategyWeights(ScoringConfig(), T)
    for pnl in (5, 7, 1, -3):
        w.record("momentum", pnl)
    w.adapt(T + 300)                                   # then 3 wins -> 2.7, 1 loss -> 0.9
    w.record("momentum", -1)
    w.adapt(T + 600)
    assert w.bonus("momentum") == pytest.approx((2.7 + 2) / (2.7 + 1.9 + 4))   # 0.5465


def test_break_even_is_neither_a_win_nor_a_loss():
    w = StrategyWeights(ScoringConfig(), T)
    w.record("sniper", 0)
    w.record("sniper", 0)
    w.adapt(T + 300)
    assert w.bonus("sniper") == 0.5


def test_bonus_is_bounded():
    w = StrategyWeights(ScoringConfig(), T)
    for _ in range(1000):
        w.record("lucky", 1)
        w.record("cursed", -1)
    w.adapt(T + 300)
    assert w.bonus("lucky") == 0.95 and w.bonus("cursed") == 0.05


def test_interval_comes_from_config_and_can_change():
    w = StrategyWeights(ScoringConfig(adapt_interval_s=60), T)
    w.record("m", 1)
    assert w.adapt(T + 60)
    w.update_config(ScoringConfig(adapt_interval_s=600))
    assert not w.adapt(T + 600)
    assert w.adapt(T + 660)


def test_snapshot_restore_round_trip():
    w = StrategyWeights(ScoringConfig(), T)
    for pnl in (1, 1, -1):
        w.record("momentum", pnl)
    w.adapt(T + 300)
    w.record("sniper", -1)
    r = StrategyWeights(ScoringConfig(), 0.0)
    r.restore_state(json.loads(json.dumps(w.snapshot())))
    assert r.snapshot() == w.snapshot()
    w.adapt(T + 600)
    r.adapt(T + 600)
    assert r.bonuses() == w.bonuses()


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        StrategyWeights(ScoringConfig(), T, decay=0)
    with pytest.raises(ValueError):
        StrategyWeights(ScoringConfig(), T, floor=0.9, ceiling=0.1)
