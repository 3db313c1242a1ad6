"""The error levels' shell, hosted by the Supervisor (one task on its loop, every `errors.check_every_s`).

Each check gathers typed observations (pipelines/health_levels.py) from what the components report:
- the chain stream: Ingest.status()["stream"]["state"] ("stale" / "disconnected"; without that section,
  `connected` False) -> StreamStale;
- RPC: a getSlot probe through the RpcPool every RPC_PROBE_EVERY_S (one at a time) that ended in RpcUnavailable
  (every endpoint failed for the client's whole retry budget) or got no answer within two request timeouts, while
  RpcPool.health() shows no endpoint whose latest call succeeded -> RpcAllFailing;
- the ledger: a small write (a risk-counters key) kept going one at a time: not answered within
  errors.ledger_slow_ms -> LedgerSlow; the write raised inside the Ledger (SQLite refused it) -> LedgerUnwritable;
- shards: the Supervisor's last ping of each failed -> ShardDown;
- the wallet: live, the balance (RpcPool.getBalance of the wallet's PUBLIC key) at start, after each fill booked
  and every risk.balance_check_s: the risk book's capital is capped by it, a balance under alerts.low_balance_sol
  -> BalanceLow, an outflow the ledger's fills and tx costs do not explain -> UnexplainedOutflow; paper, the
  book's cash is the balance (low balance only);
- unhandled exceptions reported by the actors (actors/task_watch.py): on the decision path -> UnhandledException.
Then it acts on the Assessment: the risk book's `degraded` / `critical` switches follow the level (re-asserted
whenever the book disagrees, so a restarted RiskSupervisor gets them back); CRITICAL also stops the
Orchestrator's entries, closes or reports every position (errors.on_critical) and checkpoints the ledger; every
level change is alerted through the ControlPlane's AlertSender. `launchray run` sees CRITICAL in Supervisor.info()
and exits non-zero.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ray.exceptions import RayTaskError

from actors.rpc_client import RpcUnavailable

from actors import names
from pipelines import health_levels as hl
from pipelines.alerting import Alert, error_alert, exception_alert, level_alert, low_balance_alert
from pipelines.config import Config
from pipelines.risk.wallet_balance import OutflowWatch, check_outflow, fill_flow

log = logging.getLogger("launchray.health")

LAMPORTS = 1_000_000_000
CALL_TIMEOUT_S = 3.0
PROBE_TIMEOUT_S = 5.0
RPC_PROBE_EVERY_S = 2.0    # a getSlot at most this often: a few % of a provider's smallest rate limit
PROBE_KEY = "health_probe"
DECISION_PATH = frozenset({names.INGEST, names.ORCHESTRATOR, names.RISK, names.EXECUTOR, names.POSITIONS,
                           names.LEDGER, names.RPC_POOL, names.SUPERVISOR})
MAX_REPORTS = 100


class _Probe:
    """One call in flight at a time: when it started, and how the last one ended."""

    def __init__(self) -> None:
        self.task: asyncio.Future | None = None
        self.started = 0.0
        self.last_ms: float | None = None
        self.error: BaseException | None = None

    def start(self, make: Callable[[], object]) -> None:
        if self.task is not None and not self.task.done():
            return
        self.started = time.monotonic()

        async def run():            # the last outcome stays until this one is known: no gap in what is seen
            try:
                await make()
                self.error = None
                self.last_ms = (time.monotonic() - self.started) * 1000
            except asyncio.CancelledError:
                raise
            except BaseException as exc:       # noqa: BLE001 - judged by the check, never raised
                self.error = exc
                self.last_ms = (time.monotonic() - self.started) * 1000
        self.task = asyncio.ensure_future(run())

    def waiting_ms(self) -> float:
        """How long the call in flight has been waiting (0 when none is)."""
        if self.task is None or self.task.done():
            return 0.0
        return (time.monotonic() - self.started) * 1000

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


class HealthWatch:
    def __init__(self, cfg: Config, handles: dict, *, wallet: str = "", ping_failed: Callable[[], set[str]],
                 post: Callable[[list[Alert]], None] | None = None):
        self.cfg = cfg
        self.handles = handles                  # the Supervisor's: name -> handle (a restart re-fills it)
        self.wallet = wallet                    # public key only
        self.ping_failed = ping_failed
        self.post = post                        # hands alerts on (the Supervisor's), before acting on a level
        e = cfg.errors
        self.policy = hl.Policy(e.degrade_after_s, e.recover_after_s, e.rpc_down_critical_s, e.ledger_critical_s)
        self.state = hl.HealthState()
        self.assessment = hl.Assessment(hl.Level.OK, hl.Level.OK, ())
        self.replay = cfg.chain.source == "replay"
        self.live = cfg.execution.mode == "live"
        self.ledger_probe, self.rpc_probe = _Probe(), _Probe()
        self.rpc_probed = float("-inf")
        # no answer in two request timeouts: one slow request that a retry gets through is not an outage
        self.probe_timeout_s = max(PROBE_TIMEOUT_S, 2 * cfg.rpc.timeout_s)
        self.reports: list[hl.Observation] = []          # exceptions reported since the last check
        self.problems: dict[str, int] = {}               # reported by actor and kind, for status
        self.on_critical_done = False
        self.checks = 0
        # wallet
        self.balance: int | None = None
        self.balance_at = 0.0
        self.fills_cursor = 0
        self.flows = 0
        self.outflow = OutflowWatch()
        self.capital: int | None = None

    # --- inputs from the actors ------------------------------------------------------------------------------
    def report_problem(self, actor: str, where: str, text: str, kind: str) -> Alert | None:
        """An actor's unhandled exception (kind "exception") or ERROR log line ("error"): the alert it owes."""
        key = f"{actor}:{kind}"
        self.problems[key] = self.problems.get(key, 0) + 1
        now = time.time()
        if kind == "exception":
            if actor in DECISION_PATH and len(self.reports) < MAX_REPORTS:
                self.reports.append(hl.UnhandledException(actor, f"{where}: {text}"))
            return exception_alert(f"{actor} ({where})", text, now)
        return error_alert(actor, text, now)

    # --- one check ---------------------------------------------------------------------------------------------
    async def _call(self, name: str, method: str, *args, timeout: float = CALL_TIMEOUT_S):
        h = self.handles.get(name)
        if h is None:
            raise LookupError(name)
        return await asyncio.wait_for(asyncio.ensure_future(getattr(h, method).remote(*args)), timeout=timeout)

    async def _try(self, name: str, method: str, *args):
        try:
            return await self._call(name, method, *args)
        except Exception:  # noqa: BLE001 - a failed read concludes nothing
            return None

    async def check(self, now: float) -> tuple[hl.Assessment, list[Alert]]:
        obs: list[hl.Observation] = []
        unknown: set[hl.Cause] = set()
        ingest, rpc, risk = await asyncio.gather(
            self._try(names.INGEST, "status") if not self.replay else _none(),
            self._try(names.RPC_POOL, "health") if not self.replay else _none(),
            self._try(names.RISK, "status") if not self.replay else _none())
        self._stream(ingest, obs, unknown)
        self._rpc(rpc, obs, unknown)
        self._ledger(obs)
        obs += [hl.ShardDown(n) for n in sorted(self.ping_failed()) if n.startswith(names.SHARD_PREFIX)]
        alerts: list[Alert] = []
        await self._wallet(now, risk, obs, unknown)
        obs += self.reports
        self.reports = []
        self.state, a = hl.step(self.state, now, obs, self.policy, unknown)
        self.assessment = a
        self.checks += 1
        alerts += self._alerts(a, now)
        if self.post is not None and alerts:    # the urgent alert leaves before the (slow) settling of positions
            self.post(alerts)
        await self._act(a, risk)
        return a, alerts

    def _stream(self, ingest, obs: list, unknown: set) -> None:
        if self.replay:
            return
        if not isinstance(ingest, dict):
            unknown.add(hl.Cause.STREAM_STALE)
            return
        stream = ingest.get("stream")
        if isinstance(stream, dict) and stream.get("state") in ("stale", "disconnected"):
            behind = stream.get("slots_behind")
            obs.append(hl.StreamStale(str(stream["state"]), int(behind) if isinstance(behind, int) else 0))
        elif not isinstance(stream, dict) and ingest.get("connected") is False:
            obs.append(hl.StreamStale("disconnected"))

    def _rpc(self, rpc, obs: list, unknown: set) -> None:
        if self.replay or names.RPC_POOL not in self.handles:
            return
        now = time.monotonic()
        if now - self.rpc_probed >= RPC_PROBE_EVERY_S:     # traffic to judge by even on a quiet chain
            self.rpc_probed = now
            self.rpc_probe.start(lambda: self._call(names.RPC_POOL, "get_slot", timeout=self.probe_timeout_s))
        endpoints = (rpc or {}).get("endpoints") if isinstance(rpc, dict) else None
        if not endpoints:
            unknown.add(hl.Cause.RPC_DOWN)
            return
        # Down = the client gave up on every endpoint for its whole retry budget (RpcUnavailable) or the probe got
        # no answer at all, and no endpoint's latest call succeeded since: a 429 storm that lets some calls
        # through is not an outage.
        err = self.rpc_probe.error
        down = isinstance(err, (RpcUnavailable, asyncio.TimeoutError)) or self.rpc_probe.waiting_ms() > \
            self.probe_timeout_s * 1000
        if down and all(int(e.get("consecutive_failures", 0) or 0) > 0 for e in endpoints):
            obs.append(hl.RpcAllFailing(len(endpoints), "RpcUnavailable" if isinstance(err, RpcUnavailable)
                                        else "no answer"))

    def _ledger(self, obs: list) -> None:
        if self.replay or names.LEDGER not in self.handles:     # a replay's ledger runs on simulated time
            return
        probe = self.ledger_probe
        limit = self.cfg.errors.ledger_slow_ms
        err = probe.error
        if isinstance(err, RayTaskError):          # the Ledger ran the write and SQLite refused it
            cause = err.cause if getattr(err, "cause", None) is not None else err
            obs.append(hl.LedgerUnwritable(f"{type(cause).__name__}: {str(cause).splitlines()[0][:160]}"
                                           if str(cause) else type(cause).__name__))
        waiting = probe.waiting_ms()
        if waiting > limit:
            obs.append(hl.LedgerSlow(waiting, limit))
        elif probe.task is not None and probe.task.done() and (probe.last_ms or 0) > limit:
            obs.append(hl.LedgerSlow(probe.last_ms, limit))
        probe.start(lambda: self._call(names.LEDGER, "save_counters", {PROBE_KEY: time.time()}, time.time(),
                                       timeout=max(60.0, self.cfg.errors.ledger_critical_s * 2)))

    # --- the wallet ------------------------------------------------------------------------------------------
    async def _wallet(self, now: float, risk, obs: list, unknown: set) -> None:
        low = round(self.cfg.alerts.low_balance_sol * LAMPORTS)
        if self.replay:             # a recording's paper money: nothing to watch
            return
        if not self.live:
            if not isinstance(risk, dict):
                unknown.add(hl.Cause.BALANCE_LOW)
                return
            cash = int(risk.get("cash", 0) or 0)          # paper: the book's cash is the wallet
            self.balance, self.balance_at = cash, now
            if low and cash < low:
                obs.append(hl.BalanceLow(cash, low))
            return
        new_fills = await self._read_flows()
        if new_fills is None or not self.wallet:
            unknown.add(hl.Cause.BALANCE_LOW)
            return
        due = self.balance is None or new_fills or now - self.balance_at >= self.cfg.risk.balance_check_s
        if due:
            summary, balance = await asyncio.gather(self._try(names.LEDGER, "summary"),
                                                    self._try(names.RPC_POOL, "get_balance", self.wallet))
            if not isinstance(balance, int) or not isinstance(summary, dict):
                unknown.add(hl.Cause.BALANCE_LOW)
                return
            flows = self.flows - int(summary.get("failed_tx_fees_lamports", 0) or 0)
            unsettled = int(summary.get("open_orders", 0) or 0) + int(summary.get("unbooked_orders", 0) or 0)
            self.balance, self.balance_at = balance, now
            r = self.cfg.risk
            self.outflow, missing = check_outflow(self.outflow, balance, flows, unsettled,
                                                  now, round(r.outflow_tolerance_sol * LAMPORTS),
                                                  r.outflow_confirm_s)
            if missing:
                obs.append(hl.UnexplainedOutflow(missing, round(r.outflow_tolerance_sol * LAMPORTS)))
            capital = await self._try(names.RISK, "apply_balance", balance, round(r.balance_reserve_sol * LAMPORTS))
            if isinstance(capital, int):
                self.capital = capital
        elif self.outflow.suspect_since is not None:
            self.balance_at = 0.0                         # a suspected outflow is looked at again next check
        if self.balance is not None and low and self.balance < low:
            obs.append(hl.BalanceLow(self.balance, low))

    async def initial_balance(self) -> int | None:
        """Live, at start (before Ingest can bring the first entry): the balance read and the capital capped."""
        if not self.live or not self.wallet:
            return None
        await asyncio.gather(*(self.handles[n].ping.remote() for n in (names.LEDGER, names.RPC_POOL, names.RISK)))
        await self._wallet(time.time(), None, [], set())
        return self.capital

    async def _read_flows(self) -> int | None:
        """Fold the fills booked since the last read into the wallet flows; how many there were (None: failed)."""
        n = 0
        while True:
            rows = await self._try(names.LEDGER, "fills_after", self.fills_cursor, 0.0, 500)
            if not isinstance(rows, list):
                return None
            for rowid, fill, _reason in rows:
                self.fills_cursor = rowid
                self.flows += fill_flow(fill)
            n += len(rows)
            if len(rows) < 500:
                return n

    # --- acting on the level -----------------------------------------------------------------------------------
    def _alerts(self, a: hl.Assessment, now: float) -> list[Alert]:
        out: list[Alert] = []
        pairs = [(r.cause.value, r.detail) for r in a.reasons]
        if a.changed and a.level is hl.Level.CRITICAL:
            mode = self.settle_mode()
            out.append(level_alert("critical", pairs, f"entries halted; positions: {mode}; ledger checkpointed; "
                                                      "the run stops", now))
        elif a.level is hl.Level.DEGRADED and (a.changed or a.entered):
            out.append(level_alert("degraded", pairs, "new entries paused; exits and monitoring go on", now))
        elif a.changed and a.level is hl.Level.OK:
            out.append(level_alert("ok", [(c.value, "cleared") for c in a.cleared], "entries resume", now))
        if hl.Cause.BALANCE_LOW in a.entered and self.balance is not None:
            out.append(low_balance_alert(self.balance, round(self.cfg.alerts.low_balance_sol * LAMPORTS), now))
        return out

    def settle_mode(self) -> str:
        mode = self.cfg.errors.on_critical
        return self.cfg.execution.settle_on_shutdown if mode == "as_shutdown" else mode

    async def _act(self, a: hl.Assessment, risk) -> None:
        degraded = a.level is hl.Level.DEGRADED
        critical = a.level is hl.Level.CRITICAL
        breakers = set(risk.get("breakers") or ()) if isinstance(risk, dict) else None
        if breakers is None:        # not read (a replay, or no answer): said on a change, re-said while not OK
            stale = a.changed or a.level is not hl.Level.OK
        else:
            stale = ("degraded" in breakers) != degraded or ("critical" in breakers) != critical
        if stale:
            await self._try(names.RISK, "set_health", degraded, critical)
        if critical and not self.on_critical_done:
            self.on_critical_done = True
            log.critical("CRITICAL: %s", a.summary)
            await self._try(names.ORCHESTRATOR, "stop_entries")
            pos = self.handles.get(names.POSITIONS)
            if pos is not None:
                try:
                    await asyncio.wait_for(asyncio.ensure_future(pos.settle.remote(self.settle_mode())), timeout=30)
                except Exception as exc:  # noqa: BLE001
                    log.error("critical: positions not settled: %s", type(exc).__name__)
            await self._try(names.LEDGER, "flush")

    # --- reporting ---------------------------------------------------------------------------------------------
    def view(self) -> dict:
        out = hl.view(self.assessment)
        out["summary"] = self.assessment.summary
        out["problems"] = dict(self.problems)
        out["checks"] = self.checks
        out["wallet"] = {"source": "chain" if self.live else "paper", "address": self.wallet if self.live else "",
                         "balance_lamports": self.balance, "capital_lamports": self.capital,
                         "read_at": self.balance_at or None}
        return out

    def close(self) -> None:
        self.ledger_probe.cancel()
        self.rpc_probe.cancel()


async def _none():
    return None
