"""Confirmed live orders without their fill (getTransaction null after confirmation): what the reconciler books."""
from pipelines.ledger import LedgerStore
from pipelines.messages import Fill, Order, OrderState, Side
from pipelines.orders import transition

S = OrderState


def order(oid: str, mode: str = "live", side: Side = Side.BUY) -> Order:
    return Order(id=oid, mint=f"M-{oid}", side=side, venue="pumpfun", amount=1, limit=1, mode=mode,
                 reason="sniper", opportunity_id=oid, created_at=1.0, updated_at=1.0)


def confirmed(o: Order, sig: str) -> list[Order]:
    sub = transition(o, S.SUBMITTED, 2.0, signature=sig, last_valid_block_height=9)
    return [o, sub, transition(sub, S.CONFIRMED, 3.0)]


def test_confirmed_live_orders_without_a_fill_are_listed_until_booked(tmp_path):
    with LedgerStore(tmp_path / "l.sqlite") as store:
        a, b, c = order("a"), order("b"), order("c", mode="paper")
        store.record_batch(orders=confirmed(a, "1" * 87) + confirmed(b, "2" * 87) + confirmed(c, "3" * 87))
        store.record_order(order("d"))                                   # an intent: not confirmed
        assert [o.id for o in store.confirmed_without_fill("live")] == ["a", "b"]
        store.record_fill(Fill(order_id="a", mint=a.mint, side=Side.BUY, lamports=10, tokens=5, fee_lamports=1,
                               price=2.0, slot=3, ts=4.0, signature="1" * 87))
        assert [o.id for o in store.confirmed_without_fill("live")] == ["b"]
        assert [o.id for o in store.confirmed_without_fill("paper")] == ["c"]


def test_fills_to_replay_start_at_the_oldest_fill_the_book_remembers(tmp_path):
    with LedgerStore(tmp_path / "l.sqlite") as store:
        for oid in ("a", "b", "c"):
            o = order(oid)
            store.record_batch(orders=confirmed(o, oid * 87), fills=[Fill(
                order_id=oid, mint=o.mint, side=Side.BUY, lamports=10, tokens=5, fee_lamports=1, price=2.0, slot=3,
                ts=4.0, signature=oid * 87)])
        ids = lambda fills: [f.order_id for f in fills]     # noqa: E731
        assert ids(store.fills_to_replay(["c", "b"])) == ["b", "c"]     # "a" was settled and forgotten
        assert ids(store.fills_to_replay([])) == ["a", "b", "c"]         # a book that remembers nothing: all
        assert ids(store.fills_to_replay(["unknown"])) == ["a", "b", "c"]


def failed(o: Order, sig: str, at: float) -> list[Order]:
    sub = transition(o, S.SUBMITTED, at, signature=sig, last_valid_block_height=9)
    return [o, sub, transition(sub, S.FAILED, at, error="InstructionError")]


def test_failed_live_orders_whose_fee_is_not_booked_are_listed_until_it_is(tmp_path):
    """A transaction that landed with an error paid its fee; when getTransaction could not be read at the time,
    the order is listed for the reconciler until the fee is booked (recent ones only)."""
    with LedgerStore(tmp_path / "l.sqlite") as store:
        a, b, old, paper = order("a"), order("b"), order("old"), order("p", mode="paper")
        store.record_batch(orders=failed(a, "1" * 87, 100.0) + failed(b, "2" * 87, 100.0)
                           + failed(old, "3" * 87, 10.0) + failed(paper, "4" * 87, 100.0))
        unsent = order("u")
        store.record_batch(orders=[unsent, transition(unsent, S.FAILED, 100.0, error="not sent: 429")])  # no sig
        assert [o.id for o in store.failed_without_cost("live", since=50.0)] == ["a", "b"]
        store.record_tx_cost("a", "1" * 87, 5_000, 7, 101.0, "1970-01-01")
        assert [o.id for o in store.failed_without_cost("live", since=50.0)] == ["b"]
        assert [o.id for o in store.failed_without_cost("live", since=0.0)] == ["b", "old"]


def test_the_summary_counts_orders_that_landed_but_are_not_booked(tmp_path):
    """The wallet watch waits on these: the wallet has moved, the ledger has not booked it yet."""
    import time
    with LedgerStore(tmp_path / "l.sqlite") as store:
        now = time.time()
        a, b = order("a"), order("b")
        store.record_batch(orders=confirmed(a, "1" * 87) + failed(b, "2" * 87, now))
        assert store.summary()["unbooked_orders"] == 2
        store.record_fill(Fill(order_id="a", mint=a.mint, side=Side.BUY, lamports=10, tokens=5, fee_lamports=1,
                               price=2.0, slot=3, ts=4.0, signature="1" * 87))
        store.record_tx_cost("b", "2" * 87, 5_000, 7, now, "1970-01-01")
        assert store.summary()["unbooked_orders"] == 0
