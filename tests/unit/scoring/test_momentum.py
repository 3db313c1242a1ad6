"""Momentum score: a broad rising run beats a flat or bot-driven coin; penalties, gates and weights behave."""
import dataclasses
import math
import random

import pytest

from pipelines.analysis.shard import ShardCore
from pipelines.config import AnalysisConfig, ScoringConfig
from pipelines.messages import SafetyVerdict
from pipelines.scoring.features import FEATURE_NAMES, feature_vector, progress_fit
from pipelines.scoring.momentum import DRIVE_WEIGHTS, MomentumModel, entropy_factor
from tests.unit.analysis.market import SOL, Curve, key


def features_after(events_with_times):
    shard = ShardCore(AnalysisConfig())
    last = None
    for t, e in events_with_times:
        out = shard.ingest([e], t)
        last = out[0] if out else last
    return last


def rising():
    """40 distinct buyers, sizes spread over 0.05-2 SOL, arriving faster at the end; a few small sells."""
    rng = random.Random(5)
    c = Curve()
    evs, t = [(0.0, c.launch())], 0.0
    for i in range(40):
        t += 3.0 if i < 25 else 0.8
        evs.append((t, c.buy_sol(key(), int(SOL * 10 ** rng.uniform(-1.3, 0.3)))))
        if i % 6 == 5:
            evs.append((t, c.sell(key(), 10**11)))
    return features_after(evs)


def flat(uniform_sizes: bool):
    """Three wallets trading back and forth: as much sold as bought, no new buyers."""
    rng = random.Random(9)
    c = Curve()
    wallets = [key() for _ in range(3)]
    evs = [(0.0, c.launch())] + [(0.0, c.buy_sol(w, SOL)) for w in wallets]
    t = 0.0
    for i in range(40):
        t += 1.5
        w = wallets[i % 3]
        lamports = SOL // 3 if uniform_sizes else int(SOL * 10 ** rng.uniform(-1.5, 0.0))
        if i % 2 == 0:
            buy = c.buy_sol(w, lamports)
            evs.append((t, buy))
        else:
            evs.append((t, c.sell(w, buy.token_amount)))
    return features_after(evs)


MODEL = MomentumModel(ScoringConfig())


def test_rising_buys_and_buyers_score_higher_than_flat():
    up, level, bots = rising(), flat(uniform_sizes=False), flat(uniform_sizes=True)
    s_up, s_flat, s_bots = (MODEL.score(f).score for f in (up, level, bots))
    assert s_up > 0.8 > ScoringConfig().min_score > s_flat > s_bots
    assert up.new_buyers[60] > 10 and level.new_buyers[60] == 0
    b = MODEL.score(up)
    assert b.gate == "" and set(b.top(3)) <= set(DRIVE_WEIGHTS)
    assert MODEL.rank([level, up, bots]) == [(up.mint, s_up), (level.mint, s_flat), (bots.mint, s_bots)]


def test_every_feature_has_a_default_weight():
    from pipelines.scoring.momentum import DEFAULT_WEIGHTS
    assert set(DEFAULT_WEIGHTS) == set(FEATURE_NAMES)


def test_vector_is_normalized():
    for f in (rising(), flat(False)):
        v = feature_vector(f)
        assert tuple(v) == FEATURE_NAMES and all(0.0 <= x <= 1.0 for x in v.values())


def test_low_entropy_is_penalized():
    f = rising()
    thr = ScoringConfig().entropy_threshold                    # 2.5 bits: the test-mode threshold
    bot = dataclasses.replace(f, trade_size_entropy=0.0)
    half = dataclasses.replace(f, trade_size_entropy=thr / 2)
    s, s_half, s_bot = (MODEL.score(x).score for x in (f, half, bot))
    assert s_bot == pytest.approx(s * 0.3 / MODEL.score(f).components["entropy"])
    assert s_bot < s_half < s
    assert entropy_factor(0.0, 3, thr) == 1.0                   # under 4 trades: not judged
    assert entropy_factor(1.0, 4, thr) == pytest.approx(0.3 + 0.7 * 1.0 / 1.2)   # threshold 0.6*log2(4) = 1.2
    strict = MomentumModel(ScoringConfig(entropy_threshold=2.5))    # REQUIREMENTS: test mode
    lenient = MomentumModel(ScoringConfig(entropy_threshold=1.5))   # REQUIREMENTS: live mode
    mid = dataclasses.replace(f, trade_size_entropy=2.0)
    assert strict.score(mid).score < lenient.score(mid).score


def test_gates_force_zero():
    f = rising()
    cases = {"unsafe": dict(safety=SafetyVerdict(False, ("dev_dump",))), "rugged": dict(rugged=True),
             "migrated": dict(migrated=True, complete=True), "complete": dict(complete=True),
             "no_price": dict(price=0.0)}
    for gate, change in cases.items():
        b = MODEL.score(dataclasses.replace(f, **change))
        assert (b.score, b.gate) == (0.0, gate)


def test_rug_probability_and_drawdown_scale_the_score():
    f = rising()
    s = MODEL.score(f).score
    risky = dataclasses.replace(f, rug_probability=0.5)
    assert MODEL.score(risky).score == pytest.approx(s * 0.5 / (1 - f.rug_probability))
    down = dataclasses.replace(f, peak_price=f.price * 2)      # half off the high
    assert MODEL.score(down).score == pytest.approx(s * 0.5)


def test_feature_weights_override_the_defaults():
    f = rising()
    only_buys = {k: 0.0 for k in DRIVE_WEIGHTS} | {"buy_pressure": 1.0, "rug": 0.0, "drawdown": 0.0, "entropy": 0.0}
    m = MomentumModel(ScoringConfig(feature_weights=only_buys))
    assert m.score(f).score == pytest.approx(feature_vector(f)["buy_pressure"])
    with pytest.raises(ValueError, match="unknown feature 'volume'"):
        MomentumModel(ScoringConfig(feature_weights={"volume": 1.0}))
    with pytest.raises(ValueError, match="velocity"):
        MomentumModel(ScoringConfig(feature_weights={"velocity": -1.0}))
    assert MomentumModel.check_weights({"a": 1}) and not MomentumModel.check_weights({"velocity": 0.3})


def test_rank_breaks_ties_by_mint():
    f = rising()
    a, b = dataclasses.replace(f, mint="B"), dataclasses.replace(f, mint="A")
    assert [m for m, _ in MODEL.rank([a, b])] == ["A", "B"]


def test_progress_fit_shape():
    assert [progress_fit(p) for p in (0.0, 0.025, 0.05, 0.5, 0.70, 0.85, 1.0)] == \
        pytest.approx([0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0])


def test_feature_vector_values_from_the_documented_definitions():
    # windows 10/60/300 s: short 10, mid 60, long 300 whatever order the dicts list them in
    f = dataclasses.replace(
        rising(), volume_lamports={300: 6 * SOL, 10: SOL, 60: 3 * SOL}, buy_volume_lamports={60: 2 * SOL},
        buys={60: 6}, sells={60: 2}, new_buyers={10: 2, 60: 4, 300: 6}, liquidity_lamports=SOL // 2,
        price_velocity=float("nan"), price=1.0, peak_price=4.0, age_s=-5.0, trade_size_entropy=5.0,
        rug_probability=-0.1, curve_progress=0.02)
    v = feature_vector(f)
    r_vol, r_buy = (SOL / 10) / (6 * SOL / 300), (2 / 10) / (6 / 300)
    assert v == {
        "buy_pressure": 6 / 8,
        "net_flow": 0.5 + 0.5 * math.tanh((2 * 2 * SOL - 3 * SOL) / SOL),   # depth: at least 1 SOL
        "volume_accel": r_vol / (1 + r_vol), "buyer_growth": 1 - math.exp(-4 / 8.0),
        "buyer_accel": r_buy / (1 + r_buy), "velocity": 0.5,                 # NaN velocity: no signal
        "activity": 1 - math.exp(-8 / 20.0), "progress_fit": 0.02 / 0.05, "freshness": 1.0, "entropy": 1.0,
        "drawdown": 0.75, "rug": 0.0}
    none = feature_vector(dataclasses.replace(f, volume_lamports={}, buys={}, sells={}, new_buyers={},
                                              buy_volume_lamports={}, liquidity_lamports=3 * SOL))
    assert (none["buy_pressure"], none["volume_accel"], none["buyer_accel"], none["net_flow"]) == (0.5, 0.5, 0.5, 0.5)
    assert none["activity"] == 0.0 and none["buyer_growth"] == 0.0
