"""The positional event constructors used on the hot path build exactly what the dataclass constructor builds."""
from __future__ import annotations

import dataclasses
import pickle

import pytest

from pipelines.chain.decode import decode_document
from pipelines.chain.events import Launch, PoolCreated, Trade, event_from_dict, event_to_dict
from pipelines.chain.fast_events import positional_builder
from tests.conftest import load_fixture


def test_builder_equals_constructor_and_stays_frozen():
    names = ("seq", "venue", "signature", "slot", "mint", "side", "sol_amount", "token_amount", "user", "quote_mint",
             "quote_amount")
    build = positional_builder(Trade, names)
    values = (7, "pumpfun", "sig", 3, "mint", "buy", 10, 20, "user", "q", 10)
    built = build(*values)
    assert built == Trade(**dict(zip(names, values)))  # the rest take their defaults
    assert hash(built) == hash(Trade(**dict(zip(names, values))))
    assert pickle.loads(pickle.dumps(built)) == built
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.mint = "other"


def test_builder_rejects_unknown_or_missing_fields():
    with pytest.raises(TypeError, match="no fields"):
        positional_builder(Trade, ("venue", "nope"))
    with pytest.raises(TypeError, match="required"):
        positional_builder(Launch, ("venue", "signature"))


def test_builder_falls_back_to_the_constructor_when_the_class_validates():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self):
            if self.x < 0:
                raise ValueError("negative")

    build = positional_builder(Checked, ("x",))
    assert build(1) == Checked(1)
    with pytest.raises(ValueError):
        build(-1)


def test_every_fixture_event_round_trips_through_its_dict():
    events = []
    for rel in ("pumpfun/create_2024_getTransaction_jsonParsed.json",
                "pumpfun/buy_sell_2024_getTransaction_jsonParsed.json", "pumpfun/create_2025_ix.json",
                "raydium_amm_v4/initialize2_transactionNotifications.json", "orca/initialize_pool_ix.json",
                "meteora/dlmm_initialize_lb_pair2_ix.json"):
        events += decode_document(load_fixture(rel))
    assert {type(e) for e in events} == {Launch, Trade, PoolCreated}
    for ev in events:
        assert event_from_dict(event_to_dict(ev)) == ev
