"""Error levels, pure: what the system observed about its own services -> OK / DEGRADED / CRITICAL, with reasons.

The users' documents ask for three levels of error (REQUIREMENTS.md): recoverable (log, retry, go on: nothing
here), degraded service (pause new trades, keep monitoring and exits, alert, recover by itself) and critical
(stop trading, close or report positions, save state, alert urgently, shut down). The shell (actors/health_watch.py,
hosted by the Supervisor) gathers typed observations about once a second and calls `step`; the Assessment says
the level, why, and what changed, so the shell knows when to pause, resume, halt and alert.

Rules:
- A *condition* (stream stale, every RPC endpoint failing, ledger slow, an analyzer shard down) makes the level
  DEGRADED once it has been observed continuously for `enter_after_s`, and stops counting once it has been absent
  continuously for `recover_after_s` (hysteresis both ways: one poll's blip neither pauses nor resumes). A low
  balance is a *warning*: counted, reported and alerted the same way, but the level stays as it is (the balance
  already caps the capital).
- A condition that lasts past its limit escalates: RPC failing for `rpc_down_critical_s` is CRITICAL
  (rpc_down_too_long), the ledger slow (no write completing) for `ledger_stall_critical_s` is CRITICAL
  (ledger_unwritable).
- An *event* (ledger unwritable, unexplained outflow from the wallet, unhandled exception on the decision path)
  is CRITICAL at once.
- CRITICAL is sticky for the run: nothing that is observed later lowers it.
- A source the shell could not read this poll is passed in `unknown`: its conditions are neither set nor cleared.
No clock here: `now` comes with every step.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum


class Level(IntEnum):
    OK = 0
    DEGRADED = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Cause(str, Enum):
    # conditions: DEGRADED while they last
    STREAM_STALE = "stream_stale"
    RPC_DOWN = "rpc_down"
    LEDGER_SLOW = "ledger_slow"
    SHARD_DOWN = "shard_down"
    BALANCE_LOW = "balance_low"
    # events and escalations: CRITICAL for the rest of the run
    LEDGER_UNWRITABLE = "ledger_unwritable"
    UNEXPLAINED_OUTFLOW = "unexplained_outflow"
    RPC_DOWN_TOO_LONG = "rpc_down_too_long"
    UNHANDLED_EXCEPTION = "unhandled_exception"

    @property
    def level(self) -> Level:
        """The level this cause makes (a warning makes none: it is reported and alerted, trading goes on)."""
        if self in CRITICAL_CAUSES:
            return Level.CRITICAL
        return Level.OK if self in WARNINGS else Level.DEGRADED

    @property
    def label(self) -> str:
        return "warning" if self in WARNINGS else self.level.label


# A low balance already shrinks the capital (pipelines/risk/wallet_balance.py): it is alerted, not a pause.
WARNINGS = frozenset({Cause.BALANCE_LOW})
CRITICAL_CAUSES = frozenset({Cause.LEDGER_UNWRITABLE, Cause.UNEXPLAINED_OUTFLOW, Cause.RPC_DOWN_TOO_LONG,
                             Cause.UNHANDLED_EXCEPTION})
CONDITIONS = frozenset(Cause) - CRITICAL_CAUSES


# ---- observations: one type per thing the shell can see ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class StreamStale:
    """The chain stream delivers nothing while the chain advances (or is not connected at all)."""
    state: str                    # "stale" | "disconnected"
    slots_behind: int = 0

    cause = Cause.STREAM_STALE

    @property
    def detail(self) -> str:
        return f"stream {self.state}" + (f", {self.slots_behind} slots behind" if self.slots_behind else "")


@dataclass(frozen=True, slots=True)
class RpcAllFailing:
    endpoints: int
    error: str = ""

    cause = Cause.RPC_DOWN

    @property
    def detail(self) -> str:
        return f"all {self.endpoints} RPC endpoint(s) failing" + (f": {self.error}" if self.error else "")


@dataclass(frozen=True, slots=True)
class LedgerSlow:
    """A ledger write took (or has been waiting) longer than the limit."""
    latency_ms: float
    limit_ms: float

    cause = Cause.LEDGER_SLOW

    @property
    def detail(self) -> str:
        return f"ledger write {self.latency_ms:.0f} ms (limit {self.limit_ms:.0f} ms)"


@dataclass(frozen=True, slots=True)
class ShardDown:
    shard: str

    cause = Cause.SHARD_DOWN

    @property
    def detail(self) -> str:
        return f"{self.shard} not answering"


@dataclass(frozen=True, slots=True)
class BalanceLow:
    balance_lamports: int
    threshold_lamports: int

    cause = Cause.BALANCE_LOW

    @property
    def detail(self) -> str:
        return (f"wallet balance {self.balance_lamports / 1e9:.4f} SOL below "
                f"{self.threshold_lamports / 1e9:.4f} SOL")


@dataclass(frozen=True, slots=True)
class LedgerUnwritable:
    error: str

    cause = Cause.LEDGER_UNWRITABLE

    @property
    def detail(self) -> str:
        return f"ledger write failed: {self.error}"


@dataclass(frozen=True, slots=True)
class UnexplainedOutflow:
    lamports: int
    tolerance_lamports: int

    cause = Cause.UNEXPLAINED_OUTFLOW

    @property
    def detail(self) -> str:
        return (f"wallet is {self.lamports / 1e9:.6f} SOL below what the ledger explains "
                f"(tolerance {self.tolerance_lamports / 1e9:.6f} SOL)")


@dataclass(frozen=True, slots=True)
class UnhandledException:
    actor: str
    error: str

    cause = Cause.UNHANDLED_EXCEPTION

    @property
    def detail(self) -> str:
        return f"unhandled exception in {self.actor}: {self.error}"


Observation = (StreamStale | RpcAllFailing | LedgerSlow | ShardDown | BalanceLow | LedgerUnwritable
               | UnexplainedOutflow | UnhandledException)


# ---- the machine ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Policy:
    enter_after_s: float = 2.0             # a condition must hold this long before the level is DEGRADED
    recover_after_s: float = 10.0          # ...and be gone this long before it stops counting
    rpc_down_critical_s: float = 60.0      # every RPC endpoint failing this long: CRITICAL
    ledger_stall_critical_s: float = 30.0  # the ledger slow (a write not completing) this long: CRITICAL


ESCALATES = {Cause.RPC_DOWN: Cause.RPC_DOWN_TOO_LONG, Cause.LEDGER_SLOW: Cause.LEDGER_UNWRITABLE}


@dataclass(frozen=True, slots=True)
class Reason:
    cause: Cause
    detail: str
    since: float

    @property
    def level(self) -> Level:
        return self.cause.level


@dataclass(frozen=True, slots=True)
class HealthState:
    observed: Mapping[Cause, float] = field(default_factory=dict)   # condition -> observed without a break since
    details: Mapping[Cause, str] = field(default_factory=dict)      # condition -> its latest detail
    active: Mapping[Cause, float] = field(default_factory=dict)     # condition counted in the level -> since
    absent: Mapping[Cause, float] = field(default_factory=dict)     # active condition not observed since
    critical: tuple[Reason, ...] = ()                               # sticky: the first of each cause

    @property
    def level(self) -> Level:
        if self.critical:
            return Level.CRITICAL
        return Level.DEGRADED if any(c not in WARNINGS for c in self.active) else Level.OK


@dataclass(frozen=True, slots=True)
class Assessment:
    level: Level
    previous: Level
    reasons: tuple[Reason, ...]            # most severe first, then oldest first
    entered: tuple[Cause, ...] = ()        # causes counted from this step on
    cleared: tuple[Cause, ...] = ()        # causes no longer counted from this step on

    @property
    def changed(self) -> bool:
        return self.level != self.previous

    @property
    def summary(self) -> str:
        """One line: the level and its reasons (the progress line, `launchray run`'s exit message)."""
        if not self.reasons:
            return self.level.label
        escalated = {c for c, to in ESCALATES.items() if any(r.cause is to for r in self.reasons)}
        return f"{self.level.label}: " + "; ".join(r.detail for r in self.reasons if r.cause not in escalated)


def step(state: HealthState, now: float, observations: Iterable[Observation], policy: Policy,
         unknown: Iterable[Cause] = ()) -> tuple[HealthState, Assessment]:
    """The state after this poll's observations, and what it means."""
    previous = state.level
    unknown = frozenset(unknown)
    seen: dict[Cause, list[str]] = {}
    events: list[tuple[Cause, str]] = []
    for obs in observations:
        if obs.cause in CONDITIONS:
            seen.setdefault(obs.cause, []).append(obs.detail)
        else:
            events.append((obs.cause, obs.detail))

    observed, details = dict(state.observed), dict(state.details)
    active, absent = dict(state.active), dict(state.absent)
    critical = list(state.critical)
    entered: list[Cause] = []
    cleared: list[Cause] = []
    for cause in CONDITIONS:
        if cause in unknown:
            continue                        # nothing concluded from a source that did not answer
        if cause in seen:
            observed.setdefault(cause, now)
            details[cause] = "; ".join(dict.fromkeys(seen[cause]))
            absent.pop(cause, None)
            if cause not in active and now - observed[cause] >= policy.enter_after_s:
                active[cause] = observed[cause]
                entered.append(cause)
        else:
            observed.pop(cause, None)
            if cause in active:
                gone = absent.setdefault(cause, now)
                if now - gone >= policy.recover_after_s:
                    del active[cause], absent[cause]
                    details.pop(cause, None)
                    cleared.append(cause)
            else:
                details.pop(cause, None)

    limits = {Cause.RPC_DOWN: policy.rpc_down_critical_s, Cause.LEDGER_SLOW: policy.ledger_stall_critical_s}
    for cause, to in ESCALATES.items():
        since = observed.get(cause)
        if since is not None and now - since >= limits[cause]:
            events.append((to, f"{details.get(cause, cause.value)} for {now - since:.0f} s"))
    have = {r.cause for r in critical}
    for cause, detail in events:
        if cause not in have:
            have.add(cause)
            critical.append(Reason(cause, detail, now))
            entered.append(cause)

    new = HealthState(observed, details, active, absent, tuple(critical))
    reasons = tuple(critical) + tuple(sorted((Reason(c, details.get(c, c.value), t) for c, t in active.items()),
                                             key=lambda r: (r.since, r.cause.value)))
    return new, Assessment(new.level, previous, reasons, tuple(entered), tuple(cleared))


def view(assessment: Assessment) -> dict:
    """JSON-ready: what status, /health and the summary show."""
    return {"level": assessment.level.label, "code": int(assessment.level),
            "reasons": [{"cause": r.cause.value, "level": r.cause.label, "detail": r.detail, "since": r.since}
                        for r in assessment.reasons]}
