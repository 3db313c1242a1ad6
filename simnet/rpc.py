"""Solana JSON-RPC 2.0 over HTTP: dispatch (single and batch), errors and parameter checks shaped like Agave's.

Error codes are Solana's: -32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid
params, -32603 internal error, and the server codes -32002 (preflight failure), -32003 (signature
verification), -32015 (unsupported transaction version), -32016 (min context slot not reached), ...
The methods themselves live in rpc_accounts.py and rpc_tx.py; `build_methods(node)` collects them.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from solders.pubkey import Pubkey
from solders.signature import Signature

from pipelines.chain.base58 import b58decode
from pipelines.chain.errors import DecodeError

from .faults import Faults

log = logging.getLogger(__name__)

API_VERSION = "2.2.16"
FEATURE_SET = 3294202862

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
UNSUPPORTED_TX_VERSION = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> dict:
        out: dict = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


Method = Callable[[list], Any]
_MISSING = object()


def _envelope_error(err: RpcError, req_id: Any) -> str:
    return '{"jsonrpc":"2.0","error":' + _dumps(err.to_dict()) + ',"id":' + _dumps(req_id) + "}"


class Dispatcher:
    """Turns request bodies into response bodies. Methods are plain functions of the params list."""

    def __init__(self, methods: dict[str, Method]) -> None:
        self.methods = methods

    def handle(self, body: bytes | str) -> str | None:
        """The response body, or None when every call was a notification (no id): nothing to send."""
        try:
            req = json.loads(body)
        except (ValueError, RecursionError):      # RecursionError: absurdly deep nesting
            return _envelope_error(RpcError(PARSE_ERROR, "Parse error"), None)
        if isinstance(req, list):
            if not req:
                return _envelope_error(RpcError(INVALID_REQUEST, "Invalid request"), None)
            out = [r for r in map(self.call, req) if r is not None]
            return "[" + ",".join(out) + "]" if out else None
        return self.call(req)

    def call(self, req: Any) -> str | None:
        if not isinstance(req, dict):
            return _envelope_error(RpcError(INVALID_REQUEST, "Invalid request"), None)
        req_id = req.get("id", _MISSING)
        shown_id = None if req_id is _MISSING else req_id
        method = req.get("method")
        version = req.get("jsonrpc", "2.0")
        if (not isinstance(method, str) or version != "2.0"
                or not (req_id is _MISSING or req_id is None or isinstance(req_id, (str, int)))
                or isinstance(req_id, bool)):
            return _envelope_error(RpcError(INVALID_REQUEST, "Invalid request"), shown_id)
        params = req.get("params")
        fn = self.methods.get(method)
        try:
            if fn is None:
                raise RpcError(METHOD_NOT_FOUND, "Method not found")
            if params is None:
                params = []
            elif not isinstance(params, list):
                raise invalid_params(f"Invalid params: invalid type: {_json_kind(params)}, expected a sequence.")
            result = fn(params)
        except RpcError as err:
            return None if req_id is _MISSING else _envelope_error(err, shown_id)
        except Exception:  # a bug must answer -32603, never kill the server
            log.exception("rpc method %s failed", method)
            return None if req_id is _MISSING else _envelope_error(RpcError(INTERNAL_ERROR, "Internal error"),
                                                                   shown_id)
        if req_id is _MISSING:
            return None
        return '{"jsonrpc":"2.0","result":' + _dumps(result) + ',"id":' + _dumps(req_id) + "}"


def _json_kind(v: Any) -> str:
    if isinstance(v, bool):
        return f"boolean `{str(v).lower()}`"
    if isinstance(v, int):
        return f"integer `{v}`"
    if isinstance(v, float):
        return f"floating point `{v}`"
    if isinstance(v, str):
        return f'string "{v}"'
    if isinstance(v, list):
        return "sequence"
    if isinstance(v, dict):
        return "map"
    return "null"


# --- parameter helpers ---------------------------------------------------------------------------------------

def arg(params: list, i: int, expected: str, kinds: tuple[type, ...], *, required: bool = True) -> Any:
    """Positional param i, type-checked the way serde reports it."""
    if i >= len(params) or (params[i] is None and not required):
        if required:
            raise invalid_params(f"Invalid params: invalid length {len(params)}, expected {expected}.")
        return None
    v = params[i]
    if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
        raise invalid_params(f"Invalid params: invalid type: {_json_kind(v)}, expected {expected}.")
    return v


def config(params: list, i: int, name: str) -> dict:
    """Optional config object at position i ({} when absent or null)."""
    if i >= len(params) or params[i] is None:
        return {}
    v = params[i]
    if not isinstance(v, dict):
        raise invalid_params(f"Invalid params: invalid type: {_json_kind(v)}, expected struct {name}.")
    return v


def too_many(params: list) -> None:
    raise invalid_params(f"Invalid params: invalid length {len(params)}, expected fewer parameters.")


def pubkey(s: Any) -> Pubkey:
    if not isinstance(s, str):
        raise invalid_params(f"Invalid params: invalid type: {_json_kind(s)}, expected a string.")
    try:
        return Pubkey.from_string(s)
    except ValueError:
        # ParsePubkeyError: WrongSize when it decodes to the wrong length, Invalid otherwise.
        return _raise(invalid_params("Invalid param: " + ("WrongSize" if _is_b58(s) else "Invalid")))


def signature(s: Any) -> Signature:
    if not isinstance(s, str):
        raise invalid_params(f"Invalid params: invalid type: {_json_kind(s)}, expected a string.")
    try:
        return Signature.from_string(s)
    except ValueError:
        return _raise(invalid_params("Invalid param: " + ("WrongSize" if _is_b58(s) else "Invalid")))


def _is_b58(s: str) -> bool:
    try:
        b58decode(s)
        return bool(s)
    except DecodeError:
        return False


def _raise(err: Exception):
    raise err


_COMMITMENTS = ("processed", "confirmed", "finalized")
_LEGACY_COMMITMENTS = {"recent": "processed", "single": "confirmed", "singleGossip": "confirmed",
                       "root": "finalized", "max": "finalized"}


def commitment(cfg: dict, default: str = "finalized") -> str:
    c = cfg.get("commitment")
    if c is None:
        return default
    if c in _COMMITMENTS:
        return c
    if c in _LEGACY_COMMITMENTS:
        return _LEGACY_COMMITMENTS[c]
    raise invalid_params(f"Invalid params: unknown variant `{c}`, expected one of `processed`, `confirmed`, "
                         "`finalized`.")


def check_min_context_slot(cfg: dict, slot: int) -> None:
    m = cfg.get("minContextSlot")
    if m is None:
        return
    if not isinstance(m, int) or isinstance(m, bool) or m < 0:
        raise invalid_params(f"Invalid params: invalid type: {_json_kind(m)}, expected u64.")
    if m > slot:
        raise RpcError(MIN_CONTEXT_SLOT_NOT_REACHED, "Minimum context slot has not been reached",
                       {"contextSlot": slot})


def encoding(cfg: dict, allowed: tuple[str, ...], default: str) -> str:
    e = cfg.get("encoding", default)
    if e is None:
        return default
    if e not in allowed:
        listed = ", ".join(f"`{a}`" for a in allowed)
        raise invalid_params(f"Invalid params: unknown variant `{e}`, expected one of {listed}.")
    return e


def max_inputs(items: list, limit: int) -> None:
    if len(items) > limit:
        raise invalid_params(f"Too many inputs provided; max {limit}")


@dataclass
class RpcNode:
    """What the methods serve from: the bank, the fault settings and account history for stale reads."""
    bank: Any
    faults: Faults
    history: Any = None                    # simnet.history.AccountHistory
    on_sent: list = field(default_factory=list)   # callbacks(signature str) when a tx is accepted
    held: Any = None                       # simnet.send_faults.HeldTransactions (land_delay_slots)
    slot_times: Any = None                 # simnet.send_faults.SlotTimes (null_transaction_after_confirm_s)

    def context(self, slot: int | None = None) -> dict:
        return {"slot": self.bank.slot if slot is None else slot, "apiVersion": API_VERSION}

    def read_slot(self) -> int:
        """The slot account reads are served at: behind the tip while the stale-reads fault is on."""
        stale = self.faults.stale_slots
        return max(0, self.bank.slot - stale) if stale else self.bank.slot

    def get_account(self, address: Pubkey | str, at_slot: int | None = None):
        if at_slot is not None and at_slot < self.bank.slot and self.history is not None:
            self.faults.note_stale_read()
            return self.history.account_at(str(address), at_slot, self.bank)
        return self.bank.get_account(address)


def build_methods(node: RpcNode) -> dict[str, Method]:
    from . import rpc_accounts, rpc_tx
    methods: dict[str, Method] = {}
    methods.update(rpc_accounts.methods(node))
    methods.update(rpc_tx.methods(node))
    methods["getHealth"] = lambda params: "ok"
    methods["getVersion"] = lambda params: {"feature-set": FEATURE_SET, "solana-core": API_VERSION}
    return methods
