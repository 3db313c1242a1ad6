"""The actors' periodic work and its periods: one schedule for the live loops, the backtester and the replay.

Live, each actor sleeps its period in its own loop (wall time). On a simulated clock (BacktestEngine, and the
actor system's replay mode, whose driver is actors/replay.py) a `Housekeeping` says which of them are due at
each step, so both run the same periodic work at the same simulated times:

    capital   every CAPITAL_EVERY_S   Orchestrator: available capital from the risk book to the decision queue
    refresh   every REFRESH_EVERY_S   AnalyzerShard: features of every live token (windows decay without trades)
    evict     every EVICT_EVERY_S     AnalyzerShard: dead tokens dropped
    sweep     every SWEEP_EVERY_S     PositionTracker: exits on time (max hold) + mark-to-market of the risk book
Reservation expiry (RiskSupervisor, every 0.1 s live) runs at every step of a simulated clock.
"""
from __future__ import annotations

from dataclasses import dataclass

CAPITAL_EVERY_S = 1.0
SWEEP_EVERY_S = 1.0
REFRESH_EVERY_S = 5.0
EVICT_EVERY_S = 10.0
RISK_EXPIRE_EVERY_S = 0.1


class Every:
    """A periodic loop on a simulated clock (an actor's `while True: sleep(period); ...`): due once `period`
    has passed since it last ran (the first time `period` after `start`)."""
    __slots__ = ("period", "next")

    def __init__(self, period: float, start: float) -> None:
        self.period, self.next = period, start + period

    def due(self, now: float) -> bool:
        if now >= self.next:
            self.next = now + self.period
            return True
        return False


@dataclass(frozen=True, slots=True)
class Due:
    capital: bool = False
    refresh: bool = False
    evict: bool = False
    sweep: bool = False


class Housekeeping:
    """Which periodic jobs are due at each step of a simulated clock starting at `t0`."""

    def __init__(self, t0: float) -> None:
        self.capital = Every(CAPITAL_EVERY_S, t0)
        self.refresh = Every(REFRESH_EVERY_S, t0)
        self.evict = Every(EVICT_EVERY_S, t0)
        self.sweep = Every(SWEEP_EVERY_S, t0)

    def due(self, now: float) -> Due:
        return Due(self.capital.due(now), self.refresh.due(now), self.evict.due(now), self.sweep.due(now))
