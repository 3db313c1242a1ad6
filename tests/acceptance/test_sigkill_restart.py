"""The SIGKILL-and-restart acceptance test (issue 14): `launchray run` in live mode on simnet (real signing, real
sends, a funded throwaway wallet), killed with SIGKILL mid-trade and started again on the same ledger, judged by
`launchray drill` from the ledger and the chain: nothing lost, nothing bought twice, nothing stuck, every launch
recorded, and the wallet's SOL and tokens equal to the ledger's to the lamport.

What it guards: a restart must reconcile the orders the killed process left, book the fills it never booked,
never buy a mint again, and not snipe the launches made while it was down as if they were new."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_run_killed_with_sigkill_and_restarted_loses_nothing_and_matches_the_chain(tmp_path):
    out = tmp_path / "drill.json"
    proc = subprocess.run([sys.executable, "-m", "actors.cli", "drill", "--minutes", "1", "--phases",
                           "baseline,sigkill,recovery", "--json", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert out.exists(), tail
    report = json.loads(out.read_text())
    assert [p["name"] for p in report["phases"]] == ["baseline", "sigkill + restart", "recovery"], tail
    sigkill = report["phases"][1]
    assert any("SIGKILLed the run" in n for n in sigkill["notes"]), sigkill["notes"]
    assert report["totals"] == {"lost_fills": 0, "duplicate_buys": 0, "stuck_exits": 0, "balance_diff_lamports": 0,
                                "launches_missed": 0, "stolen_lamports": 0, "unexpected_exits": 0,
                                "untested_phases": 0}, (report["details"], tail)
    assert report["details"]["sol_diff_lamports"] == 0 and not report["details"]["token_diff"]
    # the run traded on both sides of the kill, so the restart had orders and positions to take over
    assert sum(p["fills"] for p in report["phases"]) >= 2, tail
    assert report["passed"] and proc.returncode == 0, tail
