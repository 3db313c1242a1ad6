"""A shutdown given a budget (what `ray job stop` leaves before SIGKILL) fits in it: with orders stuck in flight
(paper orders that land only after 2 minutes) the Executor stops waiting for them in time, reconciles, and the
ledger is checkpointed; without a budget it would wait out execution.confirm_timeout_s (30 s) first."""
from __future__ import annotations

import time

import pytest

from actors import names
from tests.acceptance.harness import running_system, system_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_shutdown_with_orders_in_flight_fits_the_budget(ray_session, tmp_path):
    import ray
    cfg = system_config(tmp_path, orchestrator={"strategies": ["sniper"]},
                        execution={"paper_latency_ms": 120_000.0})
    assert cfg.execution.confirm_timeout_s == 30.0
    with running_system(cfg, n_shards=1) as system:
        exe = system.actor(names.EXECUTOR)
        deadline = time.time() + 60
        while time.time() < deadline and not ray.get(exe.status.remote()).get("in_flight"):
            time.sleep(0.5)
        assert ray.get(exe.status.remote()).get("in_flight"), "no order went in flight"
        started = time.monotonic()
        summary = system.stop(budget_s=10.0)
        took = time.monotonic() - started
        report = system.last_status
    # the 30 s wait for the stuck orders was cut to the budget (the bound is loose: 2 busy cores)
    assert took < 20.0, took
    assert summary["orders"] >= 1 and summary["duplicate_orders"] == 0
    assert report.get("ledger", {}).get("orders", 0) >= 1
