"""Circuit breakers and operator switches of the risk book: what is tripped, and what resets each one.

| breaker            | trips when                                  | state    | resets                              |
|--------------------|---------------------------------------------|----------|-------------------------------------|
| killed             | kill(flatten)                               | HALTED   | reset_halt()                        |
| drawdown_halt      | drawdown from peak >= drawdown_halt         | HALTED   | reset_halt() (peak re-based)        |
| critical           | set_health(critical=True) (error level)     | HALTED   | never in this run (not persisted)   |
| halted             | halt() (operator / critical error)          | HALTED   | reset_halt()                        |
| paused             | pause() (operator)                          | REDUCING | resume()                            |
| degraded           | set_health(degraded=True) (error level)     | REDUCING | set_health(degraded=False)          |
| daily_loss_limit   | day's realised loss >= limit * start equity | REDUCING | the next UTC day                    |
| consecutive_losses | N losing closes in a row                    | REDUCING | after the pause duration, or a win  |

The loss streak restarts from 0 when its pause ends, so it takes another N losses to pause again.
`degraded` and `critical` are the error levels (pipelines/health_levels.py) as the Supervisor's health watch
sets them: their own switches, so an operator's pause is never lifted by a service recovering, and left out of
snapshots (the watch re-asserts them each second; a new run starts from its own observations).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from pipelines.messages import RiskState
from pipelines.risk import reasons as R


@dataclass(slots=True)
class Breakers:
    killed: bool = False
    flatten_requested: bool = False
    drawdown: bool = False
    halted: bool = False
    paused: bool = False
    degraded: bool = False
    critical: bool = False
    daily_tripped_day: int = -1          # UTC day number on which the daily limit tripped; -1 = not tripped
    loss_pause_until: float = 0.0        # 0 = no pause
    consecutive_losses: int = 0
    wins: int = 0
    losses: int = 0

    def advance(self, now: float, day: int) -> None:
        """Let time-based breakers lapse."""
        if self.daily_tripped_day != -1 and day > self.daily_tripped_day:
            self.daily_tripped_day = -1
        if self.loss_pause_until and now >= self.loss_pause_until:
            self.loss_pause_until = 0.0
            self.consecutive_losses = 0

    def record_close(self, pnl: int, now: float, limit: int, pause_s: float) -> None:
        """Count a closed position: a loss extends the streak (and may pause), a win ends streak and pause.

        A break-even close (pnl == 0) is neither: it leaves the streak as it is.
        """
        if pnl < 0:
            self.losses += 1
            self.consecutive_losses += 1
            if self.consecutive_losses >= limit and not self.loss_pause_until:
                self.loss_pause_until = now + pause_s if pause_s > 0 else 0.0
                if not pause_s:                # a zero-length pause is no pause: restart the streak
                    self.consecutive_losses = 0
        elif pnl > 0:
            self.wins += 1
            self.consecutive_losses = 0
            self.loss_pause_until = 0.0

    def active(self) -> list[str]:
        """Tripped breakers, most severe first (the first one is the refusal reason)."""
        out = []
        if self.killed:
            out.append(R.KILLED)
        if self.drawdown:
            out.append(R.DRAWDOWN_HALT)
        if self.critical:
            out.append(R.CRITICAL)
        if self.halted:
            out.append(R.HALTED)
        if self.paused:
            out.append(R.PAUSED)
        if self.degraded:
            out.append(R.DEGRADED)
        if self.daily_tripped_day != -1:
            out.append(R.DAILY_LOSS_LIMIT)
        if self.loss_pause_until:
            out.append(R.CONSECUTIVE_LOSSES)
        return out

    def first(self) -> str | None:
        """The most severe tripped breaker (fast path of active()[0])."""
        if self.killed:
            return R.KILLED
        if self.drawdown:
            return R.DRAWDOWN_HALT
        if self.critical:
            return R.CRITICAL
        if self.halted:
            return R.HALTED
        if self.paused:
            return R.PAUSED
        if self.degraded:
            return R.DEGRADED
        if self.daily_tripped_day != -1:
            return R.DAILY_LOSS_LIMIT
        if self.loss_pause_until:
            return R.CONSECUTIVE_LOSSES
        return None

    def state(self) -> RiskState:
        if self.killed or self.drawdown or self.halted or self.critical:
            return RiskState.HALTED
        if self.paused or self.degraded or self.daily_tripped_day != -1 or self.loss_pause_until:
            return RiskState.REDUCING
        return RiskState.ACTIVE

    def reset_halt(self) -> None:
        self.killed = self.flatten_requested = self.drawdown = self.halted = False

    def snapshot(self) -> dict:
        out = asdict(self)
        del out["degraded"], out["critical"]      # this run's error level, re-asserted by the health watch
        return out

    @classmethod
    def restore(cls, d: dict) -> "Breakers":
        return cls(**{k: v for k, v in d.items() if k not in ("degraded", "critical")})
