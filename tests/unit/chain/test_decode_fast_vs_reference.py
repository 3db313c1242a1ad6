"""The pump.fun event fast paths (precompiled whole-layout structs, base58 cache, slot-twin constructors) decode
exactly what a plain field-by-field borsh Reader decode gives, written here from the IDL field lists and the
decoder contract in pump_events.py's docstring: the same values of the same types, or DecodeError for both.

Compared over the real fixture payloads, every vintage the current layouts cut down to (every byte), junk appended,
odd shapes the fast paths hand over to the general path (long strings, non-ASCII, shareholders, other quote mints),
and hypothesis-mutated payloads; with the base58 cache cold and warm, and through the `Program data:` line path.
"""
from __future__ import annotations

import base64
import dataclasses
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.chain import borsh, pump_events
from pipelines.chain import programs as P
from pipelines.chain.borsh import Reader
from pipelines.chain.errors import DecodeError
from pipelines.chain.events import Launch, Trade
from pipelines.chain.logs import decode_data_line
from pipelines.chain.pump_events import EventContext, decode_event
from tests.unit.chain.decode_payloads import (BUY_SELL_TX, CREATE_TX, create_current, key, pk, program_data, string,
                                              trade_current, u8, u16, u32)

MAX_STRING = 4096
ZERO_KEY = P.SYSTEM  # base58 of 32 zero bytes
SOL_QUOTES = (None, ZERO_KEY, P.WSOL_MINT)
CONTEXTS = (EventContext(), EventContext((), "create_v2", ""), EventContext((), "buy", P.PUMP))


# --- the reference: one Reader, one field at a time ----------------------------------------------------------------

def _present(r: Reader, *readers) -> list:
    """The fields of a group that the payload still holds: each one whole, stopping where the payload ends (a field
    cut short raises DecodeError inside the Reader)."""
    values = []
    for read in readers:
        if r.remaining() == 0:
            break
        values.append(read())
    return values


def reference_trade(buf: bytes, ctx: EventContext) -> Trade:
    if len(buf) < 129:
        raise DecodeError("short")
    r = Reader(buf, 8)
    mint, sol, tokens, is_buy, user = r.pubkey(), r.u64(), r.u64(), r.bool(), r.pubkey()
    ts, vsol, vtok, rsol, rtok = r.i64(), r.u64(), r.u64(), r.u64(), r.u64()
    fees = _present(r, r.pubkey, r.u64, r.u64, r.pubkey, r.u64, r.u64)
    _fee_recipient, fee_bps, fee, creator, creator_bps, creator_fee = fees + [None, 0, 0, "", 0, 0][len(fees):]
    ix_name, quote, q_amount, vq, rq = "", None, 0, 0, 0
    if r.remaining() and len(_present(r, r.bool, r.u64, r.u64, r.u64, r.i64)) == 5 and r.remaining():
        ix_name = r.string(MAX_STRING)
        if r.remaining() and len(_present(r, r.bool, r.u64, r.u64, r.u64, r.u64)) == 5 and r.remaining():
            holders = r.u32()
            if holders * 34 > r.remaining():
                raise DecodeError("shareholders past the end")
            for _ in range(holders):
                r.pubkey(), r.u16()
            q = _present(r, r.pubkey, r.u64, r.u64, r.u64, r.u64, r.u64)
            if q:
                quote, q_amount, vq, rq = (q + [0, 0, 0])[:4]
    if quote in SOL_QUOTES:
        quote, q_amount = P.WSOL_MINT, sol
    else:
        vsol, rsol = vq, rq  # a non-SOL coin: quote-side reserves in the sol fields
    return Trade(venue="pumpfun", signature="sig", slot=5, mint=mint, side="buy" if is_buy else "sell",
                 sol_amount=sol, token_amount=tokens, user=user, quote_mint=quote, quote_amount=q_amount, timestamp=ts,
                 virtual_sol_reserves=vsol, virtual_token_reserves=vtok, real_sol_reserves=rsol,
                 real_token_reserves=rtok, fee=fee, fee_basis_points=fee_bps, creator=creator, creator_fee=creator_fee,
                 creator_fee_basis_points=creator_bps, pool="", ix_name=ix_name or ctx.ix_name, seq=7)


def reference_create(buf: bytes, ctx: EventContext) -> Launch:
    r = Reader(buf, 8)
    name, symbol, uri = r.string(3 * MAX_STRING), r.string(3 * MAX_STRING), r.string(3 * MAX_STRING)
    if sum(len(s.encode()) for s in (name, symbol, uri)) > 3 * MAX_STRING:  # the contract bounds the three together
        raise DecodeError("strings too long")
    if r.remaining() < 96:
        raise DecodeError("no keys")
    mint, curve, user = r.pubkey(), r.pubkey(), r.pubkey()
    by_instruction = P.TOKEN_2022 if ctx.ix_name == "create_v2" else P.TOKEN
    creator, ts, vtok, vsol, rtok, supply = user, 0, 0, 0, 0, 0
    token_program, mayhem, quote = by_instruction, False, None
    curve_fields = _present(r, r.pubkey, r.i64, r.u64, r.u64, r.u64, r.u64)
    if curve_fields:
        creator, ts, vtok, vsol, rtok, supply = curve_fields + [0] * (6 - len(curve_fields))
    if len(curve_fields) == 6:
        tok = _present(r, r.pubkey, r.bool, r.bool, r.pubkey, r.u64, r.u64, r.bool)
        if len(tok) == 7:  # the whole 2.0.0 layout: a zero token_program is SPL Token whatever the instruction
            token_program = P.TOKEN if tok[0] == ZERO_KEY else tok[0]
        elif tok and tok[0] != ZERO_KEY:  # a partial one: zero means "not said", the instruction decides
            token_program = tok[0]
        mayhem = len(tok) > 1 and tok[1]
        quote = tok[3] if len(tok) > 3 else None
        if quote not in SOL_QUOTES and len(tok) > 4:
            vsol = tok[4]
    return Launch(venue="pumpfun", signature="sig", slot=5, mint=mint, bonding_curve=curve, creator=creator,
                  name=name, symbol=symbol, uri=uri, token_program=token_program,
                  quote_mint=P.WSOL_MINT if quote in SOL_QUOTES else quote, user=user, timestamp=ts,
                  virtual_token_reserves=vtok, virtual_sol_reserves=vsol, real_token_reserves=rtok,
                  token_total_supply=supply, is_mayhem_mode=mayhem, seq=7)


def _reference(buf: bytes, ctx: EventContext):
    if buf[:8] == P.PUMP_EV_TRADE:
        return reference_trade(buf, ctx)
    if buf[:8] == P.PUMP_EV_CREATE:
        return reference_create(buf, ctx)
    return None  # another event (a mutated discriminator): not ours to compare, both must skip it


def _outcome(fn, *args):
    try:
        event = fn(*args)
    except DecodeError:
        return "DecodeError"
    if event is None:
        return None
    return event, [(f.name, type(getattr(event, f.name))) for f in dataclasses.fields(event)]


def assert_same_as_reference(buf: bytes) -> None:
    for ctx in CONTEXTS:
        expected = _outcome(_reference, buf, ctx)
        borsh._B58_CACHE.clear()
        cold = _outcome(decode_event, P.PUMP, buf, "sig", 5, 7, ctx)
        warm = _outcome(decode_event, P.PUMP, buf, "sig", 5, 7, ctx)
        assert cold == expected, (buf.hex(), ctx.ix_name)
        assert warm == expected, (buf.hex(), ctx.ix_name)


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """Bytes flipped (often to 0/1/2/0xff: bool and length edges), cut, grown, spliced, or a u32 overwritten with an
    edge length (string and vec lengths)."""
    b = bytearray(original)
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["flip", "cut", "grow", "splice", "length"]))
        if op == "flip" and b:
            b[draw(st.integers(0, len(b) - 1))] = draw(st.sampled_from([0, 1, 2, 0x80, 0xFF]) | st.integers(0, 255))
        elif op == "cut":
            del b[draw(st.integers(0, len(b))):]
        elif op == "grow":
            b += draw(st.binary(max_size=48))
        elif op == "splice" and b:
            i = draw(st.integers(0, len(b)))
            b[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "length" and len(b) > 12:
            i = draw(st.integers(8, len(b) - 4))
            b[i:i + 4] = u32(draw(st.sampled_from([0, 1, 3, 34, 63, 64, 255, 256, 4096, 4097, 2**32 - 1])))
    return bytes(b)


# --- payloads: the real ones, and the current layouts with every odd shape the fast paths must hand over ------------

def _with(pieces: list[tuple[str, bytes]], **changes: bytes) -> bytes:
    return b"".join(changes.get(name, piece) for name, piece in pieces)


def _trades() -> list[bytes]:
    out = [p for p in program_data(CREATE_TX) + program_data(BUY_SELL_TX) if p[:8] == P.PUMP_EV_TRADE]
    for quote in (None, P.WSOL_MINT, P.USDC_MINT):
        for holders in (0, 1, 3):
            out.append(trade_current(quote_mint=quote, quote_amount=5, vq=6, rq=7, shareholders=holders)[0])
    _, pieces = trade_current()
    for ix_name in ("", "sell", "x" * 63, "x" * 64, "ünïcode"):  # 63 and 64: either side of the fast path's table
        out.append(_with(pieces, ix_name=string(ix_name)))
    out.append(_with(pieces, ix_name=u32(2) + b"\xff\xfe"))  # not UTF-8
    out.append(_with(pieces, ix_name=u32(MAX_STRING + 1) + b"x" * (MAX_STRING + 1)))
    out.append(_with(pieces, track_volume=u8(2)))
    out.append(_with(pieces, mayhem_mode=u8(7)))
    out.append(_with(pieces, shareholders=u32(2) + pk(key(5)) + u16(1)))  # the count says more than there is
    out.append(_with(pieces, creator=pk(key(6))))
    return out


def _creates() -> list[bytes]:
    out = [p for p in program_data(CREATE_TX) if p[:8] == P.PUMP_EV_CREATE]
    for token_program in (P.TOKEN, P.TOKEN_2022, ZERO_KEY, key(3)):
        for quote in (None, P.WSOL_MINT, P.USDC_MINT):
            out.append(create_current(token_program=token_program, mayhem=quote is None, quote_mint=quote,
                                      vq=9)[0])
    _, pieces = create_current()
    out.append(_with(pieces, creator=pk(key(12))))  # creator = user (the usual case, a shortcut in the fast path)
    for n in (0, 255, 256, 300):  # either side of the fast path's string tables
        out.append(_with(pieces, name=string("n" * n)))
        out.append(_with(pieces, symbol=string("s" * n)))
        out.append(_with(pieces, uri=string("u" * n)))
    out.append(_with(pieces, name=u32(2) + b"\xff\xfe"))
    out.append(_with(pieces, uri=u32(1) + b"\x80"))
    out.append(_with(pieces, name=string("n" * 5000), symbol=string("s" * 5000), uri=string("u" * 5000)))
    out.append(_with(pieces, is_mayhem_mode=u8(2)))
    out.append(_with(pieces, is_cashback_enabled=u8(3)))
    out.append(_with(pieces, is_holder_reward=u8(4)))
    return out


TRADES, CREATES = _trades(), _creates()


def test_the_payload_set_exercises_the_fast_and_the_general_paths(monkeypatch):
    """Guard against a corpus that never reaches the fast paths, or never leaves them."""
    general = []
    for name in ("_decode_trade_any", "_decode_create_any"):
        real = getattr(pump_events, name)
        monkeypatch.setattr(pump_events, name, lambda *a, _real=real: general.append(a[0]) or _real(*a))
    outcomes = {}
    for payload in TRADES + CREATES:
        outcome = _outcome(decode_event, P.PUMP, payload, "sig", 5, 7, EventContext())
        path = "general" if general and general[-1] is payload else "fast"
        outcomes.setdefault(path, set()).add(outcome if isinstance(outcome, str) else type(outcome[0]).__name__)
    assert outcomes == {"fast": {"Trade", "Launch", "DecodeError"}, "general": {"Trade", "Launch", "DecodeError"}}


def test_trades_match_the_reference_at_every_length():
    rng = random.Random(1)
    for payload in TRADES:
        for cut in range(len(payload) + 1):
            assert_same_as_reference(payload[:cut])
        assert_same_as_reference(payload + rng.randbytes(40))  # fields a later program version may append


def test_creates_match_the_reference_at_every_length():
    rng = random.Random(2)
    for payload in CREATES:
        step = 1 if len(payload) < 1200 else 7  # the 5000-byte strings: every 7th cut is plenty
        for cut in range(0, len(payload) + 1, step):
            assert_same_as_reference(payload[:cut])
        assert_same_as_reference(payload + rng.randbytes(40))


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_payloads_match_the_reference(data):
    payload = data.draw(st.sampled_from(TRADES[:20] + CREATES[:16]))
    assert_same_as_reference(data.draw(mutated(payload)))


def test_the_log_line_path_decodes_what_the_payload_path_decodes():
    for payload in TRADES + CREATES:
        line = "Program data: " + base64.b64encode(payload).decode()
        assert _outcome(decode_data_line, P.PUMP, line, "sig", 5, 7) == \
            _outcome(decode_event, P.PUMP, payload, "sig", 5, 7)
