"""The market's small parts, checked against what they are defined to do."""
from __future__ import annotations

import random

import pytest

from pipelines.chain import programs as P
from pipelines.config import MarketConfig, SimnetConfig
from simnet.market import agents as A
from simnet.market import calibration as C
from simnet.market.driver import Market
from simnet.market.population import LaunchArrivals, Population, derive_keypair
from simnet.market.truth import GroundTruth

from .conftest import make_bank


def test_launch_arrivals_have_the_configured_poisson_rate():
    arrivals = LaunchArrivals(random.Random(1), launches_per_minute=6.0, slot_ms=400)
    assert arrivals.rate_per_slot == pytest.approx(6 / 60 * 0.4)         # 0.04 launches per 400 ms slot
    n = 200_000
    draws = [arrivals.draw() for _ in range(n)]
    mean = sum(draws) / n
    var = sum((d - mean) ** 2 for d in draws) / n
    sd_of_mean = (0.04 / n) ** 0.5
    assert abs(mean - 0.04) < 4 * sd_of_mean
    assert var == pytest.approx(mean, rel=0.05)                           # Poisson: variance = mean
    assert LaunchArrivals(random.Random(1), 0.0, 400).draw() == 0


def test_flow_window_matches_a_brute_force_sum():
    rng = random.Random(3)
    flow = A.FlowWindow()
    entries = []
    w = A.MOMENTUM_WINDOW_SLOTS
    for now in range(400):
        for _ in range(rng.randint(0, 2)):
            v = rng.randint(-10**9, 10**9)
            flow.add(now, v)
            entries.append((now, v))
        alive = flow.advance(now)
        recent = sum(v for s, v in entries if s > now - w)
        older = sum(v for s, v in entries if now - 2 * w < s <= now - w)
        assert (flow.recent_sum, flow.older_sum) == (recent, older)
        assert alive == any(s > now - 2 * w for s, _ in entries)


def test_momentum_rule():
    rng = random.Random(0)
    big, small = 2 * A.MOMENTUM_MIN_NET_LAMPORTS, A.MOMENTUM_MIN_NET_LAMPORTS // 2
    for _ in range(500):       # too little flow, flow not rising, the launch rush, enough chasers already
        assert not A.momentum_wants(rng, 100, small, 0, 0)
        assert not A.momentum_wants(rng, 100, big, big + 1, 0)
        assert not A.momentum_wants(rng, A.MOMENTUM_MIN_AGE_SLOTS - 1, big, 0, 0)
        assert not A.momentum_wants(rng, 100, big, 0, A.MOMENTUM_MAX_PER_COIN)
    hits = sum(A.momentum_wants(rng, 100, big, 0, 0) for _ in range(20_000))
    assert hits / 20_000 == pytest.approx(A.MOMENTUM_BUY_PROBABILITY, abs=0.01)


def test_plans_follow_the_knobs():
    p = C.load()
    rng = random.Random(5)
    every_runner = A.Knobs(completion_share=1.0, create_v2_share=1.0, bundle_share=0.0, whale_share=0.0)
    plans = [A.plan_coin(rng, p, every_runner) for _ in range(300)]
    assert all(x.fate == A.COMPLETE and x.token_program == P.TOKEN_2022 and not x.bundled and not x.whale_share
               for x in plans)
    no_runner = A.Knobs(completion_share=0.0, create_v2_share=0.0, rug_share=1.0)
    plans = [A.plan_coin(rng, p, no_runner) for _ in range(2_000)]
    # every dev with a bag dumps it; a dev without one cannot rug
    assert all((x.fate == A.RUG) == bool(x.dev_buy_lamports) for x in plans)
    assert all(x.token_program == P.TOKEN for x in plans)
    dev_share = sum(1 for x in plans if x.dev_buy_lamports) / len(plans)
    assert dev_share == pytest.approx(p.dev_buy_share, abs=0.04)
    assert max(x.dev_buy_lamports for x in plans) <= int(p.dev_buy_max_sol * 1e9)
    assert all(x.rug_after_slots >= 8 for x in plans if x.fate == A.RUG)


def test_exits_and_rugs_are_exclusive_and_ordered():
    p = C.load()
    rng = random.Random(8)
    for _ in range(2_000):
        x = A.plan_coin(rng, p, A.Knobs())
        if x.fate == A.RUG:
            assert not x.exit_slots
        elif x.dev_buy_lamports:
            assert 2 <= len(x.exit_slots) <= 3 and list(x.exit_slots) == sorted(x.exit_slots)
        else:
            assert not x.exit_slots and not x.rug_after_slots


def test_wallet_keys_are_derived_from_the_seed():
    assert derive_keypair(7, "dev", 3) == derive_keypair(7, "dev", 3)
    assert derive_keypair(7, "dev", 3) != derive_keypair(8, "dev", 3)
    a, b = Population(7, 16), Population(7, 16)
    assert [w.address for w in a.wallets["organic"]] == [w.address for w in b.wallets["organic"]]
    assert len(a.by_address) == sum(len(v) for v in a.wallets.values())


def test_ground_truth_keeps_the_last_trades_and_counts_all():
    gt = GroundTruth(keep_trades=3)
    for i in range(10):
        gt.trade(mint="m", slot=i, signature=f"s{i}", side="buy", user="u", venue="pumpfun", agent="organic",
                 lamports=1, tokens=1)
    truth = gt.as_dict()
    assert [t["signature"] for t in truth["trades"]] == ["s7", "s8", "s9"]
    assert gt.counts["trades"] == 10 and gt.counts["trades.pumpfun.buy"] == 10
    assert all(isinstance(v, list) for v in truth.values())


def test_a_bank_without_genesis_is_refused_clearly():
    from simnet.bank import Bank
    with pytest.raises(ValueError, match="genesis"):
        Market(Bank(seed=1, genesis=False), SimnetConfig(), 1)


def test_a_disabled_market_does_nothing():
    bank = make_bank()
    m = Market(bank, SimnetConfig(launches_per_minute=600.0, market=MarketConfig(enabled=False)), 1)
    m.run_slots(20)
    s = m.stats()
    assert s["launches"] == s["tx_sent"] == s["airdrops"] == 0
