"""PARITY: the same recording through the live actor system (paper mode, replay source) and through the
backtester closes the same trades (same fingerprint) at zero latency.

The actor side is TradingSystem with chain.source = "replay" (actors/replay.py): every actor of `launchray run`
(Ingest, an AnalyzerShard, MomentumEngine, Orchestrator, RiskSupervisor, Executor, PositionTracker, Ledger) in
the session's Ray, fed data/sample slot by slot on the recording's simulated clock; its trades are read back
from its SQLite ledger. The backtest side is BacktestEngine on the same recording, profile and clock.
Both go through pipelines/stages.py; what is compared is everything the actors wrote, not what they report:

    report.fingerprint  sha256 over every closed trade: mint, strategy, entry order id, exit order ids, opened /
                        closed time (the simulated clock, exact floats), cost, realised lamports, fees, tokens
                        bought, exit reason (pipelines/backtest/report.py)
    plus                the positions still open at the end, and every fill (order id, side, tokens, lamports,
                        fee, quote slot, time): the same orders filled at the same prices.

The whole sample (2,132 events, 1,122 slots, 75 s of chain time) is replayed; nothing is trimmed.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"

pytestmark = [pytest.mark.ray]


def _fills(fills) -> list[tuple]:
    return sorted((f.order_id, f.side.value, f.tokens, f.lamports, f.fee_lamports, f.quote_slot, f.ts)
                  for f in fills)


def test_actor_system_replay_matches_backtester_fingerprint(ray_session, tmp_path):
    from actors.system import TradingSystem
    from pipelines.backtest.engine import BacktestEngine
    from pipelines.backtest.latency import slot_ms_of
    from pipelines.backtest.market import ChainFees
    from pipelines.backtest.report import build_report, fingerprint
    from pipelines.config import config_with, load_config
    from pipelines.ledger import LedgerStore
    from pipelines.recording import load_recording

    if not SAMPLE.exists():
        pytest.skip("data/sample is missing")
    rec = load_recording(SAMPLE)
    cfg = config_with(load_config("sim", env={}), {
        "chain": {"source": "replay", "replay_path": str(SAMPLE)},
        "ray": {"namespace": f"lr-parity-{uuid.uuid4().hex[:8]}"},
        "ledger": {"path": str(tmp_path / "ledger.sqlite"), "synchronous": "OFF"},
        "logging": {"dir": str(tmp_path / "logs")},
        "execution": {"mode": "paper", "paper_latency_ms": 0.0}, "api": {"enabled": False}})
    expected = BacktestEngine(cfg, ChainFees.from_meta(rec.meta, rec.events), slot_ms=slot_ms_of(rec.meta),
                              t0=rec.t0).run(rec.events)
    report = build_report(expected)
    assert report["trades"] >= 10 and expected.open, "the sample should exercise entries, exits and open positions"

    system = TradingSystem(cfg, n_shards=1)
    try:
        system.start()
        replayed = system.replay_until_done(timeout=120)
        system.stop()
    finally:
        system.teardown()
    assert replayed["state"] == "done" and replayed["fed"] == len(rec.events), replayed

    store = LedgerStore(cfg.ledger.path, readonly=True)
    positions = store.positions()
    closed = [p for p in positions if not p.is_open]
    assert fingerprint(closed) == report["fingerprint"], _first_difference(closed, expected.closed)
    assert sorted((p.mint, p.tokens, p.cost_lamports) for p in positions if p.is_open) == \
        sorted((p.mint, p.tokens, p.cost_lamports) for p in expected.open)
    assert _fills(store.fills()) == _fills(expected.fills)
    assert store.summary()["duplicate_orders"] == 0


def _first_difference(actual, expected) -> str:
    """A readable first mismatch for the assertion message."""
    key = lambda p: (p.opened_at, p.mint)   # noqa: E731
    a, b = sorted(actual, key=key), sorted(expected, key=key)
    for x, y in zip(a, b):
        if x != y:
            return f"{len(a)} vs {len(b)} closed trades; first difference:\n actors:   {x}\n backtest: {y}"
    return f"{len(a)} closed trades in the actors' ledger, {len(b)} in the backtest"
