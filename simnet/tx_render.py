"""getTransaction results (`json`, `jsonParsed`, `base64`, `base58`) and transaction error texts, as Agave shows them.

The bank keeps a StoredTx: the solders transaction, its TxResult (logs, balances, inner instructions as
(program_id, accounts, data, stack_height) per top-level index) and the full account key list (static keys,
then loaded writable, then loaded readonly).
"""
from __future__ import annotations

import base64

from solders.message import MessageV0

from pipelines.chain.base58 import b58encode

from .parsed import parse_instruction, ui_token_amount
from .rpc import UNSUPPORTED_TX_VERSION, RpcError

TX_ENCODINGS = ("json", "jsonParsed", "base64", "base58", "binary")

# Keys Agave never reports writable (sysvars and builtin programs), see `is_builtin_key_or_sysvar`.
_RESERVED = frozenset({
    "11111111111111111111111111111111", "ComputeBudget111111111111111111111111111111",
    "Config1111111111111111111111111111111111111", "Stake11111111111111111111111111111111111111",
    "Vote111111111111111111111111111111111111111", "AddressLookupTab1e1111111111111111111111111",
    "BPFLoaderUpgradeab1e11111111111111111111111", "BPFLoader2111111111111111111111111111111111",
    "NativeLoader1111111111111111111111111111111", "Ed25519SigVerify111111111111111111111111111",
    "KeccakSecp256k11111111111111111111111111111", "SysvarC1ock11111111111111111111111111111111",
    "SysvarRent111111111111111111111111111111111", "SysvarRecentB1ockHashes11111111111111111111",
    "SysvarEpochSchedu1e111111111111111111111111", "SysvarFees111111111111111111111111111111111",
    "SysvarRewards111111111111111111111111111111", "SysvarS1otHashes111111111111111111111111111",
    "SysvarS1otHistory11111111111111111111111111", "SysvarStakeHistory1111111111111111111111111",
    "Sysvar1nstructions1111111111111111111111111", "SysvarEpochRewards1111111111111111111111111",
    "SysvarLastRestartS1ot1111111111111111111111",
})


def unsupported_version(version: int) -> RpcError:
    return RpcError(UNSUPPORTED_TX_VERSION,
                    f"Transaction version ({version}) is not supported by the requesting client. Please try the "
                    "request again with the following configuration parameter: \"maxSupportedTransactionVersion\": "
                    f"{version}")


def _loaded(stored) -> tuple[list[str], list[str]]:
    la = getattr(stored, "loaded_addresses", None)
    if la is None:
        return [], []
    if isinstance(la, dict):
        return [str(k) for k in la.get("writable", ())], [str(k) for k in la.get("readonly", ())]
    if hasattr(la, "writable"):
        return [str(k) for k in la.writable], [str(k) for k in la.readonly]
    writable, readonly = la
    return [str(k) for k in writable], [str(k) for k in readonly]


def _inner_groups(result) -> list[tuple[int, list]]:
    """(top-level index, inner instructions) pairs; the bank lists only instructions that made CPIs."""
    inner = getattr(result, "inner_instructions", None) or ()
    items = inner.items() if isinstance(inner, dict) else inner
    return [(int(i), list(ixs)) for i, ixs in items if ixs]


def _token_balances(balances) -> list[dict]:
    out = []
    for b in balances or ():
        if isinstance(b, dict):
            if "uiTokenAmount" in b:
                out.append(b)
                continue
            g = b.get
        else:
            def g(name, _b=b):
                return getattr(_b, name)
        amount, decimals = int(g("amount")), int(g("decimals"))
        out.append({"accountIndex": g("account_index"), "mint": str(g("mint")), "owner": str(g("owner")),
                    "programId": str(g("program_id")),
                    "uiTokenAmount": ui_token_amount(amount, decimals, zero_as_null=True)})
    return out


def status(err) -> dict:
    return {"Ok": None} if err is None else {"Err": err}


def meta(stored, *, parsed: bool) -> dict:
    r = stored.result
    keys = [str(k) for k in stored.account_keys]
    index = {k: i for i, k in enumerate(keys)}
    inner = []
    for top, ixs in _inner_groups(r):
        rendered = []
        for program_id, accounts, data, stack_height in ixs:
            program_id, accounts = str(program_id), [str(a) for a in accounts]
            if parsed:
                rendered.append(parse_instruction(program_id, accounts, bytes(data), stack_height))
            else:
                rendered.append({"accounts": [index[a] for a in accounts if a in index], "data": b58encode(bytes(data)),
                                 "programIdIndex": index.get(program_id, 0), "stackHeight": stack_height})
        inner.append({"index": top, "instructions": rendered})
    out = {
        "computeUnitsConsumed": r.units_consumed, "err": r.err, "fee": r.fee, "innerInstructions": inner,
        "logMessages": list(r.logs) if r.logs is not None else None,
        "postBalances": list(r.post_balances), "postTokenBalances": _token_balances(r.post_token_balances),
        "preBalances": list(r.pre_balances), "preTokenBalances": _token_balances(r.pre_token_balances),
        "rewards": [], "status": status(r.err),
    }
    if not parsed:
        writable, readonly = _loaded(stored)
        out["loadedAddresses"] = {"readonly": readonly, "writable": writable}
    return_data = getattr(r, "return_data", None)
    if return_data:
        program_id, data = return_data
        out["returnData"] = {"programId": str(program_id), "data": [base64.b64encode(data).decode(), "base64"]}
    return out


def _header(msg) -> dict:
    h = msg.header
    return {"numReadonlySignedAccounts": h.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
            "numRequiredSignatures": h.num_required_signatures}


def _lookups(msg) -> list[dict]:
    return [{"accountKey": str(lk.account_key), "readonlyIndexes": list(lk.readonly_indexes),
             "writableIndexes": list(lk.writable_indexes)} for lk in msg.address_table_lookups]


def _writable_flags(msg, keys: list[str], n_loaded_writable: int) -> list[bool]:
    h = msg.header
    n_static = len(msg.account_keys)
    signed_writable = h.num_required_signatures - h.num_readonly_signed_accounts
    unsigned_writable_end = n_static - h.num_readonly_unsigned_accounts
    programs = {ix.program_id_index for ix in msg.instructions}
    upgradeable_loader = "BPFLoaderUpgradeab1e11111111111111111111111" in keys
    flags = []
    for i, key in enumerate(keys):
        if i < n_static:
            w = i < signed_writable or (h.num_required_signatures <= i < unsigned_writable_end)
            if i in programs and not upgradeable_loader:
                w = False
        else:
            w = i - n_static < n_loaded_writable
        flags.append(w and key not in _RESERVED)
    return flags


def _message_json(msg, is_v0: bool) -> dict:
    out = {"accountKeys": [str(k) for k in msg.account_keys], "header": _header(msg),
           "instructions": [{"accounts": list(ix.accounts), "data": b58encode(bytes(ix.data)),
                             "programIdIndex": ix.program_id_index, "stackHeight": None}
                            for ix in msg.instructions],
           "recentBlockhash": str(msg.recent_blockhash)}
    if is_v0:
        out["addressTableLookups"] = _lookups(msg)
    return out


def _message_parsed(stored, msg, is_v0: bool) -> dict:
    keys = [str(k) for k in stored.account_keys]
    writable, _ = _loaded(stored)
    n_static = len(msg.account_keys)
    n_signers = msg.header.num_required_signatures
    flags = _writable_flags(msg, keys, len(writable))
    account_keys = [{"pubkey": k, "signer": i < n_signers,
                     "source": "transaction" if i < n_static else "lookupTable", "writable": flags[i]}
                    for i, k in enumerate(keys)]
    instructions = [parse_instruction(keys[ix.program_id_index], [keys[a] for a in ix.accounts], bytes(ix.data),
                                      None) for ix in msg.instructions]
    out = {"accountKeys": account_keys, "instructions": instructions, "recentBlockhash": str(msg.recent_blockhash)}
    if is_v0:
        out["addressTableLookups"] = _lookups(msg)
    return out


def render_transaction(stored, encoding: str, max_version: int | None) -> dict:
    """One getTransaction result. A v0 transaction needs maxSupportedTransactionVersion (else -32015)."""
    tx = stored.transaction
    msg = tx.message
    is_v0 = isinstance(msg, MessageV0)
    if is_v0 and (max_version is None or max_version < 0):
        raise unsupported_version(0)
    if encoding in ("base64", "base58", "binary"):
        raw = bytes(tx)
        if encoding == "base64":
            body = [base64.b64encode(raw).decode("ascii"), "base64"]
        else:
            body = [b58encode(raw), "base58"] if encoding == "base58" else b58encode(raw)
        meta_out = meta(stored, parsed=False)
    elif encoding == "jsonParsed":
        body = {"message": _message_parsed(stored, msg, is_v0), "signatures": [str(s) for s in tx.signatures]}
        meta_out = meta(stored, parsed=True)
    else:
        body = {"message": _message_json(msg, is_v0), "signatures": [str(s) for s in tx.signatures]}
        meta_out = meta(stored, parsed=False)
    out = {"blockTime": stored.block_time, "meta": meta_out, "slot": stored.slot, "transaction": body}
    if max_version is not None:
        out["version"] = 0 if is_v0 else "legacy"
    return out


# --- error texts (TransactionError's Display) -----------------------------------------------------------------

_TX_ERROR_TEXT = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "ClusterMaintenance": "Transactions are currently disabled due to cluster maintenance",
    "AccountBorrowOutstanding": "Transaction processing left an account with an outstanding borrowed reference",
    "WouldExceedMaxBlockCostLimit": "Transaction would exceed max Block Cost Limit",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "WouldExceedMaxAccountCostLimit": "Transaction would exceed max account limit within the block",
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": "Transaction loads an address table account with an invalid owner",
    "InvalidAddressLookupTableData": "Transaction loads an address table account with invalid data",
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidRentPayingAccount": "Transaction leaves an account with a lower balance than rent-exempt minimum",
    "MaxLoadedAccountsDataSizeExceeded": "Transaction exceeded max loaded accounts data size cap",
    "InvalidLoadedAccountsDataSizeLimit": "LoadedAccountsDataSizeLimit set for transaction must be greater than 0.",
    "UnbalancedTransaction": "Sum of account balances before and after transaction do not match",
}


def _instruction_error_text(err) -> str:
    from .programs.runtime import InstructionError
    if isinstance(err, dict) and "BorshIoError" in err:
        return f"Failed to serialize or deserialize account data: {err['BorshIoError']}"
    return InstructionError(err).text()


def tx_error_text(err) -> str:
    """The Display of a Solana TransactionError given as its JSON value."""
    if isinstance(err, str):
        return _TX_ERROR_TEXT.get(err, err)
    if isinstance(err, dict) and len(err) == 1:
        (kind, val), = err.items()
        if kind == "InstructionError" and isinstance(val, list) and len(val) == 2:
            return f"Error processing Instruction {val[0]}: {_instruction_error_text(val[1])}"
        if kind == "DuplicateInstruction":
            return f"Transaction contains a duplicate instruction ({val}) that is not allowed"
        if kind == "InsufficientFundsForRent":
            return f"Transaction results in an account ({val.get('account_index')}) with insufficient funds for rent"
        if kind == "ProgramExecutionTemporarilyRestricted":
            return (f"Execution of the program referenced by account at index {val.get('account_index')} "
                    "is temporarily restricted.")
    return str(err)
