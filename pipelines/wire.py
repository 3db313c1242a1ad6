"""How typed messages are built and cross process boundaries (Ray pickles every actor call's arguments).

The messages are frozen slotted dataclasses. Their generated __init__ sets each field through
object.__setattr__ (frozen), and by default they pickle through the __getstate__/__setstate__ pair `dataclasses`
adds: fields() plus one object.__setattr__ per field on the receiving end. On the hot paths that is a large
share of the work: every chain event crosses Ray two or three times (driver or WebSocket -> Ingest ->
AnalyzerShard) and every touched token's features once per flush (AnalyzerShard -> MomentumEngine). So:

- `constructor(cls)`: a keyword constructor that sets each slot through its descriptor, with the dataclass's
  defaults: the same object as cls(**kwargs) for about half the cost (TokenState.features builds one per call);
- `pickle_by_fields(cls)`: instances pickle as (class, field values) and unpickle through the same kind of
  setter, ~2-3x cheaper per hop than the default. What comes out equals what went in (tests/unit/test_wire.py).
Both refuse classes they cannot rebuild exactly (a __post_init__, fields outside __init__, no slots).
"""
from __future__ import annotations

import dataclasses
from itertools import chain
from operator import attrgetter
from typing import Callable

_REBUILD: dict[type, Callable] = {}


def _check(cls: type) -> tuple:
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or "__slots__" not in cls.__dict__ or any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__}: only slotted dataclasses without __post_init__ or non-init fields")
    return fields


def slot_twin(cls: type) -> type | None:
    """A mutable class with cls's exact instance layout, or None if Python would not let an instance of it become
    a cls (checked here, once, rather than discovered on the hot path). Filling a twin with plain attribute stores
    and then switching its __class__ builds a frozen slotted instance ~3x faster than storing through the slot
    descriptors: the result is an ordinary cls (equality, hashing, pickling and immutability are cls's own)."""
    slots = cls.__dict__.get("__slots__")
    if cls.__bases__ != (object,) or not isinstance(slots, tuple) or any(s.startswith("__") for s in slots):
        return None
    twin = type(f"_{cls.__name__}Slots", (), {"__slots__": slots, "__module__": cls.__module__})
    try:
        probe = object.__new__(twin)
        probe.__class__ = cls
    except TypeError:
        return None
    return twin


def _setter_function(cls: type, keyword: bool) -> Callable:
    """make(field values...) -> a new cls with its slots set: positional, or keyword-only with defaults."""
    fields = _check(cls)
    twin = slot_twin(cls)
    env: dict = {"_new": object.__new__, "_cls": cls, "_twin": twin, "_MISSING": dataclasses.MISSING}
    params, body = [], ["    o = _new(_twin)" if twin is not None else "    o = _new(_cls)"]
    for i, f in enumerate(fields):
        env[f"_set{i}"] = getattr(cls, f.name).__set__
        if keyword and f.default is not dataclasses.MISSING:
            env[f"_d{i}"] = f.default
            params.append(f"{f.name}=_d{i}")
        elif keyword and f.default_factory is not dataclasses.MISSING:
            env[f"_f{i}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING: {f.name} = _f{i}()")
        else:
            params.append(f.name)
        body.append(f"    o.{f.name} = {f.name}" if twin is not None else f"    _set{i}(o, {f.name})")
    if twin is not None:
        body.append("    o.__class__ = _cls")
    star = "*, " if keyword and params else ""
    src = f"def make({star}{', '.join(params)}):\n" + "\n".join(body) + "\n    return o\n"
    exec(src, env)        # noqa: S102 - generated from the dataclass's own field list, nothing external
    make = env["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    return make


def constructor(cls: type) -> Callable:
    """cls(**kwargs) without the frozen dataclass's per-field object.__setattr__ (same defaults, same object)."""
    return _setter_function(cls, keyword=True)


def rebuilder(cls: type) -> Callable:
    """make(*field values) -> a cls, for a class registered with pickle_by_fields (what unpickling uses)."""
    return _REBUILD[cls]


def _rebuild(cls: type, values: tuple):
    return _REBUILD[cls](*values)


def pickle_by_fields(cls: type) -> type:
    """Make instances of dataclass `cls` pickle as (cls, field values), rebuilt by setting the slots."""
    names = [f.name for f in _check(cls)]
    _REBUILD[cls] = _setter_function(cls, keyword=False)
    values = attrgetter(*names) if len(names) > 1 else (lambda obj, _g=attrgetter(names[0]): (_g(obj),))

    def __reduce__(self):
        return _rebuild, (cls, values(self))
    cls.__reduce__ = __reduce__
    return cls


_GETTERS: dict[type, Callable] = {}


def _values_getter(cls: type) -> Callable:
    g = _GETTERS.get(cls)
    if g is None:
        names = [f.name for f in _check(cls)]
        g = attrgetter(*names) if len(names) > 1 else (lambda obj, _g=attrgetter(names[0]): (_g(obj),))
        _GETTERS[cls] = g
    return g


class EventBatch:
    """A list of messages (of classes registered with pickle_by_fields) that crosses a process boundary as
    columns: one tuple per field per class, plus the order of the classes. Pickling a column of strings or
    ints is a fraction of pickling each object's reduce tuple, so a batch hop costs about a third less
    (benchmarks/pipeline.py). The receiver gets `.events`: equal objects, in the same order. A batch of one
    class arrives as its columns and builds its objects only when `.events` is first read: a receiver that
    reads the columns (`columns_of`) never builds them."""

    __slots__ = ("_events", "_cls", "_columns")

    def __init__(self, events: list) -> None:
        self._events = events
        self._cls = self._columns = None

    @classmethod
    def of_columns(cls, kind: type, columns: tuple) -> EventBatch:
        batch = cls.__new__(cls)
        batch._events, batch._cls, batch._columns = None, kind, columns
        return batch

    @property
    def events(self) -> list:
        if self._events is None:
            self._events = list(map(_REBUILD[self._cls], *self._columns)) if self._columns else []
        return self._events

    def columns_of(self, kind: type) -> tuple | None:
        """This batch's columns (one tuple per field of `kind`, field order) when it arrived as columns of `kind`
        alone and its objects were not built; else None."""
        if self._events is None and self._cls is kind:
            return self._columns
        return None

    def __len__(self) -> int:
        if self._events is None:
            return len(self._columns[0]) if self._columns else 0
        return len(self._events)

    def __reduce__(self):
        if self._events is None:                  # forwarded as it came: its columns as they are
            return _unpack_batch, ((self._cls,), b"", [self._columns])
        kinds = set(map(type, self.events))
        if len(kinds) == 1:                       # the usual shard batch: trades only
            cls = kinds.pop()
            if cls in _REBUILD:
                return _unpack_batch, ((cls,), b"", [tuple(zip(*map(_values_getter(cls), self.events)))])
        classes: list[type] = []
        index: dict[type, int] = {}
        order = bytearray()
        rows: list[list] = []
        for ev in self.events:
            cls = type(ev)
            k = index.get(cls)
            if k is None:
                if cls not in _REBUILD or len(classes) == 255:
                    return EventBatch, (self.events,)      # not columnar: pickled object by object
                k = index[cls] = len(classes)
                classes.append(cls)
                rows.append([])
            order.append(k)
            rows[k].append(_values_getter(cls)(ev))
        return _unpack_batch, (tuple(classes), bytes(order), [tuple(zip(*r)) for r in rows])


def _unpack_batch(classes: tuple, order: bytes, columns: list) -> EventBatch:
    if len(classes) == 1:                         # one class ("order" is empty then): built when first read
        return EventBatch.of_columns(classes[0], tuple(columns[0]))
    made = [map(_REBUILD[cls], *cols) for cls, cols in zip(classes, columns)]
    nexts = [m.__next__ for m in made]
    return EventBatch([nexts[k]() for k in order])


def events_of(batch) -> list:
    """The events of an EventBatch, or the list itself."""
    return batch.events if isinstance(batch, EventBatch) else batch


def join_batches(chunks: list) -> EventBatch:
    """One EventBatch of `chunks` in order, each a list of events or an EventBatch. When every chunk is columns
    of one class whose objects were never built, the result is those columns joined field by field (no object
    is built on the way); otherwise it holds the events."""
    parts = [c for c in chunks if len(c)]
    if len(parts) == 1 and isinstance(parts[0], EventBatch):
        return parts[0]
    if parts and all(isinstance(c, EventBatch) and c._events is None for c in parts) and \
            len({c._cls for c in parts}) == 1:
        joined = tuple(tuple(chain.from_iterable(col)) for col in zip(*(c._columns for c in parts)))
        return EventBatch.of_columns(parts[0]._cls, joined)
    return EventBatch([ev for c in parts for ev in events_of(c)])
