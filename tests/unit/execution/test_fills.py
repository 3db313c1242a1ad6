"""Paper fills against real pump.fun accounts. Expected numbers are worked from the PROTOCOL.md formulas:
buy with S lamports: in = (S-1)*10000 // (10000+total_bps); tokens = in*vTok // (vSol+in), the program then
charges cost = n*vSol // (vTok-n) + 1 plus ceil(cost*bps/10000) per fee; sell n: out = n*vSol // (vTok+n)
(capped at real SOL) minus the same ceil fees. Transaction: 5000 per signature + ceil(cu_limit*cu_price/1e6).
"""
import base64
import random
import struct
from dataclasses import replace

import pytest

from pipelines.chain.curve import buy_exact_sol
from pipelines.chain.pump_state import decode_bonding_curve, decode_global
from pipelines.config import ExecutionConfig
from pipelines.fills import LatencyModel, PaperFillModel, Rejection
from pipelines.messages import Fill, Order, Side
from tests.conftest import load_fixture

# The real BondingCurve fixture, read at the documented offsets (u64 LE @8..@40, complete @48).
RAW_CURVE = base64.b64decode(load_fixture("pumpfun/bonding_curve_account.json")["data"])
V_TOK, V_SOL, R_TOK, R_SOL, SUPPLY = struct.unpack_from("<5Q", RAW_CURVE, 8)
RAW_GLOBAL = base64.b64decode(load_fixture("pumpfun/global_account.json")["data"])
(PROTOCOL_BPS,), (CREATOR_BPS,) = struct.unpack_from("<Q", RAW_GLOBAL, 105), struct.unpack_from("<Q", RAW_GLOBAL, 154)

CURVE = decode_bonding_curve(RAW_CURVE)
FEES = decode_global(RAW_GLOBAL).fees()
CFG = ExecutionConfig()                    # 200_000 CU at 100_000 micro-lamports, no Jito
TX_FEE = 5_000 + 200_000 * 100_000 // 1_000_000   # divides exactly: 20_000 priority


def ceil_div(a, b):
    return -(-a // b)


def buy(amount=100_000_000, limit=0, sig="") -> Order:
    return Order(id="b1", mint="MINT", side=Side.BUY, venue="pumpfun", amount=amount, limit=limit, mode="paper",
                 signature=sig)


def sell_order(tokens, limit=0) -> Order:
    return Order(id="s1", mint="MINT", side=Side.SELL, venue="pumpfun", amount=tokens, limit=limit, mode="paper")


def test_fixture_values_are_what_the_docs_describe():
    assert (PROTOCOL_BPS, CREATOR_BPS) == (95, 5) and CURVE.creator != "11111111111111111111111111111111"
    assert (CURVE.virtual_token_reserves, CURVE.virtual_sol_reserves) == (V_TOK, V_SOL)


def test_buy_fills_at_the_exact_curve_math_plus_fees():
    s = 100_000_000
    total_bps = PROTOCOL_BPS + CREATOR_BPS                       # the curve has a creator
    sol_in = (s - 1) * 10_000 // (10_000 + total_bps)
    tokens = sol_in * V_TOK // (V_SOL + sol_in)
    cost = tokens * V_SOL // (V_TOK - tokens) + 1
    protocol, creator = ceil_div(cost * PROTOCOL_BPS, 10_000), ceil_div(cost * CREATOR_BPS, 10_000)
    # worked by hand on these reserves: in = 99_999_999*10_000 // 10_100 = 99_009_900 and the cost of the
    # tokens it buys comes back to exactly that, so the whole 0.1 SOL is spent
    assert sol_in == 99_009_900 and cost == 99_009_900 and cost + protocol + creator == s

    f = PaperFillModel(CFG).fill_buy(buy(sig="SIG"), CURVE, FEES, slot=300, now=12.5)
    assert f == Fill(order_id="b1", mint="MINT", side=Side.BUY, lamports=s + TX_FEE, tokens=tokens,
                     fee_lamports=protocol + creator + TX_FEE, price=(s + TX_FEE) / tokens, slot=300, ts=12.5,
                     signature="SIG", quote_slot=300)


def test_a_curve_without_creator_charges_only_the_protocol_fee():
    no_creator = replace(CURVE, creator="11111111111111111111111111111111")
    s = 250_000_000
    sol_in = (s - 1) * 10_000 // (10_000 + PROTOCOL_BPS)
    tokens = sol_in * V_TOK // (V_SOL + sol_in)
    cost = tokens * V_SOL // (V_TOK - tokens) + 1
    f = PaperFillModel(CFG).fill_buy(buy(s), no_creator, FEES, 1, 0.0)
    assert f.tokens == tokens
    assert f.lamports == cost + ceil_div(cost * PROTOCOL_BPS, 10_000) + TX_FEE
    assert f.fee_lamports == ceil_div(cost * PROTOCOL_BPS, 10_000) + TX_FEE


def test_slippage_limit_is_checked_against_what_the_trader_gets():
    s = 100_000_000
    sol_in = (s - 1) * 10_000 // 10_100
    tokens = sol_in * V_TOK // (V_SOL + sol_in)
    model = PaperFillModel(CFG)
    assert model.fill_buy(buy(limit=tokens), CURVE, FEES, 5, 0.0).tokens == tokens
    r = model.fill_buy(buy(limit=tokens + 1), CURVE, FEES, 5, 0.0)
    assert isinstance(r, Rejection) and r.reason == "slippage" and r.quote_slot == 5
    assert r.fee_lamports == TX_FEE                  # a landed, failed transaction still pays its fees


def test_extra_adverse_slippage_rounds_against_the_trader():
    s = 100_000_000
    sol_in = (s - 1) * 10_000 // 10_100
    tokens = sol_in * V_TOK // (V_SOL + sol_in)
    model = PaperFillModel(CFG.model_copy(update={"paper_extra_slippage_bps": 150}))
    f = model.fill_buy(buy(), CURVE, FEES, 5, 0.0)
    assert f.tokens == tokens * 9_850 // 10_000 and f.lamports == s + TX_FEE
    # with an rng the extra slippage is a draw in 0..150 bps: never better than the curve, never worse than 150
    rng = random.Random(3)
    drawn = [model.fill_buy(buy(), CURVE, FEES, 5, 0.0, rng=rng).tokens for _ in range(50)]
    assert all(tokens * 9_850 // 10_000 <= t <= tokens for t in drawn) and len(set(drawn)) > 5


def test_priority_fee_rounds_up_and_jito_tip_is_added():
    cfg = CFG.model_copy(update={"compute_unit_limit": 200_001, "priority_fee_micro_lamports": 3})
    assert PaperFillModel(cfg).priority_fee_lamports() == 1                 # 600_003 micro-lamports
    cfg = CFG.model_copy(update={"use_jito": True, "jito_tip_lamports": 10_000})
    f = PaperFillModel(cfg).fill_buy(buy(), CURVE, FEES, 5, 0.0)
    assert f.lamports == 100_000_000 + 5_000 + 20_000 + 10_000


def test_complete_curve_and_empty_fills_are_rejected():
    model = PaperFillModel(CFG)
    r = model.fill_buy(buy(), replace(CURVE, complete=True), FEES, 9, 0.0)
    assert isinstance(r, Rejection) and r.reason == "curve_complete" and r.quote_slot == 9
    r = model.fill_sell(sell_order(10**9), replace(CURVE, complete=True), FEES, 9, 0.0)
    assert r.reason == "curve_complete"
    assert model.fill_buy(buy(amount=1), CURVE, FEES, 9, 0.0).reason == "zero_fill"
    r = model.fill_buy(buy(amount=30), CURVE, FEES, 9, 0.0)       # in = 29*10000//10100 = 28 lamports: tokens > 0
    assert isinstance(r, Fill) and r.tokens == 28 * V_TOK // (V_SOL + 28)


def test_a_curve_quoted_in_another_mint_is_not_filled_as_sol():
    usdc = replace(CURVE, quote_mint="EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    assert PaperFillModel(CFG).fill_buy(buy(), usdc, FEES, 1, 0.0).reason == "unsupported_quote_mint"


def test_sell_after_buy_round_trip_costs_exactly_the_fees_and_rounding():
    model = PaperFillModel(CFG)
    bought = model.fill_buy(buy(), CURVE, FEES, 5, 0.0)
    n = bought.tokens
    cost = n * V_SOL // (V_TOK - n) + 1
    after = replace(CURVE, virtual_token_reserves=V_TOK - n, virtual_sol_reserves=V_SOL + cost,
                    real_token_reserves=R_TOK - n, real_sol_reserves=R_SOL + cost)
    v_tok, v_sol = V_TOK - n, V_SOL + cost
    gross = n * v_sol // (v_tok + n)
    protocol, creator = ceil_div(gross * PROTOCOL_BPS, 10_000), ceil_div(gross * CREATOR_BPS, 10_000)
    f = model.fill_sell(sell_order(n), after, FEES, 6, 1.0)
    assert f.tokens == n and f.side == Side.SELL
    assert f.lamports == gross - protocol - creator - TX_FEE
    assert f.fee_lamports == protocol + creator + TX_FEE
    assert cost - 1 <= gross <= cost                # the curve gives back what it took, less rounding
    assert f.lamports < bought.lamports


def test_sell_is_capped_by_the_real_sol_in_the_curve():
    n = 3_529_021_423_800                            # worth ~98 M lamports at these virtual reserves
    assert n * V_SOL // (V_TOK + n) > R_SOL          # the fixture curve only holds 2_485_430 real lamports
    f = PaperFillModel(CFG).fill_sell(sell_order(n), CURVE, FEES, 6, 1.0)
    fees = ceil_div(R_SOL * 95, 10_000) + ceil_div(R_SOL * 5, 10_000)
    assert f.lamports == R_SOL - fees - TX_FEE


def test_sell_min_out_is_checked_against_the_net_payout():
    n = 10**10
    gross = n * V_SOL // (V_TOK + n)
    assert gross < R_SOL
    net = gross - ceil_div(gross * 95, 10_000) - ceil_div(gross * 5, 10_000)
    model = PaperFillModel(CFG)
    assert isinstance(model.fill_sell(sell_order(n, limit=net), CURVE, FEES, 1, 0.0), Fill)
    assert model.fill_sell(sell_order(n, limit=net + 1), CURVE, FEES, 1, 0.0).reason == "slippage"


def test_a_dust_sell_nets_negative_rather_than_pretending_fees_are_free():
    assert 1_000 * V_SOL // (V_TOK + 1_000) == 0     # 1000 base units are worth less than a lamport
    f = PaperFillModel(CFG).fill_sell(sell_order(1_000), CURVE, FEES, 1, 0.0)
    assert (f.tokens, f.lamports, f.fee_lamports) == (1_000, -TX_FEE, TX_FEE)


def test_sides_are_not_mixed_up():
    with pytest.raises(ValueError):
        PaperFillModel(CFG).fill_buy(sell_order(5), CURVE, FEES, 1, 0.0)
    with pytest.raises(ValueError):
        PaperFillModel(CFG).fill_sell(buy(), CURVE, FEES, 1, 0.0)


def test_latency_model_slots():
    lm = LatencyModel(detection_slots=2, send_to_land_slots=3, jitter_slots=4)
    assert lm.decision_slot(100) == 102 and lm.landing_slot(102) == 105
    rng = random.Random(1)
    landed = [lm.landing_slot(102, rng) for _ in range(200)]
    assert set(landed) == {105, 106, 107, 108, 109}
    assert LatencyModel.from_config(CFG.model_copy(update={"paper_latency_ms": 900})).send_to_land_slots == 3
    assert LatencyModel.from_config(CFG).send_to_land_slots == 1          # nothing lands in its own slot
    with pytest.raises(ValueError):
        LatencyModel(send_to_land_slots=-1)
    f = PaperFillModel(CFG, LatencyModel(send_to_land_slots=2)).fill_buy(buy(), CURVE, FEES, 40, 0.0)
    assert (f.quote_slot, f.slot) == (40, 42)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(spend=st.integers(0, 90 * 10**9), sold=st.integers(0, 793_100_000_000_000),
       extra_bps=st.integers(0, 2_000))
def test_fills_never_spend_more_than_asked_nor_hand_out_more_than_the_curve_holds(spend, sold, extra_bps):
    # any reachable curve state: `sold` tokens already bought from a fresh curve
    v_tok = 1_073_000_000_000_000 - sold
    v_sol = 30_000_000_000 * 1_073_000_000_000_000 // v_tok
    curve = replace(CURVE, virtual_token_reserves=v_tok, virtual_sol_reserves=v_sol,
                    real_token_reserves=793_100_000_000_000 - sold, real_sol_reserves=v_sol - 30_000_000_000)
    model = PaperFillModel(CFG.model_copy(update={"paper_extra_slippage_bps": extra_bps}))
    f = model.fill_buy(buy(spend), curve, FEES, 1, 0.0)
    if isinstance(f, Rejection):
        # legitimate only for dust: the curve's own quote, less the extra slippage, is no token at all
        quoted = min(buy_exact_sol(curve.state(), spend, FEES).tokens, curve.real_token_reserves)
        dust = quoted * (10_000 - extra_bps) // 10_000 == 0
        assert f.reason in ("zero_fill", "curve_complete") and (
            spend < 10**6 or sold == 793_100_000_000_000 or dust), (f, quoted)
        return
    assert 0 < f.tokens <= curve.real_token_reserves
    assert f.lamports <= spend + TX_FEE and f.fee_lamports >= TX_FEE
    s = model.fill_sell(sell_order(f.tokens), curve, FEES, 1, 0.0)
    assert isinstance(s, Fill) and s.lamports < f.lamports       # selling back into the same state returns less
