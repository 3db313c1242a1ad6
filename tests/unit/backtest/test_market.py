"""ReplayMarket rebuilds curve and pool state from events; ChainFees picks the rates the chain charged."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pipelines.backtest.market import ChainFees, FeesUnknown, ReplayMarket
from pipelines.chain import programs as P
from pipelines.chain.amm_state import FeeConfig, Fees, FeeTier, encode_fee_config
from pipelines.chain.curve import CurveFees
from pipelines.chain.events import Trade
from pipelines.recording import load_recording

from .streams import SOL, V_SOL0, V_TOK0, Coin, key, state

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


def test_curve_state_follows_launch_and_trades():
    coin = Coin(key(1), key(2))
    m = ReplayMarket(ChainFees.infer([]))
    m.apply(coin.launch(5))
    with pytest.raises(FeesUnknown):                 # no trade yet and nothing recorded: no fee source
        m.curve_view(coin.mint)
    m.apply(coin.buy(6, 2 * SOL, key(3)))
    v = m.curve_view(coin.mint)
    assert (v.curve.virtual_token_reserves, v.curve.virtual_sol_reserves, v.curve.real_token_reserves,
            v.curve.real_sol_reserves) == state(coin)
    assert v.curve.creator == key(2) and not v.curve.complete and v.slot == 6
    assert v.fees == CurveFees(95, 30)               # the rates the trade event carried
    assert m.price(coin.mint) == coin.vsol / coin.vtok
    m.apply(coin.buy_rest(7, key(3)))
    assert m.curve_view(coin.mint).curve.complete    # real tokens ran out


def test_launch_gives_the_initial_state_and_a_missed_launch_starts_from_the_trade():
    coin = Coin(key(1), key(2))
    m = ReplayMarket(ChainFees(default_curve=CurveFees(100, 0)))
    m.apply(coin.launch(5))
    c = m.curve_view(coin.mint).curve
    assert (c.virtual_token_reserves, c.virtual_sol_reserves, c.real_sol_reserves) == (V_TOK0, V_SOL0, 0)
    other = Coin(key(7), key(8))
    other.launch(5)
    t = other.buy(9, SOL, key(3))
    m.apply(t)                                        # its launch is not in the stream
    assert m.curve_view(other.mint).curve.virtual_sol_reserves == t.virtual_sol_reserves


def test_pool_from_migration_and_pool_trades_without_a_mint():
    coin = Coin(key(1), key(2))
    m = ReplayMarket(ChainFees(default_curve=CurveFees(95, 30), default_pool=Fees(0, 25, 5)))
    m.apply_batch(coin.events[:0] + [coin.launch(5), coin.buy(6, SOL, key(3))])
    assert m.pool_view(coin.mint) is None
    created, migration = coin.migrate(8, key(9), 1_000_000, 80 * SOL, coin_creator=key(2))
    m.apply(migration)                                # Migration alone: mint_amount / sol_amount
    p = m.pool_view(coin.mint)
    assert (p.base_reserve, p.quote_reserve, p.pool_address) == (1_000_000, 80 * SOL, key(9))
    assert m.curve_view(coin.mint).curve.complete
    # a PumpSwap trade decoded from logs has no mint: the pool address says which token it is
    m.apply(Trade(venue="pumpswap", signature="s", slot=9, mint="", side="buy", sol_amount=0, token_amount=10,
                  user=key(4), quote_mint="", quote_amount=5, virtual_sol_reserves=81 * SOL,
                  virtual_token_reserves=999_990, fee=1, fee_basis_points=25, creator=key(2), creator_fee=1,
                  creator_fee_basis_points=5, pool=key(9)))
    p = m.pool_view(coin.mint)
    assert (p.base_reserve, p.quote_reserve, p.fees, p.slot) == (999_990, 81 * SOL, Fees(0, 25, 5), 9)
    assert p.pool.has_coin_creator and p.pool.quote_mint == P.WSOL_MINT


def test_recorded_pool_fee_config_picks_the_market_cap_tier():
    tiers = (FeeTier(0, Fees(2, 93, 30)), FeeTier(420 * SOL, Fees(20, 5, 95)))
    cfg = FeeConfig(bump=1, admin=key(5), flat_fees=Fees(25, 5, 0), fee_tiers=tiers)
    meta = {"accounts": {"pumpswap_fee_config": {"data": base64.b64encode(encode_fee_config(cfg)).decode(),
                                                 "owner": P.PUMP_FEES}}}
    fees = ChainFees.from_meta(meta)
    # market cap = quote * 10^15 // base (ChainReader.pool): 80 SOL / 2e14 base -> 400 SOL; 90 SOL -> 450 SOL
    assert fees.pool_fees(200_000_000_000_000, 80 * SOL, P.WSOL_MINT, None) == Fees(2, 93, 30)
    assert fees.pool_fees(200_000_000_000_000, 90 * SOL, P.WSOL_MINT, None) == Fees(20, 5, 95)


def test_a_pump_fee_config_not_owned_by_the_fee_program_is_ignored():
    cfg = FeeConfig(bump=1, admin=key(5), flat_fees=Fees(0, 1, 1), fee_tiers=(FeeTier(0, Fees(0, 50, 50)),))
    data = base64.b64encode(encode_fee_config(cfg)).decode()
    owned = ChainFees.from_meta({"accounts": {"pump_fee_config": {"data": data, "owner": P.PUMP_FEES}}})
    assert owned.curve_fees(None, None) == CurveFees(50, 50) and owned.exit_sell_fee_bps() == 100
    spoofed = ChainFees.from_meta({"accounts": {"pump_fee_config": {"data": data, "owner": key(6)}}})
    assert not spoofed.recorded
    garbage = ChainFees.from_meta({"accounts": {"pump_global": {"data": "!!!", "owner": P.PUMP}}})
    assert not garbage.recorded


def test_replayed_state_matches_every_trade_of_a_real_recording():
    """On the simnet recording, the state the market holds after each trade is the state that trade reports
    (curve or pool, the latter found through the pool address since log-decoded pool trades carry no mint)."""
    if not SAMPLE.exists():
        pytest.skip("data/sample is missing")
    rec = load_recording(SAMPLE)
    m = ReplayMarket(ChainFees.from_meta(rec.meta, rec.events))
    checked = {"pumpfun": 0, "pumpswap": 0}
    for ev in rec.events:
        m.apply(ev)
        if type(ev) is not Trade:
            continue
        if ev.venue == "pumpfun":
            c = m.curve_view(ev.mint).curve
            assert (c.virtual_sol_reserves, c.virtual_token_reserves) == (ev.virtual_sol_reserves,
                                                                           ev.virtual_token_reserves)
        else:
            mint = m.pools[ev.pool][0]
            p = m.pool_view(mint)
            assert (p.quote_reserve, p.base_reserve) == (ev.virtual_sol_reserves, ev.virtual_token_reserves)
        checked[ev.venue] += 1
    assert checked["pumpfun"] > 100 and checked["pumpswap"] > 0
