"""What the bank remembers about executed transactions: results, stored transactions, signature indexes.

Memory is bounded: the oldest stored transactions are dropped past `max_stored_txs` (mainnet RPC nodes prune
too); the status cache that answers AlreadyProcessed only needs the last ~300 slots (blockhashes expire at 150).
"""
from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .programs.runtime import InnerInstruction


@dataclass(frozen=True, slots=True)
class TokenBalance:
    account_index: int
    mint: str
    owner: str
    program_id: str
    amount: int
    decimals: int


@dataclass(frozen=True, slots=True)
class TxResult:
    signature: str
    slot: int
    err: Any                                   # None or the Solana JSON error value
    logs: tuple[str, ...] = ()
    units_consumed: int = 0
    fee: int = 0
    # (top-level instruction index, its inner instructions), only for instructions that made CPIs
    inner_instructions: tuple[tuple[int, tuple[InnerInstruction, ...]], ...] = ()
    pre_balances: tuple[int, ...] = ()
    post_balances: tuple[int, ...] = ()
    pre_token_balances: tuple[TokenBalance, ...] = ()
    post_token_balances: tuple[TokenBalance, ...] = ()
    landed: bool = False                       # committed to a block (fee charged), even if err is set
    return_data: tuple[str, bytes] | None = None
    compute_unit_price: int = 0                # micro-lamports per CU the tx paid
    # simulations only: the accounts the transaction wrote, as it left them (None = closed)
    post_accounts: dict | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.err is None


@dataclass(frozen=True, slots=True)
class StoredTx:
    signature: str
    slot: int
    block_time: int
    transaction: Any                           # the solders Transaction / VersionedTransaction as received
    result: TxResult
    account_keys: tuple[str, ...]              # static keys, then loaded writable, then loaded readonly
    loaded_addresses: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())   # (writable, readonly)
    seq: int = 0                               # bank-wide order of execution

    @property
    def version(self) -> str | int:
        msg = self.transaction.message
        return 0 if hasattr(msg, "address_table_lookups") else "legacy"


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    slot: int
    confirmations: int | None                  # None once finalized, as the RPC reports it
    err: Any
    confirmation_status: str                   # processed | confirmed | finalized


@dataclass(frozen=True, slots=True)
class SigInfo:
    signature: str
    slot: int
    err: Any
    memo: str | None
    block_time: int | None
    confirmation_status: str


CONFIRMED_DEPTH = 1      # a slot is voted on (confirmed) once the next one exists
FINALIZED_DEPTH = 32     # rooted after 32 confirmed slots


def confirmation_status(tx_slot: int, current_slot: int) -> tuple[str, int | None]:
    depth = current_slot - tx_slot
    if depth >= FINALIZED_DEPTH:
        return "finalized", None
    return ("confirmed" if depth >= CONFIRMED_DEPTH else "processed"), depth


@dataclass(slots=True)
class SlotInfo:
    slot: int
    blockhash: Any
    block_height: int
    block_time: int
    parent_slot: int
    signatures: list[str] = field(default_factory=list)
    # (compute unit price, writable keys) of every landed tx, for getRecentPrioritizationFees
    fees: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)


class LedgerStore:
    def __init__(self, *, max_stored_txs: int = 50_000, max_slots: int = 10_000) -> None:
        self.max_stored_txs = max_stored_txs
        self.max_slots = max_slots
        self._txs: dict[str, StoredTx] = {}
        self._order: deque[str] = deque()
        self._by_address: dict[str, list[int]] = {}     # address -> seqs, ascending
        self._seq_sig: dict[int, str] = {}
        self._seq = 0
        self.slots: dict[int, SlotInfo] = {}
        self._slot_order: deque[int] = deque()
        self._status: dict[str, int] = {}                # recent signature -> slot (AlreadyProcessed)
        self._status_by_slot: deque[tuple[int, list[str]]] = deque()

    # --- slots ---
    def open_slot(self, info: SlotInfo) -> None:
        self.slots[info.slot] = info
        self._slot_order.append(info.slot)
        self._status_by_slot.append((info.slot, info.signatures))
        while len(self._slot_order) > self.max_slots:
            self.slots.pop(self._slot_order.popleft(), None)
        while self._status_by_slot and self._status_by_slot[0][0] < info.slot - 300:
            _, sigs = self._status_by_slot.popleft()
            for s in sigs:
                self._status.pop(s, None)

    # --- transactions ---
    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def seen(self, signature: str) -> bool:
        return signature in self._status or signature in self._txs

    def add(self, stored: StoredTx, writable_keys: tuple[str, ...]) -> None:
        sig = stored.signature
        self._txs[sig] = stored
        self._order.append(sig)
        self._status[sig] = stored.slot
        self._seq_sig[stored.seq] = sig
        by_addr = self._by_address
        seq = stored.seq
        for key in dict.fromkeys(stored.account_keys):
            lst = by_addr.get(key)
            if lst is None:
                by_addr[key] = [seq]
            else:
                lst.append(seq)
        info = self.slots.get(stored.slot)
        if info is not None:
            info.signatures.append(sig)
            info.fees.append((stored.result.compute_unit_price, writable_keys))
        if len(self._order) > self.max_stored_txs:
            self._evict(len(self._order) - self.max_stored_txs + self.max_stored_txs // 10)

    def _evict(self, n: int) -> None:
        for _ in range(min(n, len(self._order))):
            sig = self._order.popleft()
            stored = self._txs.pop(sig, None)
            if stored is not None:
                self._seq_sig.pop(stored.seq, None)
        oldest = self._txs[self._order[0]].seq if self._order else self._seq + 1
        for key in list(self._by_address):
            lst = self._by_address[key]
            if lst[0] < oldest:
                cut = bisect.bisect_left(lst, oldest)
                if cut >= len(lst):
                    del self._by_address[key]
                else:
                    del lst[:cut]

    def get(self, signature: str) -> StoredTx | None:
        return self._txs.get(signature)

    def status_slot(self, signature: str) -> int | None:
        return self._status.get(signature)

    def signatures_for_address(self, address: str, *, before: str | None, until: str | None,
                               limit: int) -> list[StoredTx]:
        seqs = self._by_address.get(address)
        if not seqs or limit <= 0:
            return []
        hi = len(seqs)
        if before is not None:
            b = self._txs.get(before)
            if b is None:
                return []
            hi = bisect.bisect_left(seqs, b.seq)
        lo_seq = 0
        if until is not None:
            u = self._txs.get(until)
            if u is not None:
                lo_seq = u.seq
        out: list[StoredTx] = []
        i = hi - 1
        while i >= 0 and len(out) < limit:
            seq = seqs[i]
            if seq <= lo_seq:
                break
            sig = self._seq_sig.get(seq)
            if sig is not None:
                out.append(self._txs[sig])
            i -= 1
        return out

    def recent_slots(self, n: int) -> list[SlotInfo]:
        return [self.slots[s] for s in list(self._slot_order)[-n:] if s in self.slots]
