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
    assert priority.is_background("simnet")
    for hot in ("ingest", "orchestrator", "risk_supervisor", "executor", "position_tracker", "ledger", "rpc_pool"):
        assert not priority.is_background(hot)


def _nice_after(component: str, increment: int) -> tuple[set[int], int, int]:
    """In a fresh process with a second thread already running (os.nice cannot be undone without root): the nice
    increments of all its threads, what apply() returned, and how many objects gc.freeze() set aside."""
    code = f"""
import gc, os, threading
from actors import priority
stop = threading.Event()
threading.Thread(target=stop.wait).start()          # like Ray's own threads in an actor process
before = os.nice(0)
assert priority.apply({component!r}, {increment}) == 0                     # not an actor: nothing changes
applied = priority.apply({component!r}, {increment}, actor=True)
assert priority.apply({component!r}, {increment}, actor=True) == 0         # once per process
tids = os.listdir(f"/proc/{{os.getpid()}}/task")
assert len(tids) == 2
deltas = sorted({{os.getpriority(os.PRIO_PROCESS, int(t)) - before for t in tids}})
stop.set()
assert gc.get_threshold()[0] == priority.GC_GEN0_THRESHOLD          # every actor, hot or background
import sys
assert (abs(sys.getswitchinterval() - priority.HOT_SWITCH_INTERVAL_S) < 1e-6) == (not priority.is_background({component!r}))
print(",".join(map(str, deltas)), applied, gc.get_freeze_count())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    deltas, applied, frozen = out.stdout.split()
    return set(map(int, deltas.split(","))), int(applied), int(frozen)


def test_a_background_actor_lowers_its_priority_and_a_hot_one_keeps_it():
    deltas, applied, frozen = _nice_after("analyzer_shard_0", 7)
    assert (deltas, applied) == ({7}, 7) and frozen > 0       # every thread; what it allocated is out of GC scans
    deltas, applied, frozen = _nice_after("executor", 7)
    assert (deltas, applied) == ({0}, 0) and frozen > 0
    deltas, applied, _ = _nice_after("momentum_engine", 0)      # 0 = off
    assert (deltas, applied) == ({0}, 0)


def test_the_default_profile_lowers_background_priority():
    assert 0 < load_config("sim", env={}).ray.background_nice <= 19


def test_the_default_profile_runs_ray_workers_at_normal_priority():
    cfg = load_config("sim", env={})
    assert cfg.ray.worker_niceness == 0 and priority.ray_system_config(cfg) == {
        "worker_niceness": 0, "max_direct_call_object_size": 4 * 2**20}


def _policy_after(component: str, realtime: int) -> tuple[set[tuple[int, int]], str]:
    """In a fresh process with a second thread running: (scheduling policy, priority) of each thread after
    apply(..., realtime=...), and what was logged."""
    code = f"""
import logging, os, threading
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from actors import priority
stop = threading.Event()
threading.Thread(target=stop.wait).start()
priority.apply({component!r}, 0, actor=True, realtime={realtime})
tids = map(int, os.listdir(f"/proc/{{os.getpid()}}/task"))
print(sorted({{(os.sched_getscheduler(t), os.sched_getparam(t).sched_priority) for t in tids}}))
stop.set()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    return set(map(tuple, eval(out.stdout))), out.stderr       # noqa: S307 - our own subprocess's repr


def test_the_decision_path_runs_real_time_where_permitted_and_the_rest_never():
    rr, other = (os.SCHED_RR, 4), (os.SCHED_OTHER, 0)
    policies, logged = _policy_after("executor", 4)
    if os.geteuid() == 0:                        # CAP_SYS_NICE: every thread, the one started before included
        assert policies == {rr} and logged == ""
        assert _policy_after("orchestrator", 4)[0] == {(os.SCHED_RR, 5)}   # one above: its tick preempts
    else:                                        # not permitted: said so, and nothing changed
        assert policies == {other} and "real-time priority not set" in logged
    if os.geteuid() == 0 and (os.cpu_count() or 1) >= 2:            # Ingest: one below the decision path
        assert _policy_after("ingest", 4)[0] == {(os.SCHED_RR, 3)}
    for component in ("analyzer_shard_0", "simnet"):                 # CPU-heavy: never real-time
        assert _policy_after(component, 4)[0] == {other}
    assert _policy_after("orchestrator", 0)[0] == {other}           # 0 = off


def test_real_time_levels_put_the_tick_first_and_ingest_below_the_decision_path():
    assert priority.realtime_level("orchestrator", 5, 2) == 6
    assert priority.realtime_level("orchestrator", 99, 2) == 99
    assert {priority.realtime_level(c, 5, 2) for c in priority.REALTIME - {"orchestrator"}} == {5}
    assert priority.realtime_level("ingest", 5, 2) == 4
    assert priority.realtime_level("ingest", 5, 1) == 0       # one core: a busy Ingest would leave the shards 5%
    assert priority.realtime_level("ingest", 1, 8) == 0       # no level below the decision path's
    for component in ("analyzer_shard_0", "momentum_engine", "simnet", "control_plane", "supervisor"):
        assert priority.realtime_level(component, 5, 8) == 0
    assert {priority.realtime_level(c, 0, 8) for c in priority.REALTIME | {"ingest"}} == {0}   # 0 = off


def test_the_default_profile_runs_the_decision_path_real_time():
    assert load_config("sim", env={}).ray.realtime_priority == 5


def test_a_ticker_sleeps_by_timerfd_only_in_a_real_time_process():
    import asyncio
    import time

    ticker = priority.Ticker()
    assert ticker.precise is priority.is_realtime() is False     # the test process: ordinary scheduling

    async def timed(t: priority.Ticker) -> float:
        t0 = time.perf_counter()
        await t.sleep(0.02)
        await t.sleep(-1.0)                                     # a deadline already past: no wait
        return time.perf_counter() - t0

    assert 0.02 <= asyncio.run(timed(ticker)) < 0.5
    code = """
import asyncio, os, time
os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(3))
from actors import priority
t = priority.Ticker()
async def main():
    t0 = time.perf_counter(); await t.sleep(0.02); a = time.perf_counter() - t0
    cut = asyncio.ensure_future(t.sleep(5.0))            # a cancelled sleep leaves the next one working
    await asyncio.sleep(0.01); cut.cancel()
    t0 = time.perf_counter(); await t.sleep(0.015); b = time.perf_counter() - t0
    return a >= 0.02 and 0.015 <= b < 1.0
print(t.precise, asyncio.run(main()), asyncio.run(main()))   # a second event loop watches the timer too
"""
    if os.geteuid() == 0:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
        assert out.stdout.split() == ["True", "True", "True"]


def test_a_timerfd_becomes_readable_when_it_expires_and_not_before():
    import select
    import time

    timer = priority._TimerFd()
    try:
        assert timer.drain() is False                         # not armed: nothing to read
        t0 = time.perf_counter()
        timer.arm(0.03)
        assert select.select([timer.fd], [], [], 0.0)[0] == []
        assert select.select([timer.fd], [], [], 2.0)[0] == [timer.fd]
        assert time.perf_counter() - t0 >= 0.03
        assert timer.drain() is True and timer.drain() is False   # one expiry, read once
    finally:
        timer.close()
        timer.close()                                         # twice: a no-op, not a reused descriptor closed
    assert timer.fd == -1
