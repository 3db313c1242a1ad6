"""The transaction faults' state: sends held back to land later (land_delay_slots) and the wall time each slot
opened, from which getTransaction knows when a transaction was confirmed (null_transaction_after_confirm_s).

Both are bank listeners (on_slot runs on simnet's loop, after the slot opened). A held transaction is executed
exactly as sendTransaction with skipPreflight would have: the bank decides whether it can still land (its
blockhash expires 150 blocks after it was fetched), and a landed one is notified and served like any other.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections import OrderedDict
from typing import Any, Callable

log = logging.getLogger(__name__)

MAX_HELD = 10_000          # transactions waiting to land; beyond this the oldest is dropped (a full mempool)
KEEP_SLOT_TIMES = 20_000   # ~2 h of slots at 400 ms


class HeldTransactions:
    def __init__(self, bank: Any) -> None:
        self.bank = bank
        self._heap: list[tuple[int, int, str, Any]] = []
        self._held: set[str] = set()
        self._order = itertools.count()
        self.landed = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._heap)

    def hold(self, signature: str, tx: Any, land_at_slot: int) -> bool:
        """Keep tx until land_at_slot; False when it is already waiting (a rebroadcast changes nothing)."""
        if signature in self._held:
            return False
        if len(self._heap) >= MAX_HELD:
            _, _, dropped, _ = heapq.heappop(self._heap)
            self._held.discard(dropped)
        heapq.heappush(self._heap, (land_at_slot, next(self._order), signature, tx))
        self._held.add(signature)
        return True

    def on_slot(self, slot: int) -> None:
        while self._heap and self._heap[0][0] <= slot:
            _, _, signature, tx = heapq.heappop(self._heap)
            self._held.discard(signature)
            result = self.bank.process_transaction(tx, sig_verify=True)
            if result.landed:
                self.landed += 1
            else:
                self.expired += 1
                log.debug("held transaction %s did not land: %s", signature, result.err)


class SlotTimes:
    """Wall-clock time each slot opened (time.time by default, injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._times: OrderedDict[int, float] = OrderedDict()

    def on_slot(self, slot: int) -> None:
        self._times[slot] = self.clock()
        if len(self._times) > KEEP_SLOT_TIMES:
            self._times.popitem(last=False)

    def opened_at(self, slot: int) -> float | None:
        return self._times.get(slot)
