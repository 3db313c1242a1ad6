"""RiskSupervisor actor: hosts the RiskBook (pipelines/risk) and keeps its counters durable.

approve_and_reserve contains no await, so on this async actor's single event loop it runs to completion
before any other call: one atomic decision per opportunity, however many callers ask at once.
The book is written to the ledger (fire-and-forget, in call order) after every change and restored on start.
Replay mode: time is the replay's simulated clock (pushed by the Orchestrator before the actions of a tick,
passed with mark_to_market); reservations past their TTL are released as the book's own clock passes them
(RiskBook expires them inside every call) instead of by the 0.1 s loop.
"""
from __future__ import annotations

import asyncio
import time

import ray

from actors import names, observe, runtime_config
from actors.clock import ActorClock
from actors.metrics import count_decision
from pipelines.config import Config
from pipelines.desk import RiskBooking, apply_risk_booking
from pipelines.housekeeping import RISK_EXPIRE_EVERY_S
from pipelines.messages import Decision, Fill, Opportunity
from pipelines.risk import RiskBook

SNAPSHOT_KEY = "risk_book"


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
        self._task = asyncio.get_event_loop().create_task(self._housekeeping())

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
