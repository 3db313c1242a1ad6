"""The decoding entry points: any chain document in, typed events out.

- decode_logs(signature, slot, logs, err): the logsSubscribe fast path (see logs.py).
- decode_transaction(tx_result, signature=None, slot=None): a getTransaction result (json, jsonParsed, base64;
  legacy or v0), a block's transaction entry, or a Helius notification's `transaction` object.
- decode_document(doc): any of those wrapped as they arrive (JSON-RPC response, logsNotification,
  blockNotification, transactionNotification, instruction-level record) or a JSON array of them.

Within a transaction, events come from three places, merged into one ordered list:
1. event-CPI inner instructions of pump / PumpSwap (EVENT_CPI_PREFIX + event discriminator + payload), which
   survive log truncation and are found whoever called the program (routers, bots);
2. `Program data:` log lines of those programs; the same payload seen in both places is reported once;
3. instructions read from their args and accounts (pool creations on every venue; pump create and PumpSwap
   create_pool only when their CreateEvent / CreatePoolEvent is missing).

seq: every event's `seq` is top_index * 100_000 + emitter_position * 100 + rank (see logs.seq_of), where the
emitter is the instruction that emitted the event (position 0 = top-level, j + 1 = inner instruction j) and rank
counts that instruction's events from 1 (0 for an event read from the instruction's own args). It is the same
number whether the event was read from a log line, an event-CPI instruction or the full transaction, and whether
the program logs before or after its event CPI, so (signature, kind, seq) identifies an event across sources.
It is sparse, orders one instruction's events as emitted and instructions as executed; an event an instruction
emits after CPIs that emitted their own events sorts before those (e.g. pump's migration event before the
PumpSwap pool creation it triggered).
getBlock results carry no slot: their events get slot 0 unless the block object has one.

Failures: a failed transaction (meta.err / err not null) yields no events. Unknown programs, instructions and
event discriminators are skipped. A known discriminator whose payload or args do not fit its layout raises
DecodeError for the whole document, with the signature and instruction position in the message: such an
instruction cannot have run, so the input is corrupt or a layout changed, and silently dropping the rest would
hide launches. Callers wanting per-transaction isolation (Ingest on a block) call decode_transaction per entry.
Events are not deduplicated across the documents of an array (that is Ingest's job, by event_key).
"""
from __future__ import annotations

import binascii
import re

from . import programs as P
from .base58 import b58decode
from .errors import DecodeError
from .events import Event, Launch, PoolCreated
from .logs import decode_log_events, scan_logs, seq_of, snake_name
from .pool_instructions import decode_instruction, instruction_name
from .pump_events import EVENTS_BY_PROGRAM, EventContext, decode_event
from .transactions import Ix, TxView, expect_dict, expect_list, expect_str, normalize_transaction, slot_of

MAX_DEPTH = 8
MAX_TRACE = 64
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_CPI = P.EVENT_CPI_PREFIX

__all__ = ["decode_document", "decode_logs", "decode_transaction", "events_from_view"]


def decode_logs(signature: str, slot: int, logs: list, err) -> list[Event]:
    if err is not None:
        return []
    expect_str(signature, "signature")
    slot = slot_of(slot)
    try:
        return decode_log_events(signature, slot, expect_list(logs, "logs"))
    except DecodeError as exc:
        raise DecodeError(f"tx {signature}: {exc}") from None


def decode_transaction(tx_result, signature: str | None = None, slot: int | None = None) -> list[Event]:
    view = normalize_transaction(tx_result, signature, slot)
    if view.failed:
        return []
    return events_from_view(view)


def _owner_of(ixs: tuple[Ix, ...], k: int) -> int:
    """The instruction that emitted the event-CPI at k: its invoker when that is the same program (self-CPI);
    without stack heights, the nearest earlier instruction of that program in the same top-level group."""
    ix = ixs[k]
    if ix.parent >= 0 and ixs[ix.parent].program == ix.program:
        return ix.parent
    for m in range(k - 1, max(k - MAX_TRACE, 0) - 1, -1):  # the runtime allows 64 instructions per transaction
        o = ixs[m]
        if o.top != ix.top:
            break
        if o.program == ix.program and o.data[:8] != _CPI:
            return m
    return -1


def events_from_view(view: TxView) -> list[Event]:
    ixs = view.instructions
    sig, slot = view.signature, view.slot
    # records: [seq, program, payload, owner index, parent program, log ix name]
    records: list[list] = []
    unmatched: dict[tuple[int, bytes], list[list]] = {}  # (top, payload) -> event-CPI records not yet seen in logs
    ranks: dict[tuple[int, int], int] = {}
    for k, ix in enumerate(ixs):
        if ix.pos and ix.program in EVENTS_BY_PROGRAM and ix.data[:8] == _CPI:
            payload = ix.data[8:]
            if payload[:8] in EVENTS_BY_PROGRAM[ix.program]:
                owner = _owner_of(ixs, k)
                owner_pos = ixs[owner].pos if owner >= 0 else ix.pos
                parent = ixs[ixs[owner].parent].program if owner >= 0 and ixs[owner].parent >= 0 else ""
                rank = ranks[(ix.top, owner_pos)] = ranks.get((ix.top, owner_pos), 0) + 1
                rec = [seq_of(ix.top, owner_pos, rank), ix.program, payload, owner, parent, ""]
                records.append(rec)
                unmatched.setdefault((ix.top, payload), []).append(rec)
    if view.logs:
        by_pos = {(ix.top, ix.pos): k for k, ix in enumerate(ixs)}
        for top, owner_pos, rank, program, payload, parent, ix_name in scan_logs(view.logs):
            twins = unmatched.get((top, payload))
            if twins:  # the same event as an event-CPI instruction: report it once
                twin = twins.pop(0)
                twin[5] = twin[5] or ix_name
                continue
            owner = by_pos.get((top, owner_pos), -1)
            if owner >= 0 and ixs[owner].program != program:
                owner = -1  # logs and instruction list disagree; do not borrow the wrong accounts
            records.append([seq_of(top, owner_pos, rank), program, payload, owner, parent, ix_name])

    events: list[Event] = []
    launched, pooled = set(), set()
    for seq, program, payload, owner, parent, log_name in records:
        o = ixs[owner] if owner >= 0 else None
        name = (instruction_name(o.program, o.data) if o is not None else "") or (
            snake_name(log_name) if log_name else "")
        ctx = EventContext(o.accounts if o is not None else (), name, parent)
        try:
            ev = decode_event(program, payload, sig, slot, seq, ctx)
        except DecodeError as exc:
            raise DecodeError(f"tx {sig or '?'} event at seq {seq} ({program}): {exc}") from None
        if ev is not None:
            events.append(ev)
            if isinstance(ev, Launch):
                launched.add(ev.mint)
            elif isinstance(ev, PoolCreated):
                pooled.add(ev.pool)

    for ix in ixs:
        if not ix.data or ix.data[:8] == _CPI:
            continue
        parent = ixs[ix.parent].program if ix.parent >= 0 else ""
        try:
            ev = decode_instruction(ix.program, ix.data, ix.accounts, sig, slot, seq_of(ix.top, ix.pos, 0), parent)
        except DecodeError as exc:
            raise DecodeError(f"tx {sig or '?'} instruction {ix.top}.{ix.pos} ({ix.program}): {exc}") from None
        if ev is None:
            continue
        if (isinstance(ev, Launch) and ev.venue == "pumpfun" and ev.mint in launched) or (
                isinstance(ev, PoolCreated) and ev.venue == "pumpswap" and ev.pool in pooled):
            continue  # its event said it better
        events.append(ev)
    events.sort(key=lambda e: e.seq)
    return events


# --- documents ---------------------------------------------------------------------------------------------------

def decode_document(doc, _depth: int = 0) -> list[Event]:
    if _depth > MAX_DEPTH:
        raise DecodeError(f"document nested deeper than {MAX_DEPTH} levels")
    if isinstance(doc, list):
        out: list[Event] = []
        for i, item in enumerate(doc):
            try:
                out.extend(decode_document(item, _depth + 1))
            except DecodeError as exc:
                raise DecodeError(f"document [{i}]: {exc}") from None
        return out
    if not isinstance(doc, dict):
        raise DecodeError(f"expected a JSON object or array, got {type(doc).__name__}")
    return _decode_object(doc, _depth)


_EXPECTED = ("expected a getTransaction response or result, a logsNotification, blockNotification or "
             "transactionNotification, a block, or an instruction record {program_id, accounts, data}")


def _decode_object(d: dict, depth: int) -> list[Event]:
    method = d.get("method")
    if method is not None:
        result = expect_dict(d.get("params"), "params").get("result")
        if method == "logsNotification":
            return _logs_result(expect_dict(result, "params.result"))
        if method == "blockNotification":
            return _block_result(expect_dict(result, "params.result"))
        if method == "transactionNotification":
            return _helius(expect_dict(result, "params.result"))
        raise DecodeError(f"unsupported notification method {method!r:.60}")
    if "error" in d and d.get("result") is None:
        raise DecodeError(f"JSON-RPC error response: {d['error']!r:.200}")
    if "jsonrpc" in d or ("id" in d and "result" in d):
        if d.get("result") is None:
            raise DecodeError("JSON-RPC result is null (transaction or block not found)")
        return decode_document(d["result"], depth + 1)
    if "transaction" in d:
        tx = d["transaction"]
        if isinstance(tx, dict) and "meta" in tx and "transaction" in tx:
            return _helius(d)
        return decode_transaction(d)
    if "transactions" in d:
        return _block(d, slot_of(d.get("slot")))
    if "block" in d:
        return _block_value(d)
    if "logs" in d and "signature" in d:
        return decode_logs(d["signature"], d.get("slot"), d["logs"], d.get("err"))
    if "context" in d and "value" in d:
        return _logs_or_block({"context": d["context"], "value": d["value"]})
    if ("program_id" in d or "programId" in d) and "data" in d:
        return _instruction_record(d)
    raise DecodeError(f"unrecognised document with keys {sorted(map(str, d))[:8]}: {_EXPECTED}")


def _context_slot(result: dict) -> int:
    ctx = result.get("context")
    return slot_of(expect_dict(ctx, "context").get("slot") if ctx is not None else None, "context.slot")


def _logs_result(result: dict) -> list[Event]:
    value = expect_dict(result.get("value"), "logsNotification value")
    return decode_logs(value.get("signature"), _context_slot(result), value.get("logs"), value.get("err"))


def _logs_or_block(result: dict) -> list[Event]:
    value = expect_dict(result["value"], "value")
    if "block" in value:
        return _block_result(result)
    if "logs" in value:
        return _logs_result(result)
    raise DecodeError(f"a {{context, value}} result whose value (keys {sorted(map(str, value))[:6]}) holds "
                      "neither logs nor a block; account data (getAccountInfo) carries no events")


def _block_result(result: dict) -> list[Event]:
    value = expect_dict(result.get("value"), "blockNotification value")
    if value.get("slot") is None:
        value = dict(value, slot=_context_slot(result))
    return _block_value(value)


def _block_value(value: dict) -> list[Event]:
    if value.get("err") is not None or value.get("block") is None:
        return []  # the node could not produce this block: nothing to decode
    return _block(expect_dict(value["block"], "block"), slot_of(value.get("slot")))


def _block(block: dict, slot: int) -> list[Event]:
    out: list[Event] = []
    for i, entry in enumerate(expect_list(block.get("transactions") or [], "block.transactions")):
        if not isinstance(entry, dict):
            raise DecodeError(f"block.transactions[{i}] is not a transaction object (request transactionDetails "
                              "'full' to decode a block)")
        out.extend(decode_transaction(entry, slot=slot))
    return out


def _helius(result: dict) -> list[Event]:
    tx = expect_dict(result.get("transaction"), "transactionNotification transaction")
    sig = result.get("signature")
    return decode_transaction(tx, signature=None if sig is None else expect_str(sig, "signature"),
                              slot=slot_of(result.get("slot")))


def _record_data(d: dict) -> bytes:
    data = d["data"]
    encoding = d.get("encoding")
    if isinstance(data, list):
        if not all(type(b) is int and 0 <= b < 256 for b in data):
            raise DecodeError("instruction data array must hold bytes 0..255")
        return bytes(data)
    data = expect_str(data, "instruction data")
    if encoding == "base64":
        try:
            return binascii.a2b_base64(data, strict_mode=True)
        except (binascii.Error, ValueError):
            raise DecodeError("instruction data is not valid base64") from None
    if encoding == "hex" or (encoding is None and _HEX.fullmatch(data)):
        try:
            return bytes.fromhex(data)
        except ValueError:
            raise DecodeError("instruction data is not valid hex") from None
    if encoding not in (None, "base58"):
        raise DecodeError(f"unsupported instruction data encoding {encoding!r:.30}")
    return b58decode(data)


def _record_key(v, what: str) -> str:
    key = v.get("pubkey") if isinstance(v, dict) else v
    key = expect_str(key, what)
    try:
        P.pk(key)
    except Exception:  # solders raises ValueError, but any failure means "not a key"
        raise DecodeError(f"{what} is not a base58 public key: {key!r:.60}") from None
    return key


def _instruction_record(d: dict) -> list[Event]:
    program = _record_key(d.get("program_id", d.get("programId")), "program_id")
    accounts = tuple(_record_key(a, "accounts[]") for a in expect_list(d.get("accounts") or [], "accounts"))
    data = _record_data(d)
    sig = d.get("signature")
    sig = "" if sig is None else expect_str(sig, "signature")
    slot = slot_of(d.get("slot"))
    try:
        if data[:8] == _CPI and program in EVENTS_BY_PROGRAM:
            ev = decode_event(program, data[8:], sig, slot, seq_of(0, 0, 1))
        else:
            ev = decode_instruction(program, data, accounts, sig, slot, seq_of(0, 0, 0))
    except DecodeError as exc:
        raise DecodeError(f"instruction record ({program}): {exc}") from None
    return [] if ev is None else [ev]
