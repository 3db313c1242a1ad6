"""Opportunities: the documented expected-return model on round numbers, expiry, stable ids, refusals."""
import dataclasses

import pytest

from pipelines.config import ExitConfig, ScoringConfig
from pipelines.messages import SafetyVerdict, stable_id
from pipelines.scoring.momentum import ScoreBreakdown
from pipelines.scoring.opportunities import opportunity_from
from tests.unit.scoring.test_momentum import rising

SOL = 1_000_000_000
CFG = ScoringConfig()


def token(**change):
    f = rising()
    base = dict(liquidity_lamports=20 * SOL, rug_probability=0.0, slot=123_456, venue="pumpfun")
    return dataclasses.replace(f, **{**base, **change})


def breakdown(f, score=0.75, gate=""):
    return ScoreBreakdown(f.mint, score, {"buy_pressure": 0.2, "velocity": 0.1, "net_flow": 0.05}, {}, gate)


def test_expected_profit_risk_and_expiry_on_round_numbers():
    f = token()
    opp = opportunity_from(f, breakdown(f), CFG, now=1000.0, capital_lamports=SOL // 2)
    # p_win = 0.4 * 0.75 * (1 - 0) = 0.3; depth = 20 + 30 SOL virtual = 50 SOL; impact = 2 * 0.5 / 50 = 0.02
    # E = 0.3 * 1.0 (first take-profit +100%) - 0.7 * 0.15 (stop-loss) - 0.027 (fees) - 0.02 = 0.148
    assert opp.expected_profit == pytest.approx(0.148)
    assert opp.risk == pytest.approx(0.02)
    assert (opp.created_at, opp.expires_at) == (1000.0, 1030.0)        # opportunity_ttl_s = 30
    assert opp.id == stable_id(f.mint, "momentum", 123_456)
    assert opp.capital_lamports == SOL // 2 and opp.score == 0.75 and opp.price == f.price
    assert opp.strategy == "momentum" and opp.reason == "momentum:buy_pressure,velocity,net_flow"


def test_same_token_same_slot_same_id():
    f = token()
    a = opportunity_from(f, breakdown(f), CFG, 1000.0, SOL)
    b = opportunity_from(f, breakdown(f, 0.8), CFG, 1001.0, 2 * SOL)
    assert a.id == b.id
    c = opportunity_from(dataclasses.replace(f, slot=123_457), breakdown(f), CFG, 1000.0, SOL)
    assert c.id != a.id


def test_exit_geometry_comes_from_the_exit_config():
    f = token()
    exits = ExitConfig(stop_loss=0.10, take_profit=((0.5, 0.5), (1.0, 1.0)))
    opp = opportunity_from(f, breakdown(f), CFG, 0.0, SOL // 2, exits=exits)
    assert opp.expected_profit == pytest.approx(0.3 * 0.5 - 0.7 * 0.10 - 0.027 - 0.02)


def test_refusals():
    f = token()
    now, cap = 1000.0, SOL // 2
    assert opportunity_from(dataclasses.replace(f, safety=SafetyVerdict(False, ("top5_concentration",))),
                            breakdown(f), CFG, now, cap) is None
    assert opportunity_from(f, breakdown(f, gate="complete"), CFG, now, cap) is None
    assert opportunity_from(f, breakdown(f, score=0.59), CFG, now, cap) is None          # min_score 0.6
    assert opportunity_from(dataclasses.replace(f, rug_probability=0.81), breakdown(f), CFG, now, cap) is None
    strict = ScoringConfig(rug_probability_max=0.20)                                      # live threshold
    assert opportunity_from(dataclasses.replace(f, rug_probability=0.25), breakdown(f), strict, now, cap) is None
    assert opportunity_from(f, breakdown(f), CFG, now, 0) is None
    assert opportunity_from(f, breakdown(f), CFG, float("nan"), cap) is None
    # a position as big as the curve's depth moves the price too much to be worth it
    assert opportunity_from(f, breakdown(f), CFG, now, 10 * SOL) is None
    assert opportunity_from(dataclasses.replace(f, complete=True), breakdown(f), CFG, now, cap) is None
