"""Property tests: arbitrary (hostile) event sequences never raise, keep every feature in range, keep memory
bounded, and survive a snapshot/restore unchanged."""
import math
import dataclasses
import pickle
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.analysis.shard import ShardCore, state_bytes
from pipelines.analysis.layout import MAX_KEY_LEN, AnalysisParams
from pipelines.analysis.token_state import TokenState
from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.chain.programs import TOKEN, TOKEN_2022, USDC_MINT, WSOL_MINT
from pipelines.config import AnalysisConfig

MINTS = ["MintAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "MintBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
         "MintCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"]
USERS = ["dev1", "user2", "user3", "user4", ""]

amounts = st.one_of(st.integers(0, 10**12), st.integers(-(2**70), 2**70), st.sampled_from([0, 2**63, 2**64 - 1]))
texts = st.text(max_size=80)
mints = st.one_of(st.sampled_from(MINTS), texts)
users = st.one_of(st.sampled_from(USERS), texts)
venues = st.one_of(st.sampled_from(["pumpfun", "pumpswap", "raydium_amm_v4"]), texts)
slots = st.integers(-5, 2**64)

trades = st.builds(
    Trade, venue=venues, signature=texts, slot=slots, mint=mints, side=st.one_of(st.sampled_from(["buy", "sell"]),
                                                                                  texts),
    sol_amount=amounts, token_amount=amounts, user=users, quote_mint=st.sampled_from([WSOL_MINT, USDC_MINT, ""]),
    quote_amount=amounts, virtual_sol_reserves=amounts, virtual_token_reserves=amounts,
    real_sol_reserves=amounts, real_token_reserves=amounts, creator=st.one_of(st.sampled_from(USERS), texts),
    pool=texts, seq=st.integers(0, 5))
launches = st.builds(
    Launch, venue=venues, signature=texts, slot=slots, mint=mints, bonding_curve=texts, creator=users,
    name=texts, symbol=texts, uri=texts, token_program=st.sampled_from([TOKEN, TOKEN_2022, "", "Other111"]),
    quote_mint=st.sampled_from([WSOL_MINT, ""]), virtual_token_reserves=amounts, virtual_sol_reserves=amounts,
    real_token_reserves=amounts, token_total_supply=amounts, seq=st.integers(0, 5))
completes = st.builds(Complete, venue=venues, signature=texts, slot=slots, mint=mints, bonding_curve=texts,
                      user=users)
migrations = st.builds(Migration, venue=venues, signature=texts, slot=slots, mint=mints, bonding_curve=texts,
                       pool=texts, user=users, mint_amount=amounts, sol_amount=amounts, target_venue=venues)
pools = st.builds(PoolCreated, venue=venues, signature=texts, slot=slots, pool=texts,
                  mint_a=st.one_of(st.sampled_from([WSOL_MINT, USDC_MINT]), mints),
                  mint_b=st.one_of(st.sampled_from([WSOL_MINT, USDC_MINT]), mints), creator=users,
                  amount_a=amounts, amount_b=amounts, migration=st.booleans())
events = st.one_of(trades, trades, trades, launches, completes, migrations, pools)
times = st.floats(-1e6, 1e10, allow_nan=False, allow_infinity=False)
batches = st.lists(st.tuples(st.lists(events, max_size=12), times), min_size=1, max_size=8)

CFG = AnalysisConfig(max_tracked_tokens=2, max_trades_per_token=8, evict_after_idle_s=1e12)
FRESH = state_bytes(TokenState(AnalysisParams.from_config(CFG), MINTS[0], 0.0))
# strings a state may keep beyond a fresh one: creator, pool (<= MAX_KEY_LEN chars) and the display symbol
# (<= 16 chars), at worst 4 bytes per character
STRING_ALLOWANCE = 2 * sys.getsizeof("\U0001F600" * MAX_KEY_LEN) + sys.getsizeof("\U0001F600" * 16)


def check_features(f):
    assert 0.0 <= f.curve_progress <= 1.0
    assert 0.0 <= f.rug_probability <= 1.0
    assert 0.0 <= f.top5_share <= 1.0 and 0.0 <= f.dev_share <= 1.0 and 0.0 <= f.dev_sell_share <= 1.0
    assert math.isfinite(f.trade_size_entropy) and 0.0 <= f.trade_size_entropy <= 3.0 + 1e-9   # ring of 8
    assert math.isfinite(f.price) and f.price >= 0.0 and math.isfinite(f.price_velocity)
    assert f.unique_buyers >= 0 and f.liquidity_lamports >= 0 and f.market_cap_lamports >= 0
    assert all(v >= 0 for d in (f.volume_lamports, f.buys, f.sells, f.new_buyers) for v in d.values())
    assert all(f.buy_volume_lamports[w] <= f.volume_lamports[w] for w in f.volume_lamports)
    assert isinstance(f.safety.safe, bool) and f.safety.safe == (not f.safety.reasons)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_shard_never_raises_and_stays_bounded(batches):
    shard = ShardCore(CFG)
    for evs, now in batches:
        for f in shard.ingest(evs, now):
            check_features(f)
        assert len(shard.tokens) <= CFG.max_tracked_tokens
        for st_ in shard.tokens.values():
            assert state_bytes(st_) <= FRESH + STRING_ALLOWANCE
            check_features(st_.features(now))
        shard.evict(now)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(events, st.floats(allow_nan=True, allow_infinity=True)), max_size=30))
def test_token_state_apply_never_raises_on_well_typed_events(seq):
    state = TokenState(AnalysisParams.from_config(CFG), MINTS[0], 0.0)
    for ev, now in seq:
        state.apply(ev, now)
    check_features(state.features(1e9))
    check_features(state.features(float("nan")))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches, times)
def test_snapshot_restore_is_lossless(batches, later):
    shard = ShardCore(CFG)
    for evs, now in batches:
        shard.ingest(evs, now)
    restored = ShardCore(CFG)
    restored.restore(pickle.loads(pickle.dumps(shard.snapshot())))
    assert list(restored.tokens) == list(shard.tokens)
    for mint, st_ in shard.tokens.items():
        # everything but `warm`: a restored state has a gap (what happened while the shard was down is missing)
        assert restored.get(mint).features(later) == dataclasses.replace(st_.features(later), warm=False)
