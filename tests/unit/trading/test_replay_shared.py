"""The shared pieces the actors' replay mode and the backtester both run: the housekeeping schedule, the
orchestrator's tick on a simulated clock, and the actors' clock."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from actors.clock import ActorClock
from pipelines import stages as S
from pipelines.config import OrchestratorConfig, ScoringConfig, config_with, load_config
from pipelines.decision_queue import ENTRY, EXIT, DecisionQueue
from pipelines.housekeeping import Due, Housekeeping
from pipelines.messages import ExitSignal
from tests.unit.trading.factories import SOL, opp

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
T0 = 1_000.0


def test_housekeeping_runs_each_job_once_per_period_from_t0():
    hk = Housekeeping(T0)
    assert hk.due(T0) == Due()                               # nothing at the start: each period starts at t0
    assert hk.due(T0 + 0.4) == Due()
    assert hk.due(T0 + 1.0) == Due(capital=True, sweep=True)
    assert hk.due(T0 + 1.4) == Due()
    assert hk.due(T0 + 2.2) == Due(capital=True, sweep=True)  # next due 1 s after it last ran: 3.2
    assert hk.due(T0 + 3.0) == Due()
    assert hk.due(T0 + 5.0) == Due(capital=True, sweep=True, refresh=True)
    assert hk.due(T0 + 9.9) == Due(capital=True, sweep=True)
    assert hk.due(T0 + 10.0) == Due(refresh=True, evict=True)
    # a gap (slots without events) runs each job once, not once per missed period
    assert hk.due(T0 + 60.0) == Due(capital=True, refresh=True, evict=True, sweep=True)
    assert hk.due(T0 + 60.5) == Due()


def test_a_tick_pops_again_while_a_pop_hands_out_a_full_batch():
    q = DecisionQueue(OrchestratorConfig(max_concurrent_executions=3), ScoringConfig())
    q.set_available_capital(100 * SOL)
    n_exits = S.MAX_ACTIONS_PER_TICK + 6
    for i in range(n_exits):
        q.push_exit(ExitSignal(f"X{i}", "stop_loss", 1))
    for i in range(5):
        q.push_opportunity(opp(f"E{i}", SOL, T0), T0)
    in_flight = {"n": 0}
    seen = []
    for action in S.tick(q, T0, lambda: in_flight["n"]):
        seen.append(action)
        if action.kind == ENTRY:
            in_flight["n"] += 1           # an entry that has not landed yet takes a slot
    assert [a.kind for a in seen] == [EXIT] * n_exits + [ENTRY] * 3    # the cap, with the count as it is then
    # a single pop (the live 10 ms loop) hands out one batch only
    q2 = DecisionQueue(OrchestratorConfig(), ScoringConfig())
    for i in range(n_exits):
        q2.push_exit(ExitSignal(f"X{i}", "stop_loss", 1))
    assert len(q2.pop_ready(T0, 0, S.MAX_ACTIONS_PER_TICK)) == S.MAX_ACTIONS_PER_TICK


def test_live_clock_is_the_wall_clock_and_ignores_replay_time():
    clock = ActorClock.for_config(load_config("sim", env={}))
    assert not clock.replay and clock.sent() is None
    before = time.time()
    assert before <= clock.at(5.0) <= time.time()           # a passed time does not move the wall clock


def test_replay_clock_starts_at_the_recordings_first_event_and_never_goes_back():
    if not SAMPLE.exists():
        pytest.skip("data/sample is missing")
    from pipelines.recording import load_recording
    rec = load_recording(SAMPLE)
    cfg = config_with(load_config("sim", env={}), {"chain": {"source": "replay", "replay_path": str(SAMPLE)}})
    clock = ActorClock.for_config(cfg)
    assert clock.replay and clock.now() == rec.t0 == clock.sent()
    assert clock.at(None) == rec.t0
    assert clock.at(rec.t0 + 2.0) == rec.t0 + 2.0
    assert clock.at(rec.t0 + 1.0) == rec.t0 + 2.0              # late callers cannot move it back
    assert clock.advance(rec.t0 + 3.5) == rec.t0 + 3.5 == clock.now()
