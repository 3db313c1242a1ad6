from dataclasses import replace

import pytest

from pipelines.messages import Order, OrderState, Side, stable_id
from pipelines.orders import (
    ALLOWED, NEVER_SENT, PAPER_INTERRUPTED, IllegalTransition, StaticChainView, can_transition,
    entry_order_id, exit_order_id, reconcile, reconcile_steps, transition,
)

S = OrderState
SIG = "5" * 87  # shaped like a signature; the chain view is keyed on it, nothing decodes it


def live_order(state=S.INTENT, **kw) -> Order:
    base = Order(id="o1", mint="M", side=Side.BUY, venue="pumpfun", amount=100_000_000, limit=1,
                 mode="live", opportunity_id="opp", created_at=10.0, updated_at=10.0)
    return replace(base, state=state, **kw)


# ------------------------------------------------------------------------------------------ state machine

def test_the_documented_graph_and_nothing_else():
    legal = {(a, b) for a in S for b in S if can_transition(a, b)}
    assert legal == {
        (S.INTENT, S.SUBMITTED), (S.INTENT, S.FAILED),
        (S.SUBMITTED, S.CONFIRMED), (S.SUBMITTED, S.FAILED), (S.SUBMITTED, S.EXPIRED), (S.SUBMITTED, S.UNRESOLVED),
        (S.UNRESOLVED, S.CONFIRMED), (S.UNRESOLVED, S.FAILED), (S.UNRESOLVED, S.EXPIRED),
    }
    for terminal in (S.CONFIRMED, S.FAILED, S.EXPIRED):
        assert terminal.terminal and not ALLOWED[terminal]


def test_transition_stamps_time_and_changes():
    o = live_order()
    s = transition(o, S.SUBMITTED, 11.5, signature=SIG, last_valid_block_height=900)
    assert (s.state, s.updated_at, s.signature, s.last_valid_block_height) == (S.SUBMITTED, 11.5, SIG, 900)
    assert o.state == S.INTENT                          # immutable input
    c = transition(s, S.CONFIRMED, 12.0)
    assert c.state == S.CONFIRMED and c.signature == SIG


@pytest.mark.parametrize("start,target", [
    (S.INTENT, S.CONFIRMED), (S.INTENT, S.EXPIRED), (S.INTENT, S.UNRESOLVED),
    (S.CONFIRMED, S.FAILED), (S.FAILED, S.SUBMITTED), (S.EXPIRED, S.CONFIRMED), (S.UNRESOLVED, S.SUBMITTED),
    (S.SUBMITTED, S.INTENT), (S.SUBMITTED, S.SUBMITTED),
])
def test_illegal_transitions_raise(start, target):
    o = live_order(start, signature=SIG if start != S.INTENT else "")
    with pytest.raises(IllegalTransition):
        transition(o, target, 20.0, signature=SIG)


def test_what_an_order_is_for_cannot_change():
    o = live_order()
    with pytest.raises(IllegalTransition, match="cannot change"):
        transition(o, S.SUBMITTED, 11.0, signature=SIG, amount=5)


def test_signature_is_write_once():
    s = transition(live_order(), S.SUBMITTED, 11.0, signature=SIG, last_valid_block_height=5)
    with pytest.raises(IllegalTransition, match="signature"):
        transition(s, S.CONFIRMED, 12.0, signature="4" * 87)


def test_a_live_order_cannot_be_submitted_without_its_signature():
    with pytest.raises(IllegalTransition, match="signature"):
        transition(live_order(), S.SUBMITTED, 11.0)
    paper = replace(live_order(), mode="paper")
    assert transition(paper, S.SUBMITTED, 11.0).state == S.SUBMITTED


def test_intent_can_fail_before_send():
    f = transition(live_order(), S.FAILED, 11.0, error="simulation: custom program error 6002")
    assert f.state == S.FAILED and "6002" in f.error


# ------------------------------------------------------------------------------------------------- ids

def test_entry_ids_are_deterministic_per_opportunity():
    assert entry_order_id("opp-1") == entry_order_id("opp-1") == stable_id("entry", "opp-1")
    assert entry_order_id("opp-1") != entry_order_id("opp-2")


def test_exit_ids_are_deterministic_and_distinguish_every_part():
    base = exit_order_id("M", 100.0, "take_profit_1", 0)
    assert base == exit_order_id("M", 100.0, "take_profit_1", 0)
    assert base == exit_order_id("M", 100, "take_profit_1", 0)      # int vs float time: same position
    variants = {exit_order_id("N", 100.0, "take_profit_1", 0), exit_order_id("M", 101.0, "take_profit_1", 0),
                exit_order_id("M", 100.0, "stop_loss", 0), exit_order_id("M", 100.0, "take_profit_1", 1),
                exit_order_id("M", 100.0, "take_profit_1", 0, attempt=1)}
    assert base not in variants and len(variants) == 5


# ------------------------------------------------------------------------------------------ reconciliation

def sent(state=S.SUBMITTED, lvbh=1_000) -> Order:
    return live_order(state, signature=SIG, last_valid_block_height=lvbh, updated_at=11.0)


def test_intent_without_signature_was_never_sent():
    r = reconcile(live_order(), StaticChainView(height=5), now=50.0)
    assert (r.state, r.error, r.updated_at) == (S.FAILED, NEVER_SENT, 50.0)


def test_submitted_found_without_error_is_confirmed():
    chain = StaticChainView({SIG: (777, None, "confirmed")}, height=990)
    assert reconcile(sent(), chain, 50.0).state == S.CONFIRMED
    chain = StaticChainView({SIG: (777, None, "finalized")}, height=2_000)   # found beats expiry
    assert reconcile(sent(S.UNRESOLVED), chain, 50.0).state == S.CONFIRMED


def test_found_with_error_is_failed_with_the_error():
    err = {"InstructionError": [2, {"Custom": 6002}]}
    r = reconcile(sent(), StaticChainView({SIG: (777, err, "confirmed")}, height=990), 50.0)
    assert r.state == S.FAILED and "6002" in r.error


def test_not_found_past_last_valid_block_height_is_expired():
    r = reconcile(sent(lvbh=1_000), StaticChainView(height=1_001), 50.0)
    assert r.state == S.EXPIRED
    # at exactly the last valid height the blockhash is still usable: not expired yet
    assert reconcile(sent(lvbh=1_000), StaticChainView(height=1_000), 50.0).state == S.UNRESOLVED


def test_not_found_and_still_valid_stays_unresolved():
    chain = StaticChainView(height=990)
    assert reconcile_steps(sent(), chain, 50.0)[-1].state == S.UNRESOLVED
    assert reconcile_steps(sent(S.UNRESOLVED), chain, 50.0) == []     # nothing to write


def test_processed_is_not_enough_to_confirm():
    chain = StaticChainView({SIG: (777, None, "processed")}, height=2_000)
    assert reconcile(sent(), chain, 50.0).state == S.UNRESOLVED


def test_unknown_last_valid_height_never_expires_on_its_own():
    assert reconcile(sent(lvbh=0), StaticChainView(height=10**9), 50.0).state == S.UNRESOLVED


def test_signed_intent_goes_through_submitted_so_every_step_is_legal():
    o = live_order(signature=SIG, last_valid_block_height=1_000)
    steps = reconcile_steps(o, StaticChainView({SIG: (5, None, "confirmed")}, height=900), 50.0)
    assert [s.state for s in steps] == [S.SUBMITTED, S.CONFIRMED]


def test_paper_orders_left_open_never_filled():
    # the paper executor writes confirmed + fill + position in one batch: an open paper order did not fill
    for state in (S.SUBMITTED, S.UNRESOLVED):
        o = replace(sent(state), mode="paper", signature="")
        r = reconcile(o, StaticChainView({SIG: (5, None, "confirmed")}), 50.0)
        assert (r.state, r.error) == (S.FAILED, PAPER_INTERRUPTED)
    r = reconcile(replace(live_order(), mode="paper"), StaticChainView(), 50.0)
    assert (r.state, r.error) == (S.FAILED, NEVER_SENT)


def test_terminal_orders_are_left_alone():
    c = replace(sent(), state=S.CONFIRMED)
    assert reconcile_steps(c, StaticChainView(height=10**9), 50.0) == []
