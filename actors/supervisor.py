"""Supervisor: the detached actor that creates, watches and stops every other actor.

Children are named, in one namespace, detached and restartable (`max_restarts=-1`, `max_task_retries=-1`), so
a crash of any of them, the Supervisor included, costs only that actor's in-memory state, which each restores
in its own __init__ (ledger, checkpoints). A restarted Supervisor re-attaches to the running children by name.
In replay mode (chain.source = "replay") there is no RpcPool (no chain to call) and a ReplayFeed
(actors/replay.py) is started first, since the Executor and the PositionTracker read its market.
Once running it also hosts the error levels' shell (actors/health_watch.py): a check every errors.check_every_s
decides OK / DEGRADED / CRITICAL, pauses or halts entries, and hands the alerts it owes (and those of every
actor's unhandled exceptions and ERROR logs, reported through report_problem) to the ControlPlane's AlertSender.
"""
from __future__ import annotations

import asyncio
import logging
import time

import ray

from actors import names, observe
from actors.alerts import AlertSender
from actors.control_alerts import alerts_configured
from actors.health_watch import HealthWatch
from actors.placement import current_state_node, options_for
from pipelines import health_levels as hl
from pipelines.config import Config

log = logging.getLogger("launchray.supervisor")
COUNTS_KEY = "supervisor_restarts"
FLUSH_TIMEOUT_S = 5.0
DRAIN_RECONCILE_S = 3.0  # of a bounded shutdown: the Executor's reconciliation after it stops waiting for orders
RESERVE_S = 4.0          # of a bounded shutdown: kept for the span flush, the ledger checkpoint and the summary


def _restart_counts(namespace: str) -> dict[str, int]:
    """Restarts per named actor from Ray's state API (0 when it cannot be asked)."""
    try:
        from ray.util.state import list_actors
        # this cluster's address, explicitly: "auto" fails when the machine runs more than one Ray
        actors = list_actors(address=ray.get_runtime_context().gcs_address,
                             filters=[("ray_namespace", "=", namespace)], detail=True, limit=1000,
                             raise_on_missing_output=False)
    except Exception:
        return {}
    out: dict[str, int] = {}
    for a in actors:
        name = getattr(a, "name", "") or ""
        if name:
            out[name] = max(out.get(name, 0), int(getattr(a, "num_restarts", 0) or 0))
    return out


@ray.remote(num_cpus=0)
class Supervisor:
    def __init__(self, cfg: Config, chain: dict, n_shards: int, wallet: str = "") -> None:
        """chain: {"http": [urls], "ws": [urls], "jupiter", "jito", "admin"} decided by the driver; wallet: the
        live wallet's PUBLIC key (its balance is watched), "" on paper."""
        observe.init_observability(cfg, "supervisor")
        self.cfg = cfg
        self.chain = chain
        self.namespace = cfg.ray.namespace
        self.n_shards = n_shards
        self.handles: dict[str, ray.actor.ActorHandle] = {}
        self._state_node = None                      # where the stateful children go (actors/placement.py)
        self.started_at = time.time()
        self.state = "initializing"
        self.failed_pings: dict[str, int] = {}
        self.incarnations: dict[str, str] = {}     # actor -> worker id seen last (changes on restart)
        self.seen_restarts: dict[str, int] = {}
        self.reattached = False
        self.down: set[str] = set()                 # children whose last ping failed
        self.health = HealthWatch(cfg, self.handles, wallet=wallet, ping_failed=lambda: set(self.down),
                                  post=self._post)
        self.alerts_posted: dict[str, int] = {}
        self._sender = None                          # only without a ControlPlane (see _post)
        self._sender_ready = None
        if ray.get_runtime_context().was_current_actor_reconstructed:
            self.attach()            # a restarted Supervisor finds its running children again
            self.reattached = True
            self._restore_counts()
        self._counts_dirty = False
        self._watch = asyncio.get_event_loop().create_task(self._watch_loop())
        self._health = asyncio.get_event_loop().create_task(self._health_loop())

    # --- start ---------------------------------------------------------------------------------------------
    def _spawn(self, name: str, cls, *args, num_cpus: float = 0, **kwargs):
        # where it runs and how it restarts: the placement table (pipelines/placement.py)
        if self._state_node is None:
            self._state_node = current_state_node()
        opts = {**names.RESTARTABLE, **options_for(name, self._state_node)}
        handle = cls.options(name=name, namespace=self.namespace, get_if_exists=True, num_cpus=num_cpus,
                             **opts).remote(*args, **kwargs)
        self.handles[name] = handle
        return handle

    async def start(self) -> dict:
        """Create every component in dependency order; returns once each answers a ping."""
        from actors.analyzer import AnalyzerShard
        from actors.executor import Executor
        from actors.ledger import LedgerActor
        from actors.momentum import MomentumEngine
        from actors.orchestrator import Orchestrator
        from actors.positions import PositionTracker
        from actors.risk import RiskSupervisor
        from actors.rpc_pool import RpcPool
        from actors.ingest import Ingest

        cfg = self.cfg
        n_shards = self.n_shards
        replay = cfg.chain.source == "replay"
        if replay:
            from actors.replay import ReplayFeed
            # not restartable: a replay restarted mid-stream would feed it again from the start
            opts = {"lifetime": "detached", "max_restarts": 0, **options_for(names.REPLAY)}
            self.handles[names.REPLAY] = ReplayFeed.options(
                name=names.REPLAY, namespace=self.namespace, get_if_exists=True, num_cpus=0, **opts
            ).remote(cfg, n_shards)
        self._spawn(names.LEDGER, LedgerActor, cfg.ledger.path,
                    0 if cfg.chain.source == "replay" else cfg.ray.realtime_priority)
        if not replay:
            self._spawn(names.RPC_POOL, RpcPool, self.chain["http"], cfg.rpc)
        self._spawn(names.RISK, RiskSupervisor, cfg)
        self._spawn(names.POSITIONS, PositionTracker, cfg)
        self._spawn(names.EXECUTOR, Executor, cfg, self.chain)
        self._spawn(names.MOMENTUM, MomentumEngine, cfg)
        shard_cpu = max(0.0, min(1.0, (ray.cluster_resources().get("CPU", 1) - 0.5) / max(1, n_shards)))
        for i in range(n_shards):
            self._spawn(names.shard_name(i), AnalyzerShard, cfg, i, n_shards, num_cpus=round(shard_cpu, 2))
        self._spawn(names.ORCHESTRATOR, Orchestrator, cfg)
        if self.health.live:   # the wallet's balance caps the capital before the first entry can be approved
            try:
                await asyncio.wait_for(self.health.initial_balance(), timeout=30)
            except Exception as exc:  # noqa: BLE001 - the watch reads it again at its first check
                log.warning("wallet balance not read at start: %s", type(exc).__name__)
        # Ingest last, but not after the others are up: it needs only their names (registered by now), and what it
        # sends before they answer waits in Ray for them. Started beside them, the processes start on both cores
        # at once (~0.8 s off a start on the 2-core VM: 6.8 -> 5.9 s).
        self._spawn(names.INGEST, Ingest, cfg, self.chain["ws"], n_shards)
        workers = await asyncio.gather(*(h.ping.remote() for h in self.handles.values()))
        for name, worker in zip(list(self.handles), workers):
            self._observe(name, worker)
        if cfg.api.enabled:
            try:
                from actors.control import ControlPlane
            except ImportError:
                ControlPlane = None
            if ControlPlane is not None:
                self._spawn(names.CONTROL, ControlPlane, cfg)
                await self.handles[names.CONTROL].ping.remote()
        self.state = "running"
        return {"actors": sorted(self.handles), "shards": n_shards}

    def attach(self) -> list[str]:
        """After a Supervisor restart: find the running children again by name."""
        n_shards = self.n_shards
        for name in [names.LEDGER, names.RPC_POOL, names.RISK, names.POSITIONS, names.EXECUTOR, names.MOMENTUM,
                     names.ORCHESTRATOR, names.INGEST, names.CONTROL, names.REPLAY,
                     *map(names.shard_name, range(n_shards))]:
            try:
                self.handles[name] = ray.get_actor(name, namespace=self.namespace)
            except ValueError:
                pass
        self.state = "running" if self.handles else self.state
        return sorted(self.handles)

    # --- watch ---------------------------------------------------------------------------------------------
    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for name, h in list(self.handles.items()):
                try:
                    worker = await asyncio.wait_for(asyncio.ensure_future(h.ping.remote()), timeout=5.0)
                except Exception:
                    # Ray restarts it (max_restarts=-1); we only count and report the outage.
                    self.failed_pings[name] = self.failed_pings.get(name, 0) + 1
                    self.down.add(name)
                    continue
                self.down.discard(name)
                self._observe(name, worker)
            self._persist_counts()

    # --- error levels ------------------------------------------------------------------------------------------
    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.errors.check_every_s)
            if self.state != "running":
                continue
            try:
                before = self.health.assessment.level
                assessment, _ = await self.health.check(time.time())     # its alerts are posted as it goes
                if assessment.level is hl.Level.CRITICAL and before is not hl.Level.CRITICAL:
                    self._counts_dirty = True            # the reasons survive a Supervisor restart
            except Exception as exc:  # noqa: BLE001 - a failed check is retried next period
                log.warning("health check failed: %s", type(exc).__name__)

    def report_problem(self, actor: str, where: str, text: str, kind: str = "exception") -> None:
        """An actor's unhandled exception or ERROR log line (actors/task_watch.py): alerted; an exception on the
        decision path makes the level CRITICAL at the next check."""
        alert = self.health.report_problem(str(actor)[:64], str(where)[:200], str(text)[:500], str(kind))
        if alert is not None:
            self._post([alert])

    def _post(self, alerts: list) -> None:
        """Hand alerts to the ControlPlane's AlertSender (fire-and-forget); without a ControlPlane, to a sender of
        this actor's own (when a channel is configured). Each is logged too."""
        for a in alerts:
            self.alerts_posted[a.kind.value] = self.alerts_posted.get(a.kind.value, 0) + 1
            log.warning("alert %s: %s %s", a.kind.value, a.title, "; ".join(f"{k}={v}" for k, v in a.fields))
        control = self.handles.get(names.CONTROL)
        if alerts and control is not None:
            try:
                control.post_alerts.remote(list(alerts))
            except Exception as exc:  # noqa: BLE001
                log.warning("alerts not handed to the control plane: %s", type(exc).__name__)
        elif alerts and alerts_configured(self.cfg):
            # no ControlPlane (api.enabled = false): these alerts still go out, from a sender of our own
            if self._sender is None:
                self._sender = AlertSender(self.cfg.alerts)
                self._sender_ready = asyncio.ensure_future(self._sender.start())
            asyncio.ensure_future(self._post_own(list(alerts)))

    async def _post_own(self, alerts: list) -> None:
        await self._sender_ready
        for a in alerts:
            self._sender.post(a)

    def health_view(self) -> dict:
        return self.health.view()

    def _observe(self, name: str, worker: str) -> None:
        before = self.incarnations.get(name)
        if before is not None and worker != before:
            self.seen_restarts[name] = self.seen_restarts.get(name, 0) + 1
        if worker != before:
            self.incarnations[name] = worker
            self._counts_dirty = True

    def _restore_counts(self) -> None:
        try:
            saved = ray.get(self.handles[names.LEDGER].load_counters.remote()).get(COUNTS_KEY) or {}
        except Exception:
            return
        self.incarnations = dict(saved.get("incarnations", {}))
        # The run started when the first Supervisor did: runtime config changes are "this run's" from then on.
        self.started_at = float(saved.get("started_at") or self.started_at)
        self.seen_restarts = {k: int(v) for k, v in saved.get("restarts", {}).items()}
        self.seen_restarts[names.SUPERVISOR] = self.seen_restarts.get(names.SUPERVISOR, 0) + 1
        critical = []
        for row in saved.get("critical") or ():
            try:
                critical.append(hl.Reason(hl.Cause(row[0]), str(row[1]), float(row[2])))
            except (ValueError, TypeError, IndexError):
                continue
        if critical:          # CRITICAL is sticky for the run, a Supervisor restart included
            self.health.state = hl.HealthState(critical=tuple(critical))

    def _persist_counts(self) -> None:
        ledger = self.handles.get(names.LEDGER)
        if self._counts_dirty and ledger is not None:
            self._counts_dirty = False
            critical = [(r.cause.value, r.detail, r.since) for r in self.health.state.critical]
            ledger.save_counters.remote({COUNTS_KEY: {"incarnations": self.incarnations,
                                                      "restarts": self.seen_restarts,
                                                      "started_at": self.started_at,
                                                      "critical": critical}}, time.time())

    # --- status / stop -------------------------------------------------------------------------------------
    async def status(self) -> dict:
        out: dict = {"state": self.state, "uptime_s": round(time.time() - self.started_at, 1)}
        calls = {
            "ingest": (names.INGEST, "status"), "risk": (names.RISK, "status"), "positions": (names.POSITIONS, "status"),
            "orchestrator": (names.ORCHESTRATOR, "status"), "executor": (names.EXECUTOR, "status"),
            "momentum": (names.MOMENTUM, "status"), "ledger": (names.LEDGER, "summary"),
            "replay": (names.REPLAY, "status"),
        }
        for key, (name, method) in calls.items():
            h = self.handles.get(name)
            if h is None:
                continue
            try:
                out[key] = await asyncio.wait_for(asyncio.ensure_future(getattr(h, method).remote()), timeout=5.0)
            except Exception as exc:
                out[key] = {"error": type(exc).__name__}
        shards = []
        for i in range(self.n_shards):
            h = self.handles.get(names.shard_name(i))
            try:
                shards.append(await asyncio.wait_for(asyncio.ensure_future(h.stats.remote()), timeout=5.0))
            except Exception as exc:
                shards.append({"error": type(exc).__name__})
        out["shards"] = shards
        out["tokens_tracked"] = sum(s.get("tokens", 0) for s in shards if isinstance(s, dict))
        restarts = _restart_counts(self.namespace)   # Ray's own count (needs the dashboard's state API)
        out["restarts"] = {n: max(restarts.get(n, 0), self.seen_restarts.get(n, 0))
                           for n in [*self.handles, names.SUPERVISOR]}
        out["actor_restarts"] = sum(out["restarts"].values())
        out["failed_pings"] = dict(self.failed_pings)
        out["health"] = self.health.view()
        out["alerts_posted"] = dict(self.alerts_posted)
        return out

    async def shutdown(self, settle: str | None = None, budget_s: float | None = None) -> dict:
        """Stop new entries, settle or report open positions, stop monitors, export spans, flush the ledger.
        budget_s: what is left of `ray job stop`'s grace period (pipelines/cluster.py); the executor's drain and
        the flushes are cut to fit it, keeping RESERVE_S of it for the ledger's checkpoint and the summary."""
        self.state = "shutting_down"
        deadline = time.monotonic() + budget_s if budget_s is not None else float("inf")

        def left(cap: float, reserve: float = 0.0) -> float:
            return max(0.5, min(cap, deadline - time.monotonic() - reserve))
        critical = self.health.assessment.level is hl.Level.CRITICAL
        settle = settle or (self.health.settle_mode() if critical else self.cfg.execution.settle_on_shutdown)
        report: dict = {}
        replay = self.handles.get(names.REPLAY)
        if replay is not None:        # no new slot after this point; the one in progress finishes
            try:
                await replay.stop.remote()
            except Exception as exc:  # a replay that died has nothing left to stop
                log.warning("replay feed: %s", type(exc).__name__)
        orch = self.handles.get(names.ORCHESTRATOR)
        if orch is not None:
            await orch.stop_entries.remote()
        pos = self.handles.get(names.POSITIONS)
        if pos is not None:
            await pos.settle.remote(settle)
            await pos.stop_monitors.remote()      # no exit fires from here on; those pushed reach the Orchestrator
        ingest = self.handles.get(names.INGEST)
        if ingest is not None:
            await ingest.stop.remote()
        if orch is not None:
            await orch.stop.remote()       # waits for its in-flight actions, then exports its spans
        exe = self.handles.get(names.EXECUTOR)
        if exe is not None:         # orders in flight land (or not) and are booked before the ledger is flushed
            try:
                # budgeted: the Executor stops waiting for its orders in time to reconcile them itself
                call = exe.drain.remote() if budget_s is None else exe.drain.remote(
                    timeout_s=left(self.cfg.execution.confirm_timeout_s, RESERVE_S + DRAIN_RECONCILE_S))
                report["executor"] = await asyncio.wait_for(
                    call, timeout=left(self.cfg.execution.confirm_timeout_s + 15, RESERVE_S))
            except Exception as exc:   # an executor that cannot answer: its open orders reconcile at next start
                log.warning("executor drain: %s", type(exc).__name__)
        if pos is not None:         # reported after the drain: an exit that landed during it is closed, not open
            report["open_positions"] = await pos.positions.remote()
        await self._flush_telemetry(left(FLUSH_TIMEOUT_S, RESERVE_S / 2))
        ledger = self.handles.get(names.LEDGER)
        if ledger is not None:
            try:        # bounded: a ledger that cannot write (CRITICAL) must not hold the shutdown forever
                await asyncio.wait_for(asyncio.ensure_future(ledger.flush.remote()), timeout=left(FLUSH_TIMEOUT_S * 2))
            except Exception as exc:  # noqa: BLE001
                log.error("ledger not checkpointed at shutdown: %s", type(exc).__name__)
        self.health.close()
        if self._sender is not None:        # the CRITICAL alert (or any other) is delivered before the run ends
            await self._sender_ready
            await self._sender.close()
            self._sender = None
        report["status"] = await self.status()
        self.state = "stopped"
        return report

    async def _flush_telemetry(self, timeout: float = FLUSH_TIMEOUT_S) -> None:
        """Every child that batches spans exports them now: the children are killed after a shutdown (no exit
        hooks run), so whatever is still batched then would be missing from the trace file."""
        calls = {}
        for name, h in self.handles.items():
            try:
                calls[name] = h.flush_telemetry.remote()
            except AttributeError:          # this actor creates no spans
                continue
        for name, ref in calls.items():
            try:
                await asyncio.wait_for(asyncio.ensure_future(ref), timeout=timeout)
            except Exception as exc:        # a dead or slow child costs its own spans, never the shutdown
                log.warning("%s: spans not flushed at shutdown: %s", name, type(exc).__name__)

    def kill_children(self) -> None:
        for h in self.handles.values():
            try:
                ray.kill(h, no_restart=True)
            except Exception:
                pass
        self.handles.clear()

    def info(self) -> dict:
        """Cheap facts for the ControlPlane (no actor calls): state, start time, shard count."""
        a = self.health.assessment
        return {"state": self.state, "started_at": self.started_at, "n_shards": self.n_shards,
                "health": {"level": a.level.label, "summary": a.summary}}

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()
