"""Hostile WebSocket notifications: what a broken or malicious RPC provider sends on a live subscription.

`variant(kind, method, result_json, sub_id)` builds the replacement for one notification: a str is sent as a
text frame's payload, bytes as a complete raw frame (the binary kind). The kinds, in the order each
subscription cycles through them (the malformed_notifications fault):

  logs_not_strings      value.logs is [1, 2, 3]              (other notifications: value is [1, 2, 3])
  signature_list        value.signature is a list of strings (other notifications: value is [1, 2, 3])
  null_value            value is null
  null_logs             value.logs is null                   (other notifications: value is [1, 2, 3])
  garbage_text          a text frame that is not JSON
  unknown_subscription  the real notification, on a subscription id nobody holds
  deep_nesting          params.result nested 100,000 lists deep (a recursive parser overflows)
  huge_frame            the real notification padded with a 5 MiB log line (past common frame limits)
  binary_frame          the real notification's bytes in a binary frame
"""
from __future__ import annotations

import json

KINDS = ("logs_not_strings", "signature_list", "null_value", "null_logs", "garbage_text",
         "unknown_subscription", "deep_nesting", "huge_frame", "binary_frame")
UNKNOWN_SUBSCRIPTION = 9_007_199_254_740_000        # an id no server hands out (near 2**53)
NESTING = 100_000
HUGE_BYTES = 5 * 1024 * 1024

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _envelope(method: str, result_json: str, sub_id: int) -> str:
    return '{"jsonrpc":"2.0","method":"' + method + '","params":{"result":' + result_json + \
        ',"subscription":' + str(sub_id) + "}}"


def _with_value(result_json: str, change) -> str:
    result = json.loads(result_json)
    value = result.get("value") if isinstance(result, dict) else None
    result["value"] = change(value)
    return _dumps(result)


def _logs_field(name: str, bad):
    """Set value[name] to `bad` in a logs notification; any other notification's value becomes [1, 2, 3]."""
    def change(value):
        if isinstance(value, dict) and "logs" in value:
            return {**value, name: bad}
        return [1, 2, 3]
    return change


def binary_frame(payload: bytes) -> bytes:
    """One unmasked, final binary frame (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x82, n)) + payload
    if n < 65536:
        return bytes((0x82, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x82, 127)) + n.to_bytes(8, "big") + payload


def variant(kind: str, method: str, result_json: str, sub_id: int) -> str | bytes:
    if kind == "logs_not_strings":
        return _envelope(method, _with_value(result_json, _logs_field("logs", [1, 2, 3])), sub_id)
    if kind == "signature_list":
        return _envelope(method, _with_value(result_json, _logs_field("signature", ["5" * 88, "not", "one"])), sub_id)
    if kind == "null_value":
        return _envelope(method, _with_value(result_json, lambda v: None), sub_id)
    if kind == "null_logs":
        return _envelope(method, _with_value(result_json, _logs_field("logs", None)), sub_id)
    if kind == "garbage_text":
        return '}{"jsonrpc": 2.0, method: logsNotification ' + "\x00\ufffd" + "]]"
    if kind == "unknown_subscription":
        return _envelope(method, result_json, UNKNOWN_SUBSCRIPTION)
    if kind == "deep_nesting":
        return _envelope(method, "[" * NESTING + "]" * NESTING, sub_id)
    if kind == "huge_frame":
        def pad(value):
            if isinstance(value, dict) and isinstance(value.get("logs"), list):
                return {**value, "logs": [*value["logs"], "Program log: " + "A" * HUGE_BYTES]}
            return {"padding": "A" * HUGE_BYTES, "value": value}
        return _envelope(method, _with_value(result_json, pad), sub_id)
    if kind == "binary_frame":
        return binary_frame(_envelope(method, result_json, sub_id).encode())
    raise ValueError(f"unknown hostile notification kind {kind!r}")
