"""Ingest decisions: dedupe by signature, gap tracking across reconnects, what to backfill.

The Ingest actor sees each transaction possibly several times (one logsSubscribe per program, so a tx touching
two watched programs arrives twice; a backfill after a reconnect overlaps what was already seen). Everything
here is pure so the same rules hold in tests, live and replay.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


class SignatureDedupe:
    """Remembers the last `capacity` signatures; `first_time(sig)` is True exactly once per signature."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, signature: str) -> bool:
        if signature in self._seen:
            return False
        self._seen[signature] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def forget(self, signature: str) -> None:
        """Take a signature back whose events never reached their consumers, so a retry takes it again."""
        self._seen.pop(signature, None)

    def __contains__(self, signature: str) -> bool:
        return signature in self._seen

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(slots=True)
class ProgramCursor:
    """What Ingest has seen for one subscribed program: the newest signature and slot."""
    program: str
    last_signature: str = ""
    last_slot: int = 0
    connected: bool = False
    disconnects: int = 0
    backfilled: int = 0


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    """getSignaturesForAddress(program, until=last_signature) pages newest-first, then oldest-first replay."""
    program: str
    until: str
    min_slot: int
    page_limit: int = 1000


@dataclass(slots=True)
class GapTracker:
    cursors: dict[str, ProgramCursor] = field(default_factory=dict)

    def cursor(self, program: str) -> ProgramCursor:
        c = self.cursors.get(program)
        if c is None:
            c = self.cursors[program] = ProgramCursor(program)
        return c

    def seen(self, program: str, signature: str, slot: int) -> None:
        c = self.cursor(program)
        if slot >= c.last_slot:
            c.last_slot, c.last_signature = slot, signature

    def disconnected(self, program: str) -> None:
        c = self.cursor(program)
        if c.connected:
            c.disconnects += 1
        c.connected = False

    def suspected(self, program: str) -> BackfillPlan | None:
        """The stream skipped a message it could not read: what it carried (a transaction of this program, perhaps)
        is read back from the chain after the cursor as it stands. None before the first sighting: no anchor."""
        c = self.cursor(program)
        if not c.last_signature:
            return None
        return BackfillPlan(program=program, until=c.last_signature, min_slot=c.last_slot)

    def reconnected(self, program: str) -> BackfillPlan | None:
        """After (re)subscribing: a plan to fetch what was missed, or None on the first connect."""
        c = self.cursor(program)
        c.connected = True
        if not c.last_signature:
            return None
        return BackfillPlan(program=program, until=c.last_signature, min_slot=c.last_slot)


def backfill_order(pages: list[list[dict]], plan: BackfillPlan) -> list[dict]:
    """Flatten newest-first getSignaturesForAddress pages into oldest-first entries after the gap start,
    skipping failed transactions (they carry no events) and anything at or before the plan's cursor slot
    that is the cursor signature itself."""
    out: list[dict] = []
    for page in pages:
        for entry in page:
            if not isinstance(entry, dict) or not isinstance(entry.get("signature"), str):
                continue          # the stream checks pages first (stream_input.signature_entries); never trust
            if entry.get("signature") == plan.until:
                break
            if entry.get("err") is not None:
                continue
            out.append(entry)
    out.reverse()
    return out
