"""Paper fills on a PumpSwap pool (after migration), worked from the pump-swap-sdk formulas:
buy_exact_quote_in with S lamports: eff = S*10000 // (10000+total_bps), less any overshoot once the ceil fees
are added; base = B*(eff-1) // (Q+eff-1); the program charges quote_in = ceil(Q*base / (B-base)) plus
ceil(quote_in*bps/10000) for each of lp, protocol, creator. sell n: gross = Q*n // (B+n) minus the same fees.
Fee rates: the real FeeConfig account's first tier (market cap under 420 SOL), read at its documented offsets.
"""
import base64
import struct
from dataclasses import replace

from pipelines.chain import programs as P
from pipelines.chain.amm_state import Fees, Pool
from pipelines.config import ExecutionConfig
from pipelines.fills import PaperFillModel, Rejection
from pipelines.messages import Fill, Order, Side
from tests.conftest import load_fixture

RAW = base64.b64decode(load_fixture("pumpswap/fee_config_account.json")["data"])
# disc 8 + bump 1 + admin 32 + flat fees 24 = 65: u32 tier count, then tiers of u128 threshold + 3 x u64
(N_TIERS,) = struct.unpack_from("<I", RAW, 65)
THRESHOLD = int.from_bytes(RAW[69:85], "little")
LP, PROTO, CREATOR = struct.unpack_from("<3Q", RAW, 85)
FEES = Fees(LP, PROTO, CREATOR)
TX_FEE = 5_000 + 20_000
B, Q = 206_900_000_000_000, 84_990_359_067          # a freshly migrated coin: ~207 M tokens against ~85 SOL
POOL = Pool(pool_bump=255, index=0, creator="C" * 32, base_mint="MINT", quote_mint=P.WSOL_MINT, lp_mint="L" * 32,
            pool_base_token_account="V" * 32, pool_quote_token_account="W" * 32, lp_supply=1,
            coin_creator="CkdtUhQdH2sHXJYTJTNFbF1K5W33WVgVHG7zffaMkEmv")
MODEL = PaperFillModel(ExecutionConfig())


def ceil_div(a, b):
    return -(-a // b)


def fees_of(x, creator=True):
    return ceil_div(x * LP, 10_000), ceil_div(x * PROTO, 10_000), ceil_div(x * CREATOR, 10_000) if creator else 0


def order(side, amount, limit=0):
    return Order(id="p1", mint="MINT", side=side, venue="pumpswap", amount=amount, limit=limit, mode="paper")


def test_the_fee_tier_is_the_documented_one():
    assert N_TIERS >= 1 and THRESHOLD == 0 and (LP, PROTO, CREATOR) == (2, 93, 30)   # 0.02% + 0.93% + 0.30%


def test_pool_buy_spends_at_most_the_budget_at_the_sdk_math():
    s = 500_000_000
    eff = s * 10_000 // (10_000 + LP + PROTO + CREATOR)
    over = eff + sum(fees_of(eff)) - s
    eff -= max(over, 0)
    base = B * (eff - 1) // (Q + eff - 1)
    quote_in = ceil_div(Q * base, B - base)
    venue_fees = sum(fees_of(quote_in))
    assert quote_in + venue_fees <= s
    f = MODEL.fill_buy_pool(order(Side.BUY, s), POOL, B, Q, FEES, slot=70, now=3.0)
    assert f == Fill(order_id="p1", mint="MINT", side=Side.BUY, lamports=quote_in + venue_fees + TX_FEE,
                     tokens=base, fee_lamports=venue_fees + TX_FEE, price=(quote_in + venue_fees + TX_FEE) / base,
                     slot=70, ts=3.0, quote_slot=70)


def test_pool_sell_takes_fees_from_the_output():
    n = 5_000_000_000_000
    gross = Q * n // (B + n)
    lp, proto, creator = fees_of(gross)
    f = MODEL.fill_sell_pool(order(Side.SELL, n), POOL, B, Q, FEES, slot=71, now=4.0)
    assert (f.tokens, f.lamports, f.fee_lamports) == (n, gross - lp - proto - creator - TX_FEE,
                                                      lp + proto + creator + TX_FEE)
    assert MODEL.fill_sell_pool(order(Side.SELL, n, limit=gross - lp - proto - creator + 1), POOL, B, Q, FEES,
                                71, 4.0).reason == "slippage"


def test_a_pool_without_coin_creator_charges_no_creator_fee():
    n = 10**12
    gross = Q * n // (B + n)
    lp, proto, _ = fees_of(gross)
    no_creator = replace(POOL, coin_creator=P.DEFAULT_PUBKEY)
    f = MODEL.fill_sell_pool(order(Side.SELL, n), no_creator, B, Q, FEES, 1, 0.0)
    assert f.lamports == gross - lp - proto - TX_FEE


def test_pool_rejections():
    usdc = replace(POOL, quote_mint=P.USDC_MINT)
    assert MODEL.fill_buy_pool(order(Side.BUY, 10**8), usdc, B, Q, FEES, 1, 0.0).reason == "unsupported_quote_mint"
    r = MODEL.fill_buy_pool(order(Side.BUY, 10**8), POOL, B, 0, FEES, 1, 0.0)
    assert isinstance(r, Rejection) and r.reason == "pool_cannot_fill" and r.fee_lamports == 0
    assert MODEL.fill_buy_pool(order(Side.BUY, 1), POOL, B, Q, FEES, 1, 0.0).reason == "zero_fill"
    assert MODEL.fill_sell_pool(order(Side.SELL, 0), POOL, B, Q, FEES, 1, 0.0).reason == "zero_fill"
    r = MODEL.fill_buy_pool(order(Side.BUY, 10**8, limit=10**15), POOL, B, Q, FEES, 1, 0.0)
    assert r.reason == "slippage" and r.fee_lamports == TX_FEE
