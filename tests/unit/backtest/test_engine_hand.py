"""The backtester on hand-built streams: every fill and the P&L checked to the lamport against PROTOCOL.md's
curve formulas worked out in the test (streams.hand_*), not against the code under test.

Common setup: a coin launches at slot 100 and, in the same slot, a wallet (W1) buys 10 SOL, so the curve holds
40 SOL virtual. The sniper strategy (the only one enabled) buys 1 SOL at zero latency: it fills against the
state at the end of slot 100. The reservation is 1 SOL; the transaction fee (5,000 + ceil(200,000 CU x 100,000
micro-lamports / 1e6) = 25,000) is paid on top of the instruction's spend, so the buy spends 999,975,000.
"""
from __future__ import annotations

import base64

import pytest

from pipelines.backtest.engine import BacktestEngine, slot_batches
from pipelines.backtest.latency import latency_from
from pipelines.backtest.market import ChainFees
from pipelines.backtest.report import build_report
from pipelines.chain.amm_state import FeeConfig, Fees, FeeTier
from pipelines.chain.pump_state import Global, encode_global
from pipelines.fills import LatencyModel
from pipelines.messages import Side

from .streams import (C_BPS, P_BPS, SOL, T0, Coin, config, hand_buy_exact_sol, hand_pool_sell, hand_sell, key,
                      state, tx_fee)

MINT, CREATOR, W1, W2 = key(1), key(2), key(3), key(4)


def run(events, cfg=None, fees=None, latency=None):
    cfg = cfg or config()
    fees = fees or ChainFees.infer(events)
    return BacktestEngine(cfg, fees, latency=latency or LatencyModel(0, 0), t0=T0).run(events)


def opened_coin() -> tuple[Coin, tuple[int, int, int, int]]:
    coin = Coin(MINT, CREATOR)
    coin.launch(100)
    coin.buy(100, 10 * SOL, W1)
    return coin, state(coin)


def test_tx_fee_and_spend_of_the_sim_profile():
    cfg = config()
    assert tx_fee(cfg) == 25_000
    assert cfg.execution.sniper_buy_sol == 1.0 and cfg.risk.max_position_sol == 1.0


def test_stop_loss_exit_pnl_to_the_lamport():
    coin, s1 = opened_coin()
    w1_tokens = coin.events[-1].token_amount
    coin.sell(101, w1_tokens * 45 // 100, W1)      # W1 takes profit: the curve falls to ~34.78 SOL virtual
    s2 = state(coin)
    cfg = config()
    fee = tx_fee(cfg)

    # entry: 999,975,000 spendable on the end-of-slot-100 state
    tokens, paid, buy_fees = hand_buy_exact_sol(s1[0], s1[1], s1[2], SOL - fee, P_BPS, C_BPS)
    cost = paid + fee
    # the stop-loss judges the spot price net of the 1.25% sell fee against the entry price (cost / tokens)
    spot = s2[1] / s2[0]
    assert spot * (1 - (P_BPS + C_BPS) / 10_000) <= (cost / tokens) * (1 - cfg.exits.stop_loss)
    # exit: every token sold into the end-of-slot-101 state
    net, sell_fees = hand_sell(s2[0], s2[1], s2[3], tokens, P_BPS, C_BPS)
    received = net - fee

    r = run(coin.events, cfg)
    assert [(f.side, f.tokens, f.lamports, f.fee_lamports, f.quote_slot) for f in r.fills] == [
        (Side.BUY, tokens, cost, buy_fees + fee, 100), (Side.SELL, tokens, received, sell_fees + fee, 101)]
    [trade] = r.closed
    assert trade.exit_reason == "stop_loss" and trade.strategy == "sniper"
    assert trade.realized_lamports - trade.cost_lamports == received - cost
    rep = build_report(r)
    assert rep["pnl_lamports"] == received - cost
    assert rep["trades"] == 1 and rep["win_rate"] == 0.0
    assert rep["pnl_by_exit_reason"] == {"stop_loss": (received - cost) / SOL}
    assert rep["avg_hold_s"] == pytest.approx(0.4)         # one slot
    assert rep["profit_factor"] == 0.0 and rep["gross_loss_sol"] == (cost - received) / SOL


def test_take_profit_ladder_sells_a_quarter_a_quarter_then_the_rest():
    coin, s1 = opened_coin()
    cfg = config()
    fee = tx_fee(cfg)
    tokens, paid, _ = hand_buy_exact_sol(s1[0], s1[1], s1[2], SOL - fee, P_BPS, C_BPS)
    cost = paid + fee
    entry = cost / tokens
    net_factor = 1 - (P_BPS + C_BPS) / 10_000
    states = []
    for slot, vsol in ((101, 60 * SOL), (102, 73 * SOL), (103, 84 * SOL)):   # +1x, +2x, +3x net of fees
        coin.buy_to_vsol(slot, vsol, W2)
        states.append(state(coin))
    gains = [(s[1] / s[0]) * net_factor / entry - 1 for s in states]
    assert 1.0 <= gains[0] < 2.0 <= gains[1] < 3.0 <= gains[2]    # each slot crosses exactly one more step

    step = tokens * 250_000 // 1_000_000          # floor(initial_tokens * 0.25), the ladder's first two steps
    sizes = [step, step, tokens - 2 * step]
    proceeds = [hand_sell(s[0], s[1], s[3], n, P_BPS, C_BPS)[0] - fee for s, n in zip(states, sizes)]

    r = run(coin.events, cfg)
    sells = [f for f in r.fills if f.side is Side.SELL]
    assert [(f.tokens, f.lamports, f.quote_slot) for f in sells] == list(zip(sizes, proceeds, (101, 102, 103)))
    [trade] = r.closed
    assert trade.exit_reason == "take_profit_3" and trade.tp_steps_done == 3
    assert trade.realized_lamports - trade.cost_lamports == sum(proceeds) - cost
    rep = build_report(r)
    # each sell's P&L is its proceeds less the cost basis it released (average cost: basis * k // n)
    b1 = cost * step // tokens
    b2 = (cost - b1) * step // (tokens - step)
    b3 = cost - b1 - b2
    assert rep["pnl_by_exit_reason"] == {"take_profit_1": (proceeds[0] - b1) / SOL,
                                        "take_profit_2": (proceeds[1] - b2) / SOL,
                                        "take_profit_3": (proceeds[2] - b3) / SOL}
    assert rep["pnl_lamports"] == sum(proceeds) - cost and rep["win_rate"] == 1.0


def test_migration_exit_waits_for_the_pool_and_sells_on_it():
    coin, s1 = opened_coin()
    coin.buy_rest(101, W2)                          # the last real tokens: the curve completes in slot 101
    coin.complete(101)
    base, quote = 206_900_000_000_000, 84_990_359_071
    coin.migrate(102, key(9), base, quote, coin_creator=CREATOR)
    cfg = config()
    fee = tx_fee(cfg)
    tokens, paid, _ = hand_buy_exact_sol(s1[0], s1[1], s1[2], SOL - fee, P_BPS, C_BPS)
    cost = paid + fee
    # a recorded PumpSwap fee config: one tier, 0.20% LP + 0.05% protocol + 0.95% creator
    pool_fees = FeeConfig(bump=255, admin=key(10), flat_fees=Fees(25, 5, 0), fee_tiers=(FeeTier(0, Fees(20, 5, 95)),))
    fees = ChainFees(pool_fee_config=pool_fees, default_curve=ChainFees.infer(coin.events).default_curve)
    net, pool_fee_total = hand_pool_sell(base, quote, tokens, 20, 5, 95)
    received = net - fee

    r = run(coin.events, cfg, fees)
    # slot 101: the curve is complete but there is no pool yet: the urgent exit is refused (no market) and
    # fires again; slot 102: the pool exists, the exit sells every token on it
    assert r.counts["exit_no_market_for_the_token"] >= 1
    [buy, sold] = r.fills
    assert (sold.side, sold.tokens, sold.lamports, sold.fee_lamports, sold.quote_slot) == (
        Side.SELL, tokens, received, pool_fee_total + fee, 102)
    [trade] = r.closed
    assert trade.exit_reason == "migration" and trade.venue == "pumpfun"
    assert trade.realized_lamports - trade.cost_lamports == received - cost


def _global(fee_bps: int, creator_bps: int) -> Global:
    return Global(initialized=True, authority=key(20), fee_recipient=key(21),
                  initial_virtual_token_reserves=1_073 * 10**12,
                  initial_virtual_sol_reserves=30 * SOL, initial_real_token_reserves=793_100 * 10**9,
                  token_total_supply=10**15, fee_basis_points=fee_bps, withdraw_authority=key(22), enable_migrate=True,
                  pool_migration_fee=15_000_001, creator_fee_basis_points=creator_bps, fee_recipients=(key(23),) * 7)


def test_fees_come_from_the_recorded_chain_parameters():
    """The same stream with a recorded Global charging 1.00% + 0.50% (and no pump FeeConfig): both fills use
    those rates, not the 0.95% + 0.30% the trade events carry."""
    coin, s1 = opened_coin()
    coin.sell(101, coin.events[-1].token_amount * 45 // 100, W1)
    s2 = state(coin)
    meta = {"accounts": {"pump_global": {"data": base64.b64encode(encode_global(_global(100, 50))).decode(),
                                         "owner": "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"}}}
    fees = ChainFees.from_meta(meta, coin.events)
    assert fees.recorded and fees.exit_sell_fee_bps() == 150
    cfg = config()
    fee = tx_fee(cfg)
    tokens, paid, buy_fees = hand_buy_exact_sol(s1[0], s1[1], s1[2], SOL - fee, 100, 50)
    net, sell_fees = hand_sell(s2[0], s2[1], s2[3], tokens, 100, 50)
    r = run(coin.events, cfg, fees)
    assert [(f.tokens, f.lamports, f.fee_lamports) for f in r.fills] == [
        (tokens, paid + fee, buy_fees + fee), (tokens, net - fee, sell_fees + fee)]
    assert build_report(r)["pnl_lamports"] == (net - fee) - (paid + fee)
    # and with the trade events' rates the same trade costs a different, also exact, amount
    t2, paid2, _ = hand_buy_exact_sol(s1[0], s1[1], s1[2], SOL - fee, P_BPS, C_BPS)
    assert run(coin.events, cfg).fills[0].lamports == paid2 + fee != paid + fee


def _rising_coin() -> tuple[Coin, list]:
    """After slot 100, 0.3 SOL buys in slots 101..103: each moves the price ~1.5% (inside the 5% bound)."""
    coin, s100 = opened_coin()
    states = [s100]
    for slot in (101, 102, 103):
        coin.buy(slot, 3 * SOL // 10, W2)
        states.append(state(coin))
    return coin, states


@pytest.mark.parametrize("detection,land", [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 1)])
def test_latency_moves_the_state_an_order_fills_against(detection, land):
    coin, states = _rising_coin()
    cfg = config()
    fee = tx_fee(cfg)
    r = run(coin.events, cfg, latency=LatencyModel(detection_slots=detection, send_to_land_slots=land))
    buy = r.fills[0]
    landing = 100 + detection + land
    s = states[landing - 100]
    tokens, paid, _ = hand_buy_exact_sol(s[0], s[1], s[2], SOL - fee, P_BPS, C_BPS)
    assert (buy.quote_slot, buy.slot, buy.tokens, buy.lamports) == (landing, landing, tokens, paid + fee)
    if landing > 100:          # a later state really is a different fill: fewer tokens for the same SOL
        s100 = states[0]
        assert tokens < hand_buy_exact_sol(s100[0], s100[1], s100[2], SOL - fee, P_BPS, C_BPS)[0]
    # the position opens when the order lands, on the simulated slot clock
    [pos] = r.open
    assert pos.opened_at == pytest.approx(T0 + (landing - 100) * 0.4)


def test_latency_slippage_bound_rejects_a_fill_that_moved_too_far():
    """Quoted on slot 100, landing on slot 102 after 2 x 20 SOL of buys: fewer tokens than the 5% bound
    allows, so the order fails (paying its fee only in reality: no fill, the reservation is released)."""
    coin, s100 = opened_coin()
    coin.buy(101, 20 * SOL, W2)
    coin.buy(102, 20 * SOL, W2)
    r = run(coin.events, config(), latency=LatencyModel(0, 2))
    assert r.fills == [] and r.counts["rejected_slippage"] == 1
    assert r.closed == [] and r.open == []


def test_latency_from_profile_and_overrides():
    cfg = config(execution={"paper_latency_ms": 900.0})
    assert latency_from(cfg.execution, 400) == LatencyModel(0, 3, 0)          # ceil(900 / 400)
    assert latency_from(config().execution, 400) == LatencyModel(0, 0, 0)    # 0 ms: no latency at all
    assert latency_from(cfg.execution, 400, detection_slots=2, send_to_land_slots=0) == LatencyModel(2, 0, 0)


def test_events_must_not_go_back_in_slot():
    coin, _ = opened_coin()
    coin.buy(99, SOL, W2)
    with pytest.raises(ValueError, match="sort the stream"):
        list(slot_batches(coin.events))


def test_settle_on_shutdown_close_sells_open_positions_at_the_end():
    coin, states = _rising_coin()
    cfg = config(execution={"settle_on_shutdown": "close"})
    fee = tx_fee(cfg)
    r = run(coin.events, cfg)
    [trade] = r.closed
    s = states[-1]
    tokens = trade.initial_tokens
    net, _ = hand_sell(s[0], s[1], s[3], tokens, P_BPS, C_BPS)
    assert trade.exit_reason == "shutdown" and trade.realized_lamports == net - fee
    assert r.open == [] and run(coin.events).open          # the default ("report") leaves it open
