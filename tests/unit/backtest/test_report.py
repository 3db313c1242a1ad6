"""Report metrics on a hand-made result whose figures are worked out in the comments."""
from __future__ import annotations

import json
import math

import polars as pl
import pytest

from pipelines.backtest.engine import BacktestResult, SellRecord
from pipelines.backtest.report import build_report, equity_png, trades_frame
from pipelines.messages import Position

SOL = 1_000_000_000
DAY1 = 20_000 * 86_400.0          # 00:00 UTC of some day
H = 3_600.0


def pos(mint, opened, closed, cost, realized, reason, order):
    return Position(mint=mint, opened_at=opened, tokens=0, initial_tokens=1_000, cost_lamports=cost,
                    entry_price=cost / 1_000, realized_lamports=realized, fees_lamports=1_000, strategy="momentum",
                    closed_at=closed, exit_reason=reason, entry_order_id=order)


@pytest.fixture
def result():
    # A: +0.5 SOL on 1 SOL (day 1, 01:00-01:10); B: -0.2 on 1 SOL (02:00-03:00); C: +0.2 on 2 SOL (day 2,
    # 00:30-01:30, sold in two parts: +0.15 take_profit_1, +0.05 max_hold). Backtest: day 1 00:00 to day 2 02:00.
    a = pos("A", DAY1 + H, DAY1 + H + 600, SOL, 3 * SOL // 2, "take_profit_3", "oa")
    b = pos("B", DAY1 + 2 * H, DAY1 + 3 * H, SOL, 8 * SOL // 10, "stop_loss", "ob")
    c = pos("C", DAY1 + 24.5 * H, DAY1 + 25.5 * H, 2 * SOL, 22 * SOL // 10, "max_hold", "oc")
    sells = [SellRecord("A", a.opened_at, "take_profit_3", SOL // 2, a.closed_at),
             SellRecord("B", b.opened_at, "stop_loss", -SOL // 5, b.closed_at),
             SellRecord("C", c.opened_at, "take_profit_1", 15 * SOL // 100, c.closed_at - 60),
             SellRecord("C", c.opened_at, "max_hold", 5 * SOL // 100, c.closed_at),
             SellRecord("D", DAY1, "take_profit_1", 7, DAY1 + 1)]     # an open position's partial sell
    return BacktestResult(closed=[c, a, b], open=[], fills=[], orders={}, sells=sells,
                          entry_scores={"oa": 0.55, "ob": 0.72}, equity=[(DAY1, 10 * SOL, 0)],
                          starting_capital=10 * SOL, start=DAY1, end=DAY1 + 26 * H, events=123)


def test_metrics_match_the_hand_figures(result):
    rep = build_report(result)
    assert rep["trades"] == 3 and rep["pnl_lamports"] == SOL // 2 and rep["pnl_sol"] == 0.5
    assert rep["win_rate"] == pytest.approx(2 / 3)
    assert rep["profit_factor"] == pytest.approx(0.7 / 0.2)            # (0.5 + 0.2) / 0.2
    # per-trade returns 0.5, -0.2, 0.1: mean 0.13333, sample std sqrt(0.246667 / 2) = 0.351188
    assert rep["sharpe_per_trade"] == pytest.approx((0.4 / 3) / math.sqrt(((0.5 - 0.4 / 3) ** 2 + (-0.2 - 0.4 / 3) ** 2
                                                                         + (0.1 - 0.4 / 3) ** 2) / 2))
    assert rep["sharpe_per_trade"] == pytest.approx(0.379663, rel=1e-5)
    # downside deviation sqrt(0.2^2 / 3) = 0.115470
    assert rep["sortino_per_trade"] == pytest.approx((0.4 / 3) / math.sqrt(0.04 / 3))
    # realised equity 10 -> 10.5 -> 10.3 -> 10.5: the worst fall is 0.2 from 10.5
    assert rep["max_drawdown"] == pytest.approx(0.2 / 10.5) and rep["max_drawdown_sol"] == pytest.approx(0.2)
    # daily returns: +0.3 on 10 SOL, +0.2 on 10.3 SOL
    r1, r2 = 0.03, 0.2 / 10.3
    assert [d["return"] for d in rep["daily"]] == pytest.approx([r1, r2])
    daily_std = abs(r1 - r2) / math.sqrt(2)                            # sample std of two values
    assert rep["sharpe_daily_annualized"] == pytest.approx((r1 + r2) / 2 / daily_std * math.sqrt(365))
    assert rep["sortino_daily_annualized"] is None                    # no losing day
    # exposure: 10 + 60 + 60 minutes with a position open, out of 26 hours
    assert rep["exposure"] == pytest.approx(130 / (26 * 60))
    assert rep["avg_hold_s"] == pytest.approx((600 + 3600 + 3600) / 3)
    # by sell reason, open positions' sells left out; the reasons add up to the total
    assert rep["pnl_by_exit_reason"] == pytest.approx({"max_hold": 0.05, "stop_loss": -0.2, "take_profit_1": 0.15,
                                                       "take_profit_3": 0.5})
    assert sum(rep["pnl_by_exit_reason"].values()) == pytest.approx(rep["pnl_sol"])
    assert rep["pnl_by_score_bucket"] == {
        "0.5-0.6": {"trades": 1, "pnl_sol": 0.5, "win_rate": 1.0},
        "0.7-0.8": {"trades": 1, "pnl_sol": -0.2, "win_rate": 0.0},
        "unknown": {"trades": 1, "pnl_sol": 0.2, "win_rate": 1.0}}
    json.dumps(rep, allow_nan=False)                                   # strict JSON


def test_trades_table_and_plot(result, tmp_path):
    df = trades_frame(result)
    assert df["mint"].to_list() == ["A", "B", "C"]                    # by opening time
    assert df["pnl_lamports"].to_list() == [SOL // 2, -SOL // 5, SOL // 5]
    df.write_parquet(tmp_path / "t.parquet")
    assert pl.read_parquet(tmp_path / "t.parquet").equals(df)
    png = equity_png(result)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_an_empty_backtest_reports_zeros_not_errors():
    empty = BacktestResult(closed=[], open=[], fills=[], orders={}, sells=[], entry_scores={}, equity=[(0.0, SOL, 0)],
                           starting_capital=SOL, start=0.0, end=0.0, events=0)
    rep = build_report(empty)
    assert (rep["trades"], rep["pnl_sol"], rep["win_rate"], rep["profit_factor"], rep["exposure"]) == (
        0, 0, 0.0, None, 0.0)
    assert rep["sharpe_per_trade"] is None and rep["max_drawdown"] == 0.0
    assert equity_png(empty)[:4] == b"\x89PNG"
