"""The sniper's plan state: a launch's curve from its create event (no account read), on the real Global."""
from __future__ import annotations

import base64
from dataclasses import replace

from pipelines.chain import programs as P
from pipelines.chain.curve import CurveFees, CurveState, buy_exact_sol
from pipelines.chain.decode import decode_transaction
from pipelines.chain.events import Launch, Trade
from pipelines.chain.pump_state import decode_global
from pipelines.market_views import launch_curve_view
from tests.conftest import load_fixture

GLOBAL = decode_global(base64.b64decode(load_fixture("pumpfun/global_account.json")["data"]))


def create_tx_events() -> list:
    return decode_transaction(load_fixture("pumpfun/create_2024_getTransaction_jsonParsed.json")["result"])


def launch_2024() -> Launch:
    return next(ev for ev in create_tx_events() if isinstance(ev, Launch))


def test_the_creators_buy_in_the_create_transaction_moves_the_planned_curve():
    launch = launch_2024()
    dev_buy = next(ev for ev in create_tx_events() if isinstance(ev, Trade))
    # the real fixture: the creator buys 1.1 SOL of his own coin in the create transaction
    assert (dev_buy.side, dev_buy.sol_amount, dev_buy.token_amount) == ("buy", 1_100_000_000, 37_951_768_488_745)
    c = launch_curve_view(launch, GLOBAL, None, dev_buy).curve
    # after it: the SOL went in and the tokens came out, on both the virtual and the real side
    assert (c.virtual_sol_reserves, c.real_sol_reserves) == (30_000_000_000 + 1_100_000_000, 1_100_000_000)
    assert c.virtual_token_reserves == 1_073_000_000_000_000 - 37_951_768_488_745
    assert c.real_token_reserves == 793_100_000_000_000 - 37_951_768_488_745
    # a trade on another mint says nothing about this curve
    assert launch_curve_view(launch, GLOBAL, None, replace(dev_buy, mint="other")).curve.real_sol_reserves == 0


def test_a_2024_create_starts_at_globals_initial_reserves():
    launch = launch_2024()
    assert launch.virtual_sol_reserves == 0            # the 2024 CreateEvent has no reserves
    view = launch_curve_view(launch, GLOBAL, None)
    c = view.curve
    # PROTOCOL.md: a new curve is Global's initial reserves, nothing real on the SOL side
    assert (c.virtual_token_reserves, c.virtual_sol_reserves) == (1_073_000_000_000_000, 30_000_000_000)
    assert (c.real_token_reserves, c.real_sol_reserves, c.token_total_supply) == (793_100_000_000_000, 0, 10**15)
    assert not c.complete and c.creator == launch.creator and view.slot == launch.slot
    assert view.fees == CurveFees(protocol_bps=95, creator_bps=5)   # no fee config: Global's flat rates
    assert view.fee_recipient == GLOBAL.fee_recipient and view.token_program == P.TOKEN
    # the quote a sniper plans with is the one the program gives on a fresh curve
    fresh = CurveState(1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000, 0, 10**15)
    assert buy_exact_sol(view.curve.state(), 100_000_000, view.fees) == buy_exact_sol(fresh, 100_000_000, view.fees)


def test_a_current_create_uses_the_reserves_it_carries():
    launch = replace(launch_2024(), virtual_token_reserves=1_000_000_000_000_000, virtual_sol_reserves=32_190_000_000,
                     real_token_reserves=720_100_000_000_000, token_total_supply=10**15,
                     token_program=P.TOKEN_2022, is_mayhem_mode=True)
    view = launch_curve_view(launch, GLOBAL, None)
    assert (view.curve.virtual_token_reserves, view.curve.virtual_sol_reserves) == (10**15, 32_190_000_000)
    assert view.curve.real_token_reserves == 720_100_000_000_000 and view.curve.is_mayhem_mode
    assert view.token_program == P.TOKEN_2022


def test_only_sol_quoted_pump_launches_are_planned_without_a_read():
    launch = launch_2024()
    assert launch_curve_view(replace(launch, venue="raydium_launchlab"), GLOBAL, None) is None
    assert launch_curve_view(replace(launch, quote_mint="EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
                             GLOBAL, None) is None
    # an unknown token program is not trusted for the transaction: the classic one is used
    assert launch_curve_view(replace(launch, token_program="x"), GLOBAL, None).token_program == P.TOKEN
