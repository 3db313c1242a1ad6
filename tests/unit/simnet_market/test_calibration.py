"""Calibration: the committed numbers come from the dataset, and a long calibrated run reproduces them.

The re-derivations below read the CSV with the csv module, independently of calibration.py's polars code:
the statistic is defined in words, computed here from scratch, and must equal what calibration.json holds.
"""
from __future__ import annotations

import csv
import math
from datetime import datetime
from statistics import median

import pytest

from simnet.market import calibration as C
from simnet.market.measure import run_statistics

QUIET_S = 180.0


@pytest.fixture(scope="module")
def committed() -> dict:
    return C.load_statistics()


@pytest.fixture(scope="module")
def tracks() -> dict[str, list[dict]]:
    if not C.DATASET.exists():
        pytest.skip("the shared dataset is not present")
    coins: dict[str, list[dict]] = {}
    with C.DATASET.open() as f:
        for row in csv.DictReader(f):
            row["t"] = datetime.fromisoformat(row["timestamp"]).timestamp()
            coins.setdefault(row["mint"], []).append(row)
    for rows in coins.values():
        rows.sort(key=lambda r: r["t"])
    return coins


def _dead(tracks):
    """Coins with no change in buyers or buy/sell volume during the last QUIET_S seconds of their track."""
    out = []
    for rows in tracks.values():
        t0, last_active = rows[0]["t"], rows[0]["t"]
        for prev, row in zip(rows, rows[1:]):
            if any(row[c] != prev[c] for c in ("unique_buyers", "buy_pressure", "sell_pressure")):
                last_active = row["t"]
        if rows[-1]["t"] >= last_active + QUIET_S:
            out.append((rows, last_active - t0))
    return out


def test_rederived_statistics_equal_the_committed_ones(tracks, committed):
    assert len(tracks) == committed["coins"] == 75
    assert sum(len(r) for r in tracks.values()) == committed["rows"] == 10_740
    # no curve completed in the window, so completion is bounded by the exact binomial 95% upper limit
    assert max(float(r["progress"]) for rows in tracks.values() for r in rows) < 100.0
    assert committed["completed"] == 0
    assert committed["completion_ci95_upper"] == pytest.approx(1 - 0.05 ** (1 / 75), abs=1e-6)
    dead = _dead(tracks)
    assert len(dead) == committed["dead_coins"]
    assert median(int(rows[-1]["unique_buyers"]) for rows, _ in dead) == committed["lifetime_buyers_median"]
    assert median(life for _, life in dead) == pytest.approx(committed["lifetime_median_s"], abs=1e-3)
    bought = sum(float(rows[-1]["buy_pressure"]) for rows, _ in dead)
    sold = sum(float(rows[-1]["sell_pressure"]) for rows, _ in dead)
    assert sold / bought == pytest.approx(committed["dead_sell_buy_volume_ratio"], abs=1e-6)


def test_committed_json_is_what_the_derivation_gives(tracks, committed):
    assert C.derive_statistics(C.DATASET) == committed


def test_parameters_follow_from_the_statistics(committed):
    p = C.parameters(committed)
    assert p == C.load()
    assert committed["completion_tail_fit"] < p.completion_share < committed["completion_ci95_upper"]
    assert p.completion_share == pytest.approx(
        math.sqrt(committed["completion_tail_fit"] * committed["completion_ci95_upper"]))
    assert p.activity_tau_s * (math.log(p.organic_buyers_median) + C.EULER_GAMMA) == pytest.approx(
        committed["lifetime_median_s"])
    assert p.sniper_count_mean * p.sniper_buy_median_sol == pytest.approx(committed["first_seen_churn_median_sol"])
    assert p.holder_sell_probability == committed["dead_sell_buy_volume_ratio"]


def test_long_calibrated_run_lands_near_the_dataset(calibrated_run, committed):
    p = C.load()
    sim = run_statistics(calibrated_run.market.ground_truth())
    assert sim["launches"] >= 400 and sim["dead_coins"] >= 300
    # completion: the dataset bounds it to [tail fit, 95% upper limit]; the run must land inside
    assert 0 < sim["resolved_completion_share"] <= committed["completion_ci95_upper"]
    assert 0.002 <= sim["planned_runner_share"] <= 0.02 and p.completion_share == pytest.approx(0.0084, abs=5e-4)
    # buyers over a coin's life and how long it lives
    assert abs(sim["lifetime_buyers_median"] - committed["lifetime_buyers_median"]) <= 2
    assert sim["lifetime_median_s"] == pytest.approx(committed["lifetime_median_s"], rel=0.3)
    # what sold, what was left, who dumped
    assert abs(sim["dead_sell_buy_volume_ratio"] - committed["dead_sell_buy_volume_ratio"]) <= 0.06
    assert abs(sim["dead_emptied_share"] - committed["dead_emptied_share"]) <= 0.12
    assert abs(sim["single_dump_share"] - committed["single_dump_share"]) <= 0.12
    assert abs(sim["dead_top3_final_median_pct"] - committed["dead_top3_final_median_pct"]) <= 5
