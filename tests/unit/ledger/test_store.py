import json
from dataclasses import replace

import pytest
from solders.keypair import Keypair

from pipelines.ledger import SCHEMA_VERSION, LedgerConflict, LedgerError, LedgerStore, SecretRefused
from pipelines.ledger.codec import CodecError
from pipelines.messages import Fill, Order, OrderState, Position, Reservation, Side
from pipelines.orders import IllegalTransition, StaticChainView, entry_order_id, reconcile_steps, transition

S = OrderState
SIG = "5" * 87


@pytest.fixture
def store(tmp_path):
    s = LedgerStore(tmp_path / "ledger.sqlite")
    yield s
    s.close()


def intent(opp="opp1", mint="MINT1", side=Side.BUY, mode="paper", oid=None, amount=100_000_000, t=10.0) -> Order:
    return Order(id=oid or entry_order_id(opp), mint=mint, side=side, venue="pumpfun", amount=amount, limit=1000,
                 mode=mode, reason="momentum", opportunity_id=opp, created_at=t, updated_at=t)


def fill_for(o: Order, sig="", tokens=3_000_000, t=12.0) -> Fill:
    return Fill(order_id=o.id, mint=o.mint, side=o.side, lamports=100_030_000, tokens=tokens, fee_lamports=1_260_000,
                price=100_030_000 / tokens, slot=99, ts=t, signature=sig, quote_slot=98)


def position(mint="MINT1", opened=12.0, tokens=3_000_000, closed=0.0) -> Position:
    return Position(mint=mint, opened_at=opened, tokens=tokens, initial_tokens=3_000_000, cost_lamports=100_030_000,
                    entry_price=100_030_000 / 3_000_000, closed_at=closed, entry_order_id="e1",
                    exit_order_ids=("x1", "x2") if closed else ())


# -------------------------------------------------------------------------------------------------- orders

def test_intent_then_states_with_timestamped_history(store, tmp_path):
    o = intent()
    store.record_order(o)
    s = transition(o, S.SUBMITTED, 11.0)
    store.record_order(s)
    c = transition(s, S.CONFIRMED, 12.5)
    assert store.record_order(c) == c
    assert store.get_order(o.id) == c
    assert [(h.state, h.ts) for h in store.history(o.id)] == [(S.INTENT, 10.0), (S.SUBMITTED, 11.0),
                                                               (S.CONFIRMED, 12.5)]
    store.close()
    again = LedgerStore(tmp_path / "ledger.sqlite")
    assert again.get_order(o.id) == c and len(again.history(o.id)) == 3
    again.close()


def test_first_record_must_be_the_intent(store):
    o = transition(intent(), S.SUBMITTED, 11.0)
    with pytest.raises(IllegalTransition, match="intent"):
        store.record_order(o)
    assert store.get_order(o.id) is None


def test_repeating_a_write_is_a_no_op(store):
    o = intent()
    store.record_order(o)
    store.record_order(o)
    s = transition(o, S.SUBMITTED, 11.0)
    store.record_order(s)
    store.record_order(s)
    store.record_order(replace(s, updated_at=30.0))    # a retry that restamped the time
    assert len(store.history(o.id)) == 2 and store.get_order(o.id).updated_at == 11.0


def test_a_late_retry_of_an_earlier_step_does_not_move_the_order_back(store):
    o = intent()
    s = transition(o, S.SUBMITTED, 11.0)
    c = transition(s, S.CONFIRMED, 12.0)
    store.record_batch(orders=[o, s, c])
    assert store.record_order(s) == c
    assert store.record_order(o) == c
    assert store.get_order(o.id).state == S.CONFIRMED and len(store.history(o.id)) == 3


def test_illegal_transition_is_refused_and_nothing_changes(store):
    o = intent()
    store.record_order(o)
    f = transition(o, S.FAILED, 11.0, error="simulation failed")
    store.record_order(f)
    with pytest.raises(IllegalTransition):
        store.record_order(replace(f, state=S.SUBMITTED))   # failed is terminal, never submitted
    assert store.get_order(o.id) == f


def test_a_different_order_under_an_existing_id_is_refused(store):
    o = intent()
    store.record_order(o)
    with pytest.raises(IllegalTransition, match="amount"):
        store.record_order(replace(o, amount=999))
    with pytest.raises(IllegalTransition, match="amount"):
        store.record_order(transition(replace(o, amount=999), S.SUBMITTED, 11.0))
    assert store.get_order(o.id) == o


def test_same_state_update_fills_in_fields_but_never_rewrites_a_signature(store):
    o = intent(mode="live")
    store.record_order(o)
    signed = replace(o, signature=SIG, last_valid_block_height=500, updated_at=10.5)
    store.record_order(signed)
    assert store.get_order(o.id).signature == SIG and len(store.history(o.id)) == 1
    with pytest.raises(IllegalTransition, match="signature"):
        store.record_order(replace(signed, signature="4" * 87))


def test_order_queries(store):
    a = intent("a", mint="M1")
    b = intent("b", mint="M2", t=11.0)
    x = intent("x", mint="M1", side=Side.SELL, oid="exit1", t=12.0)
    store.record_batch(orders=[a, b, x, transition(b, S.FAILED, 13.0, error="slippage")])
    assert [o.id for o in store.orders(mint="M1")] == [a.id, "exit1"]
    assert [o.id for o in store.orders(states=[S.FAILED])] == [b.id]
    assert [o.id for o in store.orders(side=Side.SELL)] == ["exit1"]
    assert {o.id for o in store.open_orders()} == {a.id, "exit1"}


def test_never_buys_the_same_opportunity_or_mint_twice(store):
    assert store.entry_order_for("opp1") is None and not store.has_entry_for("MINT1")
    o = intent("opp1")
    store.record_order(o)
    assert store.entry_order_for("opp1") == o
    assert store.has_entry_for("MINT1") and not store.has_entry_for("MINT2")
    f = transition(o, S.FAILED, 11.0, error="never_sent")
    store.record_order(f)
    assert store.entry_order_for("opp1") == f          # the failed entry still blocks this opportunity
    assert not store.has_entry_for("MINT1")             # but the mint has no exposure
    store.upsert_position(position("MINT1"))
    assert store.has_entry_for("MINT1")
    store.upsert_position(position("MINT1", tokens=0, closed=40.0))
    assert not store.has_entry_for("MINT1")


def test_reconciliation_steps_record_as_one_batch(store):
    o = intent(mode="live")
    store.record_order(replace(o, signature=SIG, last_valid_block_height=100, updated_at=10.5))
    open_ = store.open_orders()
    chain = StaticChainView({SIG: (50, None, "finalized")}, height=90)
    store.record_batch(orders=[s for o in open_ for s in reconcile_steps(o, chain, now=60.0)])
    assert store.get_order(o.id).state == S.CONFIRMED
    assert [h.state for h in store.history(o.id)] == [S.INTENT, S.SUBMITTED, S.CONFIRMED]
    assert store.open_orders() == []


# --------------------------------------------------------------------------------------------------- fills

def test_fills_are_recorded_once(store):
    o = intent()
    store.record_order(o)
    f = fill_for(o)
    assert store.record_fill(f) is True
    assert store.record_fill(f) is False
    assert store.fills() == [f] and store.fills(order_id=o.id) == [f] and store.fills(order_id="zz") == []
    second = fill_for(o, sig="other-sig", t=13.0)                  # a second tx for the same order is a new fill
    assert store.record_fill(second) is True and len(store.fills(o.id)) == 2


def test_a_different_fill_under_the_same_key_is_a_conflict(store):
    o = intent()
    store.record_order(o)
    store.record_fill(fill_for(o))
    with pytest.raises(LedgerConflict):
        store.record_fill(fill_for(o, tokens=1))
    assert store.fills()[0].tokens == 3_000_000


def test_a_fill_for_an_unknown_order_is_refused(store):
    with pytest.raises(LedgerConflict, match="unknown order"):
        store.record_fill(fill_for(intent()))


# ----------------------------------------------------------------------------------------------- positions

def test_positions_upsert_and_open_filter(store):
    p = position()
    store.upsert_position(p)
    store.upsert_position(replace(p, last_price=40.0, peak_price=41.0))
    store.upsert_position(position("MINT2", opened=20.0))
    assert len(store.positions()) == 2
    closed = replace(position("MINT2", opened=20.0), tokens=0, closed_at=50.0, exit_reason="stop_loss",
                     exit_order_ids=("x1",))
    store.upsert_position(closed)
    assert store.positions(open_only=True) == [replace(p, last_price=40.0, peak_price=41.0)]
    assert store.positions()[1] == closed                       # tuple field survives the round trip
    assert store.open_position("MINT2") is None and store.open_position("MINT1").last_price == 40.0


# ------------------------------------------------------------------------------------------------ batches

def test_a_batch_is_all_or_nothing(store):
    o = intent()
    store.record_order(o)
    s = transition(o, S.SUBMITTED, 11.0)
    c = transition(s, S.CONFIRMED, 12.0)
    bad = transition(intent("opp2", mint="M2"), S.SUBMITTED, 11.0)   # never had an intent
    with pytest.raises(IllegalTransition):
        store.record_batch(orders=[s, c, bad], fills=[fill_for(o)], positions=[position()])
    assert store.get_order(o.id) == o and store.fills() == [] and store.positions() == []
    res = store.record_batch(orders=[s, c], fills=[fill_for(o), fill_for(o)], positions=[position()])
    assert res.orders == (s, c) and res.new_fills == 1
    assert store.get_order(o.id).state == S.CONFIRMED and len(store.positions()) == 1


def test_values_sqlite_cannot_hold_are_refused_before_writing(store):
    with pytest.raises(CodecError, match="limit"):
        store.record_order(replace(intent(), limit=2**64 - 1))
    with pytest.raises(CodecError, match="Order.amount must be int, not float"):
        store.record_order(replace(intent(), amount=1.5))
    with pytest.raises(CodecError, match="Order.mint must be str"):
        store.record_order(replace(intent(), mint=None))
    with pytest.raises(CodecError, match="side"):
        store.record_order(replace(intent(), side="hodl"))
    o = intent()
    store.record_order(o)
    with pytest.raises(CodecError, match="finite"):
        store.record_fill(replace(fill_for(o), price=float("nan")))
    with pytest.raises(CodecError, match="Fill.tokens"):
        store.record_fill(replace(fill_for(o), tokens="12"))
    assert store.orders() == [o] and store.fills() == []


# ------------------------------------------------------------------------------------------ risk and P&L

def test_risk_counters_round_trip_per_key(store):
    store.save_risk_counters({"consecutive_losses": 2, "peak_equity": 10_500_000_000, "state": "active"}, now=5.0)
    store.save_risk_counters({"consecutive_losses": 3}, now=6.0)
    assert store.load_risk_counters() == {"consecutive_losses": 3, "peak_equity": 10_500_000_000, "state": "active"}


def test_daily_pnl_accumulates_and_keyed_calls_count_once(store):
    assert store.daily_pnl("2026-01-02").trades == 0
    assert store.add_daily_pnl("2026-01-02", 5_000_000, True, key="exit-a")
    assert not store.add_daily_pnl("2026-01-02", 5_000_000, True, key="exit-a")   # retried call
    store.add_daily_pnl("2026-01-02", -2_000_000, False, key="exit-b")
    store.add_daily_pnl("2026-01-03", -1, False)
    d = store.daily_pnl("2026-01-02")
    assert (d.realized_lamports, d.trades, d.wins, d.losses) == (3_000_000, 2, 1, 1)
    assert store.daily_pnl("2026-01-03").losses == 1


def test_reservations(store):
    r1 = Reservation("r1", "opp1", "M1", 100, created_at=1.0, expires_at=301.0)
    r2 = Reservation("r2", "opp2", "M2", 200, created_at=2.0, expires_at=50.0)
    store.save_reservation(r1)
    store.save_reservation(r1)
    store.save_reservation(r2)
    assert store.reservations() == [r1, r2]
    assert store.reservations(active_at=100.0) == [r1]
    store.release_reservation("r1", now=20.0)
    assert store.reservations() == [r2]


# --------------------------------------------------------------------------------------- config + secrets

def test_config_changes_are_audited(store):
    store.record_config_change(1.0, "api:alice", {"risk": {"max_open_positions": [10, 5]}})
    store.record_config_change(2.0, "cli", {"execution": {"slippage_bps": [500, 300]}})
    assert store.config_changes() == [(1.0, "api:alice", {"risk": {"max_open_positions": [10, 5]}}),
                                      (2.0, "cli", {"execution": {"slippage_bps": [500, 300]}})]


@pytest.mark.parametrize("make", [
    lambda kp: str(kp),                                   # base58, what wallets export
    lambda kp: json.dumps(list(bytes(kp))),               # Solana CLI id.json content, as a string
    lambda kp: list(bytes(kp)),                           # ... or as a list
    lambda kp: bytes(kp).hex(),
])
def test_a_secret_key_in_a_config_diff_is_refused_without_echoing_it(store, make):
    kp = Keypair()
    secret = make(kp)
    with pytest.raises(SecretRefused) as exc:
        store.record_config_change(3.0, "api", {"execution": {"wallet_key": ["", secret]}})
    assert str(kp) not in str(exc.value) and "execution.wallet_key[1]" in str(exc.value)
    assert store.config_changes() == []
    with pytest.raises(SecretRefused):
        store.save_risk_counters({"note": secret})
    assert store.load_risk_counters() == {}


def test_public_keys_and_ordinary_values_pass_the_guard(store):
    kp = Keypair()
    diff = {"risk": {"blacklist": [str(kp.pubkey())]}, "scoring": {"feature_weights": {"a": 0.5}},
            "list": list(range(63)), "text": "x" * 88}
    store.record_config_change(4.0, "api", diff)
    assert store.config_changes()[0][2] == diff


# ------------------------------------------------------------------------------------------------ summary

def test_summary_counts(store):
    a = intent("a", mint="M1")
    sa = transition(a, S.SUBMITTED, 11.0)
    ca = transition(sa, S.CONFIRMED, 12.0)
    b = intent("b", mint="M2")
    store.record_batch(orders=[a, sa, ca, b, transition(b, S.FAILED, 11.0, error="x")], fills=[fill_for(a)],
                       positions=[position("M1"), position("M2", opened=5.0, tokens=0, closed=30.0)])
    store.add_daily_pnl("2026-01-02", 7, True)
    assert store.summary() == {
        "schema_version": SCHEMA_VERSION, "orders": 2, "orders_by_state": {"confirmed": 1, "failed": 1}, "open_orders": 0,
        "fills": 1, "positions_opened": 2, "positions_closed": 1, "positions_open": 1,
        "realized_pnl_lamports": 7, "trades": 1, "wins": 1, "losses": 0, "duplicate_orders": 0,
        "launches_seen": 0, "failed_tx_fees_lamports": 0, "unbooked_orders": 0}


def test_a_failed_transactions_fee_is_a_cost_booked_once(store):
    a = intent("a")
    store.record_batch(orders=[a, transition(a, S.FAILED, 11.0, error="6042")])
    assert store.record_tx_cost(a.id, "sig", 25_000, 7, 11.0, "2026-01-02")
    assert not store.record_tx_cost(a.id, "sig", 25_000, 7, 11.0, "2026-01-02")     # a retried call
    assert store.tx_costs_total() == 25_000
    day = store.daily_pnl("2026-01-02")
    assert (day.realized_lamports, day.trades) == (-25_000, 0)                          # a loss, not a trade
    assert store.summary()["failed_tx_fees_lamports"] == 25_000


def test_launches_are_recorded_once_per_mint(store):
    assert store.record_launches([("M1", "pumpfun", 10, "s1"), ("M2", "pumpfun", 11, "s2")], 1.0) == 2
    # a re-delivered launch (Ingest restarted and backfilled) and a new one
    assert store.record_launches([("M1", "pumpfun", 10, "s1"), ("M3", "pumpfun", 12, "s3")], 2.0) == 1
    assert store.launch_count() == 3 and store.launch_mints() == ["M1", "M2", "M3"]
    assert store.summary()["launches_seen"] == 3


def test_duplicate_orders_counts_opportunities_bought_twice(store):
    # Two buy orders for one opportunity under different ids (what deterministic ids prevent) both sent (under
    # two strategy names: one strategy's second buy of a mint is refused by the ledger itself since v4):
    first = intent("dup", oid="id-1")
    second = replace(intent("dup", oid="id-2", t=11.0), reason="sniper")
    unsent = intent("other", oid="id-3", mint="MINT2")
    unsent_twin = replace(intent("other", oid="id-4", mint="MINT2"), reason="sniper")
    store.record_batch(orders=[first, transition(first, S.SUBMITTED, 11.0), second,
                               transition(second, S.SUBMITTED, 12.0), unsent, unsent_twin,
                               transition(unsent_twin, S.SUBMITTED, 12.0)])
    assert store.summary()["duplicate_orders"] == 1        # "other" had only one order that was sent


def test_a_readonly_view_sees_committed_writes(tmp_path, store):
    store.record_order(intent())
    ro = LedgerStore(tmp_path / "ledger.sqlite", readonly=True)
    assert ro.summary()["orders"] == 1
    with pytest.raises(LedgerError, match="read-only"):
        ro.record_order(intent("zz"))
    ro.close()


def test_from_config_and_in_memory(tmp_path):
    from pipelines.config import LedgerConfig
    with LedgerStore.from_config(LedgerConfig(path=str(tmp_path / "a" / "l.sqlite"), synchronous="NORMAL")) as s:
        s.record_order(intent())
        assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 1          # NORMAL
    with LedgerStore(tmp_path / "a" / "l.sqlite") as s:
        assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 2          # FULL by default
        assert len(s.orders()) == 1
    with LedgerStore(":memory:", synchronous="OFF") as s:
        s.record_order(intent())
        assert s.summary()["orders"] == 1


def test_signatures_are_stored_but_a_real_keypair_in_the_same_place_is_refused(store):
    from solders.keypair import Keypair
    from solders.signature import Signature
    from pipelines.ledger.keyguard import SecretRefused
    # a signature is 64 bytes of base58 too, but not a keypair: Ingest checkpoints cursors made of them
    sig = str(Keypair().sign_message(b"launch"))
    assert Signature.from_string(sig)
    store.save_risk_counters({"ingest_cursors": {"prog": [sig, 42]}})
    assert store.load_risk_counters()["ingest_cursors"] == {"prog": [sig, 42]}
    with pytest.raises(SecretRefused):
        store.save_risk_counters({"ingest_cursors": {"prog": [str(Keypair()), 42]}})


def test_claim_entry_records_one_buy_per_opportunity(store):
    first = intent("opp-1")
    assert store.claim_entry(first) == first
    # a retried execute_entry after a restart builds the same order again: refused, nothing written
    assert store.claim_entry(replace(first, created_at=first.created_at + 5)) is None
    assert store.claim_entry(intent("opp-1", oid="another-id")) is None   # another order, same opportunity
    assert [o.id for o in store.orders()] == [first.id]
    assert store.claim_entry(intent("opp-2", mint="MINT2")) is not None
    with pytest.raises(IllegalTransition):
        store.claim_entry(transition(intent("opp-3"), S.SUBMITTED, 11.0))
