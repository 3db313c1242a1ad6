"""Never two buys of one mint by one strategy at a time, enforced by the ledger (schema v4): whoever writes the
order, under whatever id."""
import sqlite3
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ledger import LedgerConflict, LedgerStore
from pipelines.ledger.schema import MIGRATIONS, migrate
from pipelines.messages import Fill, Order, OrderState, Position, Side
from pipelines.orders import entry_order_id, transition

S = OrderState
SIG = "5" * 87


def buy(opp: str, mint: str = "MINT1", strategy: str = "momentum", t: float = 10.0, mode: str = "live") -> Order:
    return Order(id=entry_order_id(opp), mint=mint, side=Side.BUY, venue="pumpfun", amount=100_000_000, limit=1000,
                 mode=mode, reason=strategy, opportunity_id=opp, created_at=t, updated_at=t)


@pytest.fixture
def store(tmp_path):
    s = LedgerStore(tmp_path / "ledger.sqlite")
    yield s
    s.close()


def test_two_opportunities_of_one_mint_and_strategy_get_one_intent(store):
    # the same mint seen at two slots: two opportunities, two entry ids; only the first is claimed
    first, second = buy("momentum:MINT1:slot-100"), buy("momentum:MINT1:slot-180", t=11.0)
    assert first.id != second.id
    assert store.claim_entry(first) == first
    assert store.claim_entry(second) is None
    assert [o.id for o in store.orders()] == [first.id]
    # another strategy may hold the same mint; the same strategy another mint
    assert store.claim_entry(buy("sniper:MINT1", strategy="sniper")) is not None
    assert store.claim_entry(buy("momentum:MINT2", mint="MINT2")) is not None


def test_the_database_refuses_a_second_buy_whatever_writes_it(store):
    first = buy("a")
    store.record_order(first)
    with pytest.raises(LedgerConflict, match="already has a buy"):
        store.record_order(buy("b", t=12.0))           # not through claim_entry: the trigger refuses it
    with pytest.raises(sqlite3.IntegrityError):        # nor raw SQL
        store._db.execute("INSERT INTO entries (strategy, mint, order_id) VALUES ('momentum', 'MINT1', 'x')")


def position(open_: bool = True) -> Position:
    return Position(mint="MINT1", opened_at=20.0, tokens=3_000_000, initial_tokens=3_000_000,
                    cost_lamports=100_000_000, entry_price=33.3, entry_order_id="c")


def test_a_buy_holds_the_mint_until_it_bought_nothing_or_its_position_closed(store):
    failed = buy("a")
    store.claim_entry(failed)
    store.record_order(transition(failed, S.FAILED, 11.0, error="simulation failed"))
    expired = buy("b", t=12.0)
    assert store.claim_entry(expired) is not None                # a failed buy may be tried again
    sub = transition(expired, S.SUBMITTED, 13.0, signature=SIG, last_valid_block_height=50)
    store.record_batch(orders=[sub, transition(sub, S.EXPIRED, 14.0, error="blockhash_expired")])
    unresolved = buy("c", t=15.0)
    assert store.claim_entry(unresolved) is not None            # so may an expired one
    sub = transition(unresolved, S.SUBMITTED, 16.0, signature="6" * 87, last_valid_block_height=60)
    store.record_batch(orders=[sub, transition(sub, S.UNRESOLVED, 17.0)])
    assert store.claim_entry(buy("d", t=18.0)) is None           # it may have landed: held
    store.record_order(transition(transition(sub, S.UNRESOLVED, 17.0), S.CONFIRMED, 19.0))
    assert store.claim_entry(buy("e", t=20.0)) is None           # it landed, its fill not booked yet: held
    assert store.entry_holder("momentum", "MINT1") == unresolved.id
    store.record_fill(Fill(order_id=unresolved.id, mint="MINT1", side=Side.BUY, lamports=100_000_000,
                           tokens=3_000_000, fee_lamports=0, price=33.3, slot=9, ts=20.0, signature=sub.signature))
    held = position(open_=True)
    store.upsert_position(held)
    assert store.claim_entry(buy("f", t=21.0)) is None           # its position is open: held
    store.upsert_position(replace(held, tokens=0, closed_at=30.0))
    assert store.entry_holder("momentum", "MINT1") is None       # closed: a later re-entry is a new trade
    assert store.claim_entry(buy("g", t=31.0)) is not None


def test_a_v3_ledger_is_migrated_with_its_buy_in_flight_holding_the_mint(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, MIGRATIONS[:3])
    cols = ("id, mint, side, venue, amount, \"limit\", mode, state, reason, reservation_id, opportunity_id, "
            "created_at, updated_at, signature, error, last_valid_block_height, trace_id")
    for oid, state, t in (("old-failed", "failed", 1.0), ("old-closed", "confirmed", 2.0),
                          ("old-unresolved", "unresolved", 3.0)):
        db.execute(f"INSERT INTO orders ({cols}) VALUES (?, 'M', 'buy', 'pumpfun', 1, 1, 'live', ?, 'momentum', '', "
                   f"?, ?, ?, '', '', 0, '')", (oid, state, oid, t, t))
    db.execute("INSERT INTO fills (order_id, signature, mint, side, lamports, tokens, fee_lamports, price, slot, ts, "
               "quote_slot) VALUES ('old-closed', 's', 'M', 'buy', 1, 1, 0, 1.0, 1, 2.0, 1)")
    db.close()
    with LedgerStore(path) as store:   # v3 history with a re-entry: kept; the buy still in flight holds the mint
        assert store.entry_holder("momentum", "M") == "old-unresolved"
        assert store.claim_entry(buy("new", mint="M")) is None
        assert len(store.orders()) == 3


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["M1", "M2"]), st.sampled_from(["momentum", "sniper"]),
                          st.sampled_from(["open", "failed", "expired", "closed"])), min_size=1, max_size=12))
def test_never_two_buys_of_a_mint_by_a_strategy_at_a_time(tmp_path_factory, steps):
    """Whatever the order of claims and outcomes, a claim is refused exactly when the (strategy, mint) has a buy
    that is neither failed/expired nor filled into a position since closed, and at most one such buy exists."""
    with LedgerStore(tmp_path_factory.mktemp("p") / "l.sqlite", synchronous="OFF") as store:
        for i, (mint, strategy, outcome) in enumerate(steps):
            holder = store.entry_holder(strategy, mint)
            claimed = store.claim_entry(buy(f"opp-{i}", mint=mint, strategy=strategy, t=float(i)))
            assert (claimed is None) == (holder is not None)
            if claimed is None or outcome == "open":
                continue
            sub = transition(claimed, S.SUBMITTED, i + 0.1, signature=f"{i:087d}", last_valid_block_height=9)
            if outcome in ("failed", "expired"):
                end = S.FAILED if outcome == "failed" else S.EXPIRED
                store.record_batch(orders=[sub, transition(sub, end, i + 0.2)])
                continue
            fill = Fill(order_id=claimed.id, mint=mint, side=Side.BUY, lamports=10, tokens=5, fee_lamports=0,
                        price=2.0, slot=1, ts=i + 0.3, signature=sub.signature)
            closed = Position(mint=mint, opened_at=i + 0.3, tokens=0, initial_tokens=5, cost_lamports=10,
                              entry_price=2.0, closed_at=i + 0.5, entry_order_id=claimed.id)
            store.record_batch(orders=[sub, transition(sub, S.CONFIRMED, i + 0.3)], fills=[fill], positions=[closed])
        for mint in ("M1", "M2"):
            for strategy in ("momentum", "sniper"):
                filled = {f.order_id for f in store.fills()}
                holding = [o for o in store.orders(mint=mint, side=Side.BUY) if o.reason == strategy
                           and o.state not in (S.FAILED, S.EXPIRED) and o.id not in filled]
                assert len(holding) <= 1
