"""Fixed little-endian account layouts declared as (name, kind) lists, decoded and encoded with one struct.

Kinds: u8 u16 u32 u64 i32 i64 u128 i128 bool pubkey, or "bytes:N" for opaque padding kept verbatim so that
encode(decode(x)) == x. Pubkeys are base58 str, as everywhere in pipelines/.
"""
from __future__ import annotations

import struct

from solders.pubkey import Pubkey

from .borsh import b58
from .errors import DecodeError

_FMT = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "i32": "i", "i64": "q", "u128": "16s", "i128": "16s",
        "bool": "B", "pubkey": "32s"}


def _fmt(kind: str) -> str:
    if kind.startswith("bytes:"):
        return f"{int(kind[6:])}s"
    return _FMT[kind]


class Layout:
    __slots__ = ("fields", "struct", "size", "offsets", "_ends")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = tuple(fields)
        self.struct = struct.Struct("<" + "".join(_fmt(k) for _, k in fields))
        self.size = self.struct.size
        offsets, pos = {}, 0
        ends = []
        for name, kind in fields:
            offsets[name] = pos
            pos += struct.calcsize("<" + _fmt(kind))
            ends.append(pos)
        self.offsets = offsets
        self._ends = tuple(ends)

    def decode(self, data: bytes, offset: int = 0) -> dict:
        if len(data) - offset < self.size:
            raise DecodeError(f"need {self.size} bytes at offset {offset}, have {len(data) - offset}")
        values = self.struct.unpack_from(data, offset)
        return {name: _from_raw(kind, v) for (name, kind), v in zip(self.fields, values)}

    def decode_prefix(self, data: bytes, offset: int = 0) -> dict:
        """Only the fields wholly present: older, shorter versions of growing accounts."""
        avail = len(data) - offset
        if avail >= self.size:
            return self.decode(data, offset)
        out, pos = {}, offset
        for (name, kind), end in zip(self.fields, self._ends):
            if end > avail:
                break
            (v,) = struct.unpack_from("<" + _fmt(kind), data, pos)
            out[name] = _from_raw(kind, v)
            pos = offset + end
        return out

    def encode(self, values: dict) -> bytes:
        return self.struct.pack(*(_to_raw(kind, values[name]) for name, kind in self.fields))


def _from_raw(kind: str, v):
    if kind == "pubkey":
        return b58(v)
    if kind == "bool":
        if v > 1:
            raise DecodeError(f"invalid bool byte {v}")
        return v == 1
    if kind == "u128":
        return int.from_bytes(v, "little")
    if kind == "i128":
        return int.from_bytes(v, "little", signed=True)
    return v


def _to_raw(kind: str, v):
    if kind == "pubkey":
        return bytes(v if isinstance(v, Pubkey) else Pubkey.from_string(v))
    if kind == "bool":
        return 1 if v else 0
    if kind == "u128":
        return int(v).to_bytes(16, "little")
    if kind == "i128":
        return int(v).to_bytes(16, "little", signed=True)
    return v
