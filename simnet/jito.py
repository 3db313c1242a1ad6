"""A Jito block engine: JSON-RPC at `POST <jito>/api/v1/bundles` (sendBundle, getTipAccounts,
getBundleStatuses, getInflightBundleStatuses) and `POST <jito>/api/v1/transactions` (sendTransaction).

A bundle is up to 5 signed transactions executed in order, all-or-nothing, through bank.process_bundle. Like
Jito, sendBundle rejects a bundle that pays no tip (a system transfer of at least 1000 lamports to one of the
tip accounts) and answers the bundle id for any well-formed bundle; whether it landed shows in
getBundleStatuses (landed bundles only) and getInflightBundleStatuses (Landed / Failed / Invalid).
The bundle id is Jito's: sha256 over the transactions' first signatures joined with ",", hex.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from solders.transaction import VersionedTransaction

from pipelines.chain import programs as P

from .rpc import Dispatcher, RpcNode, arg, config, invalid_params, max_inputs
from .rpc_tx import decode_transaction

# Jito's mainnet tip accounts (getTipAccounts on mainnet returns these eight).
TIP_ACCOUNTS = (
    "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5", "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
    "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY", "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
    "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh", "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
    "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL", "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
)
MAX_BUNDLE_LEN = 5
MIN_TIP_LAMPORTS = 1000
_TRANSFER = 2


@dataclass(frozen=True, slots=True)
class BundleRecord:
    bundle_id: str
    signatures: tuple[str, ...]
    slot: int
    landed: bool
    err: object


def bundle_id(txs: list[VersionedTransaction]) -> str:
    return hashlib.sha256(",".join(str(tx.signatures[0]) for tx in txs).encode()).hexdigest()


def tip_lamports(tx: VersionedTransaction) -> int:
    """Lamports the transaction's top-level system transfers send to Jito tip accounts."""
    msg = tx.message
    keys = [str(k) for k in msg.account_keys]
    total = 0
    for ix in msg.instructions:
        if keys[ix.program_id_index] != P.SYSTEM or len(ix.data) < 12 or len(ix.accounts) < 2:
            continue
        if struct.unpack_from("<I", ix.data, 0)[0] != _TRANSFER:
            continue
        dest = ix.accounts[1]
        if dest < len(keys) and keys[dest] in TIP_ACCOUNTS:
            total += struct.unpack_from("<Q", ix.data, 4)[0]
    return total


class JitoEngine:
    def __init__(self, node: RpcNode, send_transaction, max_remembered: int = 100_000) -> None:
        self.node = node
        self.bundles: dict[str, BundleRecord] = {}
        self.max_remembered = max_remembered
        self.bundles_dispatcher = Dispatcher({
            "sendBundle": self.send_bundle, "getTipAccounts": self.get_tip_accounts,
            "getBundleStatuses": self.get_bundle_statuses,
            "getInflightBundleStatuses": self.get_inflight_bundle_statuses,
        })
        self.transactions_dispatcher = Dispatcher({"sendTransaction": send_transaction})

    def send_bundle(self, params: list) -> str:
        encoded = arg(params, 0, "a sequence", (list,))
        cfg = config(params, 1, "RpcBundleRequest")
        enc = cfg.get("encoding") or "base58"
        if enc not in ("base58", "base64"):
            raise invalid_params(f"unsupported encoding: {enc}. Supported encodings: base58, base64")
        if not encoded:
            raise invalid_params("bundle must contain at least one transaction")
        if len(encoded) > MAX_BUNDLE_LEN:
            raise invalid_params(f"bundle contains {len(encoded)} transactions, the maximum is {MAX_BUNDLE_LEN}")
        txs = []
        for item in encoded:
            if not isinstance(item, str):
                raise invalid_params("Invalid params: bundle transactions must be encoded strings.")
            txs.append(decode_transaction(item, enc))
        sigs = [str(tx.signatures[0]) for tx in txs]
        if len(set(sigs)) != len(sigs):
            raise invalid_params("bundle contains duplicate transactions")
        if sum(tip_lamports(tx) for tx in txs) < MIN_TIP_LAMPORTS:
            raise invalid_params("bundle must write lock at least one tip account and tip at least "
                                 f"{MIN_TIP_LAMPORTS} lamports to be eligible for the auction")
        bid = bundle_id(txs)
        results = self.node.bank.process_bundle(txs)
        landed = len(results) == len(txs) and all(r.err is None for r in results)
        err = None if landed else next((r.err for r in results if r.err is not None), "BundleFailed")
        if len(self.bundles) >= self.max_remembered:
            self.bundles.pop(next(iter(self.bundles)))
        self.bundles[bid] = BundleRecord(bid, tuple(sigs), self.node.bank.slot, landed, err)
        return bid

    def get_tip_accounts(self, params: list) -> list[str]:
        return list(TIP_ACCOUNTS)

    def _ids(self, params: list) -> list[str]:
        ids = arg(params, 0, "a sequence", (list,))
        max_inputs(ids, 5)
        for i in ids:
            if not isinstance(i, str):
                raise invalid_params("Invalid params: bundle ids must be strings.")
        return ids

    def get_bundle_statuses(self, params: list) -> dict:
        value = []
        for bid in self._ids(params):
            rec = self.bundles.get(bid)
            if rec is None or not rec.landed:
                value.append(None)
                continue
            st = self.node.bank.signature_status(rec.signatures[0])
            value.append({"bundle_id": bid, "transactions": list(rec.signatures), "slot": rec.slot,
                          "confirmation_status": st.confirmation_status if st else "processed",
                          "err": {"Ok": None}})
        return {"context": {"slot": self.node.bank.slot}, "value": value}

    def get_inflight_bundle_statuses(self, params: list) -> dict:
        value = []
        for bid in self._ids(params):
            rec = self.bundles.get(bid)
            if rec is None:
                value.append({"bundle_id": bid, "status": "Invalid", "landed_slot": None})
            else:
                value.append({"bundle_id": bid, "status": "Landed" if rec.landed else "Failed",
                              "landed_slot": rec.slot if rec.landed else None})
        return {"context": {"slot": self.node.bank.slot}, "value": value}
