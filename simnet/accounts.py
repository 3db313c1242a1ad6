"""simnet's account store: committed records, and copy-on-write layers for transactions, bundles and simulation.

A record is a small mutable object while one transaction executes and is never mutated again once committed
(commit swaps the object in, it does not copy fields), so layers can share records safely.
"""
from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

SYSTEM_ID = Pubkey.from_string("11111111111111111111111111111111")
RENT_EPOCH_EXEMPT = 2**64 - 1

# Rent (mainnet values): rent-exempt minimum = (128 + data_len) * 3480 lamports/byte-year * 2 years.
_RENT_PER_BYTE = 3480 * 2
_ACCOUNT_OVERHEAD = 128


def rent_exempt_minimum(data_len: int) -> int:
    return (_ACCOUNT_OVERHEAD + data_len) * _RENT_PER_BYTE


class Record:
    """One account: lamports, data (immutable bytes, replaced on write), owner, executable."""

    __slots__ = ("lamports", "data", "owner", "executable", "rent_epoch")

    def __init__(self, lamports: int = 0, data: bytes = b"", owner: Pubkey = SYSTEM_ID,
                 executable: bool = False, rent_epoch: int = RENT_EPOCH_EXEMPT) -> None:
        self.lamports = lamports
        self.data = data
        self.owner = owner
        self.executable = executable
        self.rent_epoch = rent_epoch

    def copy(self) -> "Record":
        return Record(self.lamports, self.data, self.owner, self.executable, self.rent_epoch)

    def to_account(self) -> Account:
        return Account(self.lamports, self.data, self.owner, self.executable, self.rent_epoch)

    @classmethod
    def from_account(cls, acc: Account) -> "Record":
        return cls(acc.lamports, bytes(acc.data), acc.owner, acc.executable, acc.rent_epoch)

    def same_as(self, other: "Record") -> bool:
        return (self.lamports == other.lamports and self.owner == other.owner and self.data == other.data
                and self.executable == other.executable)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Record(lamports={self.lamports}, owner={self.owner}, len={len(self.data)}, exe={self.executable})"


class AccountsDb:
    """The committed accounts of the bank. Zero-lamport accounts do not exist (like Solana's GC)."""

    __slots__ = ("_accounts", "_by_owner")

    def __init__(self) -> None:
        self._accounts: dict[str, Record] = {}          # base58 address -> record
        # owner -> addresses, so token-account scans do not walk every account
        self._by_owner: dict[Pubkey, set[str]] = {}

    def get(self, key: str) -> Record | None:
        return self._accounts.get(key)

    def put(self, key: str, rec: Record | None) -> None:
        old = self._accounts.get(key)
        if old is not None and (rec is None or rec.lamports == 0 or old.owner != rec.owner):
            keys = self._by_owner.get(old.owner)
            if keys is not None:
                keys.discard(key)
        if rec is None or rec.lamports == 0:
            self._accounts.pop(key, None)
            return
        self._accounts[key] = rec
        self._by_owner.setdefault(rec.owner, set()).add(key)

    def keys_owned_by(self, owner: Pubkey) -> list[str]:
        return list(self._by_owner.get(owner, ()))

    def __len__(self) -> int:
        return len(self._accounts)


class Overlay:
    """Writes over a parent (AccountsDb or another Overlay); commit() pushes them down, dropping it discards."""

    __slots__ = ("parent", "changes")

    def __init__(self, parent: "AccountsDb | Overlay") -> None:
        self.parent = parent
        self.changes: dict[str, Record | None] = {}

    def get(self, key: str) -> Record | None:
        if key in self.changes:
            rec = self.changes[key]
            return rec if rec is not None and rec.lamports else None
        return self.parent.get(key)

    def put(self, key: str, rec: Record | None) -> None:
        self.changes[key] = rec if rec is not None and rec.lamports else None

    def keys_owned_by(self, owner: Pubkey) -> list[str]:
        keys = set(self.parent.keys_owned_by(owner))
        for k, rec in self.changes.items():
            if rec is not None and rec.owner == owner:
                keys.add(k)
            else:
                keys.discard(k)
        return list(keys)

    def commit(self) -> dict[str, Record | None]:
        for k, rec in self.changes.items():
            self.parent.put(k, rec)
        out, self.changes = self.changes, {}
        return out
