"""Error levels (pipelines/health_levels.py): each level, the hysteresis both ways, escalation, stickiness."""
from __future__ import annotations

from pipelines import health_levels as hl
from pipelines.health_levels import Cause, Level

P = hl.Policy(enter_after_s=2.0, recover_after_s=5.0, rpc_down_critical_s=30.0, ledger_stall_critical_s=20.0)
STALE = hl.StreamStale("stale", 40)
RPC = hl.RpcAllFailing(2, "RpcUnavailable")


def run(steps, state=None, policy=P):
    """steps: [(t, observations, unknown)] -> the assessments, in order."""
    state = state or hl.HealthState()
    out = []
    for t, obs, *unknown in steps:
        state, a = hl.step(state, t, obs, policy, unknown[0] if unknown else ())
        out.append(a)
    return state, out


def test_nothing_observed_is_ok():
    _, (a,) = run([(0.0, [])])
    assert a.level is Level.OK and a.reasons == () and not a.changed and a.summary == "ok"


def test_a_condition_degrades_only_once_it_has_lasted_enter_after_s():
    _, out = run([(0.0, [STALE]), (1.0, [STALE]), (2.0, [STALE]), (3.0, [STALE])])
    assert [a.level for a in out] == [Level.OK, Level.OK, Level.DEGRADED, Level.DEGRADED]
    entered = out[2]
    assert entered.changed and entered.previous is Level.OK and entered.entered == (Cause.STREAM_STALE,)
    assert entered.reasons == (hl.Reason(Cause.STREAM_STALE, "stream stale, 40 slots behind", 0.0),)
    assert entered.summary == "degraded: stream stale, 40 slots behind"
    assert out[3].entered == () and not out[3].changed       # still degraded: nothing new to act on


def test_a_one_poll_blip_never_degrades():
    _, out = run([(0.0, [RPC]), (1.0, []), (2.0, [RPC]), (3.0, []), (4.0, [RPC])])
    assert all(a.level is Level.OK for a in out)


def test_degraded_recovers_only_after_the_cause_is_gone_for_recover_after_s():
    _, out = run([(0.0, [RPC]), (2.0, [RPC]),            # degraded at 2
                  (3.0, []), (6.0, []),                   # gone since 3: not yet 5 s
                  (7.0, [RPC]),                           # back: the clock of its absence restarts
                  (8.0, []), (12.0, []), (13.0, [])])     # gone since 8: recovered at 13
    assert [a.level for a in out] == [Level.OK, Level.DEGRADED, Level.DEGRADED, Level.DEGRADED, Level.DEGRADED,
                                      Level.DEGRADED, Level.DEGRADED, Level.OK]
    assert out[-1].changed and out[-1].cleared == (Cause.RPC_DOWN,) and out[-1].reasons == ()


def test_two_causes_degrade_until_both_have_recovered():
    shard = hl.ShardDown("analyzer_shard_1")
    _, out = run([(0.0, [STALE, shard]), (2.0, [STALE, shard]), (3.0, [STALE]), (8.0, [STALE]), (9.0, []),
                  (13.9, []), (14.0, [])])
    assert out[1].level is Level.DEGRADED and {r.cause for r in out[1].reasons} == {Cause.STREAM_STALE,
                                                                                     Cause.SHARD_DOWN}
    assert out[3].cleared == (Cause.SHARD_DOWN,) and out[3].level is Level.DEGRADED    # shard back at 3, +5 s
    assert [r.cause for r in out[3].reasons] == [Cause.STREAM_STALE]
    assert out[5].level is Level.DEGRADED and out[6].level is Level.OK                 # stream back at 9, +5 s


def test_an_unknown_source_neither_sets_nor_clears_its_condition():
    _, out = run([(0.0, [STALE]), (2.0, [STALE]),
                  (3.0, [], {Cause.STREAM_STALE}), (20.0, [], {Cause.STREAM_STALE}),   # Ingest did not answer
                  (21.0, [])])
    assert [a.level for a in out[:4]] == [Level.OK, Level.DEGRADED, Level.DEGRADED, Level.DEGRADED]
    assert out[4].level is Level.DEGRADED      # absent from 21 on: recovers at 26, not earlier


def test_an_event_is_critical_at_once_and_sticky_for_the_run():
    boom = hl.UnhandledException("orchestrator", "_run_loop: ZeroDivisionError: division by zero")
    state, out = run([(0.0, []), (1.0, [boom]), (2.0, []), (500.0, [])])
    assert [a.level for a in out] == [Level.OK, Level.CRITICAL, Level.CRITICAL, Level.CRITICAL]
    assert out[1].changed and out[1].entered == (Cause.UNHANDLED_EXCEPTION,)
    assert out[1].summary == ("critical: unhandled exception in orchestrator: _run_loop: ZeroDivisionError: "
                              "division by zero")
    assert not out[3].changed and state.critical == (hl.Reason(Cause.UNHANDLED_EXCEPTION, boom.detail, 1.0),)


def test_critical_keeps_the_first_report_of_each_cause_and_lists_degraded_causes_after_it():
    out_a = hl.UnexplainedOutflow(250_000_000, 10_000_000)
    _, out = run([(0.0, [STALE]), (2.0, [STALE, out_a]), (3.0, [STALE, hl.UnexplainedOutflow(9, 1)])])
    assert out[1].level is Level.CRITICAL
    assert [r.cause for r in out[2].reasons] == [Cause.UNEXPLAINED_OUTFLOW, Cause.STREAM_STALE]
    assert out[2].reasons[0].detail == ("wallet is 0.250000 SOL below what the ledger explains "
                                        "(tolerance 0.010000 SOL)")
    assert out[2].entered == ()


def test_rpc_failing_past_its_limit_escalates_to_critical():
    _, out = run([(t, [RPC]) for t in (0.0, 2.0, 29.0, 30.0, 31.0)])
    assert [a.level for a in out] == [Level.OK, Level.DEGRADED, Level.DEGRADED, Level.CRITICAL, Level.CRITICAL]
    crit = out[3].reasons[0]
    assert crit.cause is Cause.RPC_DOWN_TOO_LONG and crit.detail.endswith("for 30 s")
    assert crit.detail.startswith("all 2 RPC endpoint(s) failing: RpcUnavailable")
    # the one-line reason (`launchray run`'s exit message) names the outage once, escalated
    assert out[3].summary == "critical: all 2 RPC endpoint(s) failing: RpcUnavailable for 30 s"


def test_an_interrupted_rpc_outage_does_not_escalate():
    # failing 0..25, one good answer at 26, failing again from 27: never 30 s in one stretch up to 56
    _, out = run([(0.0, [RPC]), (25.0, [RPC]), (26.0, []), (27.0, [RPC]), (56.0, [RPC]), (57.0, [RPC])])
    assert [a.level for a in out] == [Level.OK, Level.DEGRADED, Level.DEGRADED, Level.DEGRADED, Level.DEGRADED,
                                      Level.CRITICAL]


def test_a_ledger_that_stays_slow_becomes_unwritable():
    slow = hl.LedgerSlow(2500.0, 2000.0)
    _, out = run([(t, [slow]) for t in (0.0, 2.0, 19.0, 20.0)])
    assert [a.level for a in out] == [Level.OK, Level.DEGRADED, Level.DEGRADED, Level.CRITICAL]
    assert out[3].reasons[0].cause is Cause.LEDGER_UNWRITABLE


def test_a_low_balance_is_a_warning_that_never_pauses():
    low = hl.BalanceLow(50_000_000, 100_000_000)
    _, out = run([(0.0, [low]), (2.0, [low]), (3.0, []), (8.0, [])])
    assert [a.level for a in out] == [Level.OK] * 4
    assert out[1].entered == (Cause.BALANCE_LOW,) and out[3].cleared == (Cause.BALANCE_LOW,)   # for the alert
    assert out[1].reasons[0].detail == "wallet balance 0.0500 SOL below 0.1000 SOL"
    assert hl.view(out[1])["reasons"][0]["level"] == "warning"
    # beside a real cause it is listed, and the level is that cause's
    _, out = run([(0.0, [low, STALE]), (2.0, [low, STALE])])
    assert out[1].level is Level.DEGRADED and {r.cause for r in out[1].reasons} == {Cause.BALANCE_LOW,
                                                                                     Cause.STREAM_STALE}


def test_view_is_json_ready():
    _, out = run([(0.0, [STALE]), (2.0, [STALE])])
    assert hl.view(out[-1]) == {"level": "degraded", "code": 1, "reasons": [
        {"cause": "stream_stale", "level": "degraded", "detail": "stream stale, 40 slots behind", "since": 0.0}]}
