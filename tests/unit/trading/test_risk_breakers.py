"""Breakers trip at their exact limits and reset as configured; reservations expire once; snapshots restore."""
from __future__ import annotations

import json

from pipelines.messages import RiskState
from pipelines.risk import RiskBook, reasons as R
from tests.unit.trading.factories import DAY, SOL, T0, buy, opp, risk_cfg, sell

NEXT_MIDNIGHT = (T0 // DAY + 1) * DAY


def book(capital: int | None = None, **kw) -> RiskBook:
    return RiskBook(risk_cfg(**kw), T0, capital_lamports=capital)


def held(b: RiskBook, mint: str, lamports: int = SOL, now: float = T0) -> None:
    d = b.approve_and_reserve(opp(mint, lamports, now, oid=f"{mint}-{now}"), now)
    assert d.approved, d.reason
    assert b.on_fill(d.reservation.id, buy(mint, lamports, 1000, order=f"buy-{mint}-{now}", ts=now))


def close(b: RiskBook, mint: str, pnl: int, now: float = T0) -> None:
    held(b, mint, now=now)
    assert b.on_position_closed(mint, pnl, now)


# ---- daily loss limit: 10% of the day's starting equity (10 SOL -> 1 SOL), REDUCING until next UTC day -----
def test_daily_loss_limit_trips_at_exactly_10_percent():
    b = book()
    close(b, "A", -999_999_999)
    assert b.state is RiskState.ACTIVE
    close(b, "B", -1)                                   # the day's loss is now exactly 1 SOL
    assert b.state is RiskState.REDUCING
    assert b.status()["breakers"] == [R.DAILY_LOSS_LIMIT]
    assert b.approve_and_reserve(opp("C", SOL), T0).reason == R.DAILY_LOSS_LIMIT


def test_daily_loss_limit_resets_at_the_next_utc_day():
    b = book(drawdown_halt=0.5)                          # 1.9 SOL lost over two days is a 19% drawdown
    close(b, "A", -SOL)
    t = NEXT_MIDNIGHT - 0.001
    assert b.approve_and_reserve(opp("C", SOL, t), t).reason == R.DAILY_LOSS_LIMIT
    d = b.approve_and_reserve(opp("C", SOL, NEXT_MIDNIGHT), NEXT_MIDNIGHT)
    assert d.approved and b.state is RiskState.ACTIVE
    s = b.status()
    assert (s["daily_pnl"], s["day_start_equity"]) == (0, 9 * SOL)   # the new day's base is 9 SOL
    b.release(d.reservation.id)
    close(b, "D", -899_999_999, NEXT_MIDNIGHT)
    assert b.state is RiskState.ACTIVE
    close(b, "E", -1, NEXT_MIDNIGHT)                     # 10% of 9 SOL = 0.9 SOL
    assert b.state is RiskState.REDUCING


def test_daily_loss_counts_partial_exits_and_gains_offset_losses():
    b = book()
    close(b, "W", 300_000_000)
    close(b, "L", -1_299_999_999)                        # net -999_999_999
    assert b.state is RiskState.ACTIVE
    held(b, "P")
    b.on_partial_exit(sell("P", 0, 10, order="p1"), 1, T0)   # sold 10 tokens for nothing: -1 lamport
    assert b.state is RiskState.REDUCING


# ---- drawdown halt: 15% below peak (book) equity -> HALTED until reset_halt() ---------------------------------
def test_drawdown_halt_trips_at_exactly_15_percent_and_needs_reset():
    b = book(daily_loss_limit=0.5)                       # keep the daily limit out of the way
    close(b, "A", -1_499_999_999)
    assert b.state is RiskState.ACTIVE
    close(b, "B", -1)
    assert b.state is RiskState.HALTED
    assert b.approve_and_reserve(opp("C", SOL), T0).reason == R.DRAWDOWN_HALT
    nxt = NEXT_MIDNIGHT + 10 * DAY
    assert b.approve_and_reserve(opp("C", SOL, nxt), nxt).reason == R.DRAWDOWN_HALT   # time does not heal it
    b.reset_halt()
    assert b.state is RiskState.ACTIVE and b.peak == 8_500_000_000
    assert b.approve_and_reserve(opp("C", SOL, nxt, oid="c2"), nxt).approved


def test_peak_follows_realised_gains_only():
    b = book(daily_loss_limit=0.9)
    close(b, "W", 2 * SOL)                               # peak 12 SOL
    assert b.peak == 12 * SOL
    held(b, "OPEN")
    b.mark_to_market({"OPEN": 5 * SOL})                  # a paper gain does not move the peak
    assert b.peak == 12 * SOL
    b.mark_to_market({"OPEN": 0})
    close(b, "L", -1_799_999_999)                        # 10.2 SOL + 1 lamport: 14.99..% below 12 SOL
    assert b.state is RiskState.ACTIVE
    close(b, "L2", -1)                                   # exactly 15% of 12 SOL = 1.8 SOL
    assert b.state is RiskState.HALTED


def test_open_losses_can_trip_the_drawdown_halt():
    b = book()
    held(b, "A")
    b.mark_to_market({"A": -1_499_999_999})
    assert b.state is RiskState.ACTIVE
    b.mark_to_market({"A": -1_500_000_000})
    assert b.state is RiskState.HALTED and b.status()["breakers"] == [R.DRAWDOWN_HALT]


# ---- consecutive losses: 5 in a row -> no entries for 900 s, or until a win ----------------------------------
def test_consecutive_loss_pause_trips_at_5_and_lapses_after_its_duration():
    b = book()
    for i in range(4):
        close(b, f"L{i}", -1, T0 + i)
    assert b.state is RiskState.ACTIVE
    close(b, "L4", -1, T0 + 10)
    assert b.state is RiskState.REDUCING
    end = T0 + 10 + 900
    assert b.approve_and_reserve(opp("N", SOL, end - 0.001), end - 0.001).reason == R.CONSECUTIVE_LOSSES
    assert b.approve_and_reserve(opp("N", SOL, end), end).approved
    assert b.status()["consecutive_losses"] == 0        # the streak restarts after the pause
    close(b, "L5", -1, end)
    assert b.state is RiskState.ACTIVE


def test_a_win_ends_the_streak_and_the_pause_break_even_does_not():
    b = book()
    for i in range(3):
        close(b, f"L{i}", -1)
    close(b, "W", 1)
    assert b.status()["consecutive_losses"] == 0
    for i in range(4):
        close(b, f"M{i}", -1)
    close(b, "EVEN", 0)                                  # neither win nor loss
    assert b.status()["consecutive_losses"] == 4
    held(b, "LATE")                                      # opened before the pause
    close(b, "M4", -1)
    assert b.state is RiskState.REDUCING
    b.on_position_closed("LATE", 5, T0 + 1)              # a win during the pause lifts it
    assert b.state is RiskState.ACTIVE


# ---- operator switches ---------------------------------------------------------------------------------------
def test_kill_switch_halts_flattens_and_is_persisted():
    b = book()
    held(b, "B")
    held(b, "A")
    assert b.kill(flatten=True) == ("A", "B")
    assert b.state is RiskState.HALTED
    assert b.approve_and_reserve(opp("C", SOL), T0).reason == R.KILLED
    restored = RiskBook.restore(b.snapshot(), risk_cfg(), T0 + 5)
    assert restored.approve_and_reserve(opp("C", SOL), T0 + 5).reason == R.KILLED
    assert restored.status()["flatten_requested"]
    restored.reset_halt()
    assert restored.approve_and_reserve(opp("C", SOL, T0 + 5), T0 + 5).approved


def test_kill_without_flatten_returns_no_mints():
    b = book()
    held(b, "A")
    assert b.kill() == ()
    assert b.status()["flatten_requested"] is False


def test_pause_resume_and_halt():
    b = book()
    b.pause()
    assert b.state is RiskState.REDUCING
    assert b.approve_and_reserve(opp("A", SOL), T0).reason == R.PAUSED
    b.resume()
    assert b.approve_and_reserve(opp("A", SOL), T0).approved
    b.halt()
    assert b.state is RiskState.HALTED
    assert b.approve_and_reserve(opp("B", SOL), T0).reason == R.HALTED
    b.resume()                                           # resume lifts the pause, never a halt
    assert b.state is RiskState.HALTED
    b.reset_halt()
    assert b.state is RiskState.ACTIVE


def test_refusal_names_the_most_severe_breaker():
    b = book()
    close(b, "L", -SOL)                                  # daily loss limit
    b.pause()
    assert b.approve_and_reserve(opp("X", SOL), T0).reason == R.PAUSED
    b.kill()
    assert b.status()["breakers"] == [R.KILLED, R.PAUSED, R.DAILY_LOSS_LIMIT]
    assert b.approve_and_reserve(opp("X", SOL), T0).reason == R.KILLED


def test_exits_are_still_accounted_while_halted():
    b = book()
    held(b, "A")
    b.kill(flatten=True)
    assert b.on_position_closed("A", -100, T0 + 1)
    assert b.deployed_total == 0 and b.realized == -100


# ---- reservations ---------------------------------------------------------------------------------------------
def test_reservation_expires_at_its_ttl_and_is_released_exactly_once():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    assert b.expire(T0 + 299.999) == []
    assert b.expire(T0 + 300) == [d.reservation]
    assert b.expire(T0 + 301) == []
    assert b.release(d.reservation.id) is None            # already gone: no-op
    assert b.available == 10 * SOL


def test_expired_reservation_stops_counting_even_before_expire_is_called():
    b = book(max_open_positions=1)
    d = b.approve_and_reserve(opp("A", SOL), T0)
    later = T0 + 300
    assert b.approve_and_reserve(opp("B", SOL, later), later).approved   # A's slot is free
    assert b.expire(later) == [d.reservation]                           # and A is still reported once
    assert b.expire(later) == []


def test_release_is_idempotent_and_restores_capital():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    assert b.release(d.reservation.id) == d.reservation
    assert b.release(d.reservation.id) is None
    assert (b.reservations.total, b.available) == (0, 10 * SOL)
    assert b.approve_and_reserve(opp("A", SOL, oid="again"), T0).approved   # the mint is free again


def test_reservation_ttl_follows_runtime_config():
    b = book()
    b.update_config(risk_cfg(reservation_ttl_s=5))
    d = b.approve_and_reserve(opp("A", SOL), T0)
    assert d.reservation.expires_at == T0 + 5
    assert b.expire(T0 + 5) == [d.reservation]


def test_time_never_runs_backwards():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL, T0 + 100), T0 + 100)
    late = b.approve_and_reserve(opp("B", SOL, T0, ttl=1000), T0)   # an older caller's clock
    assert late.reservation.created_at == T0 + 100
    assert d.reservation.created_at == T0 + 100


# ---- persistence ----------------------------------------------------------------------------------------------
def _busy_book() -> RiskBook:
    b = book(daily_loss_limit=0.5)
    close(b, "W", 300_000_000)
    for i in range(3):
        close(b, f"L{i}", -50_000_000, T0 + i)
    held(b, "OPEN")
    b.on_partial_exit(sell("OPEN", 400_000_000, 250, order="part"), 250_000_000, T0 + 5)
    b.mark_to_market({"OPEN": -20_000_000})
    b.approve_and_reserve(opp("RES", SOL // 2, T0 + 6), T0 + 6)
    b.pause()
    return b


def test_restore_of_snapshot_equals_the_original():
    b = _busy_book()
    snap = json.loads(json.dumps(b.snapshot()))          # what the ledger stores
    r = RiskBook.restore(snap, risk_cfg(daily_loss_limit=0.5), T0 + 6)
    assert r.snapshot() == b.snapshot()
    assert r.status() == b.status()
    # and they keep deciding alike
    for bk in (b, r):
        bk.resume()
    t = T0 + 7
    decisions = [(bk.approve_and_reserve(opp("X", SOL, t), t), bk.approve_and_reserve(opp("RES", SOL, t), t))
                 for bk in (b, r)]
    assert decisions[0] == decisions[1]
    assert b.on_position_closed("OPEN", 100, t) == r.on_position_closed("OPEN", 100, t)
    assert b.snapshot() == r.snapshot()


def test_restore_catches_up_with_time_passed_while_down():
    b = _busy_book()
    res = next(iter(b.reservations))
    later = NEXT_MIDNIGHT + 1
    r = RiskBook.restore(b.snapshot(), risk_cfg(daily_loss_limit=0.5), later)
    assert r.expire(later) == [res]                       # expired while down: handed out once
    assert r.expire(later) == []
    s = r.status()
    assert s["daily_pnl"] == 0 and s["day_start_equity"] == b.book_equity
    assert s["breakers"] == [R.PAUSED]


def test_fees_of_failed_transactions_count_toward_the_daily_loss_once():
    b = book()
    close(b, "A", -999_975_000)                         # 1 SOL - 25,000 lamports lost on a position
    assert b.state is RiskState.ACTIVE
    assert b.on_cost("order-x", 25_000, T0)             # a buy that landed and failed on slippage
    assert not b.on_cost("order-x", 25_000, T0)         # the same call retried after a restart
    assert b.status()["daily_pnl"] == -SOL and b.state is RiskState.REDUCING
    assert b.status()["consecutive_losses"] == 1        # a fee is not a closed trade
