"""Every entry limit of RiskBook at its exact boundary, with numbers worked by hand.

Defaults: capital 10 SOL, max position 1 SOL, 10 open positions, concentration 30% (3 SOL),
heat 80% (8 SOL), leverage 3x, cooldown 300 s, reservation TTL 300 s.
"""
from __future__ import annotations

import pytest

from pipelines.messages import RiskState
from pipelines.risk import RiskBook, reasons as R
from tests.unit.trading.factories import SOL, T0, buy, opp, risk_cfg, sell


def book(capital: int | None = None, **kw) -> RiskBook:
    return RiskBook(risk_cfg(**kw), T0, capital_lamports=capital)


def test_starting_capital_comes_from_config():
    b = book()
    assert b.capital == 10 * SOL
    assert b.available == 10 * SOL
    assert b.state is RiskState.ACTIVE


def test_reservation_counts_as_exposure_immediately():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL // 2), T0)
    assert d.approved and d.reason == R.OK
    assert d.reservation.lamports == SOL // 2
    assert d.reservation.expires_at == T0 + 300
    assert b.reservations.total == SOL // 2
    assert b.available == 10 * SOL - SOL // 2


def test_max_position_size_is_clamped_by_default_and_said_so():
    b = book()
    exact = b.approve_and_reserve(opp("A", SOL), T0)
    assert exact.approved and exact.reason == R.OK and exact.reservation.lamports == SOL
    over = b.approve_and_reserve(opp("B", SOL + 1), T0)
    assert over.approved and over.reason == R.CLAMPED
    assert over.reservation.lamports == SOL


def test_max_position_size_refuses_when_clamping_is_off():
    b = book(clamp_to_max_position=False)
    assert b.approve_and_reserve(opp("A", SOL), T0).approved
    d = b.approve_and_reserve(opp("B", SOL + 1), T0)
    assert (d.approved, d.reason, d.reservation) == (False, R.MAX_POSITION_SIZE, None)


def test_max_open_positions_counts_positions_and_reservations():
    # 0.5 SOL each: ten of them are 5 SOL, well inside heat (8 SOL), so only the count binds.
    b = book()
    for i in range(6):
        d = b.approve_and_reserve(opp(f"M{i}", SOL // 2), T0)
        assert b.on_fill(d.reservation.id, buy(f"M{i}", SOL // 2, 1000))
    for i in range(6, 10):
        assert b.approve_and_reserve(opp(f"M{i}", SOL // 2), T0).approved     # 6 open + 4 reserved = 10
    d = b.approve_and_reserve(opp("M10", SOL // 2), T0)
    assert (d.approved, d.reason) == (False, R.MAX_OPEN_POSITIONS)
    assert b.release(next(r.id for r in b.reservations if r.mint == "M9")) is not None
    assert b.approve_and_reserve(opp("M10", SOL // 2), T0).approved        # one slot freed


def test_concentration_is_30_percent_of_equity_inclusive():
    # capital 2 SOL: 30% = 600_000_000 lamports, below the 1 SOL max position; heat allows 1.6 SOL.
    b = book(capital=2 * SOL)
    d = b.approve_and_reserve(opp("A", 600_000_001), T0)
    assert (d.approved, d.reason) == (False, R.CONCENTRATION)
    assert b.approve_and_reserve(opp("A", 600_000_000), T0).approved


def test_concentration_uses_equity_after_open_losses_but_not_paper_gains():
    b = book(capital=2 * SOL)
    d = b.approve_and_reserve(opp("A", 500_000_000), T0)
    b.on_fill(d.reservation.id, buy("A", 500_000_000, 1000))
    b.mark_to_market({"A": -100_000_000})            # risk equity 1.9 SOL -> 30% = 570_000_000
    assert b.approve_and_reserve(opp("B", 570_000_001), T0).reason == R.CONCENTRATION
    assert b.approve_and_reserve(opp("B", 570_000_000), T0).approved
    b.mark_to_market({"A": 5 * SOL})                 # a paper gain does not raise the limit above 2 SOL * 30%
    assert b.approve_and_reserve(opp("C", 600_000_001), T0).reason == R.CONCENTRATION


def test_portfolio_heat_is_80_percent_inclusive():
    b = book()
    for i in range(8):                               # 8 x 1 SOL = exactly 80% of 10 SOL
        assert b.approve_and_reserve(opp(f"M{i}", SOL), T0).approved
    d = b.approve_and_reserve(opp("M8", 1), T0)      # one lamport over
    assert (d.approved, d.reason) == (False, R.PORTFOLIO_HEAT)


def test_portfolio_heat_counts_deployed_at_real_cost():
    b = book(max_position_sol=2.0)
    d = b.approve_and_reserve(opp("A", 2 * SOL), T0)
    b.on_fill(d.reservation.id, buy("A", 1_900_000_000, 1000))        # filled cheaper than reserved
    for i in range(3):
        assert b.approve_and_reserve(opp(f"B{i}", 2 * SOL), T0).approved  # 1.9 + 6 = 7.9 SOL
    assert b.approve_and_reserve(opp("C", 100_000_001), T0).reason == R.PORTFOLIO_HEAT
    assert b.approve_and_reserve(opp("C", 100_000_000), T0).approved   # exactly 8 SOL


def test_leverage_cap_binds_when_set_below_heat():
    b = book(leverage_cap=0.5)                       # 5 SOL of gross exposure on 10 SOL equity
    for i in range(5):
        assert b.approve_and_reserve(opp(f"M{i}", SOL), T0).approved
    assert b.approve_and_reserve(opp("M5", 1), T0).reason == R.LEVERAGE


def test_insufficient_capital_without_equity():
    assert book(capital=0).approve_and_reserve(opp("A", 1), T0).reason == R.INSUFFICIENT_CAPITAL


def test_full_heat_spends_exactly_the_cash_left_even_after_a_costly_fill():
    # heat 100%: a fill took 0.5 SOL more than its reservation; what is left is 4 - 1.5 = 2.5 SOL.
    b = book(capital=4 * SOL, max_portfolio_heat=1.0, max_concentration=1.0, max_position_sol=2.0)
    d = b.approve_and_reserve(opp("A", SOL), T0)
    b.on_fill(d.reservation.id, buy("A", 3 * SOL // 2, 1000))
    assert b.approve_and_reserve(opp("B", 2 * SOL), T0).approved
    assert b.available == SOL // 2
    assert b.approve_and_reserve(opp("C", SOL // 2 + 1), T0).reason == R.PORTFOLIO_HEAT
    assert b.approve_and_reserve(opp("C", SOL // 2), T0).approved
    assert b.available == 0


def test_duplicate_mint_reserved_or_held():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL, oid="o1"), T0)
    assert b.approve_and_reserve(opp("A", SOL, oid="o2"), T0).reason == R.DUPLICATE
    b.on_fill(d.reservation.id, buy("A", SOL, 1000))
    assert b.approve_and_reserve(opp("A", SOL, oid="o3"), T0).reason == R.DUPLICATE


def test_retried_approval_returns_the_same_reservation():
    b = book()
    first = b.approve_and_reserve(opp("A", SOL, oid="o1"), T0)
    again = b.approve_and_reserve(opp("A", SOL, oid="o1"), T0 + 1)
    assert again.approved and again.reservation == first.reservation
    assert b.reservations.total == SOL and len(b.reservations) == 1
    b.release(first.reservation.id)
    # once its reservation has left, the same opportunity never reserves again
    assert b.approve_and_reserve(opp("A", SOL, oid="o1"), T0 + 2).reason == R.DUPLICATE
    assert b.reservations.total == 0


def test_blacklist_from_config_and_runtime_patch():
    b = book(blacklist=("BAD",))
    assert b.approve_and_reserve(opp("BAD", SOL), T0).reason == R.BLACKLISTED
    assert b.approve_and_reserve(opp("LATER", SOL, oid="x1"), T0).approved
    b.release(next(iter(b.reservations)).id)
    b.update_config(risk_cfg(blacklist=("BAD", "LATER")))
    assert b.approve_and_reserve(opp("LATER", SOL, oid="x2"), T0).reason == R.BLACKLISTED


def test_runtime_patch_of_limits_applies_to_the_next_decision():
    b = book()
    assert b.approve_and_reserve(opp("A", SOL), T0).approved
    b.update_config(risk_cfg(max_open_positions=1))
    assert b.approve_and_reserve(opp("B", SOL), T0).reason == R.MAX_OPEN_POSITIONS
    b.update_config(risk_cfg(max_open_positions=2, max_position_sol=0.5))
    d = b.approve_and_reserve(opp("B", SOL), T0)
    assert d.reason == R.CLAMPED and d.reservation.lamports == SOL // 2


def test_token_cooldown_after_exit_boundary():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL, oid="o1"), T0)
    b.on_fill(d.reservation.id, buy("A", SOL, 1000))
    assert b.on_position_closed("A", 10, T0 + 100)
    t = T0 + 100 + 300                                      # cooldown ends exactly here
    assert b.approve_and_reserve(opp("A", SOL, t - 0.001, oid="o2"), t - 0.001).reason == R.COOLDOWN
    assert b.approve_and_reserve(opp("A", SOL, t, oid="o3"), t).approved


def test_expired_and_invalid_opportunities():
    b = book()
    o = opp("A", SOL, ttl=30)
    assert b.approve_and_reserve(o, T0 + 30).reason == R.EXPIRED   # the deadline itself is too late
    assert b.approve_and_reserve(opp("B", 0), T0).reason == R.INVALID
    assert b.approve_and_reserve(opp("C", -5), T0).reason == R.INVALID


def test_on_fill_converts_reservation_and_is_idempotent():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    f = buy("A", 980_000_000, 1000, order="ord-1")
    assert b.on_fill(d.reservation.id, f)
    assert (b.reservations.total, b.deployed_total, b.available) == (0, 980_000_000, 10 * SOL - 980_000_000)
    assert not b.on_fill(d.reservation.id, f)             # retried call
    assert (b.deployed_total, b.available) == (980_000_000, 10 * SOL - 980_000_000)


def test_on_fill_after_the_reservation_expired_still_deploys_the_money():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    assert b.expire(T0 + 300) == [d.reservation]
    assert b.on_fill(d.reservation.id, buy("A", SOL, 1000, ts=T0 + 301))
    assert b.deployed == {"A": SOL} and b.reservations.total == 0


def test_on_fill_rejects_sells_and_mismatched_mints():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    with pytest.raises(ValueError):
        b.on_fill(d.reservation.id, sell("A", SOL, 1000))
    with pytest.raises(ValueError):
        b.on_fill(d.reservation.id, buy("B", SOL, 1000))
    assert b.reservations.total == SOL                    # nothing changed


def test_partial_exit_frees_basis_and_books_pnl_once():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    b.on_fill(d.reservation.id, buy("A", SOL, 1000))
    part = sell("A", 900_000_000, 250, order="s1")         # a quarter of the basis is 250_000_000
    assert b.on_partial_exit(part, 250_000_000, T0)
    assert not b.on_partial_exit(part, 250_000_000, T0)    # retried
    assert b.deployed["A"] == 750_000_000
    assert b.realized == 650_000_000 and b.daily_pnl == 650_000_000
    assert b.cash == 10 * SOL - SOL + 900_000_000
    # the whole position made +400_000_000: the +650_000_000 already booked is not booked again
    assert b.on_position_closed("A", 400_000_000, T0)
    assert b.realized == 400_000_000 and b.deployed_total == 0
    assert b.cash == 10 * SOL + 400_000_000
    assert not b.on_position_closed("A", 400_000_000, T0)  # retried
    assert b.breakers.wins == 1


def test_mark_to_market_ignores_mints_not_held_and_drops_marks_on_close():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    b.on_fill(d.reservation.id, buy("A", SOL, 1000))
    b.mark_to_market({"A": -200_000_000, "GONE": -5 * SOL})
    assert b.unrealized_total == -200_000_000 and b.risk_equity == 9_800_000_000
    b.on_position_closed("A", -200_000_000, T0)
    assert b.unrealized_total == 0 and b.risk_equity == 9_800_000_000   # the loss is counted once


def test_status_reports_the_books_numbers():
    b = book()
    d = b.approve_and_reserve(opp("A", SOL), T0)
    b.on_fill(d.reservation.id, buy("A", SOL, 1000))
    b.approve_and_reserve(opp("B", SOL // 2), T0)
    b.mark_to_market({"A": 300_000_000})
    s = b.status()
    assert s["state"] == "active" and s["breakers"] == []
    assert (s["deployed"], s["reserved"], s["cash"], s["available"]) == (SOL, SOL // 2, 9 * SOL, 8_500_000_000)
    assert (s["equity"], s["book_equity"], s["risk_equity"]) == (10_300_000_000, 10 * SOL, 10 * SOL)
    assert (s["open_positions"], s["reservations"]) == (1, 1)
    assert s["drawdown"] == 0.0


def test_sell_fill_side_is_checked_for_partial_exit():
    b = book()
    with pytest.raises(ValueError):
        b.on_partial_exit(buy("A", SOL, 1000), 0, T0)
