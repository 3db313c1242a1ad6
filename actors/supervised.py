"""Long-running asyncio tasks that cannot die silently: `supervise(name, factory)` runs `factory()` and, when the
coroutine ends or raises while it should still be running, logs it with the exception, counts it
(`launchray_task_restarts{task}`) and starts a new one after a backoff. An actor's loops (a stream, a flusher, a
sender per shard) each get one; the actor itself is Ray's to restart.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections import Counter
from typing import Awaitable, Callable

from actors.metrics import tally
from pipelines.redaction import redact_patterns
from pipelines.rpc.policy import Backoff

log = logging.getLogger("launchray.supervised")

RESTART_BACKOFF = Backoff(0.2, 30.0)
HEALTHY_AFTER_S = 60.0     # a run this long resets the backoff: a rare crash restarts at once, a crash loop slows


def supervise(name: str, factory: Callable[[], Awaitable[None]], *, running: Callable[[], bool] = lambda: True,
              backoff: Backoff = RESTART_BACKOFF, restarts: Counter | None = None,
              clock: Callable[[], float] = time.monotonic) -> asyncio.Task:
    """A task running `factory()` again each time it ends while `running()`; cancel the task to stop it.
    `restarts` (optional) gets `restarts[name] += 1` per restart, for the actor's status."""
    return asyncio.ensure_future(_run(name, factory, running, backoff, restarts, clock))


async def _run(name, factory, running, backoff, restarts, clock) -> None:
    rng = random.Random()
    attempt = 0
    while running():
        started = clock()
        try:
            await factory()
            exc = None
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever ended it, the loop must come back
            exc = e
        if not running():
            return
        attempt = 1 if clock() - started >= HEALTHY_AFTER_S else attempt + 1
        delay = backoff.delay(attempt, rng)
        if exc is None:
            log.error("task %s returned while it should still run; restarting in %.2f s", name, delay)
        else:
            # the traceback as text, redacted: a transport error's message can hold an endpoint URL with its key
            log.error("task %s died; restarting in %.2f s\n%s", name, delay,
                      redact_patterns("".join(traceback.format_exception(exc))))
        tally().count("task_restarts", 1, task=name)
        if restarts is not None:
            restarts[name] += 1
        await asyncio.sleep(delay)
