"""PARITY: the same recording through the live actor system (paper mode, replay source) and through the
backtester must close the same trades (same fingerprint) at zero latency.

NOT DONE: the actor system has no replay mode yet (the lead adds it). What the replay mode needs, so that both
sides run the same decisions in the same order (pipelines/backtest/engine.py's docstring is the contract):
- Ingest fed from the recording one slot per batch (IngestCore.route), no WebSocket;
- one simulated clock for every actor: now = SlotClock(t0 = first recv_ts, slot0 = first slot).at(slot)
  (pipelines/backtest/latency.py) instead of time.time(), and the actors' periodic loops driven by it;
- the Executor's ChainReader replaced by pipelines/backtest/market.ReplayMarket views (curve_view / pool_view)
  with fees from ChainFees.from_meta(meta.json), the state as of the landing slot;
- each stage called in the engine's order: route -> sniper -> lifecycle exits -> ShardCore.ingest ->
  momentum opportunities -> exits on marks -> orchestrator tick (stages.py holds the method bodies);
- the batch's work finished (ray.get on every call) before the next slot is fed.
The test body below is the skeleton to enable once that exists.
"""
from __future__ import annotations

from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


@pytest.mark.xfail(reason="actor replay mode (chain.source = 'replay' with a simulated clock and a ReplayMarket "
                          "chain reader) is not in actors/ yet; see the module docstring", run=False, strict=True)
def test_actor_system_replay_matches_backtester_fingerprint(ray_session, tmp_path):
    from actors.system import TradingSystem
    from pipelines.backtest.engine import BacktestEngine
    from pipelines.backtest.market import ChainFees
    from pipelines.backtest.report import fingerprint
    from pipelines.config import config_with, load_config
    from pipelines.recording import load_recording

    rec = load_recording(SAMPLE)
    cfg = config_with(load_config("sim", env={}), {
        "chain": {"source": "replay", "replay_path": str(SAMPLE)},
        "ledger": {"path": str(tmp_path / "ledger.sqlite"), "synchronous": "OFF"},
        "execution": {"mode": "paper", "paper_latency_ms": 0.0}, "api": {"enabled": False}})
    expected = BacktestEngine(cfg, ChainFees.from_meta(rec.meta, rec.events), t0=rec.t0).run(rec.events)

    system = TradingSystem(cfg, n_shards=1)
    try:
        system.start()
        system.replay_until_done()                       # to be provided by the replay mode
        closed = system.actor("position_tracker").closed_positions.remote()   # likewise
        import ray
        assert fingerprint(ray.get(closed)) == fingerprint(expected.closed)
    finally:
        system.stop()
        system.teardown()
