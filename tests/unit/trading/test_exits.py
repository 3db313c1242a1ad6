"""Exit rules at their boundaries, the take-profit ladder, and the priority order.

The position: 1000 tokens bought for 1000 lamports, so the entry price is exactly 1.0 lamport per token.
Defaults: stop-loss 15%, ladder (+100%: 25%, +200%: 25%, +300%: the rest), trailing 25% once the peak
is +50%, max hold 1800 s.
"""
from __future__ import annotations

import pytest

from pipelines.config import ExitConfig
from pipelines.exits import ExitFlags, evaluate_exit, flatten, steps_done_after
from pipelines.messages import ExitSignal
from tests.unit.trading.factories import position

CFG = ExitConfig()


def ev(pos, price, now=0.0, cfg=CFG, **flags):
    return evaluate_exit(pos, price, now, cfg, ExitFlags(**flags) if flags else None)


# ---- stop-loss --------------------------------------------------------------------------------------------
def test_stop_loss_fires_at_exactly_15_percent_below_entry():
    assert ev(position(), 0.85) == ExitSignal("MINT", "stop_loss", 1000)
    assert ev(position(), 0.8501) is None
    assert ev(position(), 0.01) == ExitSignal("MINT", "stop_loss", 1000)


def test_stop_loss_judges_the_price_net_of_the_sell_fee():
    # 1% sell fee: the spot price at which the proceeds are 15% below cost is 0.85 / 0.99 = 0.858585...
    assert ev(position(), 0.8586, sell_fee_bps=100) is None
    assert ev(position(), 0.8585, sell_fee_bps=100).reason == "stop_loss"
    assert ev(position(), 0.8585) is None                    # without the fee it would not fire


# ---- take-profit ladder -----------------------------------------------------------------------------------
def test_first_step_at_exactly_plus_100_percent_sells_a_quarter_of_the_original():
    assert ev(position(peak=2.0), 2.0) == ExitSignal("MINT", "take_profit_1", 250)
    assert ev(position(peak=2.0), 1.9999) is None


def test_ladder_steps_fire_once_and_sum_to_the_whole_position():
    held, steps, sold = 1000, 0, []
    for price in (2.0, 2.5, 3.0, 3.5, 4.0, 5.0):
        pos = position(tokens=held, steps=steps, peak=price)
        sig = ev(pos, price)
        if sig is None:
            continue
        sold.append((price, sig.reason, sig.tokens))
        held -= sig.tokens
        steps = steps_done_after(sig)
        if held:                                             # the same price does not fire the step again
            assert ev(position(tokens=held, steps=steps, peak=price), price) is None
    assert sold == [(2.0, "take_profit_1", 250), (3.0, "take_profit_2", 250), (4.0, "take_profit_3", 500)]
    assert held == 0


def test_a_jump_across_steps_fires_them_together():
    assert ev(position(peak=3.0), 3.0) == ExitSignal("MINT", "take_profit_2", 500)
    assert ev(position(peak=4.0), 4.0) == ExitSignal("MINT", "take_profit_3", 1000)


def test_take_profit_never_sells_more_than_held():
    # the ladder is on the ORIGINAL position: 25% of 1000 is 250, but only 100 are left
    assert ev(position(tokens=100, peak=2.0), 2.0) == ExitSignal("MINT", "take_profit_1", 100)


def test_take_profit_share_rounds_down_and_last_step_takes_the_rest():
    assert ev(position(tokens=1001, initial=1001, cost=1001, peak=2.0), 2.0).tokens == 250
    assert ev(position(tokens=751, initial=1001, cost=1001, steps=1, peak=3.0), 3.0).tokens == 250
    assert ev(position(tokens=501, initial=1001, cost=1001, steps=2, peak=4.0), 4.0).tokens == 501


def test_a_custom_ladder_is_sorted_by_gain():
    cfg = ExitConfig(take_profit=((0.5, 0.5), (0.2, 0.1)))
    assert cfg.take_profit == ((0.2, 0.1), (0.5, 0.5))
    assert ev(position(peak=1.2), 1.2, cfg=cfg) == ExitSignal("MINT", "take_profit_1", 100)
    assert ev(position(tokens=900, steps=1, peak=1.5), 1.5, cfg=cfg) == ExitSignal("MINT", "take_profit_2", 900)


# ---- trailing stop -----------------------------------------------------------------------------------------
def test_trailing_stop_once_activated_fires_25_percent_below_peak():
    # the peak 1.5 is exactly +50%: activated; 25% below it is 1.125
    assert ev(position(peak=1.5), 1.125) == ExitSignal("MINT", "trailing_stop", 1000)
    assert ev(position(peak=1.5), 1.1251) is None


def test_trailing_stop_is_not_active_below_the_activation_gain():
    assert ev(position(peak=1.49), 1.1) is None
    assert ev(position(peak=1.5), 1.125, sell_fee_bps=100) is None   # net peak gain is 48.5%


def test_trailing_uses_the_current_price_as_peak_when_higher():
    assert ev(position(peak=0.0), 1.6) is None                      # new peak 1.6, no fall yet


# ---- max hold, migration, rug ------------------------------------------------------------------------------
def test_max_hold_at_exactly_1800_seconds():
    assert ev(position(opened_at=100.0), 1.0, now=1899.999) is None
    assert ev(position(opened_at=100.0), 1.0, now=1900.0) == ExitSignal("MINT", "max_hold", 1000)


def test_migration_and_curve_completion_are_urgent_full_exits():
    assert ev(position(), 1.0, migrated=True) == ExitSignal("MINT", "migration", 1000, urgent=True)
    assert ev(position(), 1.0, complete=True) == ExitSignal("MINT", "migration", 1000, urgent=True)
    assert ev(position(), 1.0, cfg=ExitConfig(exit_on_migration=False), migrated=True) is None


def test_rug_is_an_urgent_full_exit():
    assert ev(position(), 1.0, rug_signals=("dev_dump",)) == ExitSignal("MINT", "rug", 1000, urgent=True)
    assert ev(position(), 1.0, cfg=ExitConfig(exit_on_rug=False), rug_signals=("liquidity_pulled",)) is None


# ---- priority -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pos,price,now,flags,expected", [
    (position(), 0.5, 0.0, {"rug_signals": ("dev_dump",), "migrated": True}, "rug"),
    (position(), 0.5, 5000.0, {"migrated": True}, "migration"),
    (position(peak=2.0), 0.8, 5000.0, {}, "stop_loss"),            # stop-loss and trailing and max hold
    (position(peak=2.0), 1.4, 5000.0, {}, "trailing_stop"),        # trailing and max hold
    (position(peak=2.0), 2.0, 1800.0, {}, "max_hold"),             # max hold and take-profit 1
])
def test_priority_when_several_rules_fire(pos, price, now, flags, expected):
    assert ev(pos, price, now, **flags).reason == expected


# ---- inputs that must not crash or mislead ---------------------------------------------------------------
def test_closed_positions_never_exit():
    assert ev(position(tokens=0), 0.1, now=1e9, rug_signals=("x",)) is None


@pytest.mark.parametrize("price", [float("nan"), float("inf"), 0.0, -1.0])
def test_unusable_price_skips_price_rules_but_not_the_others(price):
    assert ev(position(), price) is None
    assert ev(position(), price, now=1800.0).reason == "max_hold"
    assert ev(position(), price, migrated=True).reason == "migration"


def test_helpers():
    assert steps_done_after(ExitSignal("M", "take_profit_2", 1)) == 2
    assert steps_done_after(ExitSignal("M", "stop_loss", 1)) is None
    assert flatten(position(tokens=7)) == ExitSignal("MINT", "kill", 7, urgent=True)
