"""HeldMints: what the PositionTracker holds, as another actor knows it without ever waiting on the tracker.

Two actors need the held mints on their hot path: each AnalyzerShard (held tokens' features go out ahead of the
per-flush cap) and the MomentumEngine (marks go to the tracker for held tokens only). They pull the list once a
second (`poll`: takes last second's answer if it came, and asks again), which needs no list of subscribers in the
tracker and heals by itself within a second after either side restarts. The tracker also pushes a mint the
moment a position opens (`add`), so its first prices are not lost to the poll's second; a pushed mint stays for
PUSH_KEPT_S even if an answer asked before the open arrives without it.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import ray

log = logging.getLogger("launchray.held_mints")
PUSH_KEPT_S = 5.0


class HeldMints:
    __slots__ = ("_ask", "_owner", "mints", "set", "known", "_ref", "_polled", "_pushed")

    def __init__(self, ask: Callable[[], object], owner: str) -> None:
        """`ask()` sends PositionTracker.held_mints and returns its ObjectRef (raises while the tracker is away)."""
        self._ask, self._owner = ask, owner
        self.mints: tuple[str, ...] = ()      # polled answer, then pushed mints not in it (order kept)
        self.set: frozenset[str] = frozenset()
        self.known = False                    # an answer came: until then the full list is not known here
        self._ref = None
        self._polled: tuple[str, ...] = ()
        self._pushed: dict[str, float] = {}   # mint -> when it was pushed

    def poll(self, now: float | None = None) -> None:
        """Take the answer to the last call if it came, and ask again; never waits. A tracker that is away
        leaves the last list in place."""
        try:
            ref = self._ref
            if ref is not None:
                if not ray.wait([ref], timeout=0)[0]:
                    return
                self._ref = None
                self._polled = tuple(m for m in ray.get(ref) if isinstance(m, str))
                self.known = True
                self._merge(time.time() if now is None else now)
            self._ref = self._ask()
        except Exception as exc:
            self._ref = None
            log.debug("%s: held mints not read (%s)", self._owner, type(exc).__name__)

    def add(self, mint: str, now: float | None = None) -> None:
        """A position in `mint` just opened (pushed by the tracker)."""
        if isinstance(mint, str) and mint:
            self._pushed[mint] = time.time() if now is None else now
            self._merge(self._pushed[mint])

    def _merge(self, now: float) -> None:
        self._pushed = {m: at for m, at in self._pushed.items() if now - at < PUSH_KEPT_S}
        polled = set(self._polled)
        self.mints = self._polled + tuple(m for m in self._pushed if m not in polled)
        self.set = frozenset(self.mints)

    def answer(self):
        """The ObjectRef of the call that is out (None when none is): tests and notebooks wait on it."""
        return self._ref
