"""Recent account versions, kept from the bank's listener so the stale-reads fault can serve old state.

Every committed account change arrives as on_account(address, account, slot). A read "as of slot S" returns
the newest version written at or before S. versions_during(address, S) lists the state an account entered slot
S with and every state it took within S (tests check paper fills against the curve states a slot saw). The state before an address's first recorded change is known
when the transaction that changed it reports a zero pre-balance (the account did not exist); otherwise the
oldest recorded version is served (best effort: the bank reports changes after commit, not before).
"""
from __future__ import annotations

from collections import deque

_UNKNOWN = object()


class AccountHistory:
    def __init__(self, keep_slots: int = 512, max_versions: int = 64) -> None:
        self.keep_slots = keep_slots
        self.max_versions = max_versions
        self._versions: dict[str, deque] = {}       # address -> deque[(slot, Account | None)]
        self._before: dict[str, object] = {}        # address -> state before the first recorded version
        self._last_sweep = 0

    def clear(self) -> None:
        self._versions.clear()
        self._before.clear()

    # --- bank listener ---
    def on_account(self, address, account, slot: int) -> None:
        key = str(address)
        versions = self._versions.get(key)
        if versions is None:
            versions = self._versions[key] = deque(maxlen=self.max_versions)
            self._before.setdefault(key, _UNKNOWN)
        elif len(versions) == self.max_versions:
            self._before[key] = versions[0][1]      # the evicted version becomes the floor
        if account is not None and getattr(account, "lamports", 1) == 0:
            account = None                           # zero lamports: the account is gone
        versions.append((slot, account))

    def on_transaction(self, stored) -> None:
        result = stored.result
        pre = getattr(result, "pre_balances", None) or ()
        for key, lamports in zip(stored.account_keys, pre):
            key = str(key)
            if lamports == 0 and self._before.get(key) is _UNKNOWN:
                self._before[key] = None

    def on_slot(self, slot: int) -> None:
        if slot - self._last_sweep < 64:
            return
        self._last_sweep = slot
        floor = slot - self.keep_slots
        for key in [k for k, v in self._versions.items() if v[-1][0] < floor]:
            del self._versions[key]                  # unchanged for a long while: the bank's state is right
            self._before.pop(key, None)

    # --- reads ---
    def versions_during(self, address, slot: int, bank) -> list:
        """The state at the start of `slot`, then each state written during it (Account or None)."""
        key = str(address)
        versions = self._versions.get(key)
        if not versions:
            return [bank.get_account(key)]
        return [self.account_at(key, slot - 1, bank)] + [acc for at, acc in versions if at == slot]

    def account_at(self, address: str, slot: int, bank):
        versions = self._versions.get(address)
        if not versions:
            return bank.get_account(address)
        for at, account in reversed(versions):
            if at <= slot:
                return account
        before = self._before.get(address, _UNKNOWN)
        return versions[0][1] if before is _UNKNOWN else before
