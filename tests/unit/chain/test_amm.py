"""AMM quotes (pipelines/chain/amm.py): known answers worked out from the programs' formulas, properties
against an independent Fraction reference, and PumpSwap fees from the real FeeConfig account."""
from __future__ import annotations

import base64
import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings, strategies as st

from pipelines.chain import amm
from pipelines.chain.amm_state import decode_fee_config, pool_market_cap
from tests.conftest import load_fixture

U64 = 2**64 - 1
reserves = st.integers(1, 10**18)
u64s = st.integers(0, U64)


# --- Raydium's ceiling division ---

@pytest.mark.parametrize("a,b,q", [
    (10, 4, 3),     # 2.5 -> 3 (true ceiling once the quotient is >= 1)
    (8, 4, 2),      # exact
    (1, 3, 0),      # 0.33: quotient 0 and 2a < b -> 0
    (2, 3, 1),      # 0.67: quotient 0 and 2a >= b -> 1
    (5, 10, 1),     # 0.5 rounds up to 1
    (0, 7, 0),
])
def test_raydium_ceil_div(a, b, q):
    assert amm.raydium_ceil_div(a, b) == q


def test_raydium_v4_fee_on_small_inputs_rounds_half_up():
    # fee = ceil*(in * 25 / 10000): 100 lamports -> 0.25 -> 0; 200 -> 0.5 -> 1; 401 -> 1.0025 -> 2
    assert amm.swap_base_in(100, 10**9, 10**9).fee == 0
    assert amm.swap_base_in(200, 10**9, 10**9).fee == 1
    assert amm.swap_base_in(401, 10**9, 10**9).fee == 2


def test_raydium_v4_known_answer():
    # 1 SOL into a pool of 79 SOL / 206.9M tokens (the 2024 pump migration size, PROTOCOL.md)
    q = amm.swap_base_in(10**9, 79 * 10**9, 206_900_000 * 10**6)
    fee = 2_500_000                                       # 25 bps of 1e9, exact
    net = 10**9 - fee
    assert q.fee == fee and q.amount_in == 10**9
    assert q.amount_out == 206_900_000 * 10**6 * net // (79 * 10**9 + net)


def test_cpmm_default_fee():
    q = amm.cpmm_swap_base_input(1000, 10**6, 10**6)
    assert q.fee == 3                                     # ceil(1000 * 2500 / 1e6) = ceil(2.5)
    assert q.amount_out == 997 * 10**6 // (10**6 + 997)


# --- properties vs Fraction ---

@settings(max_examples=300, deadline=None)
@given(u64s, reserves, reserves, st.integers(0, 100))
def test_raydium_v4_base_in_reference_and_invariant(amount_in, r_in, r_out, num):
    q = amm.swap_base_in(amount_in, r_in, r_out, num, 10_000)
    x = Fraction(amount_in * num, 10_000)
    fee_ref = math.ceil(x) if x >= 1 else (1 if 2 * amount_in * num >= 10_000 else 0)
    assert q.fee == fee_ref
    net = amount_in - fee_ref
    assert q.amount_out == math.floor(Fraction(r_out * net, r_in + net))
    assert q.amount_out < r_out
    assert (r_in + net) * (r_out - q.amount_out) >= r_in * r_out           # k never decreases


@settings(max_examples=300, deadline=None)
@given(u64s, reserves, reserves)
def test_raydium_v4_base_out_pays_at_least_for_what_it_gets(amount_out, r_in, r_out):
    assume(amount_out < r_out)
    try:
        q = amm.swap_base_out(amount_out, r_in, r_out)
    except ValueError:
        # only when the required input does not fit a u64 (the program would fail too)
        assert Fraction(r_in * amount_out, r_out - amount_out) * Fraction(10_000, 9_975) > U64 - 2
        return
    assume(q.amount_in > 0)   # a zero input is rejected by the program (InvalidInput)
    assert q.amount_out == amount_out and q.amount_in <= U64
    # feeding that input back through swap_base_in yields at least the amount asked for
    assert amm.swap_base_in(q.amount_in, r_in, r_out).amount_out >= amount_out


@settings(max_examples=200, deadline=None)
@given(u64s, u64s, reserves, reserves)
def test_raydium_and_cpmm_monotonic(a, b, r_in, r_out):
    lo, hi = sorted((a, b))
    assert amm.swap_base_in(lo, r_in, r_out).amount_out <= amm.swap_base_in(hi, r_in, r_out).amount_out
    assert amm.cpmm_swap_base_input(lo, r_in, r_out).amount_out <= \
        amm.cpmm_swap_base_input(hi, r_in, r_out).amount_out


@settings(max_examples=300, deadline=None)
@given(u64s, reserves, reserves, st.integers(0, 100_000))
def test_cpmm_reference(amount_in, r_in, r_out, rate):
    q = amm.cpmm_swap_base_input(amount_in, r_in, r_out, rate)
    fee = math.ceil(Fraction(amount_in * rate, 1_000_000))
    assert q.fee == fee
    assert q.amount_out == math.floor(Fraction((amount_in - fee) * r_out, r_in + amount_in - fee))


@settings(max_examples=200, deadline=None)
@given(u64s, reserves, reserves, st.integers(0, 100_000))
def test_cpmm_base_output_round_trip(amount_out, r_in, r_out, rate):
    assume(amount_out < r_out)
    try:
        q = amm.cpmm_swap_base_output(amount_out, r_in, r_out, rate)
    except ValueError:
        return
    assume(q.amount_in > 0)
    assert amm.cpmm_swap_base_input(q.amount_in, r_in, r_out, rate).amount_out >= amount_out


# --- PumpSwap ---

fees_bps = st.tuples(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))
pools = st.tuples(st.integers(10**9, 10**15), st.integers(10**6, 10**13))    # (base, quote) reserves


@settings(max_examples=300, deadline=None)
@given(pools, st.integers(0, 10**15), fees_bps, st.booleans())
def test_pumpswap_buy_reference(pool, base_out, bps, has_creator):
    base_r, quote_r = pool
    assume(base_out < base_r)
    q = amm.pumpswap_buy(base_out, base_r, quote_r, *bps, has_creator=has_creator)
    quote_in = math.ceil(Fraction(quote_r * base_out, base_r - base_out))
    assert q.quote_in == quote_in
    lp, prot, cr = (math.ceil(Fraction(quote_in * b, 10_000)) for b in bps)
    assert (q.lp_fee, q.protocol_fee, q.creator_fee) == (lp, prot, cr if has_creator else 0)
    assert q.total_quote == quote_in + lp + prot + (cr if has_creator else 0)
    nb, nq = q.reserves_after(base_r, quote_r)
    assert nb * nq >= base_r * quote_r                                     # k never decreases


@settings(max_examples=300, deadline=None)
@given(pools, st.integers(0, 10**13), fees_bps, st.booleans())
def test_pumpswap_buy_exact_quote_in_within_budget(pool, spendable, bps, has_creator):
    base_r, quote_r = pool
    q = amm.pumpswap_buy_exact_quote_in(spendable, base_r, quote_r, *bps, has_creator=has_creator)
    assert q.total_quote <= spendable
    assert q.base_out < base_r


@settings(max_examples=300, deadline=None)
@given(pools, st.integers(1, 10**15), fees_bps, st.booleans())
def test_pumpswap_buy_then_sell_never_gains(pool, base, bps, has_creator):
    base_r, quote_r = pool
    assume(base < base_r)
    try:
        b = amm.pumpswap_buy(base, base_r, quote_r, *bps, has_creator=has_creator)
    except ValueError:
        return          # the quote it would take overflows u64: the program fails the buy, nothing is bought
    nb, nq = b.reserves_after(base_r, quote_r)
    try:
        s = amm.pumpswap_sell(base, nb, nq, *bps, has_creator=has_creator)
    except ValueError:
        return          # fees above the tiny sell output: the program rejects it, nothing is gained
    assert s.net_quote <= b.total_quote
    assert s.quote_out_gross <= b.quote_in + b.lp_fee


@settings(max_examples=200, deadline=None)
@given(pools, st.integers(0, 10**15), st.integers(0, 10**15), fees_bps)
def test_pumpswap_monotonic(pool, a, b, bps):
    base_r, quote_r = pool
    lo, hi = sorted((a, b))
    assume(hi < base_r)
    try:
        hi_cost = amm.pumpswap_buy(hi, base_r, quote_r, *bps).total_quote
    except ValueError:
        return      # the cost of `hi` overflows u64: the program would fail that buy
    assert amm.pumpswap_buy(lo, base_r, quote_r, *bps).total_quote <= hi_cost
    assert amm.pumpswap_sell(lo, base_r, quote_r, 0, 0, 0).quote_out_gross <= \
        amm.pumpswap_sell(hi, base_r, quote_r, 0, 0, 0).quote_out_gross


def test_pumpswap_sell_with_real_low_tier_fees():
    cfg = decode_fee_config(base64.b64decode(load_fixture("pumpswap/fee_config_account.json")["data"]))
    # a fresh canonical pool: ~206.9M tokens (1e15 supply, 6 decimals) against ~85 SOL
    base_r, quote_r = 206_900_000 * 10**6, 85 * 10**9
    mcap = pool_market_cap(10**15, base_r, quote_r)
    assert mcap < 420 * 10**9                                  # ~410.8 SOL: still the lowest tier
    f = cfg.fee_tier_for(mcap)
    q = amm.pumpswap_sell(10**12, base_r, quote_r, f.lp_fee_bps, f.protocol_fee_bps, f.creator_fee_bps)
    gross = quote_r * 10**12 // (base_r + 10**12)
    assert q.quote_out_gross == gross
    assert q.lp_fee == -(-gross * 2 // 10_000) and q.protocol_fee == -(-gross * 93 // 10_000)
    assert q.creator_fee == -(-gross * 30 // 10_000)
    assert q.net_quote == gross - q.lp_fee - q.protocol_fee - q.creator_fee
    # the LP fee stays in the pool: the quote vault only loses gross - lp
    assert q.reserves_after(base_r, quote_r) == (base_r + 10**12, quote_r - (gross - q.lp_fee))


def test_pumpswap_without_coin_creator_charges_no_creator_fee():
    q = amm.pumpswap_buy(10**9, 10**14, 10**11, 20, 5, 95, has_creator=False)
    assert q.creator_fee == 0 and q.lp_fee > 0


def test_pumpswap_virtual_quote_reserves_shift_the_price():
    plain = amm.pumpswap_buy(10**9, 10**14, 10**11, 0, 0, 0)
    boosted = amm.pumpswap_buy(10**9, 10**14, 10**11, 0, 0, 0, virtual_quote_reserves=10**11)
    assert boosted.quote_in == -(-2 * 10**11 * 10**9 // (10**14 - 10**9)) > plain.quote_in


@pytest.mark.parametrize("call", [
    lambda: amm.swap_base_in(-1, 1, 1),
    lambda: amm.swap_base_in(2**64, 1, 1),
    lambda: amm.swap_base_out(10, 5, 10),
    lambda: amm.pumpswap_buy(10, 10, 10, 0, 0, 0),
    lambda: amm.pumpswap_buy(1, 0, 10, 0, 0, 0),
    lambda: amm.pumpswap_sell(2, 10**9, 10**9, 100, 100, 100),     # 3 ceil fees on a 1-lamport output
    lambda: amm.cpmm_swap_base_input(1, 1, 1, 1_000_000),
])
def test_impossible_trades_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_slippage_helpers():
    assert amm.max_in_with_slippage(10_000, 100) == 10_100
    assert amm.min_out_with_slippage(10_000, 100) == 9_900
    assert amm.min_out_with_slippage(101, 100) == 99          # 1% of 101 = 1.01 -> rounds against us to 2
