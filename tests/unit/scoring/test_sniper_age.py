"""The sniper acts only within its window measured from the launch's OWN slot (issue 14): a launch learned late
(the backfill of a gap after a reconnect or a restart) is not sniped as if it were new.

The window is ScoringConfig.sniper_max_age_slots (default 10 slots, ~4 s): a launch at slot S is sniped while the
chain is at most at S + 10, and not from S + 11 on.
"""
from __future__ import annotations

import pytest

from pipelines.config import ConfigError, ScoringConfig, config_with, load_config
from pipelines.decision_queue import DecisionQueue
from pipelines.scoring.sniper import Sniper, current_slot
from pipelines.stages import on_launches, stale_launches
from pipelines.strategy_weights import StrategyWeights
from tests.unit.analysis.market import Curve

SOL = 1_000_000_000


def test_the_window_is_measured_from_the_launch_s_own_slot():
    launch = Curve(slot=1_000).launch()
    s = Sniper()
    assert ScoringConfig().sniper_max_age_slots == 10
    assert s.on_launch(launch, 5.0, SOL, chain_slot=1_010) is not None       # 10 slots old: still a launch
    assert s.on_launch(launch, 5.0, SOL, chain_slot=1_011) is None           # 11: learned too late
    assert s.stale(launch, 1_011) and not s.stale(launch, 1_010)
    # the chain slot not known yet (0): nothing can be aged, the launch is sniped as before
    assert s.on_launch(launch, 5.0, SOL, chain_slot=0) is not None
    # a wider window from the profile
    wide = Sniper(ScoringConfig(sniper_max_age_slots=60))
    assert wide.on_launch(launch, 5.0, SOL, chain_slot=1_050) is not None


def test_a_launch_without_a_usable_slot_is_stale_once_the_chain_slot_is_known():
    s = Sniper()
    for bad in (0, -5, 1 << 62):
        assert s.stale(Curve(slot=bad).launch(), 1_000)


def test_a_backfill_batch_is_aged_against_its_newest_launch_before_any_get_slot():
    # After a restart the gap's backfill brings two launches 50 slots apart (20 s at 400 ms) before the first
    # getSlot answered (known slot 0): the older one is stale, the newer one is as fresh as anything known.
    old, new = Curve(slot=5_000).launch(), Curve(slot=5_050).launch()
    assert current_slot(0, [old, new]) == 5_050
    assert current_slot(6_000, [old, new]) == 6_000          # a getSlot ahead of them wins
    assert current_slot(0, [Curve(slot=1 << 62).launch()]) == 0     # garbage slots are not the chain's
    cfg = load_config("sim", env={})
    queue = DecisionQueue(cfg.orchestrator, cfg.scoring, StrategyWeights(cfg.scoring, 0.0))
    queue.set_available_capital(100 * SOL)
    sniper = Sniper(cfg.scoring, cfg.analysis)
    chain = current_slot(0, [old, new])
    pushed = on_launches(queue, sniper, [old, new], 10.0, SOL, chain)
    assert [o.mint for o in pushed] == [new.mint]
    assert stale_launches(sniper, [old, new], chain) == 1
    # both learned 20 s late against a getSlot that did answer: none is sniped
    queue2 = DecisionQueue(cfg.orchestrator, cfg.scoring, StrategyWeights(cfg.scoring, 0.0))
    queue2.set_available_capital(100 * SOL)
    assert on_launches(queue2, sniper, [old, new], 10.0, SOL, 5_100) == []
    assert stale_launches(sniper, [old, new], 5_100) == 2


@pytest.mark.parametrize("bad", [-1, 10_001, "ten"])
def test_the_window_is_a_checked_profile_key(bad):
    cfg = load_config("sim", env={})
    assert config_with(cfg, {"scoring": {"sniper_max_age_slots": 25}}).scoring.sniper_max_age_slots == 25
    with pytest.raises(ConfigError, match="sniper_max_age_slots"):
        config_with(cfg, {"scoring": {"sniper_max_age_slots": bad}})
