"""ShardCore: batches in and out, eviction, caps, dedupe, snapshot/restore across a 'restart'."""
import dataclasses
import hashlib
import pickle

import pytest
import xxhash

from pipelines.analysis.shard import ShardCore, event_digest
from pipelines.chain.programs import USDC_MINT
from pipelines.config import AnalysisConfig

from .market import SOL, Curve, key, pool_created


def market(n_tokens=3, trades=4):
    curves = [Curve() for _ in range(n_tokens)]
    events = [c.launch() for c in curves]
    for i in range(trades):
        for c in curves:
            events.append(c.buy_sol(key(), (i + 1) * SOL // 10))
    return curves, events


def test_ingest_returns_one_features_per_touched_token_in_first_touch_order():
    curves, events = market(3, 4)
    shard = ShardCore(AnalysisConfig())
    out = shard.ingest(events, 100.0)
    assert [f.mint for f in out] == [c.mint for c in curves]
    assert all(f.trades == 4 and f.buys[60] == 4 for f in out)
    assert shard.stats()["tokens"] == 3
    more = shard.ingest([curves[1].buy_sol(key(), SOL)], 101.0)
    assert [f.mint for f in more] == [curves[1].mint] and more[0].trades == 5


def test_redelivered_events_are_not_counted_twice():
    _, events = market(2, 3)
    shard = ShardCore(AnalysisConfig())
    shard.ingest(events, 1.0)
    again = shard.ingest(events, 2.0)          # a Ray retry re-sends the whole batch
    assert again == []
    assert shard.counters["duplicates"] == len(events)
    assert all(st.trades == 3 for st in shard.tokens.values())


def test_bad_events_are_skipped_and_counted_not_raised():
    c = Curve()
    good = c.buy_sol(key(), SOL)
    broken = dataclasses.replace(good, signature="other", sol_amount="lots")      # a broken decoder
    huge_mint = dataclasses.replace(good, signature="huge", mint="M" * 10_000)
    shard = ShardCore(AnalysisConfig())
    out = shard.ingest([broken, huge_mint, "not an event", pool_created(USDC_MINT, 1, 1), good], 1.0)
    assert [f.mint for f in out] == [c.mint] and out[0].trades == 1
    # the broken trade is "bad"; an oversized mint, a non-event and a SOL/USDC pool are about no token
    assert shard.counters["bad"] == 1 and shard.counters["skipped"] == 3
    other = dataclasses.replace(broken, mint=key())
    shard.ingest([other], 2.0)
    assert shard.get(other.mint) is None       # a failed first event leaves no empty state behind
    with pytest.raises(ValueError):
        shard.ingest([good], float("nan"))      # the caller's clock is a programming error, not chain data


def test_idle_and_rugged_tokens_are_evicted_and_rugs_are_remembered():
    shard = ShardCore(AnalysisConfig(evict_after_idle_s=60))
    idle, rug, live = Curve(), Curve(), Curve()
    shard.ingest([idle.launch(), rug.launch(), live.launch()], 0.0)
    whale = key()
    bought = rug.buy_sol(whale, 5 * SOL)            # ~4.94 SOL into the curve after fees: the liquidity peak
    shard.ingest([bought], 10.0)
    shard.ingest([rug.sell(whale, bought.token_amount)], 12.0)   # all of it sold back: real SOL ~0
    assert rug.state.real_sol_reserves < SOL // 100
    assert shard.get(rug.mint).rugged
    shard.ingest([live.buy_sol(key(), SOL)], 50.0)
    gone = shard.evict(61.0)                    # idle: last activity 0.0, 61 s ago; rug: rugged; live: 11 s
    assert sorted(gone) == sorted([idle.mint, rug.mint])
    assert shard.get(live.mint) is not None and shard.get(idle.mint) is None
    # a later trade does not bring the rug back as a fresh clean token
    f = shard.ingest([rug.buy_sol(key(), SOL)], 70.0)[0]
    assert f.rugged and "rugged" in f.safety.reasons
    # an idle token simply starts over
    f = shard.ingest([idle.buy_sol(key(), SOL)], 70.0)[0]
    assert not f.rugged and f.trades == 1


def test_the_cap_evicts_the_least_recently_active():
    shard = ShardCore(AnalysisConfig(max_tracked_tokens=3))
    a, b, c, d = Curve(), Curve(), Curve(), Curve()
    shard.ingest([a.launch(), b.launch(), c.launch()], 0.0)
    shard.ingest([a.buy_sol(key(), SOL)], 1.0)  # a is now the most recent; b the least
    shard.ingest([d.launch()], 2.0)
    assert set(shard.tokens) == {a.mint, c.mint, d.mint}
    assert shard.counters["evicted_cap"] == 1


def test_refresh_sees_windows_decay_without_new_events():
    shard = ShardCore(AnalysisConfig())
    c = Curve()
    shard.ingest([c.launch(), c.buy_sol(key(), SOL)], 0.0)
    (f,) = shard.refresh(5.0)
    assert f.buys[10] == 1
    (f,) = shard.refresh(30.0)
    assert f.buys[10] == 0 and f.buys[60] == 1
    assert shard.refresh(30.0, active_within_s=10) == []


def test_pending_mint_reads_until_a_read_arrives():
    shard = ShardCore(AnalysisConfig())
    mint = key()
    shard.ingest([pool_created(mint, SOL, 10**15)], 0.0)
    assert shard.pending_mint_reads() == [mint]

    class Info:
        mint_authority = None
        freeze_authority = None
        supply = 10**15

    f = shard.apply_mint_info(mint, Info(), 1.0)
    assert "mint_info_unknown" not in f.safety.reasons and shard.pending_mint_reads() == []
    assert shard.apply_mint_info("unknown", Info(), 1.0) is None


def test_a_mint_read_that_found_no_account_waits_doubling_to_the_cap():
    shard = ShardCore(AnalysisConfig(max_tracked_tokens=3))
    a, b = key(), key()
    shard.ingest([pool_created(a, SOL, 10**15), pool_created(b, SOL, 10**15)], 0.0)
    assert shard.pending_mint_reads(now=10.0) == [b, a]               # most recently active first
    assert shard.mint_read_missed(a, 10.0) == 10.5                     # first miss: 0.5 s
    assert shard.pending_mint_reads(now=10.4) == [b]
    assert shard.pending_mint_reads(now=10.5) == [b, a]
    assert shard.pending_mint_reads() == [b, a]                        # without a time: every mint unread
    assert shard.mint_read_missed(a, 10.5) == 11.5                     # then 1 s, 2 s, 4 s ...
    assert shard.mint_read_missed(a, 11.5) == 13.5
    for _ in range(10):
        due = shard.mint_read_missed(a, 100.0)
    assert due == 100.0 + 30.0                                         # ... up to 30 s
    assert shard.pending_mint_reads(now=129.0) == [b]
    assert shard.mint_read_missed("not-tracked", 1.0) is None and shard.pending_mint_reads(now=129.0) == [b]

    class Info:
        mint_authority = None
        freeze_authority = None
        supply = 10**15

    shard.apply_mint_info(a, Info(), 130.0)                            # read at last: nothing waits on it
    assert shard.pending_mint_reads(now=130.0) == [b] and a not in shard._mint_retry
    shard.mint_read_missed(b, 130.0)
    for _ in range(3):                                                 # b evicted by the cap: forgotten too
        shard.ingest([pool_created(key(), SOL, 10**15)], 131.0)
    assert b not in shard.tokens and shard._mint_retry == {}


def test_snapshot_restore_round_trip_through_pickle():
    curves, events = market(4, 6)
    cfg = AnalysisConfig()
    shard = ShardCore(cfg)
    shard.ingest(events[:20], 10.0)
    shard.ingest(events[20:], 12.0)
    shard.get(curves[0].mint).apply_holders([(key(), 10**14)])
    blob = pickle.dumps(shard.snapshot())

    restored = ShardCore(cfg)                  # a restarted actor
    restored.restore(pickle.loads(blob))
    assert list(restored.tokens) == list(shard.tokens)
    # the same state, but not warm: what happened while it was down is missing (test_warmup.py)
    for mint in shard.tokens:
        assert restored.get(mint).features(20.0) == dataclasses.replace(shard.get(mint).features(20.0), warm=False)
    # both continue identically, and the restored one still drops what it already saw
    nxt = [c.sell(key(), 10**12) for c in curves]
    assert restored.ingest(nxt, 21.0) == [dataclasses.replace(f, warm=False) for f in shard.ingest(nxt, 21.0)]
    assert restored.ingest(events[:5], 22.0) == []


def test_restore_under_a_different_layout_keeps_scalars_and_drops_what_changed():
    curves, events = market(2, 5)
    old = ShardCore(AnalysisConfig(window_buckets=10, holder_slots=12, max_trades_per_token=64))
    old.ingest(events, 10.0)
    new = ShardCore(AnalysisConfig(window_buckets=8, holder_slots=6, max_trades_per_token=3))
    new.restore(old.snapshot())
    for c in curves:
        a, b = old.get(c.mint).features(10.0), new.get(c.mint).features(10.0)
        assert (b.price, b.trades, b.curve_progress, b.unique_buyers) == (a.price, a.trades, a.curve_progress,
                                                                          a.unique_buyers)
        assert b.volume_lamports == {10: 0, 60: 0, 300: 0}          # window layout changed: empty, not misread
        assert b.top5_share == pytest.approx(a.top5_share)           # the 5 largest survive a smaller table
        assert 0.0 <= b.trade_size_entropy <= 1.585                  # 3 entries left: at most log2(3) bits


def test_garbage_snapshots_raise_value_error_and_leave_the_shard_alone():
    shard = ShardCore(AnalysisConfig())
    c = Curve()
    shard.ingest([c.launch()], 0.0)
    for bad in ({}, {"version": 99}, {"version": 1, "tokens": [("x",)]}, {"version": 1, "tokens": 5},
                {"version": 1, "tokens": [("m", ("", "", "", "", ""), (), (), b"\x00", b"", b"", b"", b"")]}):
        with pytest.raises(ValueError):
            shard.restore(bad)
    assert list(shard.tokens) == [c.mint]


def test_stats_report_memory_per_token():
    _, events = market(5, 10)
    shard = ShardCore(AnalysisConfig())
    shard.ingest(events, 1.0)
    s = shard.stats()
    assert s["tokens"] == 5 and 1000 < s["bytes_per_token"] <= 2048
    assert s["bytes_estimate"] == 5 * s["bytes_per_token"] and s["events"] == len(events)


def test_a_trade_with_an_unreadable_side_teaches_nothing():
    c = Curve()
    odd = dataclasses.replace(c.buy_sol(key(), SOL), side="swap")
    shard = ShardCore(AnalysisConfig())
    assert shard.ingest([odd], 1.0) == [] and shard.get(c.mint) is None


def test_apply_then_features_of_is_ingest():
    curves, events = market(5, 8)
    a, b = ShardCore(AnalysisConfig()), ShardCore(AnalysisConfig())
    for i in range(0, len(events), 7):
        batch, now = events[i:i + 7], 10.0 + i
        touched = b.apply(batch, now)
        assert touched == list(dict.fromkeys(e.mint for e in batch))        # once each, first touch first
        assert b.features_of(touched, now) == a.ingest(batch, now)
    assert a.counters == b.counters
    # a host that applies several batches and reads once gets what the last batch's ingest would show
    more = [c.buy_sol(key(), SOL) for c in curves] + [curves[0].sell(key(), 10**12)]
    touched = b.apply(more[:3], 50.0) + b.apply(more[3:], 50.0)
    assert b.features_of(dict.fromkeys(touched), 50.0) == a.ingest(more, 50.0)


def test_features_of_skips_mints_no_longer_tracked():
    curves, events = market(2, 2)
    shard = ShardCore(AnalysisConfig())
    touched = shard.apply(events, 1.0)
    shard.tokens.pop(curves[0].mint)                   # evicted between the apply and the read
    assert [f.mint for f in shard.features_of(touched + ["never seen"], 1.0)] == [curves[1].mint]


def test_scorable_is_what_momentum_scoring_does_not_refuse():
    # A fresh pump.fun launch is safe (trusted launchpad); one whose creator sold everything it bought is not
    # (dev_dump); a completed curve is not; an untracked mint is not.
    good, dumped, done = Curve(), Curve(), Curve()
    shard = ShardCore(AnalysisConfig())
    events = [good.launch(), dumped.launch(), done.launch(), good.buy_sol(key(), SOL),
              dumped.buy_tokens(dumped.creator, 10**12), dumped.sell(dumped.creator, 10**12), done.complete()]
    for f in shard.ingest(events, 5.0):
        refused = not f.safety.safe or f.complete or f.migrated or f.rugged
        assert shard.scorable(f.mint) == (not refused)
    assert [shard.scorable(c.mint) for c in (good, dumped, done)] == [True, False, False]
    assert shard.scorable("unknown") is False


def test_snapshot_records_leave_derived_values_out_and_restore_rebuilds_them():
    # Records carry the scalars, window buckets and holder balances (not the running sums or the Bloom
    # count), i.e. the same bytes as before those were kept; a restored shard reads the same at any time.
    curves, events = market(3, 9)
    shard = ShardCore(AnalysisConfig())
    shard.ingest(events, 100.0)
    p = shard.params
    for rec in shard.snapshot()["tokens"]:
        assert len(rec[4]) == 8 * (p.holders.offset + p.holders.slots) == 8 * p.n_record_ints
        assert len(rec[6]) == 2 * p.windows.n_cnt
    restored = ShardCore(AnalysisConfig())
    restored.restore(pickle.loads(pickle.dumps(shard.snapshot())))
    for c in curves:
        a = p.addresses                    # each state's own buffers' addresses end its ints: those differ
        assert restored.get(c.mint).ints[:a] == shard.get(c.mint).ints[:a]  # sums and Bloom count rebuilt exactly
        for t in (100.0, 103.0, 140.0, 500.0):     # all but `warm` (a restored state has a gap)
            assert restored.get(c.mint).features(t) == dataclasses.replace(shard.get(c.mint).features(t), warm=False)


def test_dedupe_digests_are_xxh3_64_of_the_event_key():
    # Snapshots persist these digests: a restarted shard must compute the same ones to drop a re-delivery.
    c = Curve()
    t = c.buy_sol(key(), SOL)
    shard = ShardCore(AnalysisConfig())
    shard.ingest([t], 1.0)
    raw = f"{t.signature}|trade|{t.seq}".encode()
    assert shard.snapshot()["seen"] == [xxhash.xxh3_64_intdigest(raw)] == [event_digest(t.signature, "trade", t.seq)]
    # the published XXH3-64 test vector (empty input, seed 0), so the digest cannot drift with a library change
    assert xxhash.xxh3_64_intdigest(b"") == 0x2D06800538D394C2
    restarted = ShardCore(AnalysisConfig())
    restarted.restore(pickle.loads(pickle.dumps(shard.snapshot())))
    assert restarted.apply([t], 2.0) == [] and restarted.counters["duplicates"] == 1


def test_a_version_1_snapshot_restores_its_tokens_but_not_its_blake2b_digests():
    c = Curve()
    t = c.buy_sol(key(), SOL)
    shard = ShardCore(AnalysisConfig())
    shard.ingest([c.launch(), t], 1.0)
    snap = shard.snapshot()
    old = dict(snap, version=1, seen=[int.from_bytes(hashlib.blake2b(f"{t.signature}|trade|{t.seq}".encode(),
                                                                     digest_size=8).digest(), "little")])
    restored = ShardCore(AnalysisConfig())
    restored.restore(old)
    assert list(restored.tokens) == [c.mint] and restored.stats()["dedupe_keys"] == 0
    assert restored.get(c.mint).features(5.0) == dataclasses.replace(shard.get(c.mint).features(5.0), warm=False)


def test_refresh_reads_only_the_wanted_tokens():
    curves, events = market(4, 3)
    shard = ShardCore(AnalysisConfig())
    shard.ingest(events, 10.0)
    keep = {curves[1].mint, curves[3].mint}
    assert {f.mint for f in shard.refresh(20.0, wanted=keep.__contains__)} == keep
    assert shard.refresh(20.0, wanted=keep.__contains__) == [f for f in shard.refresh(20.0) if f.mint in keep]


def test_states_read_later_give_what_ingest_and_refresh_give_now():
    # apply_states + features_for is ingest with the read deferred: a state no event touched since reads the
    # same at the same `now`, so a host may pick which ones to read (the backtester reads the wanted ones).
    curves, events = market(3, 4)
    a, b = ShardCore(AnalysisConfig()), ShardCore(AnalysisConfig())
    assert a.ingest(events, 100.0) == b.features_for(b.apply_states(events, 100.0), 100.0)
    assert a.refresh(103.0) == b.features_for(b.refresh_states(103.0), 103.0)
    states = b.refresh_states(104.0)
    assert list(states) == [c.mint for c in reversed(curves)]     # most recently active first, as refresh
    late = b.apply_states([curves[0].buy_sol(key(), SOL)], 104.0)  # one token moves on after the refresh
    states.update(late)
    read = b.features_for(states, 104.0, wanted=lambda mint, st: mint != curves[1].mint)
    assert [f.mint for f in read] == [curves[2].mint, curves[0].mint]
    assert read[0] == a.refresh(104.0)[0]                          # untouched: as if read at the refresh
    assert read[1].trades == 5                                     # touched: its newest state


def test_take_stalest_hands_out_the_longest_waiting_first_and_keeps_the_rest_in_order():
    dirty = dict.fromkeys(["a", "b", "c", "d"])
    dirty.update(dict.fromkeys(["a", "e"]))           # 'a' traded again: it keeps its place, 'e' joins last
    assert ShardCore.take_stalest(dirty, 3) == ["a", "b", "c"]
    assert list(dirty) == ["d", "e"]
    dirty.update(dict.fromkeys(["a"]))
    assert ShardCore.take_stalest(dirty, 3) == ["d", "e", "a"] and dirty == {}
    assert ShardCore.take_stalest(dirty, 3) == []


def test_take_stalest_hands_out_held_mints_first_beyond_the_limit():
    dirty = dict.fromkeys(["a", "b", "c", "d", "h"])
    # 'h' is held, 'x' is held but untouched: 'h' first and on top of the limit, then the two longest waiting
    assert ShardCore.take_stalest(dirty, 2, first=("x", "h")) == ["h", "a", "b"]
    assert list(dirty) == ["c", "d"]
    assert ShardCore.take_stalest(dirty, 5, first=("c",)) == ["c", "d"] and dirty == {}
