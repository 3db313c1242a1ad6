"""A small Kalman filter for a price level and its velocity (constant-velocity model, irregular sampling).

State x = [level, velocity]; between observations dt seconds apart:

    predict   x <- F x,  P <- F P F' + Q,   F = [[1, dt], [0, 1]],
              Q = q [[dt^3/3, dt^2/2], [dt^2/2, dt]]   (white-noise acceleration with spectral density q)
    update    S = P00 + r,  K = [P00, P01] / S,  x <- x + K (z - level),  P <- (I - K H) P,  H = [1, 0]

Several observations at the same time (dt = 0) are plain measurement updates. TokenState runs it on
ln(price), so the velocity is the smoothed *relative* price change per second; `q` sets how quickly the trend
may turn and `r` how much one trade's price is trusted (AnalysisConfig.kalman_*). On a noiseless linear path
the velocity converges to the true slope (the model is exact there; tested).

The state is 7 doubles (initialized, level, velocity, P00, P01, P11, t) that `kalman_update` reads and writes
in place at an offset, so a TokenState keeps it inside its one float array (thousands of tokens stay small).
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KalmanParams:
    q: float                    # process noise spectral density (level units^2 / s^3)
    r: float                    # measurement noise variance (level units^2)
    velocity_var0: float = 1.0  # prior variance of the velocity at the first observation (level units^2 / s^2)


STATE_LEN = 7      # [initialized (0/1), level, velocity, P00, P01, P11, t]


def kalman_update(p: KalmanParams, s, o: int, t: float, z: float) -> None:
    """Fold observation z taken at time t into the state stored in s[o:o + STATE_LEN] (any float sequence
    supporting item assignment, e.g. a slice of a token's array('d')). An observation earlier than the last
    one is treated as simultaneous; non-finite inputs are ignored; a numerically lost state restarts."""
    if not (math.isfinite(z) and math.isfinite(t)):
        return
    if not s[o]:
        s[o:o + STATE_LEN] = array("d", (1.0, z, 0.0, p.r, 0.0, p.velocity_var0, t))
        return
    x, v, p00, p01, p11, t0 = s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5], s[o + 6]
    dt = t - t0
    if dt > 0:
        q = p.q
        x += v * dt
        p00 += dt * (2.0 * p01 + dt * p11) + q * dt * dt * dt / 3.0
        p01 += dt * p11 + q * dt * dt / 2.0
        p11 += q * dt
        t0 = t
    sv = p00 + p.r
    k0, k1 = p00 / sv, p01 / sv
    y = z - x
    x += k0 * y
    v += k1 * y
    p11 -= k1 * p01
    p00 *= 1.0 - k0
    p01 *= 1.0 - k0
    if not (math.isfinite(x) and math.isfinite(v) and math.isfinite(p00) and math.isfinite(p11)):
        s[o] = 0.0
        return
    s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5], s[o + 6] = x, v, p00, p01, p11, t0


class LevelVelocityFilter:
    """A standalone filter (its own 7-double state); TokenState keeps the same state inside its float block."""

    __slots__ = ("s",)

    def __init__(self) -> None:
        self.s = array("d", bytes(8 * STATE_LEN))

    @property
    def initialized(self) -> bool:
        return bool(self.s[0])

    @property
    def level(self) -> float:
        return self.s[1] if self.s[0] else 0.0

    @property
    def velocity(self) -> float:
        return self.s[2] if self.s[0] else 0.0

    def update(self, p: KalmanParams, t: float, z: float) -> None:
        kalman_update(p, self.s, 0, t, z)
