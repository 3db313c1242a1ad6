"""Same data + profile -> the same trades (fingerprint); a changed parameter -> other trades. Run on the
committed simnet recording (data/sample), the one the README's example uses."""
from __future__ import annotations

from pipelines.backtest.engine import BacktestEngine
from pipelines.backtest.report import build_report, fingerprint
from pipelines.config import config_with, load_config
from pipelines.fills import LatencyModel


def backtest(sample, cfg=None, latency=None, seed=0):
    rec, fees = sample
    cfg = cfg or load_config("sim", env={})
    return build_report(BacktestEngine(cfg, fees, latency=latency or LatencyModel(0, 0), t0=rec.t0,
                                       slot_ms=rec.meta.get("slot_ms", 400), seed=seed).run(rec.events))


def test_the_sample_is_a_real_recording_with_fee_accounts(sample):
    rec, fees = sample
    kinds = {e.kind for e in rec.events}
    assert {"launch", "trade", "complete", "migration", "pool_created"} <= kinds
    assert fees.recorded and fees.pool_fee_config is not None


def test_same_data_and_profile_give_the_same_fingerprint(sample):
    a, b = backtest(sample), backtest(sample)
    assert a["trades"] > 5, "the sample should trade: it is the README's example"
    assert a["fingerprint"] == b["fingerprint"]
    assert a == b


def test_a_changed_parameter_changes_the_trades(sample):
    base = backtest(sample)
    tighter = backtest(sample, config_with(load_config("sim", env={}), {"exits": {"stop_loss": 0.05}}))
    assert tighter["fingerprint"] != base["fingerprint"]
    late = backtest(sample, latency=LatencyModel(1, 1))
    assert late["fingerprint"] != base["fingerprint"]


def test_jitter_is_seeded(sample):
    lat = LatencyModel(0, 1, jitter_slots=2)
    assert backtest(sample, latency=lat, seed=3)["fingerprint"] == backtest(sample, latency=lat, seed=3)["fingerprint"]


def test_fingerprint_ignores_input_order_but_not_content(sample):
    rec, fees = sample
    result = BacktestEngine(load_config("sim", env={}), fees, t0=rec.t0).run(rec.events)
    closed = result.closed
    assert len(closed) >= 2
    assert fingerprint(list(reversed(closed))) == fingerprint(closed)
    from dataclasses import replace
    changed = [replace(closed[0], realized_lamports=closed[0].realized_lamports + 1), *closed[1:]]
    assert fingerprint(changed) != fingerprint(closed)
