"""actors.metrics.Tally: what the actors' hot paths record through (a dict add per event, a metric call per
series per flush) and the per-batch helpers each actor calls."""
from __future__ import annotations

from dataclasses import replace

import pytest

from actors.metrics import (HISTOGRAM_BOUNDARIES, Tally, count_decision, count_events, count_fills, count_orders,
                            _Instrument, flush_tallies, metrics, snapshot)
from pipelines.chain.events import Launch, Trade
from pipelines.messages import Fill, Order, OrderState, Side


@pytest.fixture(autouse=True)
def _fresh_registry():
    flush_tallies()                 # whatever an earlier test left pending must not land inside this one
    metrics().registry.clear()
    yield
    flush_tallies()
    metrics().registry.clear()


def _values() -> dict:
    return {(s.name, s.labels): (s.value, s.count, s.buckets) for s in snapshot()}


def _launch(sig: str, venue: str = "pumpfun") -> Launch:
    return Launch(venue=venue, signature=sig, slot=1, mint="M" + sig, bonding_curve="B", creator="C", name="n",
                  symbol="S", uri="u", token_program="T", quote_mint="Q")


def _trade(sig: str, venue: str) -> Trade:
    return Trade(venue=venue, signature=sig, slot=1, mint="M", side="buy", sol_amount=1, token_amount=1, user="U",
                 quote_mint="Q", quote_amount=1)


def test_counts_are_summed_and_recorded_once_per_series_per_flush(monkeypatch):
    calls = []
    real = _Instrument.inc

    def inc(self, value=1.0, tags=None):
        calls.append((self.name, value, tags))
        real(self, value, tags)
    monkeypatch.setattr(_Instrument, "inc", inc)
    t = Tally(background=False)                           # flushed by this test only, never by the thread
    for _ in range(500):
        t.count("rejections", 1, reason="duplicate")
    for _ in range(3):
        t.count("rejections", 1, reason="cooldown")
    t.count("rejections", 0, reason="nothing")            # zero adds nothing (Ray refuses inc(0))
    assert calls == []                                    # nothing recorded until the flush
    assert t.flush() == 2
    assert sorted(calls, key=lambda c: c[1]) == [("launchray_rejections", 3, {"reason": "cooldown"}),
                                                 ("launchray_rejections", 500, {"reason": "duplicate"})]
    assert t.flush() == 0                                 # flushed counts are not recorded twice
    v = _values()
    assert v[("launchray_rejections", (("reason", "duplicate"),))][0] == 500
    assert v[("launchray_rejections", (("reason", "cooldown"),))][0] == 3


def test_observations_land_in_the_histogram_buckets():
    t = Tally(background=False)
    for ms in (0.5, 10.0, 10.0, 11.0, 2000.0):            # boundaries 1, 2, 5, 10, 12, 15, 20, 50, 100, 250, 1000
        t.observe("loop_period_ms", ms)
    t.flush()
    total, count, buckets = _values()[("launchray_loop_period_ms", ())]
    bounds = HISTOGRAM_BOUNDARIES["launchray_loop_period_ms"]
    assert (total, count) == (2031.5, 5)
    assert buckets[bounds.index(1.0)] == 1                # 0.5
    assert buckets[bounds.index(10.0)] == 2               # 10.0 is "le 10"
    assert buckets[bounds.index(12.0)] == 1               # 11.0
    assert buckets[-1] == 1                               # 2000 > 1000: +Inf


def test_snapshot_records_what_is_pending_first():
    t = Tally()
    t.count("approvals", 2, strategy="sniper")
    assert _values()[("launchray_approvals", (("strategy", "sniper"),))][0] == 2   # snapshot() flushed it


def test_events_are_counted_by_kind_and_venue_per_batch():
    batch = [_launch("a"), _launch("b"), _trade("c", "pumpfun"), _trade("d", "pumpswap"), _trade("e", "pumpfun")]
    count_events(batch)
    count_events([])
    v = _values()
    assert v[("launchray_events_in", (("kind", "launch"), ("venue", "pumpfun")))][0] == 2
    assert v[("launchray_events_in", (("kind", "trade"), ("venue", "pumpfun")))][0] == 2
    assert v[("launchray_events_in", (("kind", "trade"), ("venue", "pumpswap")))][0] == 1


def test_decisions_orders_and_fills():
    count_decision("sniper", True, "ok", 0.3)
    count_decision("momentum", True, "clamped_max_position_size", 0.7)
    count_decision("sniper", False, "duplicate", 0.2)
    order = Order(id="o1", mint="M", side=Side.BUY, venue="pumpfun", amount=1_000, limit=1, mode="paper")
    count_orders([order, replace(order, state=OrderState.SUBMITTED), replace(order, state=OrderState.CONFIRMED)])
    fill = Fill(order_id="o1", mint="M", side=Side.BUY, lamports=1_000, tokens=5, fee_lamports=10, price=200.0,
                slot=3, ts=2.0)
    count_fills([fill], "paper")
    v = _values()
    assert v[("launchray_approvals", (("strategy", "sniper"),))][0] == 1
    assert v[("launchray_approvals", (("strategy", "momentum"),))][0] == 1      # clamped is still approved
    assert v[("launchray_rejections", (("reason", "duplicate"),))][0] == 1
    assert v[("launchray_risk_reserve_ms", ())][:2] == (pytest.approx(1.2), 3)
    for state in ("intent", "submitted", "confirmed"):
        assert v[("launchray_orders", (("state", state), ("side", "buy"), ("mode", "paper")))][0] == 1
    assert v[("launchray_fills", (("side", "buy"), ("mode", "paper")))][0] == 1
