"""Kalman level/velocity filter: on a linear path the velocity converges to the slope."""
import random

import pytest

from pipelines.scoring.filters import KalmanParams, LevelVelocityFilter, kalman_update


def test_velocity_converges_to_the_true_slope_on_a_linear_path():
    f = LevelVelocityFilter()
    p = KalmanParams(q=1e-4, r=0.01, velocity_var0=1.0)
    for i in range(200):
        f.update(p, float(i), 5.0 + 0.3 * i)                  # z = 5 + 0.3 t
    assert f.velocity == pytest.approx(0.3, abs=1e-4)
    assert f.level == pytest.approx(5.0 + 0.3 * 199, abs=1e-3)


def test_irregular_sampling_and_simultaneous_observations():
    f = LevelVelocityFilter()
    p = KalmanParams(q=1e-4, r=0.01)
    t = 0.0
    rng = random.Random(3)
    while t < 300:
        for _ in range(rng.randint(1, 3)):                     # several trades in the same slot
            f.update(p, t, -2.0 * t + 100)
        t += rng.choice((0.4, 0.8, 2.0, 7.5))
    assert f.velocity == pytest.approx(-2.0, rel=1e-3)


def test_noisy_linear_path_still_finds_the_slope():
    f = LevelVelocityFilter()
    p = KalmanParams(q=1e-6, r=0.25)
    rng = random.Random(7)
    for i in range(2000):
        f.update(p, i * 0.5, 10.0 + 0.05 * i * 0.5 + rng.gauss(0, 0.5))
    assert f.velocity == pytest.approx(0.05, abs=0.01)


def test_first_observation_sets_the_level_and_bad_inputs_are_ignored():
    f = LevelVelocityFilter()
    p = KalmanParams(q=1e-4, r=0.01)
    assert not f.initialized and f.velocity == 0.0
    f.update(p, 10.0, 3.0)
    assert f.initialized and f.level == 3.0 and f.velocity == 0.0
    f.update(p, 11.0, float("nan"))
    f.update(p, float("inf"), 4.0)
    assert f.level == 3.0 and f.velocity == 0.0
    f.update(p, 9.0, 3.0)                                      # earlier than the last: simultaneous, no crash
    assert f.initialized


def test_state_can_live_inside_a_larger_array():
    from array import array
    s = array("d", [7.0] * 3 + [0.0] * 7 + [9.0])
    p = KalmanParams(q=1e-4, r=0.01)
    for i in range(100):
        kalman_update(p, s, 3, float(i), 2.0 * i)
    assert s[:3] == array("d", [7.0] * 3) and s[10] == 9.0     # neighbours untouched
    assert s[3 + 2] == pytest.approx(2.0, abs=1e-3)
