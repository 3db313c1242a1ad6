"""The slot-twin builders (fast_events.py) make ordinary event instances: the class itself, equal, same hash, same
repr, frozen, picklable, copyable, replaceable; and classes whose layout has no twin still build correctly."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from pipelines.chain.events import EVENT_TYPES, Launch, Trade, event_from_dict, event_to_dict
from pipelines.chain.fast_events import positional_builder, slot_twin


def _values(cls: type) -> dict:
    """A distinct value for every field (so a field stored in the wrong slot shows)."""
    out = {}
    for i, f in enumerate(dataclasses.fields(cls)):
        if f.name == "params":
            out[f.name] = (("index", i),)
        elif f.type in ("int", int):
            out[f.name] = 1000 + i
        elif f.type in ("bool", bool):
            out[f.name] = True
        else:
            out[f.name] = f"{f.name}-{i}"
    return out


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()), ids=lambda c: c.__name__)
def test_every_event_class_has_a_twin_and_builds_the_same_object(cls):
    assert slot_twin(cls) is not None  # else the hot path silently takes the slower descriptor stores
    values = _values(cls)
    names = tuple(reversed(values))  # any declared order
    built = positional_builder(cls, names)(*(values[n] for n in names))
    reference = cls(**values)
    assert type(built) is cls
    assert built == reference and hash(built) == hash(reference) and repr(built) == repr(reference)
    assert pickle.loads(pickle.dumps(built)) == reference
    assert copy.copy(built) == reference and copy.deepcopy(built) == reference
    assert event_from_dict(event_to_dict(built)) == reference
    first = dataclasses.fields(cls)[0].name
    assert dataclasses.replace(built, **{first: "other"}) == dataclasses.replace(reference, **{first: "other"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, first, "other")
    assert not hasattr(built, "__dict__")


def test_fields_left_out_take_their_defaults_and_keep_their_types():
    build = positional_builder(Launch, ("venue", "signature", "slot", "mint", "bonding_curve", "creator", "name",
                                        "symbol", "uri", "token_program", "quote_mint"))
    launch = build("pumpfun", "s", 1, "m", "c", "cr", "n", "sy", "u", "t", "q")
    assert launch == Launch("pumpfun", "s", 1, "m", "c", "cr", "n", "sy", "u", "t", "q")
    assert launch.is_mayhem_mode is False and launch.user == "" and launch.seq == 0


def test_a_layout_without_a_twin_is_built_through_the_slot_descriptors():
    @dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
    class Weak:
        a: int
        b: str = "x"

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        b: str = "y"

    assert slot_twin(Weak) is None and slot_twin(Derived) is None
    assert positional_builder(Weak, ("a",))(1) == Weak(1)
    derived = positional_builder(Derived, ("b", "a"))("z", 2)
    assert type(derived) is Derived and derived == Derived(2, "z")


def test_the_twin_is_refused_when_python_would_not_allow_the_class_switch():
    @dataclasses.dataclass(frozen=True)  # no slots: instances have a __dict__, no slot layout to copy
    class Plain:
        a: int

    assert slot_twin(Plain) is None
    assert positional_builder(Plain, ("a",))(3) == Plain(3)


def test_trade_builder_stores_each_argument_in_its_own_field():
    values = _values(Trade)
    names = tuple(values)
    trade = positional_builder(Trade, names)(*values.values())
    assert dataclasses.asdict(trade) == values
