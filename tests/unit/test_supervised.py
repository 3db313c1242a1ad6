"""actors/supervised.py: a task that raises or returns while it should run is logged with its exception,
counted (launchray_task_restarts{task}) and started again; one that is told to stop is not."""
from __future__ import annotations

import asyncio
import logging
from collections import Counter

from actors.metrics import flush_tallies, metrics
from actors.supervised import supervise
from pipelines.rpc.policy import Backoff


def task_restarts(name: str) -> float:
    flush_tallies()
    return sum(s.value for s in metrics().registry.snapshot()
               if s.name == "launchray_task_restarts" and dict(s.labels)["task"] == name)


async def test_a_task_that_raises_or_returns_is_restarted_and_counted(caplog):
    caplog.set_level(logging.ERROR, logger="launchray.supervised")
    runs, steady = [], asyncio.Event()

    async def loop():
        runs.append(len(runs))
        if len(runs) == 1:
            raise TypeError("'int' object is not iterable")
        if len(runs) == 2:
            return                              # ended without an error: still a death
        steady.set()
        await asyncio.sleep(3600)

    before = task_restarts("unit.loop")
    restarts: Counter = Counter()
    task = supervise("unit.loop", loop, backoff=Backoff(0.01, 0.02, jitter=0), restarts=restarts)
    await asyncio.wait_for(steady.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert runs == [0, 1, 2] and restarts == Counter({"unit.loop": 2})
    assert task_restarts("unit.loop") - before == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("unit.loop died" in m and "TypeError: 'int' object is not iterable" in m for m in messages)
    assert any("unit.loop returned" in m for m in messages)


async def test_a_task_told_to_stop_is_not_restarted():
    running, runs = [True], []

    async def loop():
        runs.append(1)
        running[0] = False
        raise RuntimeError("while stopping")

    restarts: Counter = Counter()
    await asyncio.wait_for(supervise("unit.stopping", loop, running=lambda: running[0], restarts=restarts), 5)
    assert runs == [1] and not restarts
