"""Messages <-> SQLite rows. Column names are the dataclass field names, in field order.

Enums are stored as their value, tuples as JSON arrays. Values are checked before anything is written: field
types, enum members, ints within SQLite's signed 64-bit range (a u64 above 2**63-1 would otherwise fail deep
inside sqlite3 with an unhelpful OverflowError), finite floats (NaN would become NULL).
"""
from __future__ import annotations

import json
import math
from dataclasses import fields
from enum import Enum
from typing import Any

from ..messages import Fill, Order, OrderState, Position, Reservation, Side

I64_MAX = 2**63 - 1


class CodecError(ValueError):
    """A message value the ledger cannot store faithfully."""


def columns(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _cell(cls_name: str, name: str, value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not -I64_MAX - 1 <= value <= I64_MAX:
        raise CodecError(f"{cls_name}.{name} = {value} does not fit a signed 64-bit integer")
    if isinstance(value, float) and not math.isfinite(value):
        raise CodecError(f"{cls_name}.{name} = {value} is not a finite number")
    return value


_KINDS = {"int": (int,), "float": (int, float), "str": (str,)}


def _types(cls: type) -> tuple[tuple[str, tuple[type, ...] | None], ...]:
    return tuple((f.name, _KINDS.get(f.type if isinstance(f.type, str) else f.type.__name__)) for f in fields(cls))


_TYPES: dict[type, tuple] = {}
_ENUMS = {"side": Side, "state": OrderState}


def to_row(msg: Any) -> tuple:
    cls = type(msg)
    spec = _TYPES.get(cls) or _TYPES.setdefault(cls, _types(cls))
    row = []
    for name, kinds in spec:
        value = getattr(msg, name)
        if name in _ENUMS:
            try:
                value = _ENUMS[name](value)
            except ValueError:
                raise CodecError(f"{cls.__name__}.{name} = {value!r} is not a valid {name}") from None
        elif kinds is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise CodecError(f"{cls.__name__}.{name} must be {kinds[-1].__name__}, not {type(value).__name__}")
        row.append(_cell(cls.__name__, name, value))
    return tuple(row)


def order_from_row(row: tuple) -> Order:
    d = dict(zip(ORDER_COLUMNS, row))
    d["side"] = Side(d["side"])
    d["state"] = OrderState(d["state"])
    return Order(**d)


def fill_from_row(row: tuple) -> Fill:
    d = dict(zip(FILL_COLUMNS, row))
    d["side"] = Side(d["side"])
    return Fill(**d)


def position_from_row(row: tuple) -> Position:
    d = dict(zip(POSITION_COLUMNS, row))
    d["exit_order_ids"] = tuple(json.loads(d["exit_order_ids"]))
    return Position(**d)


def reservation_from_row(row: tuple) -> Reservation:
    return Reservation(**dict(zip(RESERVATION_COLUMNS, row)))


ORDER_COLUMNS = columns(Order)
FILL_COLUMNS = columns(Fill)
POSITION_COLUMNS = columns(Position)
RESERVATION_COLUMNS = columns(Reservation)


def quoted(cols: tuple[str, ...]) -> str:
    """A column list safe against keywords (`limit`)."""
    return ", ".join(f'"{c}"' for c in cols)
