"""The backtester runs the Orchestrator's launch-age check (stages.on_launches with the chain slot): a launch
delivered more than scoring.sniper_max_age_slots after its own slot (detection latency) is not sniped, and is
counted stale_launch, as live (tests/unit/trading/test_orchestrator_stale_launch.py)."""
from __future__ import annotations

from pipelines.backtest.engine import BacktestEngine
from pipelines.backtest.market import ChainFees
from pipelines.fills import LatencyModel

from .streams import SOL, T0, Coin, config, key


def _run(detection_slots: int):
    coin = Coin(key(11), key(12))
    coin.launch(100)
    coin.buy(100, 2 * SOL, key(13))
    coin.buy(130, SOL, key(14))                # the stream goes on past the delivery of the launch
    events = coin.events
    engine = BacktestEngine(config(), ChainFees.infer(events), latency=LatencyModel(detection_slots, 0), t0=T0)
    return engine.run(events)


def test_a_launch_delivered_within_the_window_is_sniped():
    result = _run(10)                          # delivered at slot 110: 10 slots after its own
    assert len([f for f in result.fills if f.side.value == "buy"]) == 1
    assert result.counts.get("stale_launch", 0) == 0


def test_a_launch_delivered_after_the_window_is_not():
    result = _run(11)                          # delivered at slot 111: 11 slots after its own
    assert [f for f in result.fills if f.side.value == "buy"] == []
    assert result.counts["stale_launch"] == 1
