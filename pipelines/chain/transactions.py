"""Every transaction form (getTransaction json / jsonParsed / base64 / base58, legacy and v0) normalised into one
flat list of instructions in execution order: each top-level instruction followed by its inner (CPI) ones.

Account indexes of json/base64 forms resolve against the static keys, then meta.loadedAddresses.writable, then
.readonly (v0 address-table lookups); jsonParsed lists every key already. Instruction data is decoded only for
programs something decodes (the rest is skipped unread: most of a transaction is compute budget, system and
token instructions). Every shape problem raises DecodeError naming the field.
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass

from solders.transaction import VersionedTransaction

from . import programs as P
from .base58 import b58decode
from .errors import DecodeError
from .pool_instructions import DECODED_PROGRAMS

MAX_WIRE_CHARS = 65_536  # a wire transaction is at most 1232 bytes; anything far larger is not one
_WANTED = DECODED_PROGRAMS | {P.PUMP, P.PUMP_AMM}


@dataclass(frozen=True, slots=True)
class Ix:
    top: int                   # index of the top-level instruction this belongs to
    pos: int                   # 0 = the top-level instruction itself, j + 1 = its inner instruction j
    program: str
    accounts: tuple[str, ...]
    data: bytes                # b"" for programs nothing decodes (and for jsonParsed "parsed" instructions)
    parent: int                # index in TxView.instructions of the invoking instruction, -1 for top-level


@dataclass(frozen=True, slots=True)
class TxView:
    signature: str
    slot: int
    failed: bool
    logs: list | None
    instructions: tuple[Ix, ...]


def expect_dict(v, what: str) -> dict:
    if not isinstance(v, dict):
        raise DecodeError(f"{what} must be an object, got {type(v).__name__}")
    return v


def expect_list(v, what: str) -> list:
    if not isinstance(v, list):
        raise DecodeError(f"{what} must be an array, got {type(v).__name__}")
    return v


def expect_int(v, what: str) -> int:
    if type(v) is not int or v < 0:
        raise DecodeError(f"{what} must be a non-negative integer, got {v!r:.40}")
    return v


def expect_str(v, what: str) -> str:
    if type(v) is not str:
        raise DecodeError(f"{what} must be a string, got {type(v).__name__}")
    return v


def slot_of(v, what: str = "slot") -> int:
    return 0 if v is None else expect_int(v, what)


def normalize_transaction(result, signature: str | None = None, slot: int | None = None) -> TxView:
    """A getTransaction `result` (or a block's / Helius notification's {transaction, meta} entry) as a TxView."""
    r = expect_dict(result, "transaction result")
    if "meta" not in r or r["meta"] is None:
        raise DecodeError("transaction has no meta: cannot tell whether it succeeded")
    meta = expect_dict(r["meta"], "meta")
    slot = slot_of(r.get("slot") if slot is None else slot)
    if signature is not None:
        expect_str(signature, "signature")
    if "transaction" not in r:
        raise DecodeError("transaction result has no 'transaction' field")
    tx = r["transaction"]
    if meta.get("err") is not None:  # failed: nothing it did happened, no need to read further
        return TxView(signature or "", slot, True, None, ())
    loaded = meta.get("loadedAddresses") or {}
    loaded = expect_dict(loaded, "meta.loadedAddresses")
    extra = [expect_str(k, "loaded address") for part in ("writable", "readonly")
             for k in expect_list(loaded.get(part) or [], f"meta.loadedAddresses.{part}")]
    if isinstance(tx, list):
        sig, keys, top = _wire(tx, extra)
    elif isinstance(tx, dict):
        sig, keys, top = _json(tx, extra)
    else:
        raise DecodeError(f"transaction must be an object or [data, encoding], got {type(tx).__name__}")
    logs = meta.get("logMessages")
    if logs is not None:
        expect_list(logs, "meta.logMessages")
    inner = meta.get("innerInstructions") or []
    ixs = _flatten(top, expect_list(inner, "meta.innerInstructions"), keys)
    return TxView(signature if signature is not None else sig, slot, False, logs, ixs)


def _wire(tx: list, extra: list[str]):
    if len(tx) != 2 or type(tx[0]) is not str or type(tx[1]) is not str:
        raise DecodeError("an encoded transaction must be [data, encoding]")
    text, encoding = tx
    if len(text) > MAX_WIRE_CHARS:
        raise DecodeError(f"encoded transaction too long: {len(text)} chars")
    if encoding == "base64":
        try:
            raw = binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"transaction is not valid base64: {exc}") from None
    elif encoding == "base58":
        raw = b58decode(text)
    else:
        raise DecodeError(f"unsupported transaction encoding {encoding!r:.40} (use json, jsonParsed or base64)")
    try:
        vt = VersionedTransaction.from_bytes(raw)
        msg = vt.message
        keys = [str(k) for k in msg.account_keys] + extra
        top = [(ci.program_id_index, list(ci.accounts), bytes(ci.data), None) for ci in msg.instructions]
        sig = str(vt.signatures[0]) if vt.signatures else ""
    except Exception as exc:
        raise DecodeError(f"transaction bytes do not parse: {exc}") from None
    except BaseException as exc:  # pyo3 panics derive from BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise DecodeError(f"transaction bytes do not parse: {exc}") from None
    return sig, keys, top


def _json(tx: dict, extra: list[str]):
    message = expect_dict(tx.get("message"), "transaction.message")
    sigs = expect_list(tx.get("signatures") or [], "transaction.signatures")
    sig = expect_str(sigs[0], "signature") if sigs else ""
    raw_keys = expect_list(message.get("accountKeys"), "message.accountKeys")
    keys: list[str] = []
    parsed_keys = False
    for k in raw_keys:
        if type(k) is str:
            keys.append(k)
        elif isinstance(k, dict):  # jsonParsed: {pubkey, signer, writable, source}, lookups already included
            keys.append(expect_str(k.get("pubkey"), "accountKeys[].pubkey"))
            parsed_keys = True
        else:
            raise DecodeError(f"message.accountKeys entries must be strings or objects, got {type(k).__name__}")
    if not parsed_keys:
        keys.extend(extra)
    top = expect_list(message.get("instructions"), "message.instructions")
    return sig, keys, top


def _resolve(entry, keys: list[str], what: str):
    """(program, accounts, data, stack_height) of one instruction in any encoding."""
    if isinstance(entry, tuple):  # already decoded from wire bytes
        idx, accs, data, height = entry
        n = len(keys)
        if idx >= n or any(a >= n for a in accs):
            raise DecodeError(f"{what}: account index out of range ({n} keys)")
        return keys[idx], tuple(keys[a] for a in accs), data, height
    e = expect_dict(entry, what)
    height = e.get("stackHeight")
    if height is not None:
        expect_int(height, f"{what}.stackHeight")
    if "programIdIndex" in e:
        n = len(keys)
        idx = expect_int(e["programIdIndex"], f"{what}.programIdIndex")
        accs = expect_list(e.get("accounts") or [], f"{what}.accounts")
        try:
            program = keys[idx]
            accounts = tuple(keys[expect_int(a, f"{what}.accounts[]")] for a in accs)
        except IndexError:
            raise DecodeError(f"{what}: account index out of range ({n} keys; v0 lookups need "
                              f"meta.loadedAddresses)") from None
    elif "programId" in e:
        program = expect_str(e["programId"], f"{what}.programId")
        if "parsed" in e:  # jsonParsed system / spl-token / ...: never one of ours
            return program, (), None, height
        raw_accounts = expect_list(e.get("accounts") or [], f"{what}.accounts")
        accounts = tuple(expect_str(a, f"{what}.accounts[]") for a in raw_accounts)
    else:
        raise DecodeError(f"{what} has neither programIdIndex nor programId")
    data = e.get("data")
    return program, accounts, data, height


def _data(program: str, data, what: str) -> bytes:
    if program not in _WANTED or data is None:
        return b""
    if isinstance(data, bytes):
        return data
    return b58decode(expect_str(data, f"{what}.data"))


def _flatten(top: list, inner: list, keys: list[str]) -> tuple[Ix, ...]:
    n_top = len(top)
    inner_by_top: dict[int, list] = {}
    for k, group in enumerate(inner):
        g = expect_dict(group, f"innerInstructions[{k}]")
        i = expect_int(g.get("index"), f"innerInstructions[{k}].index")
        if i >= n_top:
            raise DecodeError(f"innerInstructions[{k}].index {i} but the transaction has {n_top} instructions")
        group = expect_list(g.get("instructions"), f"innerInstructions[{k}].instructions")
        inner_by_top.setdefault(i, []).extend(group)
    out: list[Ix] = []
    for i, entry in enumerate(top):
        what = f"instruction {i}"
        program, accounts, data, _ = _resolve(entry, keys, what)
        top_flat = len(out)
        out.append(Ix(i, 0, program, accounts, _data(program, data, what), -1))
        stack = [top_flat]  # stack[h - 1] = flat index of the running instruction at stack height h
        for j, sub in enumerate(inner_by_top.get(i, ())):
            what = f"inner instruction {i}.{j}"
            program, accounts, data, height = _resolve(sub, keys, what)
            if height is None or height < 2:  # no stack heights (old RPC): attribute to the top-level one
                parent = top_flat
            else:
                del stack[height - 1:]
                parent = stack[-1]
                stack.append(len(out))
            out.append(Ix(i, j + 1, program, accounts, _data(program, data, what), parent))
    return tuple(out)
