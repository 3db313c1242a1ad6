"""pump.fun curve math (pipelines/chain/curve.py) against an independent Fraction reference, its economic
properties, and the real 2024 buy/sell recomputed from their TradeEvent reserves."""
from __future__ import annotations

import base64
import math
import struct
from fractions import Fraction

from hypothesis import assume, example, given, settings, strategies as st

from pipelines.chain import programs as P
from pipelines.chain.curve import (
    CurveFees, CurveState, apply_buy, apply_sell, buy_exact_sol, buy_exact_tokens, market_cap_lamports, sell,
)
from tests.conftest import load_fixture

U64 = 2**64 - 1
INITIAL_VTOK = 1_073_000_000_000_000
INITIAL_VSOL = 30_000_000_000
VIRTUAL_TOKEN_OFFSET = INITIAL_VTOK - 793_100_000_000_000     # vTok - realTok on every pump curve


def _ceil(fr: Fraction) -> int:
    return math.ceil(fr)


def _fee_ref(amount: int, bps: int) -> int:
    return _ceil(Fraction(amount * bps, 10_000))


@st.composite
def curves(draw, has_creator=st.booleans()):
    """Reachable pump curve states: vTok*vSol stays ~ the initial product, realTok = vTok - 279.9e12."""
    real_tok = draw(st.integers(0, 793_100_000_000_000))
    v_tok = real_tok + VIRTUAL_TOKEN_OFFSET
    v_sol = draw(st.integers(INITIAL_VSOL * INITIAL_VTOK // v_tok, INITIAL_VSOL * INITIAL_VTOK // v_tok + 10**6))
    real_sol = max(0, v_sol - INITIAL_VSOL)
    return CurveState(v_tok, v_sol, real_tok, real_sol, 10**15, False, draw(has_creator))


fee_rates = st.builds(CurveFees, st.integers(0, 500), st.integers(0, 500))
u64s = st.integers(0, U64)


@settings(max_examples=300, deadline=None)
@given(curves(), u64s, fee_rates)
def test_buy_exact_tokens_matches_fraction_reference(state, amount, fees):
    q = buy_exact_tokens(state, amount, fees)
    n = min(amount, state.real_token_reserves)
    if n == 0:
        assert q.tokens == 0 and q.total_sol == 0
        return
    cost = math.floor(Fraction(n * state.virtual_sol_reserves, state.virtual_token_reserves - n)) + 1
    assert (q.tokens, q.sol_cost) == (n, cost)
    assert q.protocol_fee == _fee_ref(cost, fees.protocol_bps)
    assert q.creator_fee == (_fee_ref(cost, fees.creator_bps) if state.has_creator else 0)
    assert q.total_sol <= U64                                   # reachable states never overflow u64


@settings(max_examples=300, deadline=None)
@given(curves(), u64s, fee_rates)
@example(CurveState(100, 20, 100, 0, 10**15), 82, CurveFees(95, 30))   # exact-division case fixed in curve.py
def test_buy_exact_sol_never_spends_more_than_spendable(state, spendable, fees):
    q = buy_exact_sol(state, spendable, fees)
    assert q.total_sol <= spendable
    assert q.tokens <= state.real_token_reserves
    if q.tokens:
        assert q == buy_exact_tokens(state, q.tokens, fees)       # charged exactly what those tokens cost
    sdk = _sdk_tokens(state, spendable, fees)
    if sdk == 0 or buy_exact_tokens(state, sdk, fees).total_sol <= spendable:
        assert q.tokens == sdk                                     # the SDK's count whenever it fits the budget
    else:
        # the SDK count would overspend: the most tokens that fit, and not one more
        assert q.tokens < sdk
        assert buy_exact_tokens(state, q.tokens + 1, fees).total_sol > spendable


def _sdk_tokens(state: CurveState, spendable: int, fees: CurveFees) -> int:
    """The SDK's own token count for a SOL budget (PROTOCOL.md), from Fractions."""
    if spendable <= 1:
        return 0
    bps = fees.protocol_bps + (fees.creator_bps if state.has_creator else 0)
    sol_in = math.floor(Fraction((spendable - 1) * 10_000, 10_000 + bps))
    return min(math.floor(Fraction(sol_in * state.virtual_token_reserves, state.virtual_sol_reserves + sol_in)),
               state.real_token_reserves)


@settings(max_examples=200, deadline=None)
@given(curves(), u64s, u64s, fee_rates)
def test_monotonic(state, a, b, fees):
    lo, hi = sorted((a, b))
    assert buy_exact_sol(state, lo, fees).tokens <= buy_exact_sol(state, hi, fees).tokens
    assert buy_exact_tokens(state, lo, fees).total_sol <= buy_exact_tokens(state, hi, fees).total_sol
    lo_t, hi_t = min(lo, state.real_token_reserves), min(hi, state.real_token_reserves)
    assert sell(state, lo_t, fees).sol_out_gross <= sell(state, hi_t, fees).sol_out_gross


@settings(max_examples=300, deadline=None)
@given(curves(), u64s, fee_rates)
def test_buy_then_sell_never_gains(state, amount, fees):
    b = buy_exact_tokens(state, amount, fees)
    assume(b.tokens > 0)
    after = apply_buy(state, b)
    assume(not after.complete)        # a completed curve no longer trades
    s = sell(after, b.tokens, fees)
    assert s.sol_out_gross <= b.sol_cost
    assert s.net_sol <= b.total_sol
    # selling back restores the token side exactly and never leaves the curve with less SOL than before
    back = apply_sell(after, s)
    assert back.virtual_token_reserves == state.virtual_token_reserves
    assert back.virtual_sol_reserves >= state.virtual_sol_reserves


@settings(max_examples=200, deadline=None)
@given(curves(), u64s, fee_rates)
def test_sell_matches_fraction_reference(state, amount, fees):
    q = sell(state, amount, fees)
    if amount == 0:
        assert q.net_sol == 0
        return
    gross = min(math.floor(Fraction(amount * state.virtual_sol_reserves, state.virtual_token_reserves + amount)),
                state.real_sol_reserves)
    assert q.sol_out_gross == gross
    p, c = _fee_ref(gross, fees.protocol_bps), _fee_ref(gross, fees.creator_bps) if state.has_creator else 0
    if p + c <= gross:
        assert (q.protocol_fee, q.creator_fee) == (p, c)
    assert 0 <= q.net_sol <= gross


def test_market_cap_of_a_fresh_curve():
    # 30 SOL * 1e15 / 1.073e15 = 27.958... SOL
    state = CurveState(INITIAL_VTOK, INITIAL_VSOL, 793_100_000_000_000, 0, 10**15)
    assert market_cap_lamports(state) == 30_000_000_000 * 10**15 // INITIAL_VTOK == 27_958_993_476


def test_buying_all_real_tokens_completes_at_about_85_sol():
    state = CurveState(INITIAL_VTOK, INITIAL_VSOL, 793_100_000_000_000, 0, 10**15)
    q = buy_exact_tokens(state, 10**18, CurveFees(95, 30))
    after = apply_buy(state, q)
    assert q.tokens == 793_100_000_000_000 and after.complete and after.real_token_reserves == 0
    # PROTOCOL.md: the curve completes at about 85 real SOL
    assert 84 * 10**9 < after.real_sol_reserves < 86 * 10**9


# --- the real 2024 buy and sell (shared/fixtures/pumpfun/buy_sell_2024_getTransaction_jsonParsed.json) ---

def _trade_events():
    tx = load_fixture("pumpfun/buy_sell_2024_getTransaction_jsonParsed.json")["result"]
    out = []
    for line in tx["meta"]["logMessages"]:
        if line.startswith("Program data: "):
            raw = base64.b64decode(line[len("Program data: "):])
            if raw[:8] == P.PUMP_EV_TRADE:
                # TradeEvent (PROTOCOL.md): sol_amount @40, token_amount @48, is_buy @56, reserves after @97..
                sol, tok = struct.unpack_from("<QQ", raw, 40)
                v_sol, v_tok, r_sol, r_tok = struct.unpack_from("<QQQQ", raw, 97)
                out.append((sol, tok, raw[56] == 1, v_sol, v_tok, r_sol, r_tok))
    return tx, out


def test_real_2024_buy_and_sell_recomputed_from_event_reserves():
    tx, events = _trade_events()
    assert [e[2] for e in events] == [True, False]
    (b_sol, b_tok, _, v_sol, v_tok, r_sol, r_tok), (s_sol, s_tok, *_rest) = events
    # the event carries the reserves AFTER the trade: undo the buy to get the state it priced against
    before = CurveState(v_tok + b_tok, v_sol - b_sol, r_tok + b_tok, r_sol - b_sol, 10**15, has_creator=False)
    fees_2024 = CurveFees(protocol_bps=100, creator_bps=0)        # 1% fee, no creator fee in Aug 2024
    q = buy_exact_tokens(before, b_tok, fees_2024)
    assert q.tokens == b_tok and q.sol_cost == b_sol == 24_080_282
    assert apply_buy(before, q) == CurveState(v_tok, v_sol, r_tok, r_sol, 10**15, False, False)
    # the sell of the same tokens right after prices off the post-buy state, one lamport less (floor vs +1)
    s = sell(apply_buy(before, q), s_tok, fees_2024)
    assert s_tok == b_tok and s.sol_out_gross == s_sol == b_sol - 1

    # The fees actually paid: the inner system transfer to the fee recipient is 240_802 on the buy, and the
    # wallet's balance shows 240_802 again on the sell. That is floor(1% of 24_080_282) = 240_802, while the
    # current program (and curve.py) take ceil = 240_803: in 2024 the program rounded fees down.
    inner = tx["meta"]["innerInstructions"][0]["instructions"]
    fee_paid = next(i["parsed"]["info"]["lamports"] for i in inner
                    if i.get("parsed", {}).get("type") == "transfer"
                    and i["parsed"]["info"]["destination"] == "CebN5WGQ4jvEPvsVU4EoHEpgzq1VV7AbicfhtW4xC9iM")
    assert fee_paid == b_sol * 100 // 10_000 == 240_802
    assert q.protocol_fee == fee_paid + 1
    meta = tx["meta"]
    user_delta = meta["postBalances"][0] - meta["preBalances"][0]
    tip = tx["transaction"]["message"]["instructions"][-1]["parsed"]["info"]["lamports"]
    sell_net = user_delta + meta["fee"] + tip + b_sol + fee_paid
    assert sell_net == s_sol - s_sol * 100 // 10_000
