"""Payload decoders for pump.fun Anchor events (CreateEvent, TradeEvent, CompleteEvent,
CompletePumpAmmMigrationEvent) and the event dispatch for pump.fun and PumpSwap (see pumpswap_events.py).

A payload is the 8-byte event discriminator followed by the borsh-encoded event: the bytes of a
`Program data: <base64>` log line, or an event-CPI inner instruction's data after EVENT_CPI_PREFIX.

Events have grown over the years (pump TradeEvent: 129 bytes in 2024, 1.3.0 IDL adds fees and creator, then
volume tracking, ix_name, mayhem/cashback/buyback, shareholders, quote mint and holder rewards). Every decoder
reads the mandatory prefix, then whatever later fields are present, stopping at a field boundary; a payload
that ends inside a field, or a bool that is not 0/1, is malformed (DecodeError). Bytes past the newest known
layout are ignored (fields a future program version may append).

Hot path (CreateEvent, TradeEvent): the 2024 and the current layouts are read with a few precompiled structs (no
per-field Reader calls), keys go through the base58 cache, events are built positionally (fast_events.py); other
vintages, and anything the fast path finds odd, take the field-by-field walk, which is the reference: the fast
path decodes exactly what the walk decodes (tests/unit/chain/test_decode_fast_vs_reference.py).

SOL-quoted coins (quote mint absent, the all-zero key, or WSOL) get quote_mint = WSOL_MINT and
quote_amount = sol_amount. For other quote mints sol_amount is what the event says (0) and the quote-side
curve reserves are reported in the *_sol_reserves fields, in quote-mint units, so curve math stays usable.
"""
from __future__ import annotations

import struct
from typing import Callable

from solders.pubkey import Pubkey

from . import borsh as _borsh
from . import programs as P
from .borsh import b58, b58_new
from .errors import DecodeError
from .event_fields import (MAX_STRING, NO_CONTEXT, U32, WSOL, WSOL_RAW, ZERO32, EventContext, Run, check_bools,
                           make_launch, make_trade, quote_of, read_run, read_string)
from .events import Complete, Event, Launch, Migration, Trade

# Hot path: look the base58 cache up directly (a dict.get, not a Python call) and encode only on a miss. If
# borsh ever swaps its cache object this only stops hitting, it never returns a wrong key.
_cached = _borsh._B58_CACHE.get
from .pumpswap_events import AMM_EVENTS

__all__ = ["EVENTS_BY_PROGRAM", "EventContext", "PUMP_EVENTS", "AMM_EVENTS", "decode_event"]

# --- pump.fun ----------------------------------------------------------------------------------------------------

_CREATE_KEYS = struct.Struct("<32s32s32s")                 # mint, bonding_curve, user (2024 events end here)
_CREATE_CURVE = Run("32s", "q", "Q", "Q", "Q", "Q")        # creator, timestamp, vtok, vsol, rtok, supply
_CREATE_TOKEN = Run("32s", "B", "B", "32s", "Q", "Q", "B")  # token_program, mayhem, cashback, quote_mint,
                                                            # virtual_quote_reserves, creator_fee_bps, holder_reward
_CREATE_FULL = struct.Struct("<32s32s32s" "32sqQQQQ" "32sBB32sQQB")  # the 2.0.0 layout after the strings, one read
_CREATE_2024_REST = _CREATE_KEYS.size
_CREATE_CURRENT_REST = _CREATE_FULL.size

# Hot path, by string length (real names, symbols and uris are far shorter than _SHORT; longer ones take the general
# path): name's length + name + symbol's length in one read, symbol + uri's length in one, then the uri with every
# fixed field after it in one. Fields the event does not carry are pad bytes ("x"): still required, never converted.
_SHORT = 256
_NAME = [struct.Struct(f"<I{n}sI") for n in range(_SHORT)]
_SYMBOL = [struct.Struct(f"<{n}sI") for n in range(_SHORT)]
_URI_CURRENT = [struct.Struct(f"<{n}s" "32s32s32s" "32sqQQQQ" "32sBB32sQ8xB") for n in range(_SHORT)]
_URI_2024 = [struct.Struct(f"<{n}s32s32s32s") for n in range(_SHORT)]
_TOKEN, _TOKEN_2022 = P.TOKEN, P.TOKEN_2022
_TOKEN_RAW, _TOKEN_2022_RAW = bytes(P.pk(P.TOKEN)), bytes(P.pk(P.TOKEN_2022))
_pubkey = Pubkey.from_bytes


def decode_create_event(buf: bytes, signature: str, slot: int, seq: int, ctx: EventContext = NO_CONTEXT) -> Launch:
    """The 2024 and the 2.0.0 layouts with short strings in three reads; anything else, or anything odd (a read
    past the end, a string that is not UTF-8), goes to `_decode_create_any`: every vintage, or the error."""
    try:
        n1, name, n2 = _NAME[buf[8]].unpack_from(buf, 8)  # picked by the length's low byte: n1 must be that byte
        if n1 >= _SHORT:
            return _decode_create_any(buf, signature, slot, seq, ctx)
        symbol, n3 = _SYMBOL[n2].unpack_from(buf, 16 + n1)
        off = 20 + n1 + n2
        rest = len(buf) - off - n3
        if rest >= _CREATE_CURRENT_REST:
            (uri, mint, curve, user, creator_raw, ts, vtok, vsol, rtok, supply, token_raw, mayhem, cashback,
             quote_raw, vq, holder) = _URI_CURRENT[n3].unpack_from(buf, off)
        elif rest == _CREATE_2024_REST:
            uri, mint, curve, user = _URI_2024[n3].unpack_from(buf, off)
        else:
            return _decode_create_any(buf, signature, slot, seq, ctx)
        name, symbol, uri = name.decode(), symbol.decode(), uri.decode()
    except (struct.error, IndexError, UnicodeDecodeError):
        return _decode_create_any(buf, signature, slot, seq, ctx)
    # The mint is new: encoded and cached without a lookup (the creator's buy, usually in the same transaction, and
    # the trades after it will hit). The bonding curve is met again only at completion: encoded, not cached.
    user_s = _cached(user) or b58_new(user)
    if rest == _CREATE_2024_REST:
        return make_launch("pumpfun", signature, slot, b58_new(mint), str(_pubkey(curve)), user_s, name, symbol, uri,
                           _TOKEN_2022 if ctx.ix_name == "create_v2" else _TOKEN, WSOL, user_s, 0, 0, 0, 0, 0, False,
                           seq)
    if (mayhem | cashback | holder) > 1:
        raise DecodeError("CreateEvent: invalid bool")
    if quote_raw == ZERO32 or quote_raw == WSOL_RAW:
        quote = WSOL
    else:
        quote, vsol = b58(quote_raw), vq  # quote-side reserves of a non-SOL coin (quote-mint units)
    creator = user_s if creator_raw == user else _cached(creator_raw) or b58_new(creator_raw)
    token_program = _TOKEN_2022 if token_raw == _TOKEN_2022_RAW else _token_program(token_raw)
    return make_launch("pumpfun", signature, slot, b58_new(mint), str(_pubkey(curve)), creator, name, symbol, uri,
                       token_program, quote, user_s, ts, vtok, vsol, rtok, supply, mayhem == 1, seq)


def _token_program(raw: bytes) -> str:
    return _TOKEN if raw == ZERO32 or raw == _TOKEN_RAW else b58(raw)


def _create_strings(buf: bytes) -> tuple[str, str, str, int]:
    """name, symbol, uri and the offset after them (three borsh strings from @8)."""
    try:
        e1 = 12 + U32.unpack_from(buf, 8)[0]
        e2 = e1 + 4 + U32.unpack_from(buf, e1)[0]
        e3 = e2 + 4 + U32.unpack_from(buf, e2)[0]
    except struct.error:
        raise DecodeError("CreateEvent: name/symbol/uri run past the payload") from None
    if e3 > len(buf) or e3 - 20 > 3 * MAX_STRING:
        raise DecodeError(f"CreateEvent: name/symbol/uri need {e3} bytes, the payload has {len(buf)}")
    try:
        return buf[12:e1].decode(), buf[e1 + 4:e2].decode(), buf[e2 + 4:e3].decode(), e3
    except UnicodeDecodeError:
        raise DecodeError("CreateEvent: a string is not UTF-8") from None


def _decode_create_any(buf: bytes, signature: str, slot: int, seq: int, ctx: EventContext) -> Launch:
    """Every vintage, field by field up to where the payload ends; the errors of malformed payloads."""
    what = "CreateEvent"
    name, symbol, uri, off = _create_strings(buf)
    rest = len(buf) - off
    if rest >= _CREATE_FULL.size:  # current layout: every field in one read
        (mint, curve, user, creator_raw, ts, vtok, vsol, rtok, supply, token_raw, mayhem, cashback, quote_raw, vq,
         _creator_fee_bps, holder) = _CREATE_FULL.unpack_from(buf, off)
        if mayhem > 1 or cashback > 1 or holder > 1:
            raise DecodeError(f"{what}: invalid bool")
        if quote_raw == ZERO32 or quote_raw == WSOL_RAW:
            quote = WSOL
        else:
            quote, vsol = b58(quote_raw), vq  # quote-side reserves of a non-SOL coin (quote-mint units)
        token_program = P.TOKEN if token_raw == ZERO32 else b58(token_raw)
        return make_launch("pumpfun", signature, slot, b58(mint), b58(curve), b58(creator_raw), name, symbol, uri,
                           token_program, quote, b58(user), ts, vtok, vsol, rtok, supply, mayhem == 1, seq)
    if rest < 96:
        raise DecodeError(f"{what}: truncated: need mint, bonding_curve, user at offset {off}, have {rest} bytes")
    mint, curve, user = _CREATE_KEYS.unpack_from(buf, off)
    off += 96
    user_s = b58(user)
    creator, ts, vtok, vsol, rtok, supply = user_s, 0, 0, 0, 0, 0
    token_program = P.TOKEN_2022 if ctx.ix_name == "create_v2" else P.TOKEN
    mayhem, quote_raw = False, None
    if rest > 96:  # an intermediate vintage: read field by field up to where it ends
        v, off = read_run(buf, off, _CREATE_CURVE, what)
        if v:
            creator = b58(v[0])
        ts, vtok, vsol, rtok, supply = (v[1:] + (0, 0, 0, 0, 0))[:5]
        if len(v) == 6 and off < len(buf):
            v, off = read_run(buf, off, _CREATE_TOKEN, what)
            check_bools(what, *(v[i] for i in (1, 2, 6) if i < len(v)))
            if v and v[0] != ZERO32:
                token_program = b58(v[0])
            mayhem = len(v) > 1 and v[1] == 1
            if len(v) > 3:
                quote_raw = v[3]
                if len(v) > 4 and quote_of(quote_raw) != WSOL:
                    vsol = v[4]
    return make_launch("pumpfun", signature, slot, b58(mint), b58(curve), creator, name, symbol, uri, token_program,
                       quote_of(quote_raw), user_s, ts, vtok, vsol, rtok, supply, mayhem, seq)


_TRADE_HEAD = struct.Struct("<32sQQB32sqQQQQ")              # @8: mint .. real_token_reserves, ends @129
_TRADE_FEES = Run("32s", "Q", "Q", "32s", "Q", "Q")         # fee_recipient, fee bps, fee, creator, bps, fee (@225)
_TRADE_VOLUME = Run("B", "Q", "Q", "Q", "q")                # track_volume, unclaimed, claimed, sol volume, last ts
_TRADE_EXTRAS = Run("B", "Q", "Q", "Q", "Q")                # mayhem_mode, cashback bps/amount, buyback bps/fee
_TRADE_QUOTE = Run("32s", "Q", "Q", "Q", "Q", "Q")          # quote_mint, quote_amount, v/r quote reserves, holder x2
_SHAREHOLDER_SIZE = 34                                       # address pubkey + share_bps u16
# The 2.0.0 layout in two reads. @8 .. @262: the 2024 head, fee_recipient (skipped), fee bps, fee, creator, its bps
# and fee, track_volume, the volume fields (skipped), ix_name's length. Then, by ix_name length: ix_name, mayhem_mode,
# cashback/buyback (skipped), the shareholder count and, right after it when there are no shareholders (else one
# more read), quote_mint, quote_amount, v/r quote reserves, holder rewards (skipped).
_TRADE_2024_SIZE = 8 + _TRADE_HEAD.size                      # 129
_TRADE_CURRENT_A = struct.Struct("<32sQQB32sqQQQQ" "32xQQ32sQQ" "B32x" "I")
_IX_NAME_AT = 8 + _TRADE_CURRENT_A.size                      # @262
_TRADE_CURRENT_B = [struct.Struct(f"<{n}sB32xI32sQQQ16x") for n in range(64)]
_TRADE_QUOTE_AFTER = struct.Struct("<32sQQQ16x")
_QUOTE_AT = 1 + 32 + 4                                       # after ix_name: mayhem .. shareholder count


def decode_trade_event(buf: bytes, signature: str, slot: int, seq: int, ctx: EventContext = NO_CONTEXT) -> Trade:
    """The 2024 and the 2.0.0 layouts (ix_name under 64 bytes) in one or two reads; anything else, or anything odd,
    goes to `_decode_trade_any`: every vintage, or the error."""
    n = len(buf)
    if n > _IX_NAME_AT:
        try:
            (mint, sol, tokens, is_buy, user, ts, vsol, vtok, rsol, rtok, fee_bps, fee, creator, creator_bps,
             creator_fee, track, name_len) = _TRADE_CURRENT_A.unpack_from(buf, 8)
            ix_name, mayhem, holders, quote_raw, q_amount, vq, rq = \
                _TRADE_CURRENT_B[name_len].unpack_from(buf, _IX_NAME_AT)
            if holders:
                quote_raw, q_amount, vq, rq = _TRADE_QUOTE_AFTER.unpack_from(
                    buf, _IX_NAME_AT + name_len + _QUOTE_AT + holders * _SHAREHOLDER_SIZE)
            ix_name = ix_name.decode()
        except (struct.error, IndexError, UnicodeDecodeError):
            pass
        else:
            if is_buy <= 1 and track <= 1 and mayhem <= 1:
                if quote_raw == ZERO32 or quote_raw == WSOL_RAW:
                    quote_mint, q_amount = WSOL, sol
                else:
                    quote_mint, vsol, rsol = b58(quote_raw), vq, rq
                return make_trade("pumpfun", signature, slot, _cached(mint) or b58_new(mint),
                                  "buy" if is_buy else "sell", sol, tokens, _cached(user) or b58_new(user), quote_mint,
                                  q_amount, ts, vsol, vtok, rsol, rtok, fee, fee_bps,
                                  _cached(creator) or b58_new(creator), creator_fee, creator_bps, "",
                                  ix_name or ctx.ix_name, seq)
    elif n == _TRADE_2024_SIZE:
        mint, sol, tokens, is_buy, user, ts, vsol, vtok, rsol, rtok = _TRADE_HEAD.unpack_from(buf, 8)
        if is_buy <= 1:
            return make_trade("pumpfun", signature, slot, _cached(mint) or b58_new(mint), "buy" if is_buy else "sell",
                              sol, tokens, _cached(user) or b58_new(user), WSOL, sol, ts, vsol, vtok, rsol, rtok, 0, 0,
                              "", 0, 0, "", ctx.ix_name, seq)
    return _decode_trade_any(buf, signature, slot, seq, ctx)


def _decode_trade_any(buf: bytes, signature: str, slot: int, seq: int, ctx: EventContext) -> Trade:
    """Every vintage: the 2024 head, then field by field up to where the payload ends; the errors of malformed ones."""
    n = len(buf)
    if n < 129:
        raise DecodeError(f"TradeEvent too short: {n} bytes (the 2024 layout has 129)")
    mint, sol, tokens, is_buy, user, ts, vsol, vtok, rsol, rtok = _TRADE_HEAD.unpack_from(buf, 8)
    if is_buy > 1:
        raise DecodeError(f"TradeEvent: invalid is_buy {is_buy}")
    fee_bps, fee, creator, creator_bps, creator_fee, ix_name, quote_raw, q_amount, vq, rq = \
        _trade_tail_walk(buf, n) if n > 129 else _NO_TAIL
    if quote_raw is None or quote_raw == ZERO32 or quote_raw == WSOL_RAW:
        quote_mint, q_amount = WSOL, sol
    else:
        quote_mint, vsol, rsol = b58(quote_raw), vq, rq
    return make_trade("pumpfun", signature, slot, b58(mint), "buy" if is_buy else "sell", sol, tokens, b58(user),
                      quote_mint, q_amount, ts, vsol, vtok, rsol, rtok, fee, fee_bps, creator, creator_fee,
                      creator_bps, "", ix_name or ctx.ix_name, seq)


_NO_TAIL = (0, 0, "", 0, 0, "", None, 0, 0, 0)


def _trade_tail_walk(buf: bytes, n: int) -> tuple:
    """Field by field from @129 to wherever this vintage ends (DecodeError inside a field)."""
    what = "TradeEvent"
    fee_bps = fee = creator_bps = creator_fee = 0
    creator = ix_name = ""
    quote_raw = None
    q_amount = vq = rq = 0
    v, off = read_run(buf, 129, _TRADE_FEES, what)
    k = len(v)
    if k == 6:
        _, fee_bps, fee, creator_raw, creator_bps, creator_fee = v
        creator = b58(creator_raw)
    else:
        fee_bps, fee = (v[1:3] + (0, 0))[:2]
        creator = b58(v[3]) if k > 3 else ""
        creator_bps = v[4] if k > 4 else 0
    if k == 6 and off < n:
        v, off = read_run(buf, off, _TRADE_VOLUME, what)
        if v:
            check_bools(what, v[0])
        if len(v) == 5 and off < n:
            ix_name, off = read_string(buf, off, what + " ix_name")
            if off < n:
                v, off = read_run(buf, off, _TRADE_EXTRAS, what)
                if v:
                    check_bools(what, v[0])
                if len(v) == 5 and off < n:
                    off = _skip_shareholders(buf, off, what)
                    if off < n:
                        v, off = read_run(buf, off, _TRADE_QUOTE, what)
                        if v:
                            quote_raw = v[0]
                            q_amount, vq, rq = (v[1:4] + (0, 0, 0))[:3]
    return fee_bps, fee, creator, creator_bps, creator_fee, ix_name, quote_raw, q_amount, vq, rq


def _skip_shareholders(buf: bytes, off: int, what: str) -> int:
    if len(buf) - off < 4:
        raise DecodeError(f"{what}: truncated shareholders length at offset {off}")
    count = U32.unpack_from(buf, off)[0]
    end = off + 4 + count * _SHAREHOLDER_SIZE
    if end > len(buf):
        raise DecodeError(f"{what}: {count} shareholders run past the payload")
    return end


_COMPLETE = struct.Struct("<32s32s32sq")                    # user, mint, bonding_curve, timestamp (+ quote_mint)


def decode_complete_event(buf: bytes, signature: str, slot: int, seq: int,
                          ctx: EventContext = NO_CONTEXT) -> Complete:
    n = len(buf)
    if n < 112 or 112 < n < 144:
        raise DecodeError(f"CompleteEvent has {n} bytes (expected 112, or 144 with quote_mint)")
    user, mint, curve, ts = _COMPLETE.unpack_from(buf, 8)
    quote = quote_of(bytes(buf[112:144]) if n >= 144 else None)
    return Complete(venue="pumpfun", signature=signature, slot=slot, mint=b58(mint), bonding_curve=b58(curve),
                    user=b58(user), timestamp=ts, quote_mint=quote, seq=seq)


_MIGRATION = struct.Struct("<32s32sQQQ32sq32s")             # user, mint, amounts x3, curve, ts, pool (+ quote)


def decode_migration_event(buf: bytes, signature: str, slot: int, seq: int,
                           ctx: EventContext = NO_CONTEXT) -> Migration:
    n = len(buf)
    if n < 168 or 168 < n < 200:
        raise DecodeError(f"CompletePumpAmmMigrationEvent has {n} bytes (expected 168, or 200 with quote_mint)")
    user, mint, mint_amount, sol_amount, fee, curve, ts, pool = _MIGRATION.unpack_from(buf, 8)
    quote = quote_of(bytes(buf[168:200]) if n >= 200 else None)
    return Migration(venue="pumpfun", signature=signature, slot=slot, mint=b58(mint), bonding_curve=b58(curve),
                     pool=b58(pool), user=b58(user), mint_amount=mint_amount, sol_amount=sol_amount,
                     pool_migration_fee=fee, timestamp=ts, quote_mint=quote, target_venue="pumpswap", seq=seq)


Decoder = Callable[..., Event]
PUMP_EVENTS: dict[bytes, Decoder] = {
    P.PUMP_EV_CREATE: decode_create_event,
    P.PUMP_EV_TRADE: decode_trade_event,
    P.PUMP_EV_COMPLETE: decode_complete_event,
    P.PUMP_EV_COMPLETE_AMM_MIGRATION: decode_migration_event,
}
EVENTS_BY_PROGRAM: dict[str, dict[bytes, Decoder]] = {P.PUMP: PUMP_EVENTS, P.PUMP_AMM: AMM_EVENTS}


def decode_event(program: str, payload: bytes, signature: str, slot: int, seq: int,
                 ctx: EventContext = NO_CONTEXT) -> Event | None:
    """The event in `payload` (discriminator + borsh), None for events we do not track, DecodeError if malformed."""
    table = EVENTS_BY_PROGRAM.get(program)
    if table is None:
        return None
    if type(payload) is not bytes:  # decoders slice and .decode() payloads: give them bytes
        payload = bytes(payload)
    fn = table.get(payload[:8])
    if fn is None:
        return None
    return fn(payload, signature, slot, seq, ctx)
