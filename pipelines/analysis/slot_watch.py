"""SlotWatch: the newest slot a shard has seen, when (on the shard's clock), and how fast slots come.

What it is for: telling a launch learned late (the backfill of a gap after a reconnect or a restart) from one seen
live. A launch more than `tolerance` slots behind the newest slot is late. Live, the newest slot comes from the
events themselves (notifications of other programs run a few slots ahead at most). After a restart the shard has
seen nothing yet, and the gap's backfill may come before any live event: `resume(now)` moves the newest slot to
where the chain must be by now, from the snapshot's newest slot, its time and the slot rate learned before the
restart (DEFAULT_SLOTS_PER_S, slower than mainnet's ~2.5, until one was learned: an estimate too low only leaves
some late launches unflagged, one too high would flag live ones).
"""
from __future__ import annotations

import math

MAX_SLOT = 1 << 62
MAX_SLOT_JUMP = 1_000_000      # the newest slot never jumps further at once (a hostile slot would make every
                               # later launch "late")
DEFAULT_SLOTS_PER_S = 2.0
MIN_RATE_SPAN_S = 30.0         # a slot rate is learned over at least this long
MAX_SLOTS_PER_S = 20.0         # sanity bound on a learned rate (mainnet ~2.5; simnet 10 at 100 ms slots)


class SlotWatch:
    __slots__ = ("newest", "at", "first", "first_at")

    def __init__(self) -> None:
        self.newest = 0          # the newest slot seen (or estimated after a restart)
        self.at = 0.0            # when it was seen
        self.first = 0           # the first slot this watch saw live, and when: the rate's base
        self.first_at = 0.0

    def see(self, slot, now: float) -> None:
        """An event of `slot` handled at `now` (hostile slots and absurd jumps are ignored)."""
        if type(slot) is not int or not self.newest < slot < MAX_SLOT:
            return
        if self.newest and slot - self.newest > MAX_SLOT_JUMP:
            return
        self.newest, self.at = slot, now
        if not self.first:
            self.first, self.first_at = slot, now

    def late(self, slot: int, tolerance: int) -> bool:
        return slot + tolerance < self.newest

    def rate(self) -> float:
        span = self.at - self.first_at
        if self.first and span >= MIN_RATE_SPAN_S:
            r = (self.newest - self.first) / span
            if 0 < r <= MAX_SLOTS_PER_S:
                return r
        return DEFAULT_SLOTS_PER_S

    def resume(self, now: float) -> None:
        """After a restore, at the first batch: where the chain must be by `now` (the gap's launches are late)."""
        if not self.newest or not math.isfinite(now) or now <= self.at:
            return
        ahead = min(MAX_SLOT_JUMP, int((now - self.at) * self.rate()))
        self.newest, self.at = self.newest + ahead, now
        self.first, self.first_at = self.newest, now        # the rate is learned again from here

    def snapshot(self) -> dict:
        return {"max_slot": self.newest, "max_slot_at": self.at, "slots_per_s": self.rate()}

    def restore(self, snap: dict) -> None:
        """From a shard snapshot (keys of `snapshot`; missing or odd values leave it as it is)."""
        slot, at, rate = snap.get("max_slot"), snap.get("max_slot_at"), snap.get("slots_per_s")
        if type(slot) is not int or not 0 <= slot < MAX_SLOT or slot <= self.newest:
            return
        at = float(at) if isinstance(at, (int, float)) and math.isfinite(at) else 0.0
        self.newest, self.at = slot, at
        if isinstance(rate, (int, float)) and 0 < rate <= MAX_SLOTS_PER_S and at:
            # a base that gives the learned rate until live data replaces it
            self.first, self.first_at = slot - int(rate * MIN_RATE_SPAN_S), at - MIN_RATE_SPAN_S
        else:
            self.first, self.first_at = slot, at
