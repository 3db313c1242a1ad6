"""The record / backtest / sweep commands end to end (the sweep's Ray part is in test_sweep.py)."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from actors.cli import main

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


def test_backtest_command_writes_report_trades_and_plot(tmp_path, capsys):
    if not SAMPLE.exists():
        pytest.skip("data/sample is missing")
    assert main(["backtest", "--data", str(SAMPLE), "--out", str(tmp_path)]) == 0
    assert "fingerprint" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    for key in ("trades", "pnl_sol", "win_rate", "profit_factor", "max_drawdown", "sharpe_per_trade",
                "sortino_per_trade", "sharpe_daily_annualized", "sortino_daily_annualized", "exposure",
                "avg_hold_s", "pnl_by_exit_reason", "pnl_by_score_bucket", "fingerprint"):
        assert key in report
    trades = pl.read_parquet(tmp_path / "trades.parquet")
    assert trades.height == report["trades"] > 0
    assert trades["pnl_lamports"].sum() == report["pnl_lamports"]
    assert (tmp_path / "equity.png").read_bytes()[:4] == b"\x89PNG"
    assert report["params"]["fees"] == "recorded fee config"


@pytest.mark.parametrize("argv,message", [
    (["--data", "/nonexistent/recording"], "not a directory"),
    (["--data", str(SAMPLE), "--profile", "no_such_profile"], "no such profile"),
    (["--data", str(SAMPLE), "--land-slots", "-1"], "cannot be negative"),
])
def test_backtest_command_fails_with_one_clear_line(tmp_path, capsys, argv, message):
    assert main(["backtest", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_sweep_command_refuses_a_bad_grid_before_starting_ray(tmp_path, capsys):
    grid = tmp_path / "g.toml"
    grid.write_text('[grid]\n"exits.stop_loss" = [0.1, 5.0]\n')
    assert main(["sweep", "--data", str(SAMPLE), "--grid", str(grid), "--out", str(tmp_path / "o")]) == 2
    assert "combination 1" in capsys.readouterr().err


def test_record_command_records_simnet_with_fee_accounts(tmp_path, capsys):
    out = tmp_path / "rec"
    assert main(["record", "--out", str(out), "--duration", "4", "--speed", "10", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] > 0 and summary["by_kind"].get("launch", 0) > 0
    meta = json.loads((out / "meta.json").read_text())
    assert set(meta["accounts"]) == {"pump_global", "pump_fee_config", "pumpswap_fee_config"}
    from pipelines.backtest.market import ChainFees
    from pipelines.recording import load_recording
    rec = load_recording(out)
    assert len(rec.events) == summary["events"]
    assert list(out.glob("date=*/hour=*/part-*.parquet"))
    fees = ChainFees.from_meta(rec.meta, rec.events)
    assert fees.recorded and fees.exit_sell_fee_bps() > 0
