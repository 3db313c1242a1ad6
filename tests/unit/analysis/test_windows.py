"""Rolling windows: bucket expiry at the documented boundaries, exact sums, clamping and saturation.

Layout used: windows 10/60/300 s with 10 buckets -> bucket widths 1 s, 6 s, 30 s. A record at t is in bucket
floor(t / w) and leaves the window at (floor(t / w) + 10) * w.
"""
import random

import pytest

from pipelines.analysis.windows import RollingWindows, WindowLayout


def by_span(totals):
    return {w.span: w for w in totals}


def test_a_buy_leaves_each_window_at_its_bucket_boundary():
    w = RollingWindows((10, 60, 300), buckets=10)
    w.add(100.5, buy_lamports=1_000, buys=1, new_buyers=1)
    # 10 s window, 1 s buckets: bucket 100 -> gone at (100 + 10) * 1 = 110
    assert by_span(w.totals(109.999))[10].buy_lamports == 1_000
    assert by_span(w.totals(110.0))[10].buy_lamports == 0
    # 60 s window, 6 s buckets: bucket floor(100.5 / 6) = 16 -> gone at 26 * 6 = 156
    assert by_span(w.totals(155.9))[60].buys == 1
    assert by_span(w.totals(156.0))[60].buys == 0
    # 300 s window, 30 s buckets: bucket 3 -> gone at 13 * 30 = 390
    t = by_span(w.totals(389.0))[300]
    assert (t.buy_lamports, t.buys, t.new_buyers) == (1_000, 1, 1)
    assert by_span(w.totals(390.0))[300] == (300, 0, 0, 0, 0, 0)


def test_a_record_on_a_boundary_lives_the_full_window():
    w = RollingWindows((10,), buckets=10)
    w.add(120.0, sell_lamports=7, sells=1)
    assert w.totals(129.999)[0].sell_lamports == 7
    assert w.totals(130.0)[0].sell_lamports == 0


def test_partial_expiry_keeps_the_newer_trades_and_sums_exactly():
    w = RollingWindows((10, 60), buckets=10)
    w.add(100.0, buy_lamports=1_000_000_001, buys=1, new_buyers=1)
    w.add(105.0, sell_lamports=2_000_000_000, sells=1)
    w.add(109.5, buy_lamports=4_000_000_003, buys=1)
    ten = by_span(w.totals(110.0))[10]            # live buckets 101..110: the t=100 buy is out
    assert (ten.buy_lamports, ten.sell_lamports, ten.buys, ten.sells, ten.new_buyers) == (
        4_000_000_003, 2_000_000_000, 1, 1, 0)
    assert ten.volume == 6_000_000_003 and ten.net_flow == 2_000_000_003
    assert by_span(w.totals(115.0))[10] == (10, 4_000_000_003, 0, 1, 0, 0)   # live 106..115
    sixty = by_span(w.totals(110.0))[60]
    assert (sixty.buy_lamports, sixty.sell_lamports, sixty.buys, sixty.sells) == (
        5_000_000_004, 2_000_000_000, 2, 1)


def test_new_records_clear_the_buckets_they_pass_and_a_long_gap_clears_the_ring():
    w = RollingWindows((10,), buckets=10)
    w.add(100.2, buy_lamports=5, buys=1)
    w.add(103.7, buy_lamports=6, buys=1)      # buckets 101..103 zeroed on the way, 100 kept
    assert w.totals(103.7)[0].buy_lamports == 11
    w.add(112.0, buy_lamports=7, buys=1)      # buckets 104..112: 110 reuses slot 0 (bucket 100) -> cleared
    assert w.totals(112.0)[0].buy_lamports == 7 + 6
    w.add(500.0, buy_lamports=1, buys=1)      # gap >= 10 buckets: everything old is gone
    assert w.totals(500.0)[0] == (10, 1, 0, 1, 0, 0)


def test_an_earlier_time_is_recorded_at_the_newest_time():
    w = RollingWindows((10,), buckets=10)
    w.add(100.0, buy_lamports=1, buys=1)
    w.add(90.0, buy_lamports=2, buys=1)       # the caller's clock stepped back: counted at 100
    assert w.totals(109.9)[0].buy_lamports == 3
    assert w.totals(110.0)[0].buy_lamports == 0
    assert w.totals(50.0)[0].buy_lamports == 3     # reading "before" the newest record reads at the record


def test_counts_saturate_instead_of_wrapping():
    w = RollingWindows((10,), buckets=10)
    for _ in range(65_540):
        w.add(100.0, buys=1)
    assert w.totals(100.0)[0].buys == 65_535


def test_volume_saturates_at_int64():
    w = RollingWindows((10,), buckets=10)
    w.add(1.0, buy_lamports=(1 << 62))
    w.add(1.0, buy_lamports=(1 << 62))
    w.add(1.0, buy_lamports=(1 << 62))
    assert w.totals(1.0)[0].buy_lamports == (1 << 63) - 1


def test_empty_windows_read_zero():
    w = RollingWindows((10, 60, 300), buckets=8)
    assert [t.volume for t in w.totals(1e9)] == [0, 0, 0]


def test_layout_validation():
    with pytest.raises(ValueError):
        WindowLayout.of((), 10)
    with pytest.raises(ValueError):
        WindowLayout.of((0, 10), 10)
    assert WindowLayout.of((300, 10, 60), 8).spans == (10, 60, 300)


def _bucket_sums(layout, vol, cnt):
    """Every (window, metric) ring summed from its buckets: what the running sums must equal."""
    b, out = layout.buckets, []
    for _, v0, c0, _, _ in layout.geometry:
        out.append((sum(vol[v0:v0 + b]), sum(vol[v0 + b:v0 + 2 * b]), sum(cnt[c0:c0 + b]),
                    sum(cnt[c0 + b:c0 + 2 * b]), sum(cnt[c0 + 2 * b:c0 + 3 * b])))
    return out


def test_running_sums_equal_the_bucket_sums_through_expiry_and_saturation():
    # Hostile volumes saturate buckets (their sums are then recomputed from the buckets), a burst puts more
    # than 65,535 trades in one bucket, times repeat, jump back and skip whole windows.
    rng = random.Random(3)
    w = RollingWindows((10, 60, 300), buckets=8)
    lay = w.layout
    caps = ((1 << 63) - 1, (1 << 63) - 1, 0xFFFF, 0xFFFF, 0xFFFF)
    t, capped = 1_000.0, 0
    steps = [rng.choice((0.0, 0.0, 0.0, 0.01, 0.9, 3.0, -2.0)) for _ in range(30_000)] + [0.0] * 70_000 + \
        [rng.choice((0.0, 0.5, 2.0, 40.0, 700.0)) for _ in range(3_000)]
    for i, step in enumerate(steps):
        t += step
        amount = (1 << 62) if rng.random() < 0.002 else rng.randrange(0, 10**10)
        sell = i % 3 == 0
        w.add(t, buy_lamports=0 if sell else amount, sell_lamports=amount if sell else 0,
              buys=int(not sell), sells=int(sell), new_buyers=int(i % 7 == 0))
        if i % 499 == 0:
            true = _bucket_sums(lay, w.vol, w.cnt)
            assert [tuple(x)[1:] for x in w.totals(t)] == true          # read at the newest record
            for row, (_, _, _, sv, sc) in zip(true, lay.geometry):      # stored: exact, or capped = recompute
                stored = (w.vol[sv], w.vol[sv + 1], w.cnt[sc], w.cnt[sc + 1], w.cnt[sc + 2])
                for x, real, cap in zip(stored, row, caps):
                    assert x == real or (x == cap and real >= cap)
                    capped += x == cap
    assert capped > 10            # the saturated paths ran


def test_add_trade_is_add_for_one_trade():
    rng = random.Random(5)
    a, b = RollingWindows((10, 60, 300), buckets=8), RollingWindows((10, 60, 300), buckets=8)
    t = 50.0
    for i in range(20_000):
        t += rng.choice((0.0, 0.2, 1.0, 4.0, -1.0, 90.0))
        sell, new = rng.random() < 0.4, rng.random() < 0.3
        lamports = rng.choice((0, 1, rng.randrange(10**9), 1 << 62))
        a.add(t, buy_lamports=0 if sell else lamports, sell_lamports=lamports if sell else 0,
              buys=int(not sell), sells=int(sell), new_buyers=int(new and not sell))
        b.last = b.layout.add_trade(b.vol, b.cnt, b.last, t, sell, lamports, new and not sell)
        assert b.last == a.last
    assert a.vol == b.vol and a.cnt == b.cnt


def test_rebuild_sums_restores_what_add_kept():
    w = RollingWindows((10, 60), buckets=4)
    for i in range(50):
        w.add(100.0 + i * 0.7, buy_lamports=i * 1000, sells=i % 2, new_buyers=1)
    kept_vol, kept_cnt = w.vol.tolist(), w.cnt.tolist()
    n_vol, n_cnt = w.layout.n_vol, w.layout.n_cnt
    for i in range(n_vol, len(w.vol)):
        w.vol[i] = 0
    for i in range(n_cnt, len(w.cnt)):
        w.cnt[i] = 0
    assert w.vol.tolist() != kept_vol
    w.layout.rebuild_sums(w.vol, w.cnt)
    assert w.vol.tolist() == kept_vol and w.cnt.tolist() == kept_cnt
