"""Positional constructors for the frozen event dataclasses, for the log fast path.

A frozen slots dataclass's __init__ sets each field through object.__setattr__ and, called with ~20 keywords,
costs 3-4 us here: most of a TradeEvent's decode budget. The builder made here takes the fields positionally in
an order the caller declares and stores them through the slot descriptors: about half the cost, the same
immutable, equal, hashable, picklable instance. The declared names are checked against the dataclass when the
module loads, so a field added to or renamed in events.py fails loudly instead of silently, and fields the
caller leaves out take their dataclass defaults. If an event class ever gains a __post_init__ (validation),
the builder falls back to the real constructor.
"""
from __future__ import annotations

import dataclasses
from typing import Callable


def positional_builder(cls: type, names: tuple[str, ...]) -> Callable:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {unknown}")
    missing = [n for n, f in fields.items() if n not in names and f.default is dataclasses.MISSING]
    if missing:
        raise TypeError(f"{cls.__name__} builder must set required fields {missing}")
    if hasattr(cls, "__post_init__") or any(f.default_factory is not dataclasses.MISSING for f in fields.values()):
        def build(*args):
            return cls(**dict(zip(names, args)))
        return build
    ns: dict = {"_new": object.__new__, "_cls": cls}
    lines = ["    o = _new(_cls)"]
    for i, (name, f) in enumerate(fields.items()):
        ns[f"_set{i}"] = cls.__dict__[name].__set__
        if name in names:
            lines.append(f"    _set{i}(o, a{names.index(name)})")
        else:
            ns[f"_default{i}"] = f.default
            lines.append(f"    _set{i}(o, _default{i})")
    params = ", ".join(f"a{i}" for i in range(len(names)))
    src = f"def build({params}):\n" + "\n".join(lines) + "\n    return o\n"
    exec(src, ns)  # noqa: S102 - code generated from the dataclass's own field names only
    return ns["build"]
