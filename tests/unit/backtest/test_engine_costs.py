"""A paper order that lands and fails still pays its transaction fee: the backtester books it in the risk book
as the Executor does (RiskBook.on_cost, once per order), so both see the same equity."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipelines.backtest.engine import BacktestEngine
from pipelines.backtest.market import ChainFees
from pipelines.config import config_with, load_config
from pipelines.recording import load_recording

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


def test_rejected_orders_cost_their_fee_in_the_risk_book():
    if not SAMPLE.exists():
        pytest.skip("data/sample is missing")
    rec = load_recording(SAMPLE)
    # 90% adverse slippage on every fill: each buy gets a tenth of its quote, far below its 5% bound, so it
    # "lands and fails" on slippage
    cfg = config_with(load_config("sim", env={}), {"execution": {"paper_extra_slippage_bps": 9000,
                                                                 "slippage_bps": 500}})
    engine = BacktestEngine(cfg, ChainFees.from_meta(rec.meta, rec.events), t0=rec.t0)
    result = engine.run(rec.events)
    ex = cfg.execution
    tx_fee = 5000 + math.ceil(ex.compute_unit_limit * ex.priority_fee_micro_lamports / 1_000_000) + (
        ex.jito_tip_lamports if ex.use_jito else 0)          # per signature + priority fee (+ tip)
    rejected = result.counts.get("rejected_slippage", 0)
    assert rejected >= 5 and not result.fills
    assert result.counts["failed_tx_fees"] == rejected
    assert engine.risk.realized == -rejected * tx_fee
    assert engine.risk.book_equity == engine.risk.capital - rejected * tx_fee
