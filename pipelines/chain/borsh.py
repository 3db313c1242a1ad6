"""A bounds-checked borsh reader and writer. Every read failure is a DecodeError."""
from __future__ import annotations

import struct

from solders.pubkey import Pubkey

from .errors import DecodeError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")

# Base58 of recent 32-byte keys: mints, users and pools repeat constantly in a live stream, and encoding
# a key costs more than the rest of an event's decode. Bounded so a hostile stream cannot grow it forever.
_B58_CACHE: dict[bytes, str] = {}
_B58_CACHE_MAX = 65_536
_from_bytes = Pubkey.from_bytes


def b58(raw: bytes) -> str:
    s = _B58_CACHE.get(raw)
    if s is None:
        s = str(_from_bytes(raw))
        if len(_B58_CACHE) >= _B58_CACHE_MAX:
            _B58_CACHE.clear()
        _B58_CACHE[raw] = s
    return s


def b58_new(raw: bytes) -> str:
    """b58 of a key the caller knows is not cached (it just missed, or the key is new: a mint being created);
    skips the lookup. Decoders use `_B58_CACHE.get(raw) or b58_new(raw)`."""
    s = str(_from_bytes(raw))
    if len(_B58_CACHE) >= _B58_CACHE_MAX:
        _B58_CACHE.clear()
    _B58_CACHE[raw] = s
    return s


class Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.buf):
            raise DecodeError(f"truncated: need {n} bytes at offset {self.pos}, have {len(self.buf) - self.pos}")
        b = self.buf[self.pos:end]
        self.pos = end
        return b

    def u8(self) -> int:
        return self._take(1)[0]

    def bool(self) -> bool:
        v = self.u8()
        if v > 1:
            raise DecodeError(f"invalid bool {v} at offset {self.pos - 1}")
        return v == 1

    def u16(self) -> int:
        return _U16.unpack(self._take(2))[0]

    def u32(self) -> int:
        return _U32.unpack(self._take(4))[0]

    def u64(self) -> int:
        return _U64.unpack(self._take(8))[0]

    def i64(self) -> int:
        return _I64.unpack(self._take(8))[0]

    def u128(self) -> int:
        return int.from_bytes(self._take(16), "little")

    def pubkey(self) -> str:
        return b58(self._take(32))

    def string(self, max_len: int = 4096) -> str:
        n = self.u32()
        if n > max_len:
            raise DecodeError(f"string length {n} exceeds {max_len}")
        try:
            return self._take(n).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"string is not UTF-8: {exc.reason}") from None

    def option_bool(self) -> bool | None:
        """pump's OptionBool: one byte, 0 = None/false, 1 = true (see PROTOCOL.md)."""
        return self.u8() == 1

    def option(self, read):
        tag = self.u8()
        if tag == 0:
            return None
        if tag != 1:
            raise DecodeError(f"invalid option tag {tag}")
        return read()


class Writer:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def raw(self, b: bytes) -> "Writer":
        self.parts.append(b)
        return self

    def u8(self, v: int) -> "Writer":
        return self.raw(bytes((v,)))

    def bool(self, v: bool) -> "Writer":
        return self.u8(1 if v else 0)

    def u16(self, v: int) -> "Writer":
        return self.raw(_U16.pack(v))

    def u32(self, v: int) -> "Writer":
        return self.raw(_U32.pack(v))

    def u64(self, v: int) -> "Writer":
        return self.raw(_U64.pack(v))

    def i64(self, v: int) -> "Writer":
        return self.raw(_I64.pack(v))

    def u128(self, v: int) -> "Writer":
        return self.raw(v.to_bytes(16, "little"))

    def pubkey(self, v: str | Pubkey) -> "Writer":
        return self.raw(bytes(v if isinstance(v, Pubkey) else Pubkey.from_string(v)))

    def string(self, v: str) -> "Writer":
        b = v.encode("utf-8")
        return self.u32(len(b)).raw(b)

    def bytes(self) -> bytes:
        return b"".join(self.parts)
