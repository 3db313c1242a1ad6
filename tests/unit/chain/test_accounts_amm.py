"""AMM accounts: PumpSwap Pool and FeeConfig, Raydium AmmInfo, Orca Whirlpool, Meteora LbPair.
Real fixtures where they exist; otherwise bytes laid out by hand from the offsets in PROTOCOL.md."""
from __future__ import annotations

import base64
import struct

import pytest
from hypothesis import given, settings, strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.amm_state import (
    AMM_INFO_LEN, FeeConfig, FeeTier, Fees, decode_amm_info, decode_fee_config, decode_lb_pair,
    decode_pumpswap_pool, decode_whirlpool, encode_amm_info, encode_fee_config, encode_pumpswap_pool,
    encode_whirlpool, fee_tier_for, pool_market_cap,
)
from pipelines.chain.curve import CurveFees
from pipelines.chain.errors import DecodeError
from tests.conftest import load_fixture

LAMPORTS_PER_SOL = 10**9


def _b64(rel: str) -> bytes:
    return base64.b64decode(load_fixture(rel)["data"])


def _k() -> Pubkey:
    return Keypair().pubkey()


def _put(buf: bytearray, off: int, b: bytes) -> None:
    buf[off:off + len(b)] = b


# --- PumpSwap FeeConfig (real account) ---

def test_real_pumpswap_fee_config_tiers():
    raw = _b64("pumpswap/fee_config_account.json")
    cfg = decode_fee_config(raw)
    assert raw[:8] == P.PUMP_ACC_FEE_CONFIG
    # PROTOCOL.md: under 420 SOL market cap, 0.02% LP + 0.93% protocol + 0.30% creator
    low = cfg.fee_tier_for(419 * LAMPORTS_PER_SOL)
    assert (low.lp_fee_bps, low.protocol_fee_bps, low.creator_fee_bps) == (2, 93, 30)
    assert cfg.fee_tiers[0].market_cap_lamports_threshold == 0
    assert cfg.fee_tiers[1].market_cap_lamports_threshold == 420 * LAMPORTS_PER_SOL
    # thresholds rise strictly, so the tier lookup is well defined
    th = [t.market_cap_lamports_threshold for t in cfg.fee_tiers]
    assert th == sorted(th) and len(set(th)) == len(th)
    # at exactly a threshold the higher tier applies; one lamport below, the lower one
    assert cfg.fee_tier_for(th[1]) == cfg.fee_tiers[1].fees
    assert cfg.fee_tier_for(th[1] - 1) == cfg.fee_tiers[0].fees
    assert cfg.fee_tier_for(10**30) == cfg.fee_tiers[-1].fees
    # the account is 4073 bytes of allocated space; the fields use the front and the rest is zero
    assert cfg.data_len == len(raw) == 4073 and not any(cfg.extra)
    assert encode_fee_config(cfg) == raw


def test_fee_schedule_selection():
    raw = _b64("pumpswap/fee_config_account.json")
    cfg = decode_fee_config(raw)
    mcap = 100 * LAMPORTS_PER_SOL
    assert cfg.fees_for(mcap) == cfg.fee_tiers[0].fees                       # canonical SOL pool: tiers
    assert cfg.fees_for(mcap, is_pump_pool=False) == cfg.flat_fees           # any other pool: flat
    if cfg.stable_fee_tiers:
        assert cfg.fees_for(mcap, quote_mint=P.USDC_MINT) == fee_tier_for(cfg.stable_fee_tiers, mcap)
    # exotic quote with unset (all-zero) exotic fees falls back to the flat fees
    assert cfg.fees_for(mcap, quote_mint=str(_k())) == cfg.flat_fees


def test_fees_to_curve_fees():
    assert Fees(2, 93, 30).curve_fees() == CurveFees(protocol_bps=93, creator_bps=30)
    assert Fees(2, 93, 30).total_bps == 125


def test_fee_config_roundtrip_and_truncation():
    cfg = FeeConfig(255, str(_k()), Fees(25, 5, 0),
                    (FeeTier(0, Fees(2, 93, 30)), FeeTier(420 * LAMPORTS_PER_SOL, Fees(20, 5, 95))))
    raw = encode_fee_config(cfg)
    back = decode_fee_config(raw)
    assert back.fee_tiers == cfg.fee_tiers and back.flat_fees == cfg.flat_fees
    for cut in (8, 40, 60, 70, 100):
        with pytest.raises(DecodeError):
            decode_fee_config(raw[:cut])
    hostile = bytearray(raw)
    _put(hostile, 8 + 1 + 32 + 24, struct.pack("<I", 2**31))     # absurd tier count
    with pytest.raises(DecodeError):
        decode_fee_config(bytes(hostile))


def test_pool_market_cap():
    # 1e15 supply, 200e12 tokens and 100 SOL in the pool -> price 5e-7 SOL per unit -> mcap 500 SOL
    assert pool_market_cap(10**15, 200 * 10**12, 100 * LAMPORTS_PER_SOL) == 500 * LAMPORTS_PER_SOL
    assert pool_market_cap(10**15, 0, 1) == 0


# --- PumpSwap Pool (bytes by hand from PROTOCOL offsets) ---

def _hand_pool(size: int = 300):
    keys = {n: _k() for n in ("creator", "base", "quote", "lp", "pbase", "pquote", "coin_creator")}
    b = bytearray(size)
    _put(b, 0, P.AMM_ACC_POOL)
    b[8] = 254                                     # pool_bump
    _put(b, 9, struct.pack("<H", 0))               # index
    _put(b, 11, bytes(keys["creator"]))
    _put(b, 43, bytes(keys["base"]))
    _put(b, 75, bytes(keys["quote"]))
    _put(b, 107, bytes(keys["lp"]))
    _put(b, 139, bytes(keys["pbase"]))
    _put(b, 171, bytes(keys["pquote"]))
    _put(b, 203, struct.pack("<Q", 4_193_388_611_243))   # lp_supply
    if size >= 243:
        _put(b, 211, bytes(keys["coin_creator"]))
    return b, keys


def test_pool_fields_from_protocol_offsets():
    b, k = _hand_pool()
    b[243] = 1                                               # is_mayhem_mode
    _put(b, 245, (-5 * LAMPORTS_PER_SOL).to_bytes(16, "little", signed=True))   # virtual_quote_reserves (i128)
    pool = decode_pumpswap_pool(bytes(b))
    assert pool.base_mint == str(k["base"]) and pool.quote_mint == str(k["quote"])
    assert pool.lp_mint == str(k["lp"]) and pool.creator == str(k["creator"])
    assert pool.pool_base_token_account == str(k["pbase"])
    assert pool.pool_quote_token_account == str(k["pquote"])
    assert pool.coin_creator == str(k["coin_creator"]) and pool.has_coin_creator
    assert pool.pool_bump == 254 and pool.index == 0 and pool.lp_supply == 4_193_388_611_243
    assert pool.is_mayhem_mode and not pool.is_cashback_coin
    assert pool.virtual_quote_reserves == -5 * LAMPORTS_PER_SOL
    assert pool.data_len == 300
    assert encode_pumpswap_pool(pool) == bytes(b)


def test_old_pool_without_coin_creator():
    b, k = _hand_pool(211)
    pool = decode_pumpswap_pool(bytes(b))
    assert pool.coin_creator == P.DEFAULT_PUBKEY and not pool.has_coin_creator
    assert encode_pumpswap_pool(pool) == bytes(b)


@pytest.mark.parametrize("raw", [b"", bytes(8), P.AMM_ACC_POOL + bytes(100), bytes(300)])
def test_bad_pools_raise_decode_error(raw):
    with pytest.raises(DecodeError):
        decode_pumpswap_pool(raw)


def test_invalid_bool_in_pool():
    b, _ = _hand_pool()
    b[244] = 7
    with pytest.raises(DecodeError):
        decode_pumpswap_pool(bytes(b))


# --- Raydium AmmInfo (bytes by hand from PROTOCOL offsets) ---

def test_amm_info_fields_from_protocol_offsets():
    coin_vault, pc_vault, coin_mint, pc_mint, lp_mint, oo, market, target = (_k() for _ in range(8))
    b = bytearray(AMM_INFO_LEN)
    _put(b, 0, struct.pack("<Q", 6))              # status SwapOnly
    _put(b, 8, struct.pack("<Q", 254))            # nonce
    _put(b, 32, struct.pack("<Q", 9))             # coin_decimals (WSOL)
    _put(b, 40, struct.pack("<Q", 6))             # pc_decimals (pump token)
    _put(b, 128 + 48, struct.pack("<QQ", 25, 10_000))   # swap_fee numerator/denominator (8th/9th u64 of Fees)
    _put(b, 192, struct.pack("<QQ", 1_000, 2_000))      # need_take_pnl coin/pc
    _put(b, 224, struct.pack("<Q", 1_734_000_000))      # pool_open_time
    for off, key in ((336, coin_vault), (368, pc_vault), (400, coin_mint), (432, pc_mint), (464, lp_mint),
                     (496, oo), (528, market), (592, target)):
        _put(b, off, bytes(key))
    info = decode_amm_info(bytes(b))
    assert info.status == 6 and info.nonce == 254 and info.coin_decimals == 9 and info.pc_decimals == 6
    assert (info.swap_fee_numerator, info.swap_fee_denominator) == (25, 10_000)
    assert info.pool_open_time == 1_734_000_000
    assert info.coin_vault == str(coin_vault) and info.pc_vault == str(pc_vault)
    assert info.coin_mint == str(coin_mint) and info.pc_mint == str(pc_mint) and info.lp_mint == str(lp_mint)
    assert info.open_orders == str(oo) and info.market == str(market) and info.target_orders == str(target)
    assert info.reserves(80_000, 500_000) == (79_000, 498_000)
    assert encode_amm_info(info) == bytes(b)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=AMM_INFO_LEN, max_size=AMM_INFO_LEN))
def test_amm_info_roundtrip_any_bytes(raw):
    assert encode_amm_info(decode_amm_info(raw)) == raw


def test_amm_info_wrong_length():
    for n in (0, 751, 753):
        with pytest.raises(DecodeError):
            decode_amm_info(bytes(n))


# --- Orca Whirlpool (real account with data_decoded) ---

def test_real_whirlpool_matches_data_decoded():
    fx = load_fixture("orca/whirlpool_account.json")
    raw = base64.b64decode(fx["data"])
    exp = {k: v["data"] for k, v in fx["data_decoded"].items()}
    w = decode_whirlpool(raw)
    assert w.whirlpools_config == exp["whirlpoolsConfig"]
    assert w.whirlpool_bump == exp["whirlpoolBump"][0]
    assert w.tick_spacing == int(exp["tickSpacing"]) == 32896
    assert list(w.fee_tier_index_seed) == exp["tickSpacingSeed"]
    assert w.fee_rate == int(exp["feeRate"]) and w.protocol_fee_rate == int(exp["protocolFeeRate"])
    assert w.liquidity == int(exp["liquidity"]) and w.sqrt_price == int(exp["sqrtPrice"])
    assert w.tick_current_index == int(exp["tickCurrentIndex"])
    assert w.token_mint_a == exp["tokenMintA"] == P.WSOL_MINT and w.token_mint_b == exp["tokenMintB"]
    assert w.token_vault_a == exp["tokenVaultA"] and w.token_vault_b == exp["tokenVaultB"]
    assert w.fee_growth_global_a == int(exp["feeGrowthGlobalA"])
    assert w.reward_last_updated_timestamp == int(exp["rewardLastUpdatedTimestamp"])
    assert [r.authority for r in w.reward_infos] == [r["authority"] for r in exp["rewardInfos"]]
    assert len(raw) == fx["space"] == 653
    assert encode_whirlpool(w) == raw


# --- Meteora LbPair (real account, basics) ---

def test_real_lb_pair_basics():
    fx = load_fixture("meteora/dlmm_lb_pair_account.json")
    raw = base64.b64decode(fx["data"])
    assert fx["owner"] == P.METEORA_DLMM and len(raw) == fx["space"] == 904
    pair = decode_lb_pair(raw)
    # the bin_step seed (bytes 73..75) must equal bin_step: 0x5000 little-endian = 80
    assert raw[73:75] == (80).to_bytes(2, "little") and pair.bin_step == 80
    assert pair.token_y_mint == P.WSOL_MINT and pair.token_x_mint.endswith("pump")
    assert pair.min_bin_id <= pair.active_id <= pair.max_bin_id
    assert pair.reserve_x not in (pair.token_x_mint, pair.token_y_mint)
    assert 0 < pair.base_fee_rate < 1


# --- garbage ---

DECODERS = [decode_pumpswap_pool, decode_fee_config, decode_amm_info, decode_whirlpool, decode_lb_pair]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1000))
def test_garbage_into_amm_decoders_only_raises_decode_error(raw):
    for decode in DECODERS:
        try:
            decode(raw)
        except DecodeError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_real_accounts_only_raise_decode_error(data):
    rel, decode = data.draw(st.sampled_from([
        ("pumpswap/fee_config_account.json", decode_fee_config),
        ("orca/whirlpool_account.json", decode_whirlpool),
        ("meteora/dlmm_lb_pair_account.json", decode_lb_pair),
    ]))
    raw = bytearray(_b64(rel))
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, min(len(raw), 2200) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        decode(bytes(raw[:cut]))
    except DecodeError:
        pass
