"""No exception dies silently in an actor: installed on every actor's event loop (actors/observe.py), it reports
to the Supervisor's health watch (actors/health_watch.py), which decides the error level and sends the alert.

- A task that ended with an exception nobody retrieved within GRACE_S (an actor's loop that died, a fire-and-
  forget task that failed) is reported as an unhandled exception. Tasks whose exception a caller awaits (Ray's
  method calls, gathers, wait_for) retrieve it at once and are never reported; cancelled tasks are not failures.
  One that died because a peer actor died or is restarting (RayActorError) is reported as an error: Ray restarts
  the peer, and an actor killed mid-call must not stop the run.
- The loop's own exception handler (callbacks that raised, "exception was never retrieved") reports the same way.
- ERROR log records of launchray loggers are forwarded as error alerts (at most one per message per
  ERROR_EVERY_S in this process).
Reports are fire-and-forget Ray calls; a Supervisor that cannot be reached costs the report, never the actor.
The text is redacted here already (pipelines.redaction); it never carries a traceback, only type and message.
"""
from __future__ import annotations

import asyncio
import logging
import time

from pipelines.redaction import redact_patterns

log = logging.getLogger("launchray.task_watch")

GRACE_S = 1.0           # an awaited task's exception is retrieved in the same loop iteration; this is ample
ERROR_EVERY_S = 60.0
MAX_TEXT = 300

_target: tuple[str, str] | None = None       # (namespace, component)
_error_sent: dict[str, float] = {}


def describe(exc: BaseException) -> str:
    return redact_patterns(f"{type(exc).__name__}: {exc}")[:MAX_TEXT]


def _supervisor():
    import ray

    from actors import names
    return ray.get_actor(names.SUPERVISOR, namespace=_target[0])


def report(where: str, text: str, kind: str = "exception") -> None:
    """Hand one report to the Supervisor (kind: "exception" | "error"); never raises."""
    if _target is None:
        return
    try:
        import ray
        if not ray.is_initialized():
            return
        _supervisor().report_problem.remote(_target[1], where, text, kind)
    except Exception:  # noqa: BLE001 - no Supervisor (tests, shutdown): the log line is what remains
        pass


def _check(task: asyncio.Task) -> None:
    try:
        if task.cancelled() or not getattr(task, "_log_traceback", False):
            return                                  # retrieved by whoever awaited it
        exc = task.exception()                      # retrieving it here: asyncio's GC warning is ours to give
    except Exception:  # noqa: BLE001
        return
    if exc is None:
        return
    name = task.get_name()
    coro = task.get_coro()
    where = getattr(coro, "__qualname__", "") or name
    if _peer_unavailable(exc):
        # a peer actor died or is restarting (Ray restarts it; the Supervisor counts it): an error, not a bug
        log.warning("task %s (%s) ended: peer actor unavailable: %s", name, where, describe(exc))
        report(where, describe(exc), "error")
        return
    log.error("unhandled exception in task %s (%s): %s", name, where, describe(exc), exc_info=exc)
    report(where, describe(exc))


def _peer_unavailable(exc: BaseException) -> bool:
    try:
        from ray.exceptions import RayActorError
    except ImportError:
        return False
    return isinstance(exc, RayActorError)


def _done(task: asyncio.Task) -> None:
    # Runs first among the task's callbacks: an exception is set and not yet retrieved by anyone. Only then
    # is it worth a look later (a task that returned costs nothing more here).
    if task.cancelled() or not getattr(task, "_log_traceback", False):
        return
    try:
        task.get_loop().call_later(GRACE_S, _check, task)
    except RuntimeError:                            # the loop is closing
        pass


def _handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    exc = context.get("exception")
    message = context.get("message", "")
    text = describe(exc) if isinstance(exc, BaseException) else redact_patterns(str(message))[:MAX_TEXT]
    log.error("event loop: %s: %s", redact_patterns(str(message))[:MAX_TEXT], text)
    report("event loop", text)


class _ErrorForwarder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name in (log.name, "launchray.health"):   # reported as exceptions / level alerts already
            return
        try:
            msg = redact_patterns(record.getMessage())[:MAX_TEXT]
        except Exception:  # noqa: BLE001
            return
        key = f"{record.name}:{msg[:80]}"
        now = time.monotonic()
        if now - _error_sent.get(key, -ERROR_EVERY_S) < ERROR_EVERY_S:
            return
        _error_sent[key] = now
        if len(_error_sent) > 1000:
            _error_sent.clear()
        report(record.name, msg, "error")


def _task_factory(loop, coro, **kwargs):
    task = asyncio.Task(coro, loop=loop, **kwargs)
    task.add_done_callback(_done)
    return task


def install(namespace: str, component: str) -> None:
    """Watch this actor's event loop and error logs (once per loop). Called from the actor's constructor."""
    global _target
    _target = (namespace, component)
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        return
    if loop.get_exception_handler() is _handler:      # a second actor in this process (tests)
        return
    if loop.get_task_factory() is None:
        loop.set_task_factory(_task_factory)
    loop.set_exception_handler(_handler)
    root = logging.getLogger("launchray")
    if not any(isinstance(h, _ErrorForwarder) for h in root.handlers):
        root.addHandler(_ErrorForwarder())
