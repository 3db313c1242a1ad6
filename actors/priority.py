"""Who gets the CPU first: the decision path ahead of analysis and reporting.

On a small machine every actor process competes for the same cores. The sniper path (Ingest -> Orchestrator ->
RiskSupervisor -> Executor -> Ledger) is idle most of the time and must run the moment it has work; the
AnalyzerShards and the MomentumEngine have a steady stream of work that can wait a few milliseconds, and the
ControlPlane and Supervisor only report; the embedded simnet stands in for a chain that is not on this machine
in production. So the background processes lower their own scheduling priority
(`ray.background_nice`, no privileges needed), and the hot ones keep the default.

Every actor also moves what it allocated while starting (imported modules, Ray's own objects: hundreds of
thousands of objects) out of the garbage collector's reach with gc.freeze(): a full collection then scans only
what the actor made since, which keeps its pauses out of the 10 ms loop and the approval path; and it collects
the young generation less often (GC_GEN0_THRESHOLD), which halves the cost of building a batch of events.
"""
from __future__ import annotations

import gc
import logging
import os
import sys

log = logging.getLogger("launchray.priority")

# A young-generation collection every 50,000 allocations instead of 700: a batch of 2,000 events allocates ~10
# objects per event, and each collection walks what is young; our actors make almost no reference cycles.
GC_GEN0_THRESHOLD = 50_000
# A hot actor's event loop shares the GIL with threads of its own process (Ray's, the metrics flusher, the span
# exporter). A thread that holds the GIL keeps it until another asks and the switch interval passes (5 ms by
# default): a late 10 ms tick or approval. 0.1 ms bounds that wait (0.5 ms left the woken loop's p99 wait at
# ~0.9-1.3 ms in the Orchestrator, 0.1 ms at ~0.5-0.6); it costs only when two threads want the GIL at once.
HOT_SWITCH_INTERVAL_S = 0.0001

BACKGROUND = ("analyzer_shard", "momentum_engine", "control_plane", "supervisor", "simnet")
# The decision path past Ingest: little CPU each, latency-bound (the 10 ms loop, approve, send, the intent's
# fsync). With `ray.realtime_priority` > 0 they run under SCHED_RR at that priority: a wake-up preempts any
# ordinary process at once instead of queueing behind a busy core.
REALTIME = frozenset({"orchestrator", "risk_supervisor", "executor", "ledger", "position_tracker"})
# Ingest starts the sniper path (a create notification decoded and sent to the Orchestrator), so it runs
# real-time too, one level below the decision path: however busy a burst makes it, the Orchestrator, the
# RiskSupervisor and the Executor still preempt it. Its CPU grows with the market's volume, so only where there
# is a second core: the kernel's real-time throttle then leaves the shards at least a whole core, where on one
# core it would leave them 5%. Measured (3 paired runs of benchmarks/pipeline.py): a launch reached the
# Orchestrator 0.5-0.8 ms sooner at p50 and ~1 ms at p90, with no change in ingest throughput.


def realtime_level(component: str, realtime: int, cpus: int) -> int:
    """The SCHED_RR priority of `component`'s threads for `ray.realtime_priority` = realtime (0: not real-time).
    The Orchestrator one level above the rest: among SCHED_RR equals a busy Executor would hold a core until it
    blocks, and the 10 ms tick would wait behind it; Ingest one below, on two cores or more."""
    if realtime <= 0:
        return 0
    if component == "orchestrator":
        return min(99, realtime + 1)
    if component in REALTIME:
        return realtime
    if component == "ingest" and realtime > 1 and cpus >= 2:
        return realtime - 1
    return 0


def ray_system_config(cfg) -> dict:
    """Ray settings for a Ray that launchray starts itself: its worker processes at `ray.worker_niceness`
    (Ray starts workers at nice 15 by default, which puts the decision path behind every other process on the
    machine; the background actors still lower themselves by `ray.background_nice` from there), and call
    arguments up to `ray.inline_object_bytes` passed inline rather than through the object store."""
    return {"worker_niceness": cfg.ray.worker_niceness,
            "max_direct_call_object_size": cfg.ray.inline_object_bytes}


def is_background(component: str) -> bool:
    return component.startswith(BACKGROUND)


_applied = False


def in_actor() -> bool:
    """True inside a Ray actor's worker process (never in a driver, a test or a CLI)."""
    try:
        import ray
        return ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None
    except Exception:
        return False


def apply(component: str, background_nice: int, actor: bool | None = None, realtime: int = 0) -> int:
    """Set this actor process's priority for `component`, once per process; returns the nice increment applied
    (0 for hot actors, outside an actor, or when already applied). `actor` overrides the in-actor check.
    `realtime` > 0: a REALTIME component's threads run under SCHED_RR at that priority, where permitted."""
    global _applied
    if _applied or not (in_actor() if actor is None else actor):
        return 0
    _applied = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
    if not is_background(component):
        sys.setswitchinterval(HOT_SWITCH_INTERVAL_S)
    level = realtime_level(component, realtime, os.cpu_count() or 1)
    if level > 0:
        try:
            set_realtime(level)
        except (OSError, AttributeError) as exc:   # no CAP_SYS_NICE (not root), or not Linux: normal priority
            log.warning("%s: real-time priority not set (%s); running at normal priority", component, exc)
    if background_nice <= 0 or not is_background(component):
        return 0
    try:
        lower_process_priority(background_nice)
    except (OSError, AttributeError) as exc:   # not permitted here or no such call: run at normal priority
        log.warning("%s: priority not lowered (%s)", component, exc)
        return 0
    return background_nice


def lower_process_priority(increment: int) -> None:
    """Every thread of this process `increment` nice levels lower. On Linux a nice value belongs to a thread
    (os.nice and setpriority(PRIO_PROCESS, 0) change only the caller's), and a Ray actor runs its tasks and its
    RPC service on threads of their own, so each is changed; threads started later inherit their creator's."""
    tasks = f"/proc/{os.getpid()}/task"
    if not os.path.isdir(tasks):             # not Linux: the process-wide call is all there is
        os.nice(increment)
        return
    for tid in map(int, os.listdir(tasks)):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
        except ProcessLookupError:           # a thread that ended meanwhile
            continue


def set_realtime(priority: int) -> None:
    """Every thread of this process under SCHED_RR at `priority` (1-99); threads started later inherit it. The
    kernel's real-time throttle (sched_rt_runtime_us, 95% by default) still leaves the rest of the machine CPU
    if one of them ever spins."""
    param = os.sched_param(priority)
    for tid in _threads():
        try:
            os.sched_setscheduler(tid, os.SCHED_RR, param)
        except ProcessLookupError:
            continue


def _threads() -> list[int]:
    tasks = f"/proc/{os.getpid()}/task"
    return list(map(int, os.listdir(tasks))) if os.path.isdir(tasks) else [0]


def is_realtime() -> bool:
    """Whether this thread runs under SCHED_RR (set_realtime took effect)."""
    try:
        return os.sched_getscheduler(0) == os.SCHED_RR
    except (OSError, AttributeError):
        return False


class _TimerFd:
    """A Linux timerfd (CLOCK_MONOTONIC, one-shot) through libc: readable when it expires, so an event loop that
    watches it wakes at that moment, with the kernel's hrtimer precision (os.timerfd_* arrives in Python 3.13)."""

    def __init__(self) -> None:
        import ctypes

        class timespec(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

        class itimerspec(ctypes.Structure):
            _fields_ = [("it_interval", timespec), ("it_value", timespec)]
        self._spec, self._timespec, self._byref, self._errno = itimerspec, timespec, ctypes.byref, ctypes.get_errno
        libc = ctypes.CDLL(None, use_errno=True)
        self._settime = libc.timerfd_settime
        self._settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(itimerspec), ctypes.c_void_p]
        fd = libc.timerfd_create(1, os.O_NONBLOCK | os.O_CLOEXEC)     # 1: CLOCK_MONOTONIC
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        self.fd = fd

    def arm(self, seconds: float) -> None:
        ns = max(1000, int(seconds * 1e9))            # 0 would disarm it
        spec = self._spec(self._timespec(0, 0), self._timespec(ns // 1_000_000_000, ns % 1_000_000_000))
        if self._settime(self.fd, 0, self._byref(spec), None) != 0:
            raise OSError(self._errno(), "timerfd_settime")

    def drain(self) -> bool:
        try:
            os.read(self.fd, 8)
            return True
        except BlockingIOError:
            return False

    def close(self) -> None:
        fd, self.fd = getattr(self, "fd", -1), -1      # once: a second close must not hit a reused descriptor
        if fd >= 0:
            os.close(fd)

    __del__ = close


class Ticker:
    """Sleeps of an event loop with sub-millisecond precision, for a real-time process: the loop's own timers wake
    through epoll, whose timeout is in whole milliseconds (a 10 ms tick comes up to 1 ms late). A timerfd that
    the loop watches wakes it at the moment itself. (A sleeping thread handing back through
    call_soon_threadsafe, the previous way, added ~0.3 ms at p50 and ~0.5-10 ms at p99 on the busy 2-core VM;
    the timerfd's wake-to-resume is ~0.04 / 0.2-0.5 ms.) Ordinary processes keep asyncio.sleep: without
    real-time priority, precision is lost to the run queue anyway."""

    def __init__(self) -> None:
        self._timer = None
        self._waiter = None
        self._loop = None
        if is_realtime():
            try:
                self._timer = _TimerFd()
            except (OSError, AttributeError) as exc:
                log.warning("timerfd unavailable (%s): the loop sleeps with asyncio's ms-precision timers", exc)

    @property
    def precise(self) -> bool:
        return self._timer is not None

    def _ready(self) -> None:
        if self._timer.drain():
            w, self._waiter = self._waiter, None
            if w is not None and not w.done():
                w.set_result(None)

    async def sleep(self, seconds: float) -> None:
        import asyncio
        if self._timer is None or seconds <= 0:
            await asyncio.sleep(max(0.0, seconds))
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                self._loop.remove_reader(self._timer.fd)
            loop.add_reader(self._timer.fd, self._ready)
            self._loop = loop
        self._waiter = loop.create_future()
        self._timer.arm(seconds)
        await self._waiter
