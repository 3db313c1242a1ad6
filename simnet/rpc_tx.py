"""Slot, blockhash and transaction RPC methods: sendTransaction (with preflight), simulateTransaction,
getTransaction, getSignatureStatuses, getSignaturesForAddress, getRecentPrioritizationFees.

sendTransaction follows Agave: decode + sanitize (-32602), then unless skipPreflight verify signatures (-32003)
and simulate (-32002 "Transaction simulation failed: ..." with the simulation result as data). With
skipPreflight the transaction goes straight to the bank, which (like a leader) drops what cannot land.
"""
from __future__ import annotations

import base64
import binascii

from solders.hash import Hash
from solders.transaction import VersionedTransaction

from pipelines.chain.base58 import b58decode
from pipelines.chain.errors import DecodeError

from .ledger_store import CONFIRMED_DEPTH, FINALIZED_DEPTH
from .rpc import (PREFLIGHT_FAILURE, SIGNATURE_VERIFICATION_FAILURE, RpcError, RpcNode, arg,
                  check_min_context_slot, commitment, config, encoding, invalid_params, max_inputs, pubkey,
                  signature, too_many)
from .tx_render import TX_ENCODINGS, render_transaction, status, tx_error_text

PACKET_DATA_SIZE = 1232
MAX_BASE58_SIZE = 1683
MAX_BASE64_SIZE = 1644
STATUS_CACHE_SLOTS = 300          # without searchTransactionHistory only the status cache answers
DEPTH = {"processed": 0, "confirmed": CONFIRMED_DEPTH, "finalized": FINALIZED_DEPTH}
_TX = "solana_transaction::versioned::VersionedTransaction"


def decode_transaction(encoded: str, enc: str) -> VersionedTransaction:
    """Wire transaction from base58/base64 text, with Agave's size limits and messages."""
    if enc == "base58":
        if len(encoded) > MAX_BASE58_SIZE:
            raise invalid_params(f"base58 encoded {_TX} too large: {len(encoded)} bytes (max: encoded/raw "
                                 f"{MAX_BASE58_SIZE}/{PACKET_DATA_SIZE})")
        try:
            raw = b58decode(encoded)
        except DecodeError as exc:
            raise invalid_params(f"invalid base58 encoding: {exc}") from None
    else:
        if len(encoded) > MAX_BASE64_SIZE:
            raise invalid_params(f"base64 encoded {_TX} too large: {len(encoded)} bytes (max: encoded/raw "
                                 f"{MAX_BASE64_SIZE}/{PACKET_DATA_SIZE})")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_params(f"invalid base64 encoding: {exc}") from None
    if len(raw) > PACKET_DATA_SIZE:
        raise invalid_params(f"decoded {_TX} too large: {len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)")
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise invalid_params(f"failed to deserialize {_TX}: io error: {exc}") from None
    try:
        tx.sanitize()
    except Exception:  # solders raises its own SanitizeError type
        raise invalid_params("invalid transaction: Transaction failed to sanitize accounts offsets correctly") \
            from None
    return tx


def _tx_param(params: list, cfg: dict, default_encoding: str) -> VersionedTransaction:
    encoded = arg(params, 0, "a string", (str,))
    enc = cfg.get("encoding") or default_encoding
    if enc not in ("base58", "base64"):
        raise invalid_params(f"unsupported encoding: {enc}. Supported encodings: base58, base64")
    return decode_transaction(encoded, enc)


def verify_signatures(tx: VersionedTransaction) -> None:
    if not all(tx.verify_with_results()):
        raise RpcError(SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")


def simulation_value(result, *, replacement=None, inner: bool = False, accounts=None) -> dict:
    """RpcSimulateTransactionResult."""
    value = {"err": result.err, "logs": list(result.logs), "accounts": accounts,
             "unitsConsumed": result.units_consumed, "returnData": None,
             "innerInstructions": None, "replacementBlockhash": replacement}
    rd = getattr(result, "return_data", None)
    if rd:
        value["returnData"] = {"programId": str(rd[0]), "data": [base64.b64encode(rd[1]).decode(), "base64"]}
    if inner:
        from .tx_render import _inner_groups
        from .parsed import parse_instruction
        value["innerInstructions"] = [
            {"index": i, "instructions": [parse_instruction(str(p), [str(a) for a in accs], bytes(d), h)
                                          for p, accs, d, h in ixs]} for i, ixs in _inner_groups(result)]
    return value


def preflight_failure(result) -> RpcError:
    return RpcError(PREFLIGHT_FAILURE, f"Transaction simulation failed: {tx_error_text(result.err)}",
                    simulation_value(result))


def _holding(node: RpcNode) -> bool:
    s = node.faults.settings
    return bool(s.land_delay_slots or s.drop_transactions)


def methods(node: RpcNode) -> dict:
    bank = node.bank

    def slot_config(params: list, i: int, name: str = "RpcContextConfig", *, level: bool = False):
        """The config at i, checked; with level=True the commitment level instead (slot reads honour it)."""
        if len(params) > i + 1:
            too_many(params)
        cfg = config(params, i, name)
        lvl = commitment(cfg)
        check_min_context_slot(cfg, max(0, bank.slot - DEPTH[lvl]) if level else bank.slot)
        return lvl if level else cfg

    def get_slot(params: list):
        return max(0, bank.slot - DEPTH[slot_config(params, 0, level=True)])

    def get_block_height(params: list):
        return max(0, bank.block_height - DEPTH[slot_config(params, 0, level=True)])

    def get_latest_blockhash(params: list):
        slot_config(params, 0)
        blockhash, last_valid = bank.latest_blockhash()
        return {"context": node.context(), "value": {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}}

    def is_blockhash_valid(params: list):
        text = arg(params, 0, "a string", (str,))
        slot_config(params, 1)
        try:
            blockhash = Hash.from_string(text)
        except ValueError as exc:
            raise invalid_params("Invalid param: " + ("WrongSize" if "size" in str(exc) else "Invalid")) from None
        return {"context": node.context(), "value": bool(bank.is_blockhash_valid(blockhash))}

    def send_transaction(params: list):
        if len(params) > 2:
            too_many(params)
        cfg = config(params, 1, "RpcSendTransactionConfig")
        tx = _tx_param(params, cfg, "base58")
        commitment({"commitment": cfg.get("preflightCommitment")} if cfg.get("preflightCommitment") else {})
        check_min_context_slot(cfg, bank.slot)
        sig = str(tx.signatures[0])
        held = _holding(node) and bank.get_transaction(sig) is None    # landed already: answered as usual
        fate = None
        if held:
            # the transaction may land later or never: its preflight still answers now, as a provider's does
            if not cfg.get("skipPreflight"):
                result = bank.simulate_transaction(tx, sig_verify=True)
                if result.err == "SignatureFailure":
                    raise RpcError(SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
                if result.err is not None:
                    raise preflight_failure(result)
            fate = node.faults.transaction_fate(sig)
        if fate is not None:
            if fate > 0 and node.held is not None:
                node.held.hold(sig, tx, bank.slot + fate)
        elif held or cfg.get("skipPreflight"):
            bank.process_transaction(tx, sig_verify=True)
        else:
            # Preflight and execution in one pass: a one-transaction bundle commits only if it succeeds, which
            # on a single-threaded bank is exactly "verify, simulate, then send if the simulation passed".
            result = bank.process_bundle([tx])[-1]
            if result.err == "SignatureFailure":
                raise RpcError(SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
            if result.err is not None:
                raise preflight_failure(result)
        for hook in node.on_sent:
            hook(sig)
        return sig

    def simulate_transaction(params: list):
        if len(params) > 2:
            too_many(params)
        cfg = config(params, 1, "RpcSimulateTransactionConfig")
        tx = _tx_param(params, cfg, "base58")
        commitment(cfg)
        check_min_context_slot(cfg, bank.slot)
        sig_verify = bool(cfg.get("sigVerify"))
        replace = bool(cfg.get("replaceRecentBlockhash"))
        if sig_verify and replace:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        if sig_verify:
            verify_signatures(tx)
        accounts_cfg = cfg.get("accounts")
        addresses = None
        if accounts_cfg is not None:
            if not isinstance(accounts_cfg, dict) or not isinstance(accounts_cfg.get("addresses"), list):
                raise invalid_params("Invalid params: missing field `addresses`.")
            addresses = [pubkey(a) for a in accounts_cfg["addresses"]]
            n_keys = _account_key_count(tx)
            if len(addresses) > n_keys:
                raise invalid_params(f"Too many accounts provided; max {n_keys}")
            enc = accounts_cfg.get("encoding") or "base64"
            if enc not in ("base64", "base64+zstd", "jsonParsed"):
                raise invalid_params(f"Invalid encoding: {enc}")
        result = bank.simulate_transaction(tx, sig_verify=False, replace_recent_blockhash=replace)
        replacement = None
        if replace:
            blockhash, last_valid = bank.latest_blockhash()
            replacement = {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}
        accounts = None
        if addresses is not None:
            accounts = _post_accounts(result, addresses, accounts_cfg.get("encoding") or "base64", node)
        return {"context": node.context(),
                "value": simulation_value(result, replacement=replacement, accounts=accounts,
                                          inner=bool(cfg.get("innerInstructions")))}

    def get_transaction(params: list):
        sig = signature(arg(params, 0, "a string", (str,)))
        if len(params) > 2:
            too_many(params)
        if len(params) > 1 and isinstance(params[1], str):   # legacy form: the encoding alone
            cfg = {"encoding": params[1]}
        else:
            cfg = config(params, 1, "RpcTransactionConfig")
        enc = encoding(cfg, TX_ENCODINGS, "json")
        level = commitment(cfg)
        if level == "processed":
            raise invalid_params("Method does not support commitment below `confirmed`")
        max_version = cfg.get("maxSupportedTransactionVersion")
        if max_version is not None and (not isinstance(max_version, int) or isinstance(max_version, bool)
                                        or max_version < 0 or max_version > 255):
            raise invalid_params("Invalid params: invalid value for maxSupportedTransactionVersion.")
        stored = bank.get_transaction(str(sig))
        if stored is None:
            return None
        st = bank.signature_status(str(sig))
        if st is None or DEPTH[st.confirmation_status] < DEPTH[level]:
            return None                      # not yet at the asked commitment: null, like Agave
        if node.faults.settings.null_transaction_after_confirm_s and node.slot_times is not None:
            confirmed_at = node.slot_times.opened_at(stored.slot + CONFIRMED_DEPTH)
            if node.faults.hide_transaction(confirmed_at, node.slot_times.clock()):
                return None                  # a lagging index: confirmed, yet not served
        return render_transaction(stored, enc, max_version)

    def get_signature_statuses(params: list):
        sigs = arg(params, 0, "a sequence", (list,))
        max_inputs(sigs, 256)
        if len(params) > 2:
            too_many(params)
        cfg = config(params, 1, "RpcSignatureStatusConfig")
        history = bool(cfg.get("searchTransactionHistory"))
        value = []
        for s in sigs:
            st = bank.signature_status(str(signature(s)))
            if st is not None and not history and bank.slot - st.slot > STATUS_CACHE_SLOTS:
                st = None
            value.append(None if st is None else {
                "confirmationStatus": st.confirmation_status, "confirmations": st.confirmations,
                "err": st.err, "slot": st.slot, "status": status(st.err)})
        return {"context": node.context(), "value": value}

    def get_signatures_for_address(params: list):
        address = pubkey(arg(params, 0, "a string", (str,)))
        cfg = slot_config(params, 1, "RpcSignaturesForAddressConfig")
        level = commitment(cfg)
        if level == "processed":
            raise invalid_params("Method does not support commitment below `confirmed`")
        limit = cfg.get("limit") or 1000
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1 or limit > 1000:
            raise invalid_params("Invalid limit; max 1000")
        before = cfg.get("before")
        until = cfg.get("until")
        before = None if before is None else str(signature(before))
        until = None if until is None else str(signature(until))
        rows = [r for r in bank.signatures_for_address(address, before=before, until=until, limit=1000)
                if DEPTH[r.confirmation_status] >= DEPTH[level]][:limit]
        return [{"blockTime": r.block_time, "confirmationStatus": r.confirmation_status, "err": r.err,
                 "memo": r.memo, "signature": r.signature, "slot": r.slot} for r in rows]

    def get_recent_prioritization_fees(params: list):
        if len(params) > 1:
            too_many(params)
        addresses = arg(params, 0, "a sequence", (list,), required=False) or []
        max_inputs(addresses, 128)
        keys = [pubkey(a) for a in addresses]
        return [{"prioritizationFee": fee, "slot": slot} for slot, fee in bank.recent_prioritization_fees(keys)]

    return {
        "getSlot": get_slot, "getBlockHeight": get_block_height, "getLatestBlockhash": get_latest_blockhash,
        "isBlockhashValid": is_blockhash_valid, "sendTransaction": send_transaction,
        "simulateTransaction": simulate_transaction, "getTransaction": get_transaction,
        "getSignatureStatuses": get_signature_statuses, "getSignaturesForAddress": get_signatures_for_address,
        "getRecentPrioritizationFees": get_recent_prioritization_fees,
    }


def _post_accounts(result, addresses, enc, node: RpcNode):
    """The requested accounts as the simulation left them, like Agave: an account the transaction wrote as it
    wrote it, any other as the bank holds it; every entry null when the simulation failed."""
    if result.err is not None:
        return [None] * len(addresses)
    post = getattr(result, "post_accounts", None) or {}
    from .render import mint_decimals_from, ui_account

    def account(key: str):
        return post[key] if key in post else node.bank.get_account(key)
    decimals = mint_decimals_from(account)
    return [ui_account(account(str(a)), enc, None, decimals) for a in addresses]


def _account_key_count(tx: VersionedTransaction) -> int:
    """Static keys plus the addresses loaded from lookup tables (what `accounts.addresses` may not exceed)."""
    msg = tx.message
    loaded = sum(len(lk.writable_indexes) + len(lk.readonly_indexes)
                 for lk in (getattr(msg, "address_table_lookups", None) or ()))
    return len(msg.account_keys) + loaded
