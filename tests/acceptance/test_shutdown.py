"""Graceful shutdown on the real actors: after `shutdown` returns nothing is left in flight and nothing new starts.

Exits fire all the time here (a 1 s max hold on every sniper position), so a shutdown always lands among them:
an exit dispatched after the Orchestrator stopped would reach an Executor that had already drained, and its order
would be sent after the ledger was flushed (the live-mode ledger/wallet mismatch this guards against).
"""
from __future__ import annotations

import time

import pytest
import ray

from actors import names
from pipelines.messages import ExitSignal, OrderState
from tests.acceptance.harness import open_ledger, run_for, running_system, system_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_after_a_graceful_shutdown_no_order_is_open_and_no_action_starts(ray_session, tmp_path):
    cfg = system_config(tmp_path, exits={"max_hold_s": 1.0}, orchestrator={"strategies": ["sniper"]})
    with running_system(cfg, n_shards=1) as system:
        run_for(system, 12)
        summary = system.stop()
        stopped_at = time.time()
        orch, exe = system.actor(names.ORCHESTRATOR), system.actor(names.EXECUTOR)
        store = open_ledger(cfg.ledger.path)
        filled_mints = sorted({f.mint for f in store.fills()})
        assert filled_mints, "no position was opened: the shutdown had nothing in flight to get right"
        # Late calls are refused: an exit pushed to the stopped Orchestrator is not queued, and one sent straight
        # to the drained Executor is refused before any order is written.
        late = ExitSignal(mint=filled_mints[0], reason="max_hold", tokens=1)
        assert ray.get(orch.push_exits.remote([late])) == 0
        assert ray.get(exe.execute_exit.remote(late)) == {"status": "refused", "reason": "shutting_down"}
        time.sleep(1.5)      # an action started after stop() would write its order by now
        store = open_ledger(cfg.ledger.path)
        orders = store.orders()
    assert orders
    assert store.open_orders() == []
    last_write = max(t.ts for o in orders for t in store.history(o.id))
    assert last_write <= stopped_at, f"an order changed {last_write - stopped_at:.3f} s after the shutdown returned"
    # The reported open positions are the ledger's after the drain: every one is open there, and vice versa.
    reported = {p["mint"] for p in summary["open_positions"]}
    assert reported == {p.mint for p in store.positions(open_only=True)}
    assert all(o.state in (OrderState.CONFIRMED, OrderState.FAILED, OrderState.EXPIRED) for o in orders)
