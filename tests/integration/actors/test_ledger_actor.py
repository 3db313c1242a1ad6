"""The Ledger actor in the session's Ray: writes on the writer connection, reads on a read-only one (two
concurrency groups), and a caller always reads its own committed writes."""
from __future__ import annotations

import pickle
import threading
from dataclasses import replace

import pytest
import ray

from actors.ledger import LedgerActor
from pipelines.messages import Order, OrderState, Side

pytestmark = pytest.mark.ray


def intent(i: int) -> Order:
    return Order(id=f"o{i}", mint=f"M{i}", side=Side.BUY, venue="pumpfun", amount=1_000 + i, limit=1,
                 mode="paper", state=OrderState.INTENT, opportunity_id=f"opp{i}")


def test_reads_see_each_committed_write_and_claims_stay_exclusive(ray_session, tmp_path):
    ledger = LedgerActor.remote(str(tmp_path / "ledger.sqlite"))
    try:
        assert ray.get(ledger.claim_intent.remote(pickle.dumps(intent(1)))) is True
        # read-your-write across the two groups: the read connection sees the committed intent
        assert ray.get(ledger.get_order.remote("o1")).state is OrderState.INTENT
        assert ray.get(ledger.entry_order_for.remote("opp1")).id == "o1"
        # the same opportunity claimed again (a retried call) is refused, even with another order id

        assert ray.get(ledger.claim_intent.remote(pickle.dumps(replace(intent(1), id="o1b")))) is False
        # many claims and reads interleaved from threads: every claim lands once, reads never fail
        errors: list[BaseException] = []

        def reader():
            try:
                for _ in range(30):
                    ray.get(ledger.summary.remote())
                    ray.get(ledger.orders.remote())
            except BaseException as exc:   # noqa: BLE001 - surfaced by the assertion below
                errors.append(exc)
        t = threading.Thread(target=reader)
        t.start()
        claimed = ray.get([ledger.claim_intent.remote(pickle.dumps(intent(i))) for i in range(2, 40)])
        t.join()
        assert not errors
        assert all(c is True for c in claimed)
        assert {o.id for o in ray.get(ledger.orders.remote())} == {f"o{i}" for i in range(1, 40)}
        assert ray.get(ledger.summary.remote())["orders"] == 39
    finally:
        ray.kill(ledger)


def test_the_packed_claim_is_durable_once_and_refuses_a_second_claim(ray_session, tmp_path):
    ledger = LedgerActor.remote(str(tmp_path / "ledger.sqlite"))
    try:
        assert ray.get(ledger.claim_intent.remote(pickle.dumps(intent(1)))) is True
        assert ray.get(ledger.get_order.remote("o1")) == intent(1)          # committed, as sent
        # a retried call (the same order) and another order for the same opportunity: both refused
        assert ray.get(ledger.claim_intent.remote(pickle.dumps(intent(1)))) is False
        assert ray.get(ledger.claim_intent.remote(pickle.dumps(replace(intent(1), id="o1b")))) is False
        assert [o.id for o in ray.get(ledger.orders.remote())] == ["o1"]
    finally:
        ray.kill(ledger)
