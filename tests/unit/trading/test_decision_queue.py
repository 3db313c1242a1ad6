"""DecisionQueue: exits and cancels first, TTL, dedupe, the concurrency cap, and the priority formula by hand."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pipelines.config import OrchestratorConfig, ScoringConfig
from pipelines.decision_queue import CANCEL, ENTRY, EXIT, DecisionQueue
from pipelines.messages import ExitSignal
from pipelines.strategy_weights import StrategyWeights
from tests.unit.trading.factories import SOL, opp

T = 1_000.0


def queue(max_exec: int = 10, weights=None, available: int | None = 10 * SOL) -> DecisionQueue:
    q = DecisionQueue(OrchestratorConfig(max_concurrent_executions=max_exec), ScoringConfig(), weights)
    q.set_available_capital(available)
    return q


def kinds(actions):
    return [(a.kind, a.mint) for a in actions]


def test_priority_formula_worked_by_hand():
    # weights 0.4 / 0.3 / 0.2 / 0.1, available 10 SOL, every strategy's bonus 0.5 before any trade
    w = StrategyWeights(ScoringConfig(), T)
    q = queue(weights=w)
    a = opp("A", SOL, T, profit=0.5, risk=0.2)                  # 0.20 - 0.06 - 0.02 + 0.05 = 0.170
    b = opp("B", SOL // 2, T, profit=0.3, risk=0.05, strategy="sniper")  # 0.12 - 0.015 - 0.01 + 0.05 = 0.145
    c = opp("C", 2 * SOL, T, profit=0.9, risk=0.9)               # 0.36 - 0.27 - 0.04 + 0.05 = 0.100
    assert q.priority(a) == pytest.approx(0.170)
    assert q.priority(b) == pytest.approx(0.145)
    assert q.priority(c) == pytest.approx(0.100)
    for o in (c, b, a):
        q.push_opportunity(o, T)
    out = q.pop_ready(T, 0)
    assert kinds(out) == [(ENTRY, "A"), (ENTRY, "B"), (ENTRY, "C")]
    assert [x.priority for x in out] == pytest.approx([0.170, 0.145, 0.100])


def test_strategy_bonus_changes_the_order_after_adaptation():
    w = StrategyWeights(ScoringConfig(), T)
    for _ in range(10):
        w.record("sniper", +1)
    w.adapt(T + 300)                                              # sniper: (10 + 2) / (10 + 4) = 0.857
    q = queue(weights=w)
    a = opp("A", SOL, T + 300, profit=0.5, risk=0.2)              # momentum still 0.5: 0.170
    b = opp("B", SOL // 2, T + 300, profit=0.3, risk=0.05, strategy="sniper")
    assert q.priority(b) == pytest.approx(0.12 - 0.015 - 0.01 + 0.1 * 12 / 14)   # 0.1807
    q.push_opportunity(a, T + 300)
    q.push_opportunity(b, T + 300)
    assert kinds(q.pop_ready(T + 300, 0)) == [(ENTRY, "B"), (ENTRY, "A")]


def test_capital_cost_with_no_capital_left_sinks_the_entry_but_keeps_it_valid():
    q = queue(available=0)
    assert q.priority(opp("A", SOL, T)) == float("-inf")
    q.set_available_capital(None)                                 # unknown: the term is left out
    assert q.priority(opp("A", SOL, T, profit=0.5, risk=0.2)) == pytest.approx(0.2 - 0.06)


def test_exits_and_cancels_always_go_first():
    q = queue()
    q.push_opportunity(opp("E1", SOL, T, profit=0.9, risk=0.0), T)
    q.push_exit(ExitSignal("X1", "take_profit_1", 10))
    q.push_exit(ExitSignal("X2", "rug", 10, urgent=True))
    q.push_cancel("C1", order_id="ord-1", reason="kill")
    out = q.pop_ready(T, 0)
    assert kinds(out) == [(CANCEL, "C1"), (EXIT, "X2"), (EXIT, "X1"), (ENTRY, "E1")]
    assert out[0].order_id == "ord-1" and out[1].exit.urgent and out[2].reason == "take_profit_1"


def test_exits_are_not_capped_by_the_execution_slots():
    q = queue(max_exec=10)
    for i in range(12):
        q.push_exit(ExitSignal(f"X{i}", "stop_loss", 1))
    q.push_opportunity(opp("E", SOL, T), T)
    out = q.pop_ready(T, in_flight=10)
    assert [a.kind for a in out] == [EXIT] * 12
    assert kinds(q.pop_ready(T, in_flight=9)) == [(ENTRY, "E")]


def test_entries_capped_by_free_slots_in_priority_order():
    q = queue(max_exec=10)
    for i in range(6):
        q.push_opportunity(opp(f"E{i}", SOL, T, profit=0.1 * i), T)
    assert kinds(q.pop_ready(T, in_flight=7)) == [(ENTRY, "E5"), (ENTRY, "E4"), (ENTRY, "E3")]
    assert q.pop_ready(T, in_flight=10) == []
    assert q.pop_ready(T, in_flight=12) == []                    # more in flight than slots: none
    assert len(q.pop_ready(T, in_flight=0)) == 3


def test_limit_bounds_one_call_but_keeps_the_order():
    q = queue()
    q.push_cancel("C")
    q.push_exit(ExitSignal("X", "stop_loss", 1))
    q.push_opportunity(opp("E", SOL, T), T)
    assert kinds(q.pop_ready(T, 0, limit=2)) == [(CANCEL, "C"), (EXIT, "X")]
    assert kinds(q.pop_ready(T, 0, limit=2)) == [(ENTRY, "E")]


def test_opportunities_expire_after_30_seconds():
    q = queue()
    q.push_opportunity(opp("A", SOL, T, ttl=100), T)             # the 30 s TTL is shorter than its own deadline
    q.push_opportunity(opp("B", SOL, T, ttl=10), T)              # its own deadline is shorter
    assert q.pop_ready(T + 30, 0) == []
    assert q.dropped["expired"] == 2
    q.push_opportunity(opp("C", SOL, T, ttl=100), T)
    assert kinds(q.pop_ready(T + 29.999, 0)) == [(ENTRY, "C")]
    assert not q.push_opportunity(opp("D", SOL, T), T + 30)      # already dead when pushed


def test_duplicates_keep_the_better_one_and_in_flight_mints_are_refused():
    q = queue()
    assert q.push_opportunity(opp("A", SOL, T, oid="low", profit=0.1), T)
    assert q.push_opportunity(opp("A", SOL, T, oid="high", profit=0.5), T)
    assert not q.push_opportunity(opp("A", SOL, T, oid="mid", profit=0.3), T)
    out = q.pop_ready(T, 0)
    assert [a.opportunity.id for a in out] == ["high"]
    assert not q.push_opportunity(opp("A", SOL, T, oid="again"), T)   # in flight
    q.finish("A")
    assert q.push_opportunity(opp("A", SOL, T, oid="again"), T)
    assert q.dropped["duplicate"] == 3


def test_an_expired_queued_entry_does_not_block_a_fresh_one():
    q = queue()
    q.push_opportunity(opp("A", SOL, T, oid="old", profit=0.9), T)
    assert q.push_opportunity(opp("A", SOL, T + 31, oid="new", profit=0.1), T + 31)
    assert [a.opportunity.id for a in q.pop_ready(T + 31, 0)] == ["new"]


def test_one_exit_per_mint_keeps_the_stronger():
    q = queue()
    assert q.push_exit(ExitSignal("M", "take_profit_1", 25))
    assert q.push_exit(ExitSignal("M", "stop_loss", 75))           # sells more
    assert not q.push_exit(ExitSignal("M", "take_profit_1", 25))
    assert q.push_exit(ExitSignal("M", "rug", 75, urgent=True))
    out = q.pop_ready(T, 0)
    assert [a.exit.reason for a in out] == ["rug"]
    assert q.push_exit(ExitSignal("M", "stop_loss", 75))          # handed out: a new one may queue


def test_cancel_drops_the_queued_entry_of_its_mint():
    q = queue()
    q.push_opportunity(opp("A", SOL, T), T)
    q.push_cancel("A", reason="rug")
    assert kinds(q.pop_ready(T, 0)) == [(CANCEL, "A")]


def test_invalid_opportunities_are_dropped():
    q = queue()
    assert not q.push_opportunity(opp("A", 0, T), T)
    assert not q.push_opportunity(opp("B", SOL, T, profit=float("nan")), T)
    assert not q.push_opportunity(opp("", SOL, T), T)
    assert q.dropped["invalid"] == 3 and len(q) == 0


def test_purge_and_heap_compaction_keep_only_live_entries():
    q = queue()
    for i in range(500):                                          # the same mint replaced many times
        q.push_opportunity(opp("A", SOL, T, oid=f"o{i}", profit=i / 1000), T)
    assert len(q._entry_heap) <= 2 * len(q) + 65
    for i in range(50):
        q.push_opportunity(opp(f"M{i}", SOL, T), T)
    assert q.purge(T + 30) == 51 and len(q) == 0 and q._entry_heap == []


OPS = st.one_of(
    st.tuples(st.just("entry"), st.integers(0, 15), st.floats(-1, 1), st.floats(0, 1), st.floats(0, 40)),
    st.tuples(st.just("exit"), st.integers(0, 15), st.booleans(), st.integers(1, 100)),
    st.tuples(st.just("cancel"), st.integers(0, 15)),
    st.tuples(st.just("finish"), st.integers(0, 15)),
    st.tuples(st.just("pop"), st.integers(0, 12), st.floats(0, 5)),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(OPS, max_size=120))
def test_any_sequence_keeps_the_queue_contract(ops):
    q = queue(max_exec=4)
    now = T
    for op, *args in ops:
        if op == "entry":
            m, profit, risk, age = args
            q.push_opportunity(opp(f"M{m}", SOL, now - age, oid=f"o{now}-{m}", profit=profit, risk=risk), now)
        elif op == "exit":
            m, urgent, tokens = args
            q.push_exit(ExitSignal(f"M{m}", "rug" if urgent else "stop_loss", tokens, urgent=urgent))
        elif op == "cancel":
            q.push_cancel(f"M{args[0]}")
        elif op == "finish":
            q.finish(f"M{args[0]}")
        else:
            in_flight, dt = args
            now += dt
            before = set(q.in_flight)
            out = q.pop_ready(now, in_flight)
            order = {CANCEL: 0, EXIT: 1, ENTRY: 2}
            assert [order[a.kind] for a in out] == sorted(order[a.kind] for a in out)
            exits = [a for a in out if a.kind == EXIT]
            assert [not a.exit.urgent for a in exits] == sorted(not a.exit.urgent for a in exits)
            entries = [a for a in out if a.kind == ENTRY]
            assert len(entries) <= max(0, 4 - in_flight)
            assert [a.priority for a in entries] == sorted((a.priority for a in entries), reverse=True)
            mints = [a.mint for a in entries]
            assert len(mints) == len(set(mints)) and not set(mints) & before
            for a in entries:                                      # nothing expired is handed out
                assert now < min(a.opportunity.expires_at, a.opportunity.created_at + 30)
            assert len({a.mint for a in exits}) == len(exits)
