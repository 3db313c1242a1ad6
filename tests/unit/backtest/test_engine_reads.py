"""The backtester reads features only where they can matter (a held mint's mark, a token momentum scoring
would not refuse); reading every touched and refreshed token's, as the actors do for the MomentumEngine's
ranking, must give the same trades, fills, orders, equity and counts. Run on the committed recording with
limits loosened so that it trades a lot (momentum and sniper entries, every exit kind, open positions)."""
from __future__ import annotations

import pytest

from pipelines.backtest.engine import BacktestEngine
from pipelines.config import config_with, load_config
from pipelines.fills import LatencyModel

LOOSE = {"risk": {"consecutive_loss_pause": 100_000, "max_open_positions": 50, "token_cooldown_s": 0.0,
                  "starting_capital_sol": 1000.0, "max_concentration": 1.0},
         "scoring": {"min_score": 0.3, "rug_probability_max": 0.95, "win_probability_scale": 1.0}}


class ReadsEverything(BacktestEngine):
    def _wanted(self, mint, st) -> bool:
        return True


def _outcome(r) -> tuple:
    return (r.closed, r.open, r.fills, sorted(r.orders.items()), r.sells, r.equity, r.counts, r.entry_scores)


@pytest.mark.parametrize("changes, latency, shards", [
    ({}, LatencyModel(0, 0), 1),
    ({"orchestrator": {"strategies": ["momentum"]}}, LatencyModel(1, 1), 2),
    ({"orchestrator": {"strategies": ["sniper"]}}, LatencyModel(0, 0), 1),
])
def test_reading_only_the_wanted_features_changes_nothing(sample, changes, latency, shards):
    rec, fees = sample
    cfg = config_with(config_with(load_config("sim", env={}), LOOSE), changes)
    kw = dict(latency=latency, shards=shards, t0=rec.t0, slot_ms=rec.meta.get("slot_ms", 400))
    lean = BacktestEngine(cfg, fees, **kw).run(rec.events)
    full = ReadsEverything(cfg, fees, **kw).run(rec.events)
    assert len(lean.closed) >= 10 and lean.counts.get("filled_buy", 0) >= 10, "the case should trade"
    assert _outcome(lean) == _outcome(full)
