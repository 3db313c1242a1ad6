"""TokenState fed with hand-built events; expected values follow from the curve constants and the data."""
import math

import pytest

from pipelines.analysis.shard import state_bytes
from pipelines.analysis.layout import AnalysisParams, size_bin
from pipelines.analysis.token_state import TokenState
from pipelines.chain import curve
from pipelines.chain.programs import USDC_MINT
from pipelines.config import AnalysisConfig

from .market import R_TOK0, SOL, SUPPLY, V_TOK0, Curve, key, pool_created, trade


def new_state(mint: str, now: float = 0.0, **cfg) -> TokenState:
    return TokenState(AnalysisParams.from_config(AnalysisConfig(**cfg)), mint, now)


def test_launch_price_market_cap_and_progress_from_the_real_constants():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 1000.0)
    f = st.features(1000.0)
    assert f.price == 30_000_000_000 / 1_073_000_000_000_000           # 2.7959e-05 lamports per base unit
    assert f.market_cap_lamports == 27_958_993_476                     # 30e9 * 1e15 // 1.073e15
    assert f.curve_progress == 0.0
    assert f.liquidity_lamports == 0                                   # no real SOL yet
    assert f.venue == "pumpfun" and f.creator == c.creator and f.symbol == "PEPE"
    assert f.safety.safe and f.safety.reasons == ()                    # pump.fun create: trusted launchpad


def test_price_progress_and_liquidity_follow_the_reserves_of_the_last_trade():
    st = new_state("MintA")
    # After 10 SOL into the curve: vSol 40e9, vTok = 30e9 * 1.073e15 / 40e9 = 804.75e12 (k constant);
    # tokens out 268.25e12, so real tokens 793.1e12 - 268.25e12 = 524.85e12.
    st.apply(trade("MintA", "buy", "u1", 10 * SOL, 268_250_000_000_000, vsol=40 * SOL, vtok=804_750_000_000_000,
                   rsol=10 * SOL, rtok=524_850_000_000_000), 1001.0)
    f = st.features(1001.0)
    assert f.price == 40e9 / 804.75e12
    assert f.curve_progress == pytest.approx(268.25 / 793.1, rel=1e-15)
    assert f.liquidity_lamports == 10 * SOL
    assert f.market_cap_lamports == 40 * SOL * SUPPLY // 804_750_000_000_000


def test_progress_is_half_when_half_the_real_tokens_are_sold():
    st = new_state("MintH")
    st.apply(trade("MintH", "buy", "u", 1, 1, vsol=60 * SOL, vtok=V_TOK0 - R_TOK0 // 2,
                   rsol=30 * SOL, rtok=R_TOK0 - 396_550_000_000_000), 1000.0)
    assert st.features(1000.0).curve_progress == 0.5


def test_curve_math_matches_the_shared_curve_module():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 0.0)
    for i in range(5):
        st.apply(c.buy_sol(key(), (i + 1) * SOL), float(i))
    f = st.features(5.0)
    assert f.price == curve.price_lamports_per_token(c.state)
    assert f.market_cap_lamports == curve.market_cap_lamports(c.state)
    assert f.curve_progress == curve.progress(c.state, R_TOK0)


def test_windows_count_buys_sells_volume_and_expire():
    st = new_state("M", window_buckets=10)
    a, b = "walletA", "walletB"
    st.apply(trade("M", "buy", a, 2 * SOL, 10, vsol=32 * SOL, vtok=10**15, rsol=2 * SOL, rtok=R_TOK0), 100.0)
    st.apply(trade("M", "buy", b, 1 * SOL, 10, vsol=33 * SOL, vtok=10**15, rsol=3 * SOL, rtok=R_TOK0), 104.0)
    st.apply(trade("M", "sell", a, SOL // 2, 5, vsol=32 * SOL, vtok=10**15, rsol=2 * SOL, rtok=R_TOK0), 108.0)
    f = st.features(108.0)
    assert f.volume_lamports == {10: 3_500_000_000, 60: 3_500_000_000, 300: 3_500_000_000}
    assert f.buys == {10: 2, 60: 2, 300: 2} and f.sells == {10: 1, 60: 1, 300: 1}
    assert f.buy_volume_lamports[10] == 3 * SOL
    assert f.net_flow_lamports == 2_500_000_000                       # 3 SOL in, 0.5 SOL out
    g = st.features(110.0)                                           # the t=100 buy left the 10 s window
    assert (g.volume_lamports[10], g.buys[10], g.sells[10]) == (1_500_000_000, 1, 1)
    assert g.volume_lamports[60] == 3_500_000_000


def test_unique_and_new_buyers():
    st = new_state("M")
    users = ["A1", "B2", "C3", "D4", "E5"]
    t = 100.0
    for u in users + ["A1", "C3"]:                                   # two repeat buyers
        st.apply(trade("M", "buy", u, SOL, 1, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0), t)
        t += 1
    st.apply(trade("M", "sell", "Z9", SOL, 1, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0), t)
    f = st.features(t)
    assert f.unique_buyers == 5                                      # sellers are not buyers
    assert f.new_buyers[60] == 5 and f.buys[60] == 7


def test_dev_dump_is_detected_from_the_creators_own_trades():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 0.0)
    st.apply(c.buy_tokens(c.creator, 100_000_000_000_000), 0.0)     # dev buys 100M tokens (10% of supply)
    st.apply(c.buy_tokens(key(), 20_000_000_000_000), 1.0)
    sell = c.sell(c.creator, 60_000_000_000_000)                     # sells 60% of it
    st.apply(sell, 2.0)
    f = st.features(2.0)
    assert f.dev_sell_share == 0.6
    assert f.dev_sold_lamports == sell.sol_amount
    assert f.dev_share == 40_000_000_000_000 / SUPPLY                # 0.04 of supply still held
    assert "dev_dump" in f.safety.reasons and not f.safety.safe


def test_dev_selling_less_than_the_limit_is_not_a_dump():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 0.0)
    st.apply(c.buy_tokens(c.creator, 50_000_000_000_000), 0.0)
    st.apply(c.sell(c.creator, 20_000_000_000_000), 1.0)             # 40% <= 50%
    f = st.features(1.0)
    assert f.dev_sell_share == 0.4 and "dev_dump" not in f.safety.reasons


def test_creator_from_the_trade_event_when_the_launch_was_missed():
    st = new_state("M")
    st.apply(trade("M", "buy", "dev", SOL, 1_000, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0,
                   creator="dev"), 1.0)
    st.apply(trade("M", "sell", "dev", SOL, 1_000, vsol=30 * SOL, vtok=10**15, rsol=0, rtok=R_TOK0,
                   creator="dev"), 2.0)
    f = st.features(2.0)
    assert f.creator == "dev" and f.dev_sell_share == 1.0


def test_top5_share_from_trades_excludes_the_curve_and_follows_sells():
    st = new_state("M")
    amounts = [100, 90, 80, 70, 60, 50, 40]                          # millions of tokens (x 1e12 base units)
    for i, a in enumerate(amounts):
        st.apply(trade("M", "buy", f"holder{i}", SOL, a * 10**12, vsol=31 * SOL, vtok=10**15, rsol=SOL,
                       rtok=R_TOK0), float(i))
    f = st.features(10.0)
    assert f.top5_share == pytest.approx(0.40)                       # (100+90+80+70+60)e12 / 1e15
    assert "top5_concentration" in f.safety.reasons
    st.apply(trade("M", "sell", "holder0", SOL, 70 * 10**12, vsol=30 * SOL, vtok=10**15, rsol=SOL,
                   rtok=R_TOK0), 11.0)                              # holder0 now holds 30
    f = st.features(11.0)
    assert f.top5_share == pytest.approx((90 + 80 + 70 + 60 + 50) / 1000)
    assert st.holder_balance("holder0") == 30 * 10**12


def test_real_holders_replace_the_estimate_and_the_curve_is_excluded():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 0.0)
    st.apply(c.buy_tokens(key(), 10**12), 1.0)
    whale, other = key(), key()
    st.apply_holders([(c.bonding_curve, 700_000_000_000_000),         # the curve's own account: not a holder
                      (whale, 150_000_000_000_000), (other, 60_000_000_000_000),
                      (whale, 50_000_000_000_000)])                  # a second account of the same owner
    f = st.features(1.0)
    assert f.top5_share == pytest.approx(0.26)                       # (200 + 60)e12 / 1e15
    assert "top5_concentration" not in f.safety.reasons
    assert st.holder_balance(whale) == 200_000_000_000_000


def test_trade_size_entropy_in_bits():
    st = new_state("M", max_trades_per_token=4)
    # sizes 1e6, 4e6, 16e6, 64e6 lamports: log2 = 19.93, 21.93, 23.93, 25.93 -> half-octave bins 40, 44, 48, 52
    sizes = [10**6, 4 * 10**6, 16 * 10**6, 64 * 10**6]
    assert [size_bin(s) for s in sizes] == [40, 44, 48, 52]
    t = 0.0
    for s in sizes:
        st.apply(trade("M", "buy", "u", s, 1, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0), t)
        t += 1
    assert st.features(t).trade_size_entropy == pytest.approx(2.0)  # 4 equally used bins
    for s in (16 * 10**6, 16 * 10**6):                               # ring of 4 now: 48, 52, 48, 48
        st.apply(trade("M", "buy", "u", s, 1, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0), t)
        t += 1
    # counts {48: 3, 52: 1}: H = -(3/4 log2 3/4 + 1/4 log2 1/4) = 0.8113
    assert st.features(t).trade_size_entropy == pytest.approx(0.8112781244591328)
    for _ in range(4):
        st.apply(trade("M", "buy", "u", 5 * 10**7, 1, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0), t)
    assert st.features(t).trade_size_entropy == 0.0                 # bot-like: one size


def test_kalman_velocity_tracks_relative_price_growth():
    st = new_state("M")
    rate = 0.01                                                       # +1% per second, continuously
    vtok = 10**15
    for i in range(240):
        vsol = round(30 * SOL * math.exp(rate * i))
        st.apply(trade("M", "buy", f"u{i}", SOL, 1, vsol=vsol, vtok=vtok, rsol=vsol - 30 * SOL, rtok=R_TOK0),
                 float(i))
    assert st.features(239.0).price_velocity == pytest.approx(rate, rel=0.02)


def test_rug_detection_from_liquidity_collapse_and_eviction():
    st = new_state("M", evict_after_idle_s=60)
    st.apply(trade("M", "buy", "a", 5 * SOL, 1, vsol=35 * SOL, vtok=10**15, rsol=5 * SOL, rtok=R_TOK0), 0.0)
    st.apply(trade("M", "sell", "a", 3 * SOL, 1, vsol=32 * SOL, vtok=10**15, rsol=2 * SOL, rtok=R_TOK0), 1.0)
    assert not st.rugged and not st.is_dead(1.0)                     # -60%: not yet
    st.apply(trade("M", "sell", "a", SOL, 1, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0), 2.0)
    assert st.rugged                                                  # 1 SOL <= 20% of the 5 SOL peak
    f = st.features(2.0)
    assert f.rugged and "rugged" in f.safety.reasons and st.is_dead(2.0)


def test_idle_tokens_are_dead():
    st = new_state("M", evict_after_idle_s=60)
    st.apply(trade("M", "buy", "a", SOL, 1, vsol=31 * SOL, vtok=10**15, rsol=SOL, rtok=R_TOK0), 100.0)
    assert not st.is_dead(160.0)
    assert st.is_dead(160.5)


def test_migration_moves_liquidity_without_counting_as_a_rug():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 0.0)
    st.apply(c.buy_tokens(key(), R_TOK0), 1.0)                        # buys the whole curve: complete
    assert st.features(1.0).curve_progress == 1.0
    st.apply(c.complete(), 2.0)
    pool = key()
    st.apply(c.migration(pool, sol=79 * SOL, tokens=206_900_000_000_000), 3.0)
    f = st.features(3.0)
    assert f.migrated and f.complete and not f.rugged and f.venue == "pumpswap"
    assert f.liquidity_lamports == 79 * SOL and f.price == 79e9 / 206.9e12
    assert st.pool == pool and f.curve_progress == 1.0


def test_a_pool_trade_on_a_curve_token_means_it_migrated():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 0.0)
    st.apply(trade(c.mint, "buy", "u", SOL, 10**12, vsol=80 * SOL, vtok=200 * 10**12, venue="pumpswap"), 5.0)
    f = st.features(5.0)
    assert f.migrated and f.venue == "pumpswap" and f.price == 80e9 / 200e12 and f.liquidity_lamports == 80 * SOL


def test_a_raydium_pool_launch_with_wsol_as_mint_a():
    mint = key()
    st = new_state(mint)
    assert st.apply(pool_created(mint, sol=5 * SOL, tokens=10**15), 0.0)
    f = st.features(0.0)
    assert f.venue == "raydium_amm_v4" and f.liquidity_lamports == 5 * SOL and f.price == 5e9 / 1e15
    assert "mint_info_unknown" in f.safety.reasons                    # not a trusted launchpad: read the mint
    assert not st.apply(pool_created(key(), sol=SOL, tokens=1), 0.0)  # another token's pool: ignored


def test_usdc_quoted_trades_count_but_add_no_lamports():
    st = new_state("M")
    st.apply(trade("M", "buy", "u", 0, 10**12, quote_mint=USDC_MINT), 1.0)
    f = st.features(1.0)
    assert f.buys[60] == 1 and f.volume_lamports[60] == 0 and f.price == 0.0


def test_memory_stays_bounded_with_a_long_history():
    c = Curve()
    st = new_state(c.mint)
    st.apply(c.launch(), 0.0)
    before = state_bytes(st)
    for i in range(3000):
        st.apply(c.buy_sol(key(), SOL // 100) if i % 3 else c.buy_tokens(key(), 10**9), i * 0.3)
    assert state_bytes(st) <= before + 64       # fixed-size buffers: only the symbol/pool strings may change
    assert state_bytes(st) <= 2048
