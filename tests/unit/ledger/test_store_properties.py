"""Any sequence of writes, legal or not, repeated or late, leaves the ledger on a legal path."""
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ledger import LedgerStore
from pipelines.messages import Order, OrderState, Side
from pipelines.orders import ALLOWED, IllegalTransition

S = OrderState
SIG = "5" * 87

BASE = Order(id="o", mint="M", side=Side.BUY, venue="pumpfun", amount=10, limit=1, mode="live",
             opportunity_id="opp", created_at=1.0, updated_at=1.0)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(S)), st.booleans()), min_size=1, max_size=12))
def test_random_write_sequences_keep_a_legal_history(writes):
    with LedgerStore(":memory:", synchronous="OFF") as store:
        for t, (state, signed) in enumerate(writes, start=2):
            o = replace(BASE, state=state, updated_at=float(t), signature=SIG if signed else "",
                        last_valid_block_height=100 if signed else 0)
            before = store.get_order("o")
            try:
                after = store.record_order(o)
            except IllegalTransition:
                assert store.get_order("o") == before          # a refused write changes nothing
                continue
            assert store.get_order("o") == after
        history = [h.state for h in store.history("o")]
        if not history:
            assert store.get_order("o") is None
            return
        assert history[0] == S.INTENT
        for a, b in zip(history, history[1:]):
            assert b in ALLOWED[a]                              # every recorded step is a legal edge
        assert len(set(history)) == len(history)                # no state visited twice
        final = store.get_order("o")
        assert final.state == history[-1]
        if final.state in (S.SUBMITTED, S.UNRESOLVED, S.CONFIRMED):
            assert final.signature == SIG                       # live sent orders always carry a signature
