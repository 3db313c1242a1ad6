"""Where an actor's `now` comes from: the wall clock, or in replay mode the simulated clock of the recording.

Live, `now()` is time.time(). With chain.source = "replay" it is the simulated time of the slot being
processed (the BacktestEngine's clock), starting at the recording's first event, so books created at start-up
(RiskBook, StrategyWeights) begin where a backtest of the same recording begins. The time travels with the
replay's calls: the replay driver (actors/replay.py) passes it to the calls it makes, each actor passes its own
on to the calls it makes downstream (`at(now)` on receipt), and the Orchestrator pushes it to the RiskSupervisor,
Executor and PositionTracker before it starts an action. It never goes back.
"""
from __future__ import annotations

import time

from pipelines.config import Config


class ActorClock:
    __slots__ = ("replay", "_t")

    def __init__(self, start: float | None = None) -> None:
        self.replay = start is not None
        self._t = float(start) if start is not None else 0.0

    @classmethod
    def for_config(cls, cfg: Config) -> "ActorClock":
        if cfg.chain.source != "replay":
            return cls()
        from pipelines.backtest.latency import recording_clock
        return cls(recording_clock(cfg.chain.replay_path).t0)

    def now(self) -> float:
        return self._t if self.replay else time.time()

    def at(self, now: float | None) -> float:
        """The time to act at for a call that may carry the caller's replay time: advance to it, then now()."""
        if now is not None:
            self.advance(now)
        return self.now()

    def sent(self) -> float | None:
        """The time to pass downstream with a call: replay time in replay mode, None live (callees read the
        wall clock themselves)."""
        return self._t if self.replay else None

    def advance(self, t: float) -> float:
        """Replay mode: move to `t` (never back). Live: nothing (the wall clock moves by itself)."""
        if self.replay and t > self._t:
            self._t = float(t)
        return self.now()
