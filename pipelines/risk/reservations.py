"""Live capital reservations, keyed by id, expiring in O(log n) through a lazily pruned heap."""
from __future__ import annotations

import heapq
from dataclasses import asdict

from pipelines.messages import Reservation


class ReservationTable:
    """Reservations that still hold capital. Each one leaves exactly once: filled, released or expired."""

    __slots__ = ("_live", "_by_mint", "_heap", "total")

    def __init__(self) -> None:
        self._live: dict[str, Reservation] = {}
        self._by_mint: dict[str, str] = {}
        self._heap: list[tuple[float, str]] = []   # (expires_at, id); stale entries skipped on pop
        self.total = 0                              # lamports held by live reservations

    def __len__(self) -> int:
        return len(self._live)

    def __iter__(self):
        return iter(self._live.values())

    def get(self, reservation_id: str) -> Reservation | None:
        return self._live.get(reservation_id)

    def holds_mint(self, mint: str) -> bool:
        return mint in self._by_mint

    def add(self, r: Reservation) -> None:
        self._live[r.id] = r
        self._by_mint[r.mint] = r.id
        self.total += r.lamports
        heapq.heappush(self._heap, (r.expires_at, r.id))
        if len(self._heap) > 4 * len(self._live) + 64:   # keep the heap from filling with released ids
            self._heap = [(r2.expires_at, r2.id) for r2 in self._live.values()]
            heapq.heapify(self._heap)

    def pop(self, reservation_id: str) -> Reservation | None:
        """Remove and return a live reservation; None when it already left (idempotent)."""
        r = self._live.pop(reservation_id, None)
        if r is not None:
            self.total -= r.lamports
            if self._by_mint.get(r.mint) == r.id:
                del self._by_mint[r.mint]
        return r

    def expire(self, now: float) -> list[Reservation]:
        """Remove and return every reservation with expires_at <= now (the TTL is a deadline)."""
        out: list[Reservation] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, rid = heapq.heappop(heap)
            r = self._live.get(rid)
            if r is not None and r.expires_at <= now:
                out.append(self.pop(rid))
        return out

    def next_expiry(self) -> float:
        """The earliest expires_at in the heap (possibly of a reservation already gone); inf when empty."""
        return self._heap[0][0] if self._heap else float("inf")

    def snapshot(self) -> list[dict]:
        return self.rows(self._live.values())

    @staticmethod
    def rows(reservations) -> list[dict]:
        return [asdict(r) for r in reservations]

    @classmethod
    def restore(cls, rows: list[dict]) -> "ReservationTable":
        t = cls()
        for row in rows:
            t.add(Reservation(**row))
        return t
