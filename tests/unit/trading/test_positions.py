"""PositionBook: cost basis, realised P&L and fees worked by hand."""
from __future__ import annotations

import json

import pytest

from pipelines.messages import ExitSignal
from pipelines.positions import PositionBook, PositionError, pnl_lamports
from tests.unit.trading.factories import buy, sell


def test_module_docstring_worked_example():
    pb = PositionBook()
    opened = pb.settle(buy("M", 1_000_000_000, 30_000_000_000, fee=12_345_679, order="b"), 10.0,
                       strategy="momentum", venue="pumpfun")
    assert opened.opened and not opened.closed
    p = opened.position
    assert (p.cost_lamports, p.tokens, p.initial_tokens, p.fees_lamports) == (
        1_000_000_000, 30_000_000_000, 30_000_000_000, 12_345_679)
    assert p.entry_price == pytest.approx(1 / 30)
    assert (p.opened_at, p.strategy, p.venue, p.entry_order_id) == (10.0, "momentum", "pumpfun", "b")

    half = pb.settle(sell("M", 987_500_000, 15_000_000_000, fee=12_500_000, order="s1"), 20.0)
    assert (half.basis_released, half.pnl_lamports, half.closed) == (500_000_000, 487_500_000, False)
    assert pb.basis("M") == 500_000_000
    assert half.position.tokens == 15_000_000_000 and half.position.realized_lamports == 987_500_000

    rest = pb.settle(sell("M", 740_625_000, 15_000_000_000, fee=9_375_000, order="s2"), 30.0, reason="take_profit_3")
    assert (rest.basis_released, rest.pnl_lamports, rest.closed) == (500_000_000, 240_625_000, True)
    p = rest.position
    assert (p.realized_lamports, pnl_lamports(p), p.fees_lamports) == (1_728_125_000, 728_125_000, 34_220_679)
    assert (p.closed_at, p.exit_reason, p.exit_order_ids, p.is_open) == (30.0, "take_profit_3", ("s1", "s2"), False)
    assert pb.open_positions() == () and pb.closed() == (p,)


def test_increase_averages_the_cost():
    pb = PositionBook()
    pb.apply_fill(buy("M", 1_000, 100, order="b1"), 0)
    p = pb.apply_fill(buy("M", 3_000, 100, order="b2"), 1)
    assert (p.tokens, p.initial_tokens, p.cost_lamports, p.entry_price) == (200, 200, 4_000, 20.0)
    ch = pb.settle(sell("M", 1_500, 50, order="s1"), 2)
    assert (ch.basis_released, ch.pnl_lamports) == (1_000, 500)          # 4000 * 50 // 200


def test_buy_after_a_partial_sell_keeps_the_remaining_basis():
    pb = PositionBook()
    pb.apply_fill(buy("M", 1_000, 100, order="b1"), 0)
    first = pb.settle(sell("M", 800, 50, order="s1"), 1)                 # releases 500 -> +300
    assert (first.basis_released, first.pnl_lamports) == (500, 300)
    p = pb.apply_fill(buy("M", 1_000, 50, order="b2"), 2)
    assert (p.tokens, p.cost_lamports, p.initial_tokens, pb.basis("M")) == (100, 2_000, 150, 1_500)
    last = pb.settle(sell("M", 1_200, 100, order="s2"), 3)               # releases all 1500 -> -300
    assert (last.basis_released, last.pnl_lamports, last.closed) == (1_500, -300, True)
    assert pnl_lamports(last.position) == 0 == first.pnl_lamports + last.pnl_lamports


def test_rounding_releases_exactly_the_cost_over_all_sells():
    pb = PositionBook()
    pb.apply_fill(buy("M", 100, 3, order="b"), 0)
    released = [pb.settle(sell("M", 10, 1, order=f"s{i}"), i).basis_released for i in range(3)]
    assert released == [33, 33, 34]                                     # 100*1//3, 67*1//2, the rest


def test_a_repeated_fill_changes_nothing():
    pb = PositionBook()
    f = buy("M", 1_000, 100, order="b")
    pb.apply_fill(f, 0)
    again = pb.settle(f, 1)
    assert again.duplicate and again.position.cost_lamports == 1_000 and again.position.tokens == 100
    s = sell("M", 2_000, 100, order="s")
    pb.apply_fill(s, 2)
    assert pb.settle(s, 3).duplicate
    assert len(pb.closed()) == 1 and pb.closed()[0].realized_lamports == 2_000


@pytest.mark.parametrize("fill", [
    sell("NOPE", 10, 1),                  # nothing held
    sell("M", 10, 101),                   # more than held
    sell("M", 10, 0),                     # no tokens
    buy("M", 10, 0),                      # bought nothing
    buy("M", -10, 5),                     # negative money
])
def test_impossible_fills_raise_a_clear_error_and_change_nothing(fill):
    pb = PositionBook()
    pb.apply_fill(buy("M", 1_000, 100, order="b"), 0)
    before = pb.snapshot()
    with pytest.raises(PositionError):
        pb.apply_fill(fill, 1)
    assert pb.snapshot() == before


def test_mark_tracks_last_and_peak_and_skips_bad_prices():
    pb = PositionBook()
    pb.apply_fill(buy("M", 1_000, 100, order="b"), 0)                  # fill price 10
    assert pb.mark("M", 15.0, 1).peak_price == 15.0
    p = pb.mark("M", 12.0, 2)
    assert (p.last_price, p.peak_price) == (12.0, 15.0)
    assert pb.mark("M", float("nan"), 3) is None and pb.mark("M", -1.0, 3) is None
    assert pb.mark("OTHER", 1.0, 3) is None
    assert pb.get("M").last_price == 12.0


def test_unrealized_net_of_the_sell_fee():
    pb = PositionBook()
    pb.apply_fill(buy("M", 1_000_000, 1_000, order="b"), 0)
    assert pb.unrealized_lamports("M", 1_500.0) == 500_000
    assert pb.unrealized_lamports("M", 1_500.0, sell_fee_bps=125) == 481_250   # 1_500_000 * 0.9875 - 1e6
    pb.apply_fill(sell("M", 600_000, 400, order="s"), 1)                      # basis left 600_000
    assert pb.unrealized_lamports("M", 500.0) == -300_000                      # 600 * 500 - 600_000
    pb.mark("M", 500.0, 2)
    assert pb.unrealized_all() == {"M": -300_000}
    assert pb.unrealized_lamports("NOPE", 1.0) == 0


def test_exit_in_flight_records_and_undoes_the_take_profit_step():
    pb = PositionBook()
    pb.apply_fill(buy("M", 1_000, 100, order="b"), 0)
    sig = ExitSignal("M", "take_profit_1", 25)
    assert pb.begin_exit(sig, tp_steps_done=1).tp_steps_done == 1
    assert pb.pending_exit("M") == sig
    pb.abort_exit("M")                                                 # the sell failed
    assert pb.pending_exit("M") is None and pb.get("M").tp_steps_done == 0
    pb.begin_exit(sig, tp_steps_done=1)
    pb.apply_fill(sell("M", 500, 25, order="s"), 1)                    # the sell landed
    assert pb.pending_exit("M") is None and pb.get("M").tp_steps_done == 1
    assert pb.begin_exit(ExitSignal("X", "stop_loss", 1)) is None


def test_snapshot_restore_round_trip():
    pb = PositionBook(max_closed=5)
    pb.apply_fill(buy("A", 1_000, 100, fee=10, order="a1"), 0, strategy="sniper")
    pb.apply_fill(buy("B", 2_000, 100, order="b1"), 0)
    pb.apply_fill(sell("B", 3_000, 100, order="b2"), 1, reason="take_profit_3")
    pb.apply_fill(sell("A", 300, 30, order="a2"), 2)
    pb.mark("A", 12.5, 3)
    pb.begin_exit(ExitSignal("A", "take_profit_1", 10), tp_steps_done=1)
    snap = json.loads(json.dumps(pb.snapshot()))
    r = PositionBook.restore(snap)
    assert r.snapshot() == pb.snapshot()
    assert r.open_positions() == pb.open_positions() and r.closed() == pb.closed()
    assert r.settle(buy("A", 1_000, 100, fee=10, order="a1"), 5).duplicate
    assert r.settle(sell("A", 700, 70, order="a3"), 6).pnl_lamports == 700 - 700


def test_closed_history_is_bounded():
    pb = PositionBook(max_closed=2)
    for i in range(3):
        pb.apply_fill(buy(f"M{i}", 10, 1, order=f"b{i}"), i)
        pb.apply_fill(sell(f"M{i}", 20, 1, order=f"s{i}"), i)
    assert [p.mint for p in pb.closed()] == ["M1", "M2"]


def test_selling_a_drained_coin_for_less_than_the_fee_closes_with_the_full_loss():
    # A rugged curve returns 1 lamport for the tokens; the 25,000-lamport transaction fee makes the
    # sell net -24,999. The position must close, booking cost + 24,999 as the loss.
    pb = PositionBook()
    pb.apply_fill(buy("M", 100_000_000, 2_000, order="b"), 0)
    change = pb.settle(sell("M", -24_999, 2_000, order="s", fee=25_000), 1, reason="rug")
    assert change.closed and change.position.tokens == 0
    assert change.position.realized_lamports == -24_999
    assert pnl_lamports(change.position) == -100_024_999
