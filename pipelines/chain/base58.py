"""Base58 for variable-length byte strings (instruction data in json/jsonParsed transactions).

solders encodes and parses only fixed-size values (keys, signatures, hashes); the `base58` package covers the
rest. Input length is bounded first: decoding is quadratic in the length and a hostile document must not be
able to stall a decoder. Every failure is a DecodeError.
"""
from __future__ import annotations

import base58 as _b58

from .errors import DecodeError

# A CPI's instruction data is capped at 10 KiB on chain (~13,700 base58 chars); leave headroom.
MAX_CHARS = 16_384
_ALPHABET = frozenset(_b58.BITCOIN_ALPHABET.decode())


def b58decode(text: str) -> bytes:
    if not isinstance(text, str):
        raise DecodeError(f"base58 data must be a string, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise DecodeError(f"base58 data too long: {len(text)} characters (max {MAX_CHARS})")
    if not _ALPHABET.issuperset(text):   # the library strips whitespace; chain data never has any
        raise DecodeError("invalid base58: character outside the alphabet")
    try:
        return _b58.b58decode(text)
    except ValueError as exc:
        raise DecodeError(f"invalid base58: {exc}") from None


def b58encode(data: bytes) -> str:
    return _b58.b58encode(bytes(data)).decode("ascii")
