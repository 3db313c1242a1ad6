"""Naive-Bayes rug probability: worked examples from the documented tables, monotonicity, features path."""
import pytest

from pipelines.scoring import rug_model as rm
from pipelines.scoring.rug_model import RugSignals, rug_probability, rug_probability_of, signals_from_features


def test_tables_are_probability_distributions():
    for table in (rm.DEV_SELL_SHARE, rm.TOP5_SHARE, rm.SELL_PRESSURE, rm.LIQUIDITY_SOL):
        assert sum(r for _, r, _ in table) == pytest.approx(1.0)
        assert sum(o for _, _, o in table) == pytest.approx(1.0)


def test_no_signal_gives_the_prior():
    assert rug_probability(RugSignals()) == pytest.approx(rm.PRIOR_RUG)


def test_worked_example_dev_kept_everything():
    # odds = 0.3/0.7 * P(dev share 0 | rug)/P(.. | ok) = 3/7 * 0.30/0.80 = 9/56 -> p = 9/65
    assert rug_probability(RugSignals(dev_sell_share=0.0)) == pytest.approx(9 / 65)


def test_worked_example_several_signals():
    # dev sold 60% (0.15/0.03 = 5), top5 40% (0.25/0.10 = 2.5), mint authority kept (0.30/0.02 = 15)
    odds = 3 / 7 * 5 * 2.5 * 15
    p = rug_probability(RugSignals(dev_sell_share=0.6, top5_share=0.4, mint_authority_active=True))
    assert p == pytest.approx(odds / (1 + odds))


def test_monotone_in_dev_sell_share():
    base = dict(top5_share=0.2, sell_pressure=0.5, liquidity_lamports=3 * 10**9, mint_authority_active=False,
                freeze_authority_active=False, risky_extension=False)
    ps = [rug_probability(RugSignals(dev_sell_share=s / 20, **base)) for s in range(21)]
    assert all(a <= b for a, b in zip(ps, ps[1:]))
    assert ps[-1] > 5 * ps[0]


def test_fast_path_equals_the_record_path():
    s = RugSignals(0.3, 0.25, 0.8, 10**9, True, False, None)
    assert rug_probability_of(s.dev_sell_share, s.top5_share, s.sell_pressure, s.liquidity_lamports,
                              s.mint_authority_active, s.freeze_authority_active, s.risky_extension) == \
        rug_probability(s)


def test_signals_recovered_from_token_features():
    from tests.unit.analysis.market import Curve, key
    from pipelines.analysis.shard import ShardCore
    from pipelines.config import AnalysisConfig
    c = Curve()
    shard = ShardCore(AnalysisConfig())
    b = c.buy_sol(c.creator, 2 * 10**9)
    (f,) = shard.ingest([c.launch(), b, c.sell(c.creator, b.token_amount // 2), c.buy_sol(key(), 10**9)], 5.0)
    s = signals_from_features(f)
    assert s.dev_sell_share == f.dev_sell_share == pytest.approx(0.5)
    assert s.mint_authority_active is False                        # pump.fun create revoked it by construction
    assert rug_probability(s) == pytest.approx(f.rug_probability)
