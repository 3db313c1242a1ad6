"""`jsonParsed` views, shaped like Agave's transaction-status and account-decoder parsers.

Instructions of the system, SPL Token (and Token-2022), associated-token-account and memo programs are parsed;
anything else, or anything that does not decode, stays "partially decoded" ({programId, accounts, data}), as on
mainnet. Agave does not parse ComputeBudget instructions, so neither do we (see the 2024 fixtures).
Token accounts and mints are in token_data.py.
"""
from __future__ import annotations

import struct

from pipelines.chain import programs as P
from pipelines.chain.borsh import b58

from pipelines.chain.base58 import b58encode

MEMO_V1 = "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"
MEMO_V3 = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


class _Unparsable(Exception):
    """The instruction does not decode: render it partially decoded."""


# --- amounts -------------------------------------------------------------------------------------------------

def ui_amount_string(amount: int, decimals: int) -> str:
    """Agave's real_number_string_trimmed: the exact decimal, trailing zeros and dot removed."""
    if decimals <= 0:
        return str(amount)
    s = str(amount).rjust(decimals + 1, "0")
    whole, frac = s[:-decimals], s[-decimals:].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def ui_token_amount(amount: int, decimals: int, *, zero_as_null: bool = False) -> dict:
    """UiTokenAmount. Stored transaction metadata keeps 0.0 as null (the blockstore's protobuf does that)."""
    ui = amount / 10**decimals
    return {"amount": str(amount), "decimals": decimals,
            "uiAmount": None if zero_as_null and amount == 0 else ui,
            "uiAmountString": ui_amount_string(amount, decimals)}


# --- instructions ---------------------------------------------------------------------------------------------

def _u64(data: bytes, off: int) -> int:
    if len(data) < off + 8:
        raise _Unparsable
    return _U64.unpack_from(data, off)[0]


def _key(data: bytes, off: int) -> str:
    if len(data) < off + 32:
        raise _Unparsable
    return b58(data[off:off + 32])


def _need(accounts: list[str], n: int) -> None:
    if len(accounts) < n:
        raise _Unparsable


def _bincode_str(data: bytes, off: int) -> tuple[str, int]:
    n = _u64(data, off)
    end = off + 8 + n
    if end > len(data):
        raise _Unparsable
    try:
        return data[off + 8:end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise _Unparsable from None


def _parse_system(data: bytes, a: list[str]) -> tuple[str, dict]:
    if len(data) < 4:
        raise _Unparsable
    tag = _U32.unpack_from(data, 0)[0]
    if tag == 0:
        _need(a, 2)
        return "createAccount", {"source": a[0], "newAccount": a[1], "lamports": _u64(data, 4),
                                 "space": _u64(data, 12), "owner": _key(data, 20)}
    if tag == 1:
        _need(a, 1)
        return "assign", {"account": a[0], "owner": _key(data, 4)}
    if tag == 2:
        _need(a, 2)
        return "transfer", {"source": a[0], "destination": a[1], "lamports": _u64(data, 4)}
    if tag == 3:
        _need(a, 2)
        base = _key(data, 4)
        seed, off = _bincode_str(data, 36)
        return "createAccountWithSeed", {"source": a[0], "newAccount": a[1], "base": base, "seed": seed,
                                         "lamports": _u64(data, off), "space": _u64(data, off + 8),
                                         "owner": _key(data, off + 16)}
    if tag == 4:
        _need(a, 3)
        return "advanceNonce", {"nonceAccount": a[0], "recentBlockhashesSysvar": a[1], "nonceAuthority": a[2]}
    if tag == 5:
        _need(a, 5)
        return "withdrawFromNonce", {"nonceAccount": a[0], "destination": a[1], "recentBlockhashesSysvar": a[2],
                                     "rentSysvar": a[3], "nonceAuthority": a[4], "lamports": _u64(data, 4)}
    if tag == 6:
        _need(a, 3)
        return "initializeNonce", {"nonceAccount": a[0], "recentBlockhashesSysvar": a[1], "rentSysvar": a[2],
                                   "nonceAuthority": _key(data, 4)}
    if tag == 7:
        _need(a, 2)
        return "authorizeNonce", {"nonceAccount": a[0], "nonceAuthority": a[1], "newAuthorized": _key(data, 4)}
    if tag == 8:
        _need(a, 1)
        return "allocate", {"account": a[0], "space": _u64(data, 4)}
    if tag == 11:
        _need(a, 3)
        lamports = _u64(data, 4)
        seed, off = _bincode_str(data, 12)
        return "transferWithSeed", {"source": a[0], "sourceBase": a[1], "destination": a[2], "lamports": lamports,
                                    "sourceSeed": seed, "sourceOwner": _key(data, off)}
    if tag == 12:
        _need(a, 1)
        return "upgradeNonce", {"nonceAccount": a[0]}
    raise _Unparsable


def _signers(info: dict, accounts: list[str], idx: int, single: str) -> dict:
    """SPL Token authorities: one signer, or a multisig followed by its signers."""
    _need(accounts, idx + 1)
    if len(accounts) > idx + 1:
        info["multisig" + single[0].upper() + single[1:]] = accounts[idx]
        info["signers"] = accounts[idx + 1:]
    else:
        info[single] = accounts[idx]
    return info


def _coption_key(data: bytes, off: int) -> tuple[str | None, int]:
    if len(data) <= off:
        raise _Unparsable
    if data[off] == 0:
        return None, off + 1
    return _key(data, off + 1), off + 33


_AUTHORITY_TYPES = ("mintTokens", "freezeAccount", "accountOwner", "closeAccount")
# spl-token-2022 ExtensionType, by number, as Agave names them
EXTENSION_TYPES = (
    "uninitialized", "transferFeeConfig", "transferFeeAmount", "mintCloseAuthority", "confidentialTransferMint",
    "confidentialTransferAccount", "defaultAccountState", "immutableOwner", "memoTransfer", "nonTransferable",
    "interestBearingConfig", "cpiGuard", "permanentDelegate", "nonTransferableAccount", "transferHook",
    "transferHookAccount", "confidentialTransferFeeConfig", "confidentialTransferFeeAmount", "metadataPointer",
    "tokenMetadata", "groupPointer", "tokenGroup", "groupMemberPointer", "tokenGroupMember")


def _parse_token(data: bytes, a: list[str]) -> tuple[str, dict]:
    if not data:
        raise _Unparsable
    tag = data[0]
    if tag in (0, 20):
        _need(a, 1 if tag == 20 else 2)
        if len(data) < 2:
            raise _Unparsable
        info = {"mint": a[0], "decimals": data[1], "mintAuthority": _key(data, 2)}
        freeze, _ = _coption_key(data, 34)
        if tag == 0:
            info["rentSysvar"] = a[1]
        if freeze is not None:
            info["freezeAuthority"] = freeze
        return ("initializeMint" if tag == 0 else "initializeMint2"), info
    if tag == 1:
        _need(a, 4)
        return "initializeAccount", {"account": a[0], "mint": a[1], "owner": a[2], "rentSysvar": a[3]}
    if tag == 16:
        _need(a, 3)
        return "initializeAccount2", {"account": a[0], "mint": a[1], "owner": _key(data, 1), "rentSysvar": a[2]}
    if tag == 18:
        _need(a, 2)
        return "initializeAccount3", {"account": a[0], "mint": a[1], "owner": _key(data, 1)}
    if tag == 3:
        _need(a, 3)
        return "transfer", _signers({"source": a[0], "destination": a[1], "amount": str(_u64(data, 1))},
                                    a, 2, "authority")
    if tag == 4:
        _need(a, 3)
        return "approve", _signers({"source": a[0], "delegate": a[1], "amount": str(_u64(data, 1))}, a, 2, "owner")
    if tag == 5:
        _need(a, 2)
        return "revoke", _signers({"source": a[0]}, a, 1, "owner")
    if tag == 6:
        _need(a, 2)
        if len(data) < 2 or data[1] >= len(_AUTHORITY_TYPES):
            raise _Unparsable
        kind = _AUTHORITY_TYPES[data[1]]
        new, _ = _coption_key(data, 2)
        owned = "account" if kind in ("accountOwner", "closeAccount") else "mint"
        return "setAuthority", _signers({owned: a[0], "authorityType": kind, "newAuthority": new}, a, 1, "authority")
    if tag == 7:
        _need(a, 3)
        return "mintTo", _signers({"mint": a[0], "account": a[1], "amount": str(_u64(data, 1))}, a, 2, "mintAuthority")
    if tag == 8:
        _need(a, 3)
        return "burn", _signers({"account": a[0], "mint": a[1], "amount": str(_u64(data, 1))}, a, 2, "authority")
    if tag == 9:
        _need(a, 3)
        return "closeAccount", _signers({"account": a[0], "destination": a[1]}, a, 2, "owner")
    if tag in (10, 11):
        _need(a, 3)
        return ("freezeAccount" if tag == 10 else "thawAccount"), _signers(
            {"account": a[0], "mint": a[1]}, a, 2, "freezeAuthority")
    if tag in (12, 13):
        _need(a, 4)
        if len(data) < 10:
            raise _Unparsable
        amount = ui_token_amount(_u64(data, 1), data[9])
        if tag == 12:
            return "transferChecked", _signers({"source": a[0], "mint": a[1], "destination": a[2],
                                                "tokenAmount": amount}, a, 3, "authority")
        return "approveChecked", _signers({"source": a[0], "mint": a[1], "delegate": a[2], "tokenAmount": amount},
                                          a, 3, "owner")
    if tag in (14, 15):
        _need(a, 3)
        if len(data) < 10:
            raise _Unparsable
        amount = ui_token_amount(_u64(data, 1), data[9])
        if tag == 14:
            return "mintToChecked", _signers({"mint": a[0], "account": a[1], "tokenAmount": amount}, a, 2,
                                             "mintAuthority")
        return "burnChecked", _signers({"account": a[0], "mint": a[1], "tokenAmount": amount}, a, 2, "authority")
    if tag == 17:
        _need(a, 1)
        return "syncNative", {"account": a[0]}
    if tag == 21:
        _need(a, 1)
        info = {"mint": a[0]}
        if len(data) > 1:
            if (len(data) - 1) % 2:
                raise _Unparsable
            kinds = struct.unpack_from(f"<{(len(data) - 1) // 2}H", data, 1)
            if any(k >= len(EXTENSION_TYPES) for k in kinds):
                raise _Unparsable
            info["extensionTypes"] = [EXTENSION_TYPES[k] for k in kinds]
        return "getAccountDataSize", info
    if tag == 22:
        _need(a, 1)
        return "initializeImmutableOwner", {"account": a[0]}
    if tag == 23:
        _need(a, 1)
        return "amountToUiAmount", {"mint": a[0], "amount": str(_u64(data, 1))}
    raise _Unparsable


def _parse_ata(data: bytes, a: list[str]) -> tuple[str, dict]:
    tag = data[0] if data else 0
    if tag in (0, 1) and len(data) <= 1:
        _need(a, 6)
        return ("create" if tag == 0 else "createIdempotent"), {
            "source": a[0], "account": a[1], "wallet": a[2], "mint": a[3], "systemProgram": a[4],
            "tokenProgram": a[5]}
    if tag == 2 and len(data) == 1:
        _need(a, 7)
        return "recoverNested", {"nestedSource": a[0], "nestedMint": a[1], "destination": a[2],
                                 "nestedOwner": a[3], "ownerMint": a[4], "wallet": a[5], "tokenProgram": a[6]}
    raise _Unparsable


_PARSERS = {P.SYSTEM: ("system", _parse_system), P.TOKEN: ("spl-token", _parse_token),
            P.TOKEN_2022: ("spl-token-2022", _parse_token),
            P.ASSOCIATED_TOKEN: ("spl-associated-token-account", _parse_ata)}


def parse_instruction(program_id: str, accounts: list[str], data: bytes, stack_height: int | None) -> dict:
    """One instruction in jsonParsed form; partially decoded when the program has no parser or it fails."""
    entry = _PARSERS.get(program_id)
    if entry is not None:
        try:
            kind, info = entry[1](data, accounts)
            return {"parsed": {"info": info, "type": kind}, "program": entry[0], "programId": program_id,
                    "stackHeight": stack_height}
        except _Unparsable:
            pass
    elif program_id in (MEMO_V1, MEMO_V3):
        try:
            return {"parsed": data.decode("utf-8"), "program": "spl-memo", "programId": program_id,
                    "stackHeight": stack_height}
        except UnicodeDecodeError:
            pass
    return {"accounts": accounts, "data": b58encode(data), "programId": program_id, "stackHeight": stack_height}

