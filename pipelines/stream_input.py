"""What a provider sends the stream, checked at the edge before anything trusts it.

A WebSocket frame, a logsNotification, a subscribe reply, a getSignaturesForAddress page or a getTransaction result
can be wrong in type, size, encoding or nesting. Each check here returns either the typed value or a `Reject` (its
metric label, `launchray_decode_errors{source}`); nothing here raises on any input. The stream counts a reject,
logs its kind once, skips it and keeps the connection, and it checks BEFORE the dedupe and the cursors see a
message, so a bad one never marks a signature seen or moves a cursor.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum


class Reject(str, Enum):
    """Why an input was skipped; the value is the `source` label of launchray_decode_errors. A WebSocket reject
    may have replaced a real notification: the stream reads that program's recent transactions back (SUSPECT)."""
    JSON = "ws_json"                      # not JSON, not text (a binary frame), or not a JSON object
    SIZE = "ws_size"                      # a frame over MAX_FRAME_BYTES
    DEPTH = "ws_depth"                    # nested deeper than the parser (or MAX_ERR_DEPTH for `err`) allows
    SHAPE = "ws_shape"                    # a notification whose fields have the wrong type or bounds
    UNKNOWN_SUB = "ws_unknown_sub"        # a notification for a subscription id we never got
    FUTURE_SLOT = "ws_future_slot"        # a slot far past the chain's (it would pin a cursor in the future)
    OVERFLOW = "ws_overflow"              # a truncated notification past the bound of re-reads in flight
    FRAME = "ws_frame"                    # the WebSocket layer itself failed (bad UTF-8, protocol error)
    SUBSCRIBE = "ws_subscribe"            # a subscribe reply of the wrong shape
    SIGNATURES = "rpc_signatures"         # a getSignaturesForAddress page or entry of the wrong shape
    TRANSACTION = "rpc_transaction"       # a getTransaction result that is neither null nor an object


# A real logsNotification is a few KB (the validator truncates logs at 10 KB); 1 MiB is far above any of them.
MAX_FRAME_BYTES = 1 << 20
MAX_LOG_LINES = 2048
MAX_LOG_LINE_CHARS = 32 * 1024
# slots past the chain's last known slot (~66 min): RPC nodes and providers differ by a few slots, not by this
FUTURE_SLOT_MARGIN = 10_000
MAX_ERR_DEPTH = 16          # a transaction error is {"InstructionError": [0, {"Custom": 6001}]}: depth 3
_SIGNATURE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,100}")   # base58; a real one is 64 bytes = 86-88 chars


@dataclass(frozen=True, slots=True)
class LogsNote:
    """A logsNotification that passed every check. `logs` is the received list itself (checked, not copied)."""
    program: str
    signature: str
    slot: int
    err: object
    logs: list


@dataclass(frozen=True, slots=True)
class SubscribeReply:
    request_id: int
    subscription: int | None      # None when refused
    error: object = None


SUSPECT = frozenset({Reject.JSON, Reject.DEPTH, Reject.SHAPE, Reject.UNKNOWN_SUB, Reject.FUTURE_SLOT})


def parse_frame(text) -> object:
    """A text frame's JSON, or a Reject (too big, not text, not JSON, nested past the parser's recursion limit)."""
    if not isinstance(text, str):
        return Reject.JSON
    if len(text) > MAX_FRAME_BYTES:
        return Reject.SIZE
    try:
        data = json.loads(text)
    except RecursionError:
        return Reject.DEPTH
    except ValueError:
        return Reject.JSON
    return data if isinstance(data, dict) else Reject.JSON


def is_signature(v) -> bool:
    return type(v) is str and _SIGNATURE.fullmatch(v) is not None


def is_slot(v) -> bool:
    return type(v) is int and v >= 0          # bool is an int subclass: `type is` keeps True out


def json_depth_within(v, limit: int) -> bool:
    """True when `v` nests at most `limit` containers deep (iterative: no recursion on hostile input)."""
    stack = [(v, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in node)
    return True


def logs_ok(logs) -> bool:
    if type(logs) is not list or len(logs) > MAX_LOG_LINES:
        return False
    for line in logs:
        if type(line) is not str or len(line) > MAX_LOG_LINE_CHARS:
            return False
    return True


def read_notification(data, subs: Mapping[int, str] | None, chain_slot: int = 0) -> LogsNote | Reject:
    """A logsNotification checked field by field. `subs`: subscription id -> program; None accepts any id (raw
    notifications fed without a socket, program unknown). `chain_slot`: the chain's slot as last read (0: not
    known); a notification more than FUTURE_SLOT_MARGIN past it is refused."""
    if not isinstance(data, dict) or data.get("method") != "logsNotification":
        return Reject.SHAPE
    params = data.get("params")
    if not isinstance(params, dict):
        return Reject.SHAPE
    sub, result = params.get("subscription"), params.get("result")
    if type(sub) is not int or not isinstance(result, dict):
        return Reject.SHAPE
    context, value = result.get("context"), result.get("value")
    if not isinstance(context, dict) or not isinstance(value, dict):
        return Reject.SHAPE
    slot, sig, logs, err = context.get("slot"), value.get("signature"), value.get("logs"), value.get("err")
    if not is_slot(slot) or not is_signature(sig) or not logs_ok(logs):
        return Reject.SHAPE
    if err is not None and not json_depth_within(err, MAX_ERR_DEPTH):
        return Reject.DEPTH
    if chain_slot and slot > chain_slot + FUTURE_SLOT_MARGIN:
        return Reject.FUTURE_SLOT
    if subs is None:
        return LogsNote("", sig, slot, err, logs)
    program = subs.get(sub)
    if program is None:
        return Reject.UNKNOWN_SUB
    return LogsNote(program, sig, slot, err, logs)


def subscription_of(data, subs: Mapping[int, str]) -> str | None:
    """The program of a rejected message's subscription, when it names one we hold (else None: any of them)."""
    params = data.get("params") if isinstance(data, dict) else None
    sub = params.get("subscription") if isinstance(params, dict) else None
    return subs.get(sub) if type(sub) is int else None


def read_subscribe_reply(data, pending: Mapping[int, str]) -> SubscribeReply | Reject | None:
    """The reply to one of our logsSubscribe requests (`pending`: request id -> program), a Reject when it claims
    to be one but is malformed, or None when `data` is not a reply to a pending request."""
    if not isinstance(data, dict):
        return Reject.JSON
    rid = data.get("id")
    if type(rid) is not int or rid not in pending:
        return None
    if "error" in data:
        return SubscribeReply(rid, None, data["error"])
    sub = data.get("result")
    if type(sub) is not int or sub < 0:
        return Reject.SUBSCRIBE
    return SubscribeReply(rid, sub)


def signature_entries(page) -> tuple[list[dict], int]:
    """A getSignaturesForAddress page as checked entries {signature, slot, err} and how many were dropped.
    A page that is not a list raises ValueError: the caller's retry decides (a gap is never silently emptied)."""
    if page is None:
        return [], 0
    if type(page) is not list:
        raise ValueError(f"getSignaturesForAddress returned {type(page).__name__}, not a list")
    out, bad = [], 0
    for entry in page:
        if (isinstance(entry, dict) and is_signature(entry.get("signature")) and is_slot(entry.get("slot"))
                and json_depth_within(entry.get("err"), MAX_ERR_DEPTH)):
            out.append({"signature": entry["signature"], "slot": entry["slot"], "err": entry.get("err")})
        else:
            bad += 1
    return out, bad


def transaction_result(tx) -> dict | None | Reject:
    """A getTransaction result: an object, null (not available yet), or a Reject for anything else."""
    if tx is None or isinstance(tx, dict):
        return tx
    return Reject.TRANSACTION
