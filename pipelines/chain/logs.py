"""The fast path: pump.fun / PumpSwap events straight from a transaction's log lines (logsSubscribe).

`Program data: <base64>` lines are attributed to the program that printed them by following the
`Program <id> invoke [n]` / `success` / `failed` lines, so a pump event emitted inside a router's CPI is found
and a look-alike printed by another program is not. The walk also counts top-level and inner invokes, which
locates the instruction that emitted each event; an event's `seq` is derived from that instruction's position
and the event's rank among that instruction's events, so it is the same number whether the event is read here
or from its event-CPI inner instruction in the full transaction, whichever of the two the program emits first.
Logs cut short by the node ("Log truncated") yield the events before the cut.
"""
from __future__ import annotations

import binascii
from functools import lru_cache
import re

import pybase64

from .errors import DecodeError
from .events import Event
from .pump_events import EVENTS_BY_PROGRAM, EventContext

PROGRAM_DATA = "Program data: "
TRUNCATED = "Log truncated"
_NO_CONTEXT = EventContext()
def _a2b(text: str) -> bytes:
    """binascii.a2b_base64, ~3x faster on the lines the chain prints: pybase64's SIMD decoder takes every
    well-formed line (strict: identical bytes), and anything it refuses gets the standard library's lenient
    decoding, so every input decodes, or fails, exactly as before (tests/unit/chain/test_base64_decoder.py)."""
    try:
        return _strict(text, validate=True)
    except ValueError:         # binascii.Error included
        return binascii.a2b_base64(text)


_strict = pybase64.b64decode
MAX_POS = 999   # inner position within one top-level instruction (the runtime allows 64 instructions in all)
MAX_SUB = 99    # events of one instruction
MAX_LINE = 26 + 64  # longest `Instruction: <Name>` line whose name is kept (names are short CamelCase)


def seq_of(top: int, pos: int, rank: int) -> int:
    """An event's seq: top-level instruction index, position of the emitting instruction inside it (0 = the
    top-level instruction, j + 1 = its inner instruction j), rank of the event among that instruction's events
    (1, 2, ...; 0 = an event read from the instruction's own args and accounts)."""
    if pos > MAX_POS or rank > MAX_SUB:
        raise DecodeError(f"too many instructions or events in one top-level instruction ({pos}, {rank})")
    return top * 100_000 + pos * 100 + rank


@lru_cache(maxsize=256)
def snake_name(name: str) -> str:
    """'BuyExactSolIn' (from `Program log: Instruction: ...`) -> 'buy_exact_sol_in' (the IDL name)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def scan_logs(logs: list) -> list[tuple]:
    """Payload events in log order: (top, owner_pos, rank, program, payload, parent_program, ix_name).

    owner_pos is the position of the instruction that printed the line (0 = the top-level one), rank the event's
    rank among that instruction's events, parent_program the program that invoked it ("" at top level), ix_name
    its `Instruction: X` log name ("" if none). Only payloads of programs and discriminators we decode are
    returned; they are not decoded here.
    """
    try:
        return _scan(logs)
    except (TypeError, KeyError, AttributeError):
        raise DecodeError("log lines must be strings") from None


def _scan(logs: list) -> list[tuple]:
    # Method calls cost ~0.1 us each here, and most lines are invoke / success / consumed / log noise, so lines
    # are classified by their last character and fixed-position slices before any find() or int().
    wanted = EVENTS_BY_PROGRAM
    frames: list[list] = []  # [program, pos, ix_name]
    top, inner = -1, 0
    ranks: dict[tuple[int, int], int] = {}
    out = []
    for line in logs:
        if not line:
            continue
        last = line[-1]
        if last == "]":  # "Program <id> invoke [<depth>]"
            i = line.find(" invoke [", 8)
            if i < 9 or i > 52 or line[:8] != "Program ":
                continue
            program = line[8:i]
            if " " in program:  # "Program log: ... invoke [2]" is a program's message, not an invoke
                continue
            try:
                depth = int(line[i + 9:-1])
            except ValueError:
                raise DecodeError(f"bad invoke depth in log line {line[:80]!r}") from None
            if depth <= 1:
                top += 1
                inner = 0
                frames = [[program, 0, ""]]
            else:
                inner += 1
                del frames[depth - 1:]
                frames.append([program, inner, ""])
        elif last == "s" and line[-8:] == " success":
            if frames and line[8:13] != "log: ":
                frames.pop()
        elif line[8:14] == "data: " and line[:8] == "Program ":
            if not frames:
                continue
            frame = frames[-1]
            table = wanted.get(frame[0])
            if table is None:
                continue
            b64 = line[14:]
            if " " in b64:  # sol_log_data with several slices; Anchor events are one slice
                b64 = b64[:b64.find(" ")]
            try:
                payload = _a2b(b64)
            except (binascii.Error, ValueError):
                raise DecodeError(f"invalid base64 in log line of {frame[0]}: {line[:60]!r}") from None
            if payload[:8] not in table:
                continue
            key = (top, frame[1])
            rank = ranks[key] = ranks.get(key, 0) + 1
            out.append((top, frame[1], rank, frame[0], payload, frames[-2][0] if len(frames) > 1 else "", frame[2]))
        elif line[8:13] == "log: ":
            if frames and line[13:26] == "Instruction: " and not frames[-1][2] and len(line) <= MAX_LINE:
                frames[-1][2] = line[26:]
        elif " failed" in line:
            if frames and line[:8] == "Program ":
                frames.pop()
        elif line == TRUNCATED:
            break
    return out


_CTX_CACHE: dict[tuple[str, str], EventContext] = {}


def _context(ix_name: str, parent: str) -> EventContext:
    """Contexts repeat (a few instruction names x a few parents); hostile names only skip the cache."""
    key = (ix_name, parent)
    ctx = _CTX_CACHE.get(key)
    if ctx is None:
        ctx = EventContext((), snake_name(ix_name) if ix_name else "", parent)
        if len(_CTX_CACHE) < 1024:
            _CTX_CACHE[key] = ctx
    return ctx


def decode_log_events(signature: str, slot: int, logs: list) -> list[Event]:
    out = []
    for top, pos, rank, program, payload, parent, ix_name in scan_logs(logs):
        ctx = _context(ix_name, parent) if (ix_name or parent) else _NO_CONTEXT
        fn = EVENTS_BY_PROGRAM[program][payload[:8]]
        out.append(fn(payload, signature, slot, seq_of(top, pos, rank), ctx))
    if len(out) > 1:
        out.sort(key=_by_seq)  # the order decode_transaction gives (emitters nest: log order can differ)
    return out


def _by_seq(event: Event) -> int:
    return event.seq


def decode_data_line(program: str, line: str, signature: str, slot: int, seq: int = 1,
                     ctx: EventContext = _NO_CONTEXT) -> Event | None:
    """One `Program data:` line known to come from `program` (the per-event unit the benchmark measures)."""
    table = EVENTS_BY_PROGRAM.get(program)
    if table is None or not line.startswith(PROGRAM_DATA):
        return None
    try:
        payload = _a2b(line[14:])
    except (binascii.Error, ValueError):
        raise DecodeError("invalid base64 in Program data line") from None
    fn = table.get(payload[:8])
    return None if fn is None else fn(payload, signature, slot, seq, ctx)
