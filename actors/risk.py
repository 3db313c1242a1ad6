"""RiskSupervisor actor: hosts the RiskBook (pipelines/risk) and keeps its counters durable.

approve_and_reserve contains no await, so on this async actor's single event loop it runs to completion
before any other call: one atomic decision per opportunity, however many callers ask at once.
approve_and_execute (the Orchestrator's entry call) is that same decision, and when it approves it hands the
entry to the Executor itself, so the approval goes straight on to the execution (no detour through the
Orchestrator); it answers once the execution has, awaiting it outside the atomic part (other calls run
meanwhile), and gives the capital back if there is no Executor to run it.
The book is written to the ledger (fire-and-forget, in call order) after every change and restored on start.
Replay mode: time is the replay's simulated clock (pushed by the Orchestrator before the actions of a tick,
passed with mark_to_market); reservations past their TTL are released as the book's own clock passes them
(RiskBook expires them inside every call) instead of by the 0.1 s loop.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import NamedTuple

import ray
from ray.exceptions import RayTaskError

from actors import names, observe, runtime_config
from actors.clock import ActorClock
from actors.metrics import count_decision
from pipelines.config import Config
from pipelines.desk import RiskBooking, apply_risk_booking
from pipelines.housekeeping import RISK_EXPIRE_EVERY_S
from pipelines.messages import Decision, Fill, Opportunity
from pipelines.risk import RiskBook
from pipelines.risk.handoff import unpack

SNAPSHOT_KEY = "risk_book"
log = logging.getLogger("launchray.risk")


class Approval(NamedTuple):
    """approve_and_execute's answer: the decision, the Executor's outcome of an approved entry (None for a refusal
    or a failed Executor call), when the decision was made (the end of the Orchestrator's `approve` span), and for
    a failed Executor call the exception's type."""
    decision: Decision
    outcome: dict | None = None
    decided_at: float = 0.0
    error: str = ""


@ray.remote(num_cpus=0)
class RiskSupervisor:
    def __init__(self, cfg: Config) -> None:
        observe.init_observability(cfg, "risk_supervisor")
        cfg = runtime_config.restore(cfg, "risk_supervisor")   # PATCHed limits in force from the first decision
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.ledger = self.peers(names.LEDGER)
        self.clock = ActorClock.for_config(cfg)
        now = self.clock.now()
        counters = ray.get(self.ledger.load_counters.remote())
        snap = counters.get(SNAPSHOT_KEY)
        self.book = RiskBook.restore(snap, cfg.risk, now) if snap else RiskBook(cfg.risk, now)
        self.restored = bool(snap)
        self.reserve_us: list[float] = []
        self.decisions: dict[str, int] = {}
        self._dirty = False
        loop = asyncio.get_event_loop()
        self._task = loop.create_task(self._housekeeping())
        self._warm = loop.create_task(self.peers.warm(names.EXECUTOR))   # the first approved snipe pays no lookup

    def _changed(self) -> None:
        self._dirty = True

    def _persist(self) -> None:
        if self._dirty:
            self._dirty = False
            self.ledger.save_counters.remote({SNAPSHOT_KEY: self.book.snapshot()}, time.time())

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(RISK_EXPIRE_EVERY_S)
            if not self.clock.replay and self.book.expire(time.time()):
                self._changed()
            self._persist()

    def set_clock(self, now: float) -> float:
        """Replay mode: the simulated time moves to `now`; reservations past their TTL are released."""
        now = self.clock.advance(now)
        if self.clock.replay and self.book.expire(now):
            self._changed()
        return now

    # --- the hot path ------------------------------------------------------------------------------------------
    def approve_and_reserve(self, opp: Opportunity) -> Decision:
        t0 = time.perf_counter()
        decision = self.book.approve_and_reserve(opp, self.clock.now())
        self.reserve_us.append((time.perf_counter() - t0) * 1e6)
        if len(self.reserve_us) > 10_000:
            del self.reserve_us[:5_000]
        self.decisions[decision.reason] = self.decisions.get(decision.reason, 0) + 1
        count_decision(opp.strategy, decision.approved, decision.reason, self.reserve_us[-1] / 1000)  # a dict add
        if decision.approved:
            # Persisted by the 100 ms housekeeping, not here: the hot path stays one book call. A reservation
            # lost in a crash costs nothing — a fill whose reservation is unknown still counts as deployed.
            self._changed()
        return decision

    async def approve_and_execute(self, entry: bytes) -> Approval:
        """approve_and_reserve for a packed EntryRequest (pipelines/risk/handoff.py) and, when approved, the entry
        handed straight to Executor.execute_entry (the bytes passed on as they came); a refusal never reaches the
        Executor. Answers with the decision and the Executor's outcome (or why there is none).

        Atomic: no await before the book has decided and reserved, so on this actor's one event loop nothing runs
        in between. Then it awaits the execution, which yields the loop: other approvals (and the Executor's own
        release/booking calls) go on meanwhile, and the Orchestrator's in-flight count still covers the execution.

        Why it answers at the end rather than at once with an ObjectRef of the outcome: the send's critical path
        is Orchestrator -> here -> Executor either way, but an answer sent now wakes the Orchestrator and starts
        Ray's borrower protocol for the ref, both on the 2 cores the Executor needs for the quote and the intent.
        Micro-benchmark of the three actors (before SCHED_RR), Orchestrator's call to the Executor's start, p50:
        4.2 ms answering at the end, 5.5 ms returning the ref at once, 6.0 ms with the approval routed back
        through the Orchestrator (the previous design)."""
        request = unpack(entry)
        decision = self.approve_and_reserve(request.opportunity)
        decided_at = time.time()
        if not decision.approved or decision.reservation is None:
            return Approval(decision, None, decided_at)
        reservation = decision.reservation
        try:
            outcome = await self.peers(names.EXECUTOR).execute_entry.remote(entry, reservation)
        except RayTaskError as exc:
            # raised inside the Executor: it released the reservation itself if no intent was written; from the
            # intent on the ledger order owns it (reconciliation releases it or books the fill)
            return Approval(decision, None, decided_at, type(exc.cause or exc).__name__)
        except Exception as exc:
            # no Executor to run it (not there, or dead once Ray's retries on a restarted one are spent): nothing
            # else can settle this reservation now, so the capital comes back (an order such an Executor had
            # already sent is reconciled from the ledger when one starts again, its fill counted as deployed)
            if self.release(reservation.id):
                log.warning("entry %s not executed (%s): reservation released", request.opportunity.id,
                            type(exc).__name__)
            return Approval(decision, None, decided_at, type(exc).__name__)
        return Approval(decision, outcome, decided_at)

    def release(self, reservation_id: str) -> bool:
        released = self.book.release(reservation_id) is not None
        if released:
            self._changed()
        return released

    def apply_booking(self, booking: RiskBooking) -> bool:
        applied = apply_risk_booking(booking, self.book, self.clock.now())
        if applied:
            self._changed()
            self._persist()
        return applied

    def on_cost(self, key: str, lamports: int) -> bool:
        booked = self.book.on_cost(key, lamports, self.clock.now())
        if booked:
            self._changed()
            self._persist()
        return booked

    def available(self, now: float | None = None) -> int:
        """Capital free for new entries (cash less live reservations) at now (the replay's time, if passed)."""
        return int(self.book.status(self.clock.at(now))["available"])

    def mark_to_market(self, unrealized: dict[str, int], now: float | None = None) -> None:
        self.book.mark_to_market(unrealized, self.clock.at(now))
        self._changed()

    # --- operator controls -------------------------------------------------------------------------------------
    def kill(self, flatten: bool = False) -> tuple[str, ...]:
        mints = self.book.kill(flatten)
        self._changed()
        self._persist()
        return mints

    def halt(self) -> None:
        self.book.halt(); self._changed(); self._persist()

    def pause(self) -> None:
        self.book.pause(); self._changed(); self._persist()

    def resume(self) -> None:
        self.book.resume(); self._changed(); self._persist()

    def reset_halt(self) -> None:
        self.book.reset_halt(); self._changed(); self._persist()

    # --- error levels and the wallet (the Supervisor's health watch, actors/health_watch.py) -------------------
    def set_health(self, degraded: bool, critical: bool) -> bool:
        """DEGRADED: entries refused ("degraded") until it clears; CRITICAL: refused ("critical") for the run.
        Separate from pause()/halt(): a service recovering never lifts an operator's pause."""
        changed = self.book.set_health(degraded, critical)
        if changed:
            log.warning("error level: degraded=%s critical=%s", degraded, self.book.breakers.critical)
            self._changed()
        return changed

    def apply_balance(self, balance_lamports: int, reserve_lamports: int) -> int:
        """Live: the wallet's balance caps the capital (min(configured, balance - reserve), fills counted)."""
        capital = self.book.apply_balance(int(balance_lamports), int(reserve_lamports))
        self._changed()
        return capital

    def update_config(self, cfg: Config) -> None:
        self.cfg = cfg
        self.book.update_config(cfg.risk)
        self._changed()

    def status(self) -> dict:
        lat = sorted(self.reserve_us[-2000:])
        out = dict(self.book.status(self.clock.now()))
        out["decisions"] = dict(self.decisions)
        if lat:
            out["reserve_us_p50"] = round(lat[len(lat) // 2], 1)
            out["reserve_us_p99"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1)
        out["restored"] = self.restored
        return out

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()


__all__ = ["RiskSupervisor", "Fill"]
