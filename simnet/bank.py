"""simnet's bank: accounts, blocks and transaction execution, shaped like a Solana validator's.

Single-threaded and synchronous: the RPC server calls it from its event loop and drives the clock by calling
advance_slot() (each slot is a block with its own blockhash and block time). A transaction runs against a
copy-on-write overlay of the accounts (execution.py); on success its writes are committed, on failure only the
fee is; a bundle commits all of its transactions or none. Programs live in simnet/programs/.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from typing import Any, Callable, Iterable

from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from .accounts import SYSTEM_ID, AccountsDb, Overlay, Record, rent_exempt_minimum
from .execution import MAX_PROCESSING_AGE, TxRejected, execute, load
from .ledger_store import (LedgerStore, SigInfo, SignatureStatus, StoredTx, TokenBalance, TxResult,
                           SlotInfo, confirmation_status)
from .programs import default_programs, token
from .programs.runtime import Program

__all__ = ["Bank", "TxResult", "StoredTx", "SignatureStatus", "SigInfo", "TokenBalance"]

log = logging.getLogger(__name__)

_NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")


def _key(address: str | Pubkey) -> str:
    """Accounts are stored by base58 address."""
    return address if isinstance(address, str) else str(address)


def _pk(address: str | Pubkey) -> Pubkey:
    return address if isinstance(address, Pubkey) else Pubkey.from_string(address)


class Bank:
    def __init__(self, *, seed: int = 7, genesis: bool = True, clock: Callable[[], float] = time.time,
                 max_stored_txs: int = 50_000, programs: dict[Pubkey, Program] | None = None) -> None:
        self.seed = seed
        self.clock = clock
        self.db = AccountsDb()
        self.ledger = LedgerStore(max_stored_txs=max_stored_txs)
        self.programs = programs if programs is not None else default_programs()
        self._listeners: list[Any] = []
        self._blockhashes: dict[Hash, int] = {}       # blockhash -> block height it was made at
        self.slot = 0
        self.block_height = 0
        self._blockhash = Hash.default()
        self.genesis = None
        self.faucet: Keypair | None = None
        self._open_slot(1)
        if genesis:
            from .genesis import build_genesis
            self.genesis = build_genesis(seed)
            for key, rec in self.genesis.accounts.items():
                self.db.put(str(key), rec)
            self.faucet = self.genesis.faucet
        else:
            for key in self.programs:
                self.db.put(str(key), Record(1, b"", _NATIVE_LOADER, True))

    # --- blocks ------------------------------------------------------------------------------------------------
    def _open_slot(self, slot: int) -> None:
        parent = self.slot
        self.slot = slot
        self.block_height += 1
        self._blockhash = Hash(hashlib.sha256(f"simnet:{self.seed}:{slot}".encode()).digest())
        self._blockhashes[self._blockhash] = self.block_height
        if len(self._blockhashes) > 2 * MAX_PROCESSING_AGE:
            floor = self.block_height - MAX_PROCESSING_AGE - 1
            for h in [h for h, bh in self._blockhashes.items() if bh < floor]:
                del self._blockhashes[h]
        self.block_time = int(self.clock())
        self.ledger.open_slot(SlotInfo(slot, self._blockhash, self.block_height, self.block_time, parent))

    def advance_slot(self) -> int:
        """Close the current block and open the next: new slot, block height and blockhash."""
        self._open_slot(self.slot + 1)
        for listener in self._listeners:
            self._notify(listener, "on_slot", self.slot)
        return self.slot

    def latest_blockhash(self) -> tuple[Hash, int]:
        return self._blockhash, self.block_height + MAX_PROCESSING_AGE

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        height = self._blockhashes.get(blockhash)
        return height is not None and height >= self.block_height - MAX_PROCESSING_AGE

    def block_info(self, slot: int):
        """The slot's record (blockhash, block_height, block_time, parent_slot, signatures) or None."""
        return self.ledger.slots.get(slot)

    # --- accounts ----------------------------------------------------------------------------------------------
    def get_account(self, address: str | Pubkey) -> Account | None:
        rec = self.db.get(_key(address))
        return None if rec is None else rec.to_account()

    def get_balance(self, address: str | Pubkey) -> int:
        rec = self.db.get(_key(address))
        return 0 if rec is None else rec.lamports

    def set_account(self, address: str | Pubkey, account: Account) -> None:
        key = _key(address)
        rec = Record.from_account(account)
        self.db.put(key, rec)
        self._emit_accounts({key: rec if rec.lamports else None})

    def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        return rent_exempt_minimum(data_len)

    def program_accounts(self, program_id: str | Pubkey) -> list[tuple[str, Account]]:
        """Every account owned by `program_id` (getProgramAccounts)."""
        out = []
        for key in self.db.keys_owned_by(_pk(program_id)):
            rec = self.db.get(key)
            if rec is not None:
                out.append((key, rec.to_account()))
        return out

    def airdrop(self, address: str | Pubkey, lamports: int) -> str:
        """A real faucet transfer, executed and stored like any transaction; returns its signature."""
        if self.faucet is None:
            raise RuntimeError("this bank has no faucet (genesis=False)")
        ix = transfer(TransferParams(from_pubkey=self.faucet.pubkey(), to_pubkey=_pk(address), lamports=lamports))
        tx = Transaction.new_signed_with_payer([ix], self.faucet.pubkey(), [self.faucet], self._blockhash)
        res = self.process_transaction(tx)
        if res.err is not None:
            raise RuntimeError(f"airdrop failed: {res.err}")
        return res.signature

    # --- token queries -----------------------------------------------------------------------------------------
    def token_accounts_by_owner(self, owner: str | Pubkey, *, mint: str | Pubkey | None = None,
                                program_id: str | Pubkey | None = None) -> list[tuple[str, Account]]:
        owner_raw = bytes(_pk(owner))
        mint_raw = bytes(_pk(mint)) if mint is not None else None
        programs = [_pk(program_id)] if program_id is not None else [token.TOKEN_ID, token.TOKEN_2022_ID]
        out = []
        for prog in programs:
            for key in self.db.keys_owned_by(prog):
                rec = self.db.get(key)
                d = rec.data if rec is not None else b""
                if (token.is_token_account_data(d) and d[32:64] == owner_raw
                        and (mint_raw is None or d[:32] == mint_raw)):
                    out.append((key, rec.to_account()))
        return out

    def token_largest_accounts(self, mint: str | Pubkey, limit: int = 20) -> list[tuple[str, int]]:
        rec = self.db.get(_key(mint))
        if rec is None:
            return []
        mint_raw = bytes(_pk(mint))
        found = []
        for key in self.db.keys_owned_by(rec.owner):
            acc = self.db.get(key)
            d = acc.data if acc is not None else b""
            if token.is_token_account_data(d) and d[:32] == mint_raw:
                found.append((key, token.token_amount(d)))
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found[:limit]

    def token_supply(self, mint: str | Pubkey) -> tuple[int, int]:
        rec = self.db.get(_key(mint))
        if rec is None or not token.is_token_program(rec.owner) or not token.is_mint_data(rec.data):
            raise ValueError(f"{mint} is not a mint")
        return token.mint_supply(rec.data), token.mint_decimals(rec.data)

    # --- ledger queries ----------------------------------------------------------------------------------------
    def get_transaction(self, signature: str) -> StoredTx | None:
        return self.ledger.get(str(signature))

    def signature_status(self, signature: str) -> SignatureStatus | None:
        stored = self.ledger.get(str(signature))
        if stored is None:
            return None
        status, confirmations = confirmation_status(stored.slot, self.slot)
        return SignatureStatus(stored.slot, confirmations, stored.result.err, status)

    def signatures_for_address(self, address: str | Pubkey, *, before: str | None = None,
                               until: str | None = None, limit: int = 1000) -> list[SigInfo]:
        found = self.ledger.signatures_for_address(str(address), before=before, until=until,
                                                   limit=min(limit, 1000))
        out = []
        for st in found:
            status, _ = confirmation_status(st.slot, self.slot)
            out.append(SigInfo(st.signature, st.slot, st.result.err, None, st.block_time, status))
        return out

    def recent_prioritization_fees(self, addresses: Iterable[str | Pubkey] = ()) -> list[tuple[int, int]]:
        """(slot, micro-lamports per CU) for the last 150 slots, as Agave's prioritization fee cache answers:
        the block's lowest CU price, raised to the highest of the per-account lowest prices among the
        transactions write-locking each given address; 0 for a slot without transactions."""
        wanted = [str(a) for a in addresses]
        out = []
        for info in self.ledger.recent_slots(MAX_PROCESSING_AGE):
            fee = min((price for price, _ in info.fees), default=0)
            for address in wanted:
                fee = max(fee, min((p for p, writable in info.fees if address in writable), default=0))
            out.append((info.slot, fee))
        return out

    # --- listeners ---------------------------------------------------------------------------------------------
    def add_listener(self, listener: Any) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Any) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @staticmethod
    def _notify(listener: Any, method: str, *args: Any) -> None:
        fn = getattr(listener, method, None)
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:   # a broken subscriber must not corrupt the bank
            log.exception("bank listener %r.%s failed", listener, method)

    def _emit_accounts(self, changed: dict[str, Record | None]) -> None:
        if not self._listeners:
            return
        for address, rec in changed.items():
            acc = rec.to_account() if rec is not None and rec.lamports else Account(0, b"", SYSTEM_ID, False, 0)
            for listener in self._listeners:
                self._notify(listener, "on_account", address, acc, self.slot)

    # --- transactions ------------------------------------------------------------------------------------------
    def process_transaction(self, tx: Transaction | VersionedTransaction, *, sig_verify: bool = True) -> TxResult:
        view = Overlay(self.db)
        result, stored, writable = self._run(tx, view, sig_verify=sig_verify, check_blockhash=True,
                                             check_status=True, seen=None)
        if stored is not None:
            self._commit(view, stored, writable)
        return result

    def simulate_transaction(self, tx: Transaction | VersionedTransaction, *, sig_verify: bool = False,
                             replace_recent_blockhash: bool = False) -> TxResult:
        """Execute against a throwaway overlay: nothing persists, nothing is stored or notified."""
        view = Overlay(self.db)
        result, _, _ = self._run(tx, view, sig_verify=sig_verify, check_blockhash=not replace_recent_blockhash,
                                 check_status=False, seen=None)
        post = {k: (None if rec is None else rec.to_account()) for k, rec in view.changes.items()}
        return replace(result, landed=False, post_accounts=post)

    def process_bundle(self, txs: list) -> list[TxResult]:
        """Jito semantics: all land, in order, in this slot, or none does (no fees either).

        On failure the returned list ends with the first failing transaction's result."""
        bundle_view = Overlay(self.db)
        pending: list[tuple[dict, StoredTx, tuple[str, ...]]] = []
        results: list[TxResult] = []
        seen: set[str] = set()
        for tx in txs:
            view = Overlay(bundle_view)
            result, stored, writable = self._run(tx, view, sig_verify=True, check_blockhash=True,
                                                 check_status=True, seen=seen)
            results.append(result)
            if result.err is not None or stored is None:
                return [replace(r, landed=False) for r in results]
            changes = dict(view.changes)
            view.commit()
            seen.add(result.signature)
            pending.append((changes, stored, writable))
        bundle_view.commit()
        for changes, stored, writable in pending:
            self.ledger.add(stored, writable)
            self._emit_accounts(changes)
            for listener in self._listeners:
                self._notify(listener, "on_transaction", stored)
        return results

    def _commit(self, view: Overlay, stored: StoredTx, writable: tuple[str, ...]) -> None:
        changes = view.commit()
        self.ledger.add(stored, writable)
        if self._listeners:
            self._emit_accounts(changes)
            for listener in self._listeners:
                self._notify(listener, "on_transaction", stored)

    def _run(self, tx, view: Overlay, *, sig_verify: bool, check_blockhash: bool, check_status: bool,
             seen: set[str] | None) -> tuple[TxResult, StoredTx | None, tuple[str, ...]]:
        if check_status:
            ledger_seen = self.ledger.seen
            processed = (lambda s: ledger_seen(s) or s in seen) if seen is not None else ledger_seen
        else:
            processed = None
        try:
            loaded = load(tx, view, sig_verify=sig_verify,
                          blockhash_ok=self.is_blockhash_valid if check_blockhash else None,
                          already_processed=processed)
        except TxRejected as exc:
            return TxResult(_first_signature(tx), self.slot, exc.err), None, ()
        except Exception:   # a malformed object that slipped past sanitize: reject it, never crash
            log.exception("simnet could not load a transaction")
            return TxResult(_first_signature(tx), self.slot, "SanitizeFailure"), None, ()
        try:
            result, _ = execute(loaded, view, self.programs, slot=self.slot, unix_timestamp=self.block_time)
        except Exception:   # a simnet bug outside any program: this transaction fails, unlanded; the bank goes on
            log.exception("simnet failed executing %s", loaded.signature)
            view.changes.clear()
            err = {"InstructionError": [0, "ProgramFailedToComplete"]}
            return TxResult(loaded.signature, self.slot, err), None, ()
        stored = StoredTx(loaded.signature, self.slot, self.block_time, tx, result, tuple(loaded.key_strs),
                          loaded.loaded, self.ledger.next_seq())
        writable = tuple([s for s, w in zip(loaded.key_strs, loaded.writable) if w])
        return result, stored, writable


def _first_signature(tx) -> str:
    try:
        return str(tx.signatures[0]) if len(tx.signatures) else ""
    except Exception:
        return ""
