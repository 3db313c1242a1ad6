"""The compiled trade path (trade_kernel.py via trade_batch.py) against the Python path, state for state.

The same event streams go through a ShardCore with the kernel and one without (AnalysisConfig.compiled_trades
= False, every event through TokenState.apply). After every batch the two must hold the same tokens with the
same bytes in every buffer (derived sums and the Bloom count included), report the same touched mints in the
same order, and count the same events, duplicates and bad ones. The streams are built to reach every branch
of TokenState._trade: ring wrap-around of the size ring, window expiry (small and whole-ring gaps, time going
backwards), a full holder table with churn, creator buys and sells, trades without reserves, missed
migrations, rugs, saturating and non-int amounts, and events the kernel must hand to Python.
"""
from __future__ import annotations

import dataclasses
import random

import pytest

from pipelines.analysis import trade_batch
from pipelines.analysis.shard import ShardCore, _trade_values as values
from pipelines.chain.events import Trade
from pipelines.config import AnalysisConfig

from .market import SOL, Curve, key, sig, trade

pytestmark = pytest.mark.skipif(trade_batch._load_module() is None, reason="numba not installed")


COLUMNAR: dict[int, ShardCore] = {}      # id(compiled shard) -> its twin fed the same trades as columns


def pair(**cfg) -> tuple[ShardCore, ShardCore]:
    """A compiled shard and a Python one; `feed` also gives every batch to a third, compiled shard as columns
    when the batch is trades alone (what an AnalyzerShard gets from Ingest), else as objects."""
    compiled = ShardCore(AnalysisConfig(**cfg))
    python = ShardCore(AnalysisConfig(compiled_trades=False, **cfg))
    COLUMNAR[id(compiled)] = ShardCore(AnalysisConfig(**cfg))
    assert compiled.kernel is not None and python.kernel is None
    return compiled, python


def state_bytes(st) -> tuple:
    a = st.p.addresses                                # where each state keeps its own buffers' addresses
    return (st.creator, st.venue, st.pool, st.token_program, st.ints[:a].tobytes(), st.ints[a + 4:].tobytes(),
            st.reals.tobytes(), st.cnt.tobytes(), st.owners.tobytes(), bytes(st.buf))


def assert_same(a: ShardCore, b: ShardCore) -> None:
    assert list(a.tokens) == list(b.tokens)
    for mint, st in a.tokens.items():
        assert state_bytes(st) == state_bytes(b.tokens[mint]), mint
    assert a.counters == b.counters


def feed(a: ShardCore, b: ShardCore, batch: list, now: float) -> None:
    ta, tb = a.apply(batch, now), b.apply(batch, now)
    assert ta == tb
    assert_same(a, b)
    c = COLUMNAR.get(id(a))
    if c is not None:
        trades = bool(batch) and all(type(ev) is Trade for ev in batch)
        tc = c.apply_columns(tuple(zip(*map(values, batch))), now) if trades else c.apply(batch, now)
        assert tc == ta
        assert_same(c, a)


def random_stream(rng: random.Random, n_tokens: int, n_events: int) -> list:
    users = [key() for _ in range(40)]                # more wallets than holder slots: the table churns
    curves = [Curve(creator=rng.choice(users)) for _ in range(n_tokens)]
    out: list = []
    for c in curves:
        if rng.random() < 0.7:                        # some tokens are first seen through a trade
            out.append(c.launch())
    for _ in range(n_events):
        c = rng.choice(curves)
        r = rng.random()
        user = rng.choice(users)
        if r < 0.55:
            lamports = rng.choice([rng.randint(1, 5 * SOL // 100), rng.randint(SOL // 10, 3 * SOL)])
            ev = c.buy_sol(user, lamports)
        elif r < 0.85:
            ev = c.sell(user, rng.randint(1, 10**12))
        elif r < 0.90:                                # no reserves: price from the trade itself, or nothing
            ev = trade(c.mint, rng.choice(["buy", "sell"]), user, rng.randint(0, SOL), rng.choice([0, 10**9]),
                       creator=c.creator)
        elif r < 0.93:                                # creator's own trade, or an empty wallet
            ev = dataclasses.replace(c.buy_sol(rng.choice([c.creator, ""]), SOL // 3), signature=sig())
        elif r < 0.95:                                # a pool trade for a curve token: missed migration
            ev = trade(c.mint, "buy", user, SOL, 10**12, vsol=80 * SOL, vtok=2 * 10**14, venue="pumpswap")
        elif r < 0.97:                                # amounts the kernel must leave to Python
            big = rng.choice([1 << 53, (1 << 62) + 5, 2**64, -3, 1.5, "x"])
            ev = trade(c.mint, "buy", user, big, 10**9, vsol=30 * SOL, vtok=10**15, creator=c.creator)
        elif r < 0.98:
            ev = trade(c.mint, "swap", user, SOL, 10**9, creator=c.creator)   # a side nobody can read
        else:                                         # liquidity pulled: a rug after a peak past the floor
            ev = trade(c.mint, "sell", user, 30 * SOL, 10**14, vsol=31 * SOL, vtok=10**15, rsol=SOL // 10,
                       rtok=10**14, creator=c.creator)
        out.append(ev)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_random_streams_leave_identical_states(seed):
    rng = random.Random(seed)
    a, b = pair(max_trades_per_token=16 if seed % 2 else 64)
    events = random_stream(rng, n_tokens=5, n_events=1500)
    now, i = 1_700_000_000.0 + rng.random(), 0
    while i < len(events):
        size = rng.choice([1, 7, 50, 300])
        feed(a, b, events[i:i + size], now)
        i += size
        # time moves within a bucket, across buckets, across whole rings, or back (a late batch)
        now += rng.choice([0.0, 0.3, 1.1, 6.0, 40.0, 400.0, -2.0])
    # the streams did reach the kernel, and Python for the rest
    assert a.counters["events"] == len(events) and a.counters["bad"] > 0


def test_kernel_takes_plain_trades_and_python_takes_the_rest():
    a, b = pair()
    c = Curve()
    first = c.buy_sol(key(), SOL)                    # first event of a token: Python creates the state
    feed(a, b, [first], 10.0)
    plain = c.buy_sol(key(), SOL)
    assert a.kernel.row(values(plain), a.tokens[c.mint])
    a.kernel.run(10.0)                                # applied alone: same as Python's apply
    b.apply([plain], 10.0)
    a.counters["events"] += 1                         # (this one bypassed ShardCore's counting)
    assert_same(a, b)
    st = a.tokens[c.mint]
    for ev in [dataclasses.replace(plain, side="swap"), dataclasses.replace(plain, sol_amount=1 << 53),
               dataclasses.replace(plain, sol_amount=True), dataclasses.replace(plain, venue="pumpswap"),
               dataclasses.replace(plain, slot=-1)]:
        assert not a.kernel.row(values(ev), st), ev
    assert a.kernel.pending == 0


def test_events_of_one_token_apply_in_order_across_the_two_paths():
    # a launch (Python) between trades (kernel) of the same token: the launch sets the creator, so the creator's
    # sell after it counts as a dev sale, and the trades before it leave the reserves to the later trades
    a, b = pair()
    c = Curve()
    dev = c.creator
    events = [trade(c.mint, "buy", key(), SOL, 10**12, vsol=31 * SOL, vtok=10**15)]
    events += [c.buy_sol(key(), SOL // 2) for _ in range(3)]
    events += [c.launch(), c.buy_sol(dev, SOL), c.sell(dev, 10**11)]
    events += [c.buy_sol(key(), SOL // 4) for _ in range(3)]
    feed(a, b, events, 50.0)
    st = a.tokens[c.mint]
    assert st.creator == dev and st.dev_sold > 0


def test_a_state_evicted_by_the_cap_mid_batch_still_gets_its_queued_trades():
    a, b = pair(max_tracked_tokens=2)
    c1, c2, c3 = Curve(), Curve(), Curve()
    feed(a, b, [c1.launch(), c2.launch()], 1.0)
    batch = [c1.buy_sol(key(), SOL), c2.buy_sol(key(), SOL), c3.launch(), c3.buy_sol(key(), SOL)]
    ta, tb = a.apply_states(batch, 2.0), b.apply_states(batch, 2.0)
    assert list(ta) == list(tb) == [c1.mint, c2.mint, c3.mint]
    assert c1.mint not in a.tokens                     # evicted by c3's launch, after its trade applied
    assert state_bytes(ta[c1.mint]) == state_bytes(tb[c1.mint]) and ta[c1.mint].trades == 1


def test_snapshot_of_a_compiled_state_restores_into_a_python_shard():
    a, b = pair()
    rng = random.Random(11)
    events = random_stream(rng, n_tokens=3, n_events=400)
    feed(a, b, events, 1000.0)
    restored = ShardCore(AnalysisConfig(compiled_trades=False))
    restored.restore(a.snapshot())
    more = random_stream(random.Random(12), n_tokens=2, n_events=100)
    feed(a, restored, more, 1010.0)



def test_saturated_window_sums_are_recomputed_as_buckets_expire():
    # three 2^62-lamport buys (clamped by the Python path) push the 10 s window's sum past int64: it is stored
    # at its maximum ("unknown") until buckets expire, when both paths recompute it from the buckets
    a, b = pair()
    c = Curve()
    feed(a, b, [c.launch(), c.buy_sol(key(), SOL)], 100.0)
    huge = [trade(c.mint, "buy", key(), (1 << 62) + 5, 10**9, vsol=30 * SOL, vtok=10**15, creator=c.creator)
            for _ in range(3)]
    for k, ev in enumerate(huge):
        feed(a, b, [ev], 100.0 + 1.3 * k)            # one bucket each (1.25 s buckets)
    st = a.tokens[c.mint]
    assert st.ints[a.params.windows.vol_sums] == (1 << 63) - 1
    # buckets 80-82 hold them; at 110.1 s (bucket 88) the first leaves the 8-bucket ring, then one per bucket
    sums = []
    for t in (110.1, 111.4, 112.7):                   # compiled trades: they expire the buckets
        feed(a, b, [c.buy_sol(key(), SOL // 10)], t)
        sums.append(st.ints[a.params.windows.vol_sums])
    assert sums[0] == (1 << 63) - 1                   # two left: still past int64
    assert (1 << 62) < sums[1] < (1 << 62) + 3 * SOL  # one left: exact again, recomputed from the buckets
    assert sums[2] < 3 * SOL


@pytest.mark.parametrize("liq_offset, rugged", [(0, True), (1, False)])
def test_rug_threshold_is_exact_where_the_products_pass_int64(liq_offset, rugged):
    # peak liquidity 9.3e14 lamports (peak * 2,000 bps passes 2^63 in int64) and not a multiple of 10,000:
    # liquidity at exactly 20% of the peak is a rug, one lamport more is not
    a, b = pair()
    c = Curve()
    peak = 930_000_000_012_345
    feed(a, b, [c.launch(), trade(c.mint, "buy", key(), SOL, 10**12, vsol=40 * SOL, vtok=10**15, rsol=peak,
                                  rtok=10**14, creator=c.creator)], 10.0)
    limit = peak * 2_000 // 10_000                  # largest liq with liq * 10_000 <= peak * 2_000
    feed(a, b, [trade(c.mint, "sell", key(), SOL, 10**9, vsol=40 * SOL, vtok=10**15, rsol=limit + liq_offset,
                      rtok=10**14, creator=c.creator)], 11.0)
    assert a.tokens[c.mint].rugged is rugged


@pytest.mark.parametrize("seed", range(4))
def test_trades_applied_from_their_wire_columns_equal_trades_applied_as_objects(seed, monkeypatch):
    # what an AnalyzerShard gets from Ingest: an EventBatch of trades, unpickled as columns and applied from
    # them (ShardCore.apply_columns), against the Python shard applying the objects. The trades keep every
    # kind the kernel must leave to Python (first trades, other venues, no reserves, sides nobody can read,
    # ints out of the exact range) but hold ints where ints belong, so the batch takes the columnar path.
    import pickle

    from pipelines.analysis.trade_batch import TradeColumns
    from pipelines.wire import EventBatch
    from pipelines.analysis import shard as shard_module
    rng = random.Random(100 + seed)
    a, b = pair(max_trades_per_token=16 if seed % 2 else 64)
    c = COLUMNAR[id(a)]
    by_kernel = []
    real_run = shard_module.run_columns
    monkeypatch.setattr(shard_module, "run_columns", lambda k, cols, rows, *rest: by_kernel.append(len(rows))
                        or real_run(k, cols, rows, *rest))
    by_rows = []                                       # what the compiled shard's row path queues, for the same
    real_row_run = trade_batch.TradeKernel.run

    def counted(kernel, now):
        by_rows.append(kernel.pending // trade_batch.trade_kernel.N_COLS)
        return real_row_run(kernel, now)
    monkeypatch.setattr(trade_batch.TradeKernel, "run", counted)
    stream = random_stream(rng, n_tokens=6, n_events=1500)
    launches = [ev for ev in stream if not isinstance(ev, Trade)]
    trades = [ev for ev in stream if isinstance(ev, Trade)
              and all(type(x) is int and x < 1 << 63 for x in (ev.sol_amount, ev.token_amount))]
    feed(a, b, launches[: len(launches) // 2], 20.0)      # the other tokens are first seen through a trade
    now, i, used = 20.0, 0, 0
    while i < len(trades):
        size = rng.choice([1, 9, 97, 400])
        part = trades[i:i + size]
        columns = pickle.loads(pickle.dumps(EventBatch(part), protocol=5)).columns_of(Trade)
        assert columns is not None and TradeColumns.of(columns) is not None     # the columnar path, not rows
        kernel_before = c.counters["events"]
        tc, tb = c.apply_columns(columns, now), b.apply(part, now)
        assert tc == tb == a.apply(part, now) and c.counters["events"] - kernel_before == len(part)
        assert_same(c, b)
        assert_same(a, b)
        used += 1
        i += size
        now += rng.choice([0.0, 0.3, 1.1, 6.0, 40.0, -2.0])
    # several batches; the columns gave the kernel exactly the trades the rows gave it, and Python the rest
    # (missed migrations move a token's venue, so many later curve trades are Python's: the stream's doing)
    assert used >= 3 and b.counters["events"] == c.counters["events"]
    assert 0 < sum(by_kernel) == sum(by_rows) < len(trades)


def test_columns_of_odd_types_take_the_row_path_with_the_same_result():
    from pipelines.analysis.trade_batch import TradeColumns
    a, b = pair()
    c = COLUMNAR[id(a)]
    cur = Curve()
    feed(a, b, [cur.launch()], 5.0)
    plain = [cur.buy_sol(key(), SOL) for _ in range(3)]
    for odd in (dict(sol_amount=1.5), dict(sol_amount=True), dict(token_amount=2**64), dict(slot="9"),
                dict(side=None), dict(user=7), dict(mint=None)):
        batch = [*plain[:2], dataclasses.replace(plain[2], signature=sig(), **odd)]
        columns = tuple(zip(*map(values, batch)))
        if "mint" not in odd:
            assert TradeColumns.of(columns) is None, odd
        plain = [dataclasses.replace(t, signature=sig()) for t in plain]
        assert c.apply_columns(columns, 6.0) == b.apply(batch, 6.0)
        assert_same(c, b)
    assert c.counters["bad"] + c.counters["skipped"] > 0
    # ints of the right type but outside what the kernel reproduces exactly: the columns judge them per row
    for odd in (dict(slot=(1 << 62) + 1), dict(slot=-1), dict(sol_amount=1 << 53), dict(side="swap")):
        batch = [dataclasses.replace(t, signature=sig()) for t in plain]
        batch[1] = dataclasses.replace(batch[1], **odd)
        columns = tuple(zip(*map(values, batch)))
        assert TradeColumns.of(columns).fit == [True, False, True], odd
        assert c.apply_columns(columns, 7.0) == b.apply(batch, 7.0)
        assert_same(c, b)


def test_a_walletless_trade_of_a_token_without_a_creator_is_not_the_devs():
    # the kernel's creator flag needs a wallet: "" == "" must not make a trade the dev's
    a, b = pair()
    c = COLUMNAR[id(a)]
    first = trade("M" * 44, "buy", key(), SOL, 10**12, vsol=31 * SOL, vtok=10**15)     # no creator known
    feed(a, b, [first], 5.0)
    assert a.tokens["M" * 44].creator == ""
    anon = [trade("M" * 44, "sell", "", SOL // 2, 10**11, vsol=31 * SOL, vtok=10**15) for _ in range(3)]
    feed(a, b, anon, 6.0)                                 # the row path and, in feed, the columns
    assert a.tokens["M" * 44].dev_sold == 0


def test_a_copied_state_gets_its_own_buffer_addresses():
    import copy
    import pickle

    from pipelines.analysis.layout import buffer_address
    a, _ = pair()
    c = Curve()
    a.apply([c.launch(), c.buy_sol(key(), SOL)], 1.0)
    st = a.tokens[c.mint]
    for twin in (copy.deepcopy(st), pickle.loads(pickle.dumps(st))):
        k = twin.p.addresses
        assert list(twin.ints[k:k + 4]) == [buffer_address(twin.reals), buffer_address(twin.cnt),
                                            buffer_address(twin.owners), buffer_address(twin.buf)]
        assert state_bytes(twin) == state_bytes(st) and twin.ints[k] != st.ints[k]
