"""Positional constructors for the frozen event dataclasses, for the log fast path.

A frozen slots dataclass's __init__ sets each field through object.__setattr__ and, called with ~20 keywords,
costs 3-4 us here: most of a TradeEvent's decode budget. The builder made here takes the fields positionally in
an order the caller declares, stores them into a *twin*: a plain class with exactly the event's __slots__ (so the
same memory layout) and no frozen __setattr__, where `o.field = v` is the interpreter's specialised slot store;
then it sets `o.__class__` to the event class. The result is an ordinary instance of the event class (type(o) is
cls), so equality, hashing, pickling and immutability are the dataclass's own. A 23-field Trade: ~0.4 us, against
~3.5 us for the constructor and ~1.5 us storing through the slot descriptors (the `__class__` switch itself, with
its layout check, is ~0.1 us of it). The declared names are checked against the dataclass when the module loads, so a field added
to or renamed in events.py fails loudly instead of silently, and fields the caller leaves out take their dataclass
defaults. If the class cannot be built that way (a __post_init__ that validates, a default_factory, no slots) the
builder falls back to the real constructor; if its layout has no twin (a base class, a __weakref__ slot), it stores
through the slot descriptors instead.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from pipelines.wire import slot_twin


def positional_builder(cls: type, names: tuple[str, ...]) -> Callable:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {unknown}")
    missing = [n for n, f in fields.items() if n not in names and f.default is dataclasses.MISSING]
    if missing:
        raise TypeError(f"{cls.__name__} builder must set required fields {missing}")
    if (hasattr(cls, "__post_init__") or any(f.default_factory is not dataclasses.MISSING for f in fields.values())
            or "__slots__" not in cls.__dict__):
        def build(*args):
            return cls(**dict(zip(names, args)))
        return build
    twin = slot_twin(cls)
    ns: dict = {"_new": object.__new__, "_cls": cls, "_twin": twin}
    lines = ["    o = _new(_twin)" if twin is not None else "    o = _new(_cls)"]
    for i, (name, f) in enumerate(fields.items()):
        if name in names:
            value = f"a{names.index(name)}"
        else:
            ns[f"_default{i}"] = f.default
            value = f"_default{i}"
        if twin is not None:
            lines.append(f"    o.{name} = {value}")
        else:
            ns[f"_set{i}"] = getattr(cls, name).__set__  # the slot's member descriptor (maybe a base class's)
            lines.append(f"    _set{i}(o, {value})")
    if twin is not None:
        lines.append("    o.__class__ = _cls")
    params = ", ".join(f"a{i}" for i in range(len(names)))
    src = f"def build({params}):\n" + "\n".join(lines) + "\n    return o\n"
    exec(src, ns)  # noqa: S102 - code generated from the dataclass's own field names only
    build = ns["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    return build
