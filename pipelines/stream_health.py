"""Is the log stream live, stale or disconnected? Decided from slots, never from the wall clock.

Silence alone proves nothing: with no activity on the watched programs the chain advances and nothing arrives.
So a stream is *stale* only when the chain HAS something the stream has not delivered: the Ingest actor probes,
every few seconds, the chain's slot (getSlot) and each watched program's newest signature (getSignaturesForAddress
limit 1), and a program is stale when
  - a transaction of it that the chain reported at a probe is still not delivered `grace_slots` later (the
    notification had time to arrive: the subscription's commitment depth plus a margin), and
  - the stream has delivered nothing for that program for `stale_after_slots` slots (since it last delivered,
    or since this connection began: what happened before it is the backfill's job).
Evidence is the OLDEST undelivered activity seen since the connection began, kept across probes: on a busy chain
the newest signature is always seconds old, but the one seen at the previous probe ages.

A stale program stays stale until the stream delivers something newer for it, or a probe shows the chain has
nothing for it the stream has not delivered (a reconnect alone does not make it live: the first probes of a new
connection prove nothing either way). Staleness asks for a
reconnect once per connection: a provider that silently stopped sending on an open socket gets a new one, and,
if that one is as silent, another `stale_after_slots` later.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

COMMITMENT_DEPTH = {"processed": 0, "confirmed": 1, "finalized": 32}
DELIVERY_MARGIN_SLOTS = 16      # ~6 s at 400 ms slots: a notification later than this is not on its way


class StreamState(str, Enum):
    LIVE = "live"
    STALE = "stale"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class StreamHealth:
    state: StreamState
    slots_behind: int               # chain slot - newest delivered slot (of the stale programs when stale);
                                    # nothing delivered yet: since the first probe. Large in a quiet market too:
                                    # `state` is the verdict, this is how far the stream's news is from the tip
    last_notification_slot: int     # newest slot the stream delivered, any program (0: none yet)
    chain_slot: int                 # the chain's slot at the last probe (0: not probed yet)
    reconnect: bool = False         # the stream should be given a new connection now

    def as_status(self) -> dict:
        return {"state": self.state.value, "slots_behind": self.slots_behind,
                "last_notification_slot": self.last_notification_slot, "chain_slot": self.chain_slot}


def grace_for(commitment: str) -> int:
    return COMMITMENT_DEPTH.get(commitment, 32) + DELIVERY_MARGIN_SLOTS


@dataclass(slots=True)
class StaleWatch:
    stale_after_slots: int
    grace_slots: int = grace_for("confirmed")
    connection: int = -1                                   # the stream's connection count at the last probe
    baseline: int = 0                                      # chain slot at the first probe of this connection
    chain_slot: int = 0
    missed: dict[str, int] = field(default_factory=dict)   # program -> oldest undelivered activity slot seen
    stale: dict[str, int] = field(default_factory=dict)    # program -> its delivered slot when it went stale
    reconnect_asked: int = -1                              # the connection a reconnect was last asked for

    def observe(self, *, connected: bool, connection: int, delivered: Mapping[str, int],
                chain_slot: int | None, activity: Mapping[str, int | None]) -> StreamHealth:
        """One probe. `delivered`: program -> newest slot the stream delivered for it; `chain_slot`: getSlot
        (None: the probe failed); `activity`: program -> slot of the chain's newest signature for it (None: none
        or not read)."""
        if chain_slot is not None and chain_slot > self.chain_slot:
            self.chain_slot = chain_slot
        chain = self.chain_slot
        if connection != self.connection:     # a new connection: silence and evidence count from here
            self.connection, self.baseline = connection, chain
            self.missed.clear()
        last = max(delivered.values(), default=0)
        silent = max(0, chain - (last or self.baseline)) if chain else 0
        if not connected:
            return StreamHealth(StreamState.DISCONNECTED, silent, last, chain)
        if chain_slot is not None:
            self._weigh(delivered, activity, chain)
        reconnect = False
        for program in list(self.missed):
            seen = delivered.get(program, 0)
            oldest = self.missed[program]
            if (program not in self.stale and chain - oldest >= self.grace_slots
                    and chain - max(seen, self.baseline) >= self.stale_after_slots):
                self.stale[program] = seen
                reconnect = True
        if self.stale and chain - self.baseline >= max(self.stale_after_slots, self.grace_slots):
            reconnect = True                  # stale for a whole connection (long enough to have come clean)
        if reconnect and self.reconnect_asked != self.connection:
            self.reconnect_asked = self.connection
        else:
            reconnect = False
        if not self.stale:
            return StreamHealth(StreamState.LIVE, silent, last, chain)
        behind = max(chain - (delivered.get(p, 0) or self.baseline) for p in self.stale)
        return StreamHealth(StreamState.STALE, max(silent, behind), last, chain, reconnect)

    def _weigh(self, delivered: Mapping[str, int], activity: Mapping[str, int | None], chain: int) -> None:
        for program, newest in activity.items():
            seen = delivered.get(program, 0)
            floor = max(seen, self.baseline)
            # a stale program is live again once it delivers, or once the chain shows nothing it missed: nothing
            # newer than its last delivery, or nothing since this connection began, `grace` slots into it
            clean = newest is None or newest <= seen or (
                newest <= self.baseline and chain - self.baseline >= self.grace_slots)
            if program in self.stale and (seen > self.stale[program] or clean):
                del self.stale[program]
            oldest = self.missed.get(program)
            if oldest is not None and oldest <= seen:
                del self.missed[program]      # what was missing has arrived
                oldest = None
            if newest is not None and newest > floor and oldest is None:
                self.missed[program] = newest
