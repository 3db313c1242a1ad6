"""What the event payload decoders share: the event context, fixed-field runs read whole or up to where a
payload ends, bounded borsh strings, the quote-mint rule, and the hot-path event constructors."""
from __future__ import annotations

import struct

from . import programs as P
from .borsh import b58
from .errors import DecodeError
from .events import Launch, Trade
from .fast_events import positional_builder

U32 = struct.Struct("<I")
ZERO32 = bytes(32)
WSOL = P.WSOL_MINT
WSOL_RAW = bytes(P.pk(P.WSOL_MINT))
MAX_STRING = 4096  # names/symbols/uris on chain are far shorter; bounds a hostile length prefix

# Hot-path constructors (see fast_events.py): arguments in exactly these orders.
make_trade = positional_builder(Trade, (
    "venue", "signature", "slot", "mint", "side", "sol_amount", "token_amount", "user", "quote_mint",
    "quote_amount", "timestamp", "virtual_sol_reserves", "virtual_token_reserves", "real_sol_reserves",
    "real_token_reserves", "fee", "fee_basis_points", "creator", "creator_fee", "creator_fee_basis_points", "pool",
    "ix_name", "seq"))
make_launch = positional_builder(Launch, (
    "venue", "signature", "slot", "mint", "bonding_curve", "creator", "name", "symbol", "uri", "token_program",
    "quote_mint", "user", "timestamp", "virtual_token_reserves", "virtual_sol_reserves", "real_token_reserves",
    "token_total_supply", "is_mayhem_mode", "seq"))


class EventContext:
    """What the surrounding transaction says about an event; every field optional.

    accounts: the owning instruction's accounts (PumpSwap mints and vaults); ix_name: the owning instruction's
    snake_case name ("create_v2", "buy", ...); parent_program: the program that invoked the owning instruction
    ("" when it is top-level), e.g. pump when PumpSwap create_pool runs inside a migration.
    """
    __slots__ = ("accounts", "ix_name", "parent_program")

    def __init__(self, accounts: tuple[str, ...] = (), ix_name: str = "", parent_program: str = "") -> None:
        self.accounts = accounts
        self.ix_name = ix_name
        self.parent_program = parent_program


NO_CONTEXT = EventContext()


class Run:
    """A run of consecutive fixed-size fields, read whole when complete or field by field at a payload's end."""
    __slots__ = ("whole", "fields", "size")

    def __init__(self, *codes: str) -> None:
        self.whole = struct.Struct("<" + "".join(codes))
        self.fields = tuple(struct.Struct("<" + c) for c in codes)
        self.size = self.whole.size


def read_run(buf: bytes, off: int, run: Run, what: str) -> tuple[tuple, int]:
    """Values of the fields present (all of them, or a prefix ending exactly at the payload's end)."""
    left = len(buf) - off
    if left >= run.size:
        return run.whole.unpack_from(buf, off), off + run.size
    vals = []
    for f in run.fields:
        if left == 0:
            break
        if left < f.size:
            raise DecodeError(f"{what}: payload ends inside a field at offset {off}")
        vals.append(f.unpack_from(buf, off)[0])
        off += f.size
        left -= f.size
    return tuple(vals), off


def read_string(buf: bytes, off: int, what: str) -> tuple[str, int]:
    if len(buf) - off < 4:
        raise DecodeError(f"{what}: truncated string length at offset {off}")
    n = U32.unpack_from(buf, off)[0]
    off += 4
    if n > MAX_STRING:
        raise DecodeError(f"{what}: string length {n} exceeds {MAX_STRING}")
    end = off + n
    if end > len(buf):
        raise DecodeError(f"{what}: string of {n} bytes at offset {off} runs past the payload ({len(buf)} bytes)")
    try:
        return bytes(buf[off:end]).decode("utf-8"), end
    except UnicodeDecodeError:
        raise DecodeError(f"{what}: string at offset {off} is not UTF-8") from None


def check_bools(what: str, *values: int) -> None:
    for v in values:
        if v > 1:
            raise DecodeError(f"{what}: invalid bool value {v}")


def quote_of(raw: bytes | None) -> str:
    """The quote mint as reported: absent / zero key / WSOL all mean SOL."""
    if raw is None or raw == ZERO32 or raw == WSOL_RAW:
        return P.WSOL_MINT
    return b58(raw)


def key_or_empty(accounts: tuple[str, ...], i: int) -> str:
    return accounts[i] if len(accounts) > i else ""
