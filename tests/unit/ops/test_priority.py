"""CPU priority of actor processes: background components lower their own priority, hot ones do not."""
from __future__ import annotations

import os
import subprocess
import sys

from actors import priority
from pipelines.config import load_config


def test_which_components_are_background():
    assert priority.is_background("analyzer_shard_3") and priority.is_background("momentum_engine")
    assert priority.is_background("control_plane") and priority.is_background("supervisor")
    for hot in ("ingest", "orchestrator", "risk_supervisor", "executor", "position_tracker", "ledger", "rpc_pool"):
        assert not priority.is_background(hot)


def _nice_after(component: str, increment: int) -> tuple[int, int, int]:
    """(nice before, nice after, frozen objects) in a fresh process (os.nice cannot be undone without root)."""
    code = ("import os, gc, sys; from actors import priority; before = os.nice(0); "
            f"assert priority.apply({component!r}, {increment}) == 0; "      # not an actor: nothing changes
            f"applied = priority.apply({component!r}, {increment}, actor=True); "
            f"assert priority.apply({component!r}, {increment}, actor=True) == 0; "   # once per process
            "print(before, os.nice(0), applied, gc.get_freeze_count())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    before, after, applied, frozen = map(int, out.stdout.split())
    return after - before, applied, frozen


def test_a_background_actor_lowers_its_priority_and_a_hot_one_keeps_it():
    delta, applied, frozen = _nice_after("analyzer_shard_0", 7)
    assert (delta, applied) == (7, 7) and frozen > 0          # what it allocated at start is out of the GC's scan
    delta, applied, frozen = _nice_after("executor", 7)
    assert (delta, applied) == (0, 0) and frozen > 0
    delta, applied, _ = _nice_after("momentum_engine", 0)       # 0 = off
    assert (delta, applied) == (0, 0)


def test_the_default_profile_lowers_background_priority():
    assert 0 < load_config("sim", env={}).ray.background_nice <= 19
