"""The orchestrator's decision queue: what to act on next, each operation O(log n), never blocking.

Order of what pop_ready hands out:
1. cancels, first in first out;
2. exits: urgent ones (rug, migration, kill) first, then in arrival order. Exits are NOT capped by
   max_concurrent_executions: a sell lowers risk and must never wait for a slot taken by entries; their
   number is bounded by the open positions anyway. At most one exit per mint is queued: a new one replaces
   the queued one if it is urgent where that was not, or sells more tokens (the safer of the two).
3. entries by priority, at most max_concurrent_executions - in_flight of them per call:

       priority = w_profit * expected_profit - w_risk * risk - w_capital * capital_cost + w_bonus * bonus
       capital_cost = capital_lamports / available capital (set_available_capital; unknown -> 0, none -> inf)
       bonus = StrategyWeights.bonus(strategy)

   computed when the opportunity is pushed (priorities of queued entries are not recomputed when capital
   or bonuses change: an entry lives 30 s at most). Equal priorities leave in arrival order.
`limit` (optional) caps the whole list per call, to bound the work of one loop tick; cancels and exits
still come first.

Dropped rather than queued or handed out: opportunities past their deadline, min(expires_at, created_at +
opportunity_ttl_s), at pop time (or at push time when `now` is given); a second opportunity for a mint
already queued (the higher priority one stays) or in flight (handed out and not yet finish()ed); invalid
ones (non-finite numbers, non-positive capital, empty mint).
"""
from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

from pipelines.config import OrchestratorConfig, ScoringConfig
from pipelines.messages import ExitSignal, Opportunity
from pipelines.strategy_weights import StrategyWeights

CANCEL, EXIT, ENTRY = "cancel", "exit", "entry"


@dataclass(frozen=True, slots=True)
class Action:
    kind: str                              # "cancel" | "exit" | "entry"
    mint: str
    priority: float = 0.0                  # entries only
    opportunity: Opportunity | None = None
    exit: ExitSignal | None = None
    order_id: str = ""                     # cancels: the order to stop
    reason: str = ""


@dataclass(slots=True)
class _Queued:
    seq: int
    opportunity: Opportunity
    priority: float
    deadline: float


class DecisionQueue:
    def __init__(self, cfg: OrchestratorConfig, scoring: ScoringConfig | None = None,
                 weights: StrategyWeights | None = None) -> None:
        self.update_config(cfg, scoring or ScoringConfig())
        self.weights = weights
        self.available: int | None = None
        self._seq = 0
        self._cancels: deque[Action] = deque()
        self._exit_heap: list[tuple[int, int, str]] = []      # (0 urgent / 1 normal, seq, mint)
        self._exits: dict[str, tuple[int, ExitSignal]] = {}    # mint -> (seq, signal) of the live entry
        self._entry_heap: list[tuple[float, int, str]] = []   # (-priority, seq, mint)
        self._entries: dict[str, _Queued] = {}
        self.in_flight: set[str] = set()
        self.dropped = {"expired": 0, "duplicate": 0, "invalid": 0}

    def update_config(self, cfg: OrchestratorConfig, scoring: ScoringConfig | None = None) -> None:
        self.cfg = cfg
        if scoring is not None:
            self.scoring = scoring

    def set_available_capital(self, lamports: int | None) -> None:
        self.available = lamports

    def __len__(self) -> int:
        return len(self._cancels) + len(self._exits) + len(self._entries)

    # ---- scoring ---------------------------------------------------------------------------------------------
    def priority(self, opp: Opportunity) -> float:
        s = self.scoring
        if self.available is None:
            capital_cost = 0.0
        elif self.available > 0:
            capital_cost = opp.capital_lamports / self.available
        else:
            capital_cost = math.inf
        bonus = self.weights.bonus(opp.strategy) if self.weights is not None else 0.0
        return s.w_profit * opp.expected_profit - s.w_risk * opp.risk - s.w_capital * capital_cost + s.w_bonus * bonus

    # ---- pushes ----------------------------------------------------------------------------------------------
    def push_opportunity(self, opp: Opportunity, now: float | None = None) -> bool:
        """Queue an entry candidate; False when it was dropped (see the module docstring)."""
        if (not opp.mint or not isinstance(opp.capital_lamports, int) or opp.capital_lamports <= 0
                or not all(map(math.isfinite, (opp.expected_profit, opp.risk, opp.created_at, opp.expires_at)))):
            self.dropped["invalid"] += 1
            return False
        deadline = min(opp.expires_at, opp.created_at + self.scoring.opportunity_ttl_s)
        if now is not None and now >= deadline:
            self.dropped["expired"] += 1
            return False
        if opp.mint in self.in_flight:
            self.dropped["duplicate"] += 1
            return False
        prio = self.priority(opp)
        if math.isnan(prio):
            self.dropped["invalid"] += 1
            return False
        queued = self._entries.get(opp.mint)
        t = opp.created_at if now is None else now
        if queued is not None and t < queued.deadline:     # an expired queued one is simply replaced
            self.dropped["duplicate"] += 1
            if prio <= queued.priority:
                return False
        self._seq += 1
        self._entries[opp.mint] = _Queued(self._seq, opp, prio, deadline)
        heapq.heappush(self._entry_heap, (-prio, self._seq, opp.mint))
        if len(self._entry_heap) > 2 * len(self._entries) + 64:
            self._entry_heap = [(-q.priority, q.seq, m) for m, q in self._entries.items()]
            heapq.heapify(self._entry_heap)
        return True

    def push_exit(self, signal: ExitSignal) -> bool:
        """Queue an exit; False when an exit at least as strong is already queued for the mint."""
        queued = self._exits.get(signal.mint)
        if queued is not None:
            old = queued[1]
            if (signal.urgent, signal.tokens) <= (old.urgent, old.tokens):
                return False
        self._seq += 1
        self._exits[signal.mint] = (self._seq, signal)
        heapq.heappush(self._exit_heap, (0 if signal.urgent else 1, self._seq, signal.mint))
        if len(self._exit_heap) > 2 * len(self._exits) + 64:
            self._exit_heap = [(0 if s.urgent else 1, q, m) for m, (q, s) in self._exits.items()]
            heapq.heapify(self._exit_heap)
        return True

    def push_cancel(self, mint: str, order_id: str = "", reason: str = "") -> None:
        """Queue a cancel of an order in flight; any queued entry for the mint is dropped as well."""
        self.discard(mint)
        self._cancels.append(Action(CANCEL, mint, order_id=order_id, reason=reason))

    def discard(self, mint: str) -> bool:
        """Forget a queued entry for `mint` (its heap slot is skipped lazily)."""
        return self._entries.pop(mint, None) is not None

    def finish(self, mint: str) -> None:
        """The entry for `mint` handed out by pop_ready is done (filled, refused or failed)."""
        self.in_flight.discard(mint)

    # ---- the loop's call -------------------------------------------------------------------------------------
    def pop_ready(self, now: float, in_flight: int, limit: int | None = None) -> list[Action]:
        """The actions to start now. `in_flight` is the executor's count of running executions (it decides
        how many entry slots are free); the queue's own in_flight set of mints only serves dedupe."""
        out: list[Action] = []
        cap = math.inf if limit is None else limit
        while self._cancels and len(out) < cap:
            out.append(self._cancels.popleft())
        heap = self._exit_heap
        while heap and len(out) < cap:
            _, seq, mint = heapq.heappop(heap)
            queued = self._exits.get(mint)
            if queued is None or queued[0] != seq:
                continue                                  # replaced or already handed out
            del self._exits[mint]
            out.append(Action(EXIT, mint, exit=queued[1], reason=queued[1].reason))
        slots = self.cfg.max_concurrent_executions - in_flight
        heap = self._entry_heap
        while slots > 0 and heap and len(out) < cap:
            _, seq, mint = heapq.heappop(heap)
            q = self._entries.get(mint)
            if q is None or q.seq != seq:
                continue
            del self._entries[mint]
            if now >= q.deadline:
                self.dropped["expired"] += 1
                continue
            if mint in self.in_flight:
                self.dropped["duplicate"] += 1
                continue
            self.in_flight.add(mint)
            out.append(Action(ENTRY, mint, priority=q.priority, opportunity=q.opportunity,
                              reason=q.opportunity.strategy))
            slots -= 1
        return out

    def purge(self, now: float) -> int:
        """Drop every expired entry now (O(n); for an idle loop when no slots free up for a while)."""
        gone = [m for m, q in self._entries.items() if now >= q.deadline]
        for m in gone:
            del self._entries[m]
        self.dropped["expired"] += len(gone)
        self._entry_heap = [(-q.priority, q.seq, m) for m, q in self._entries.items()]
        heapq.heapify(self._entry_heap)
        return len(gone)

    def stats(self) -> dict:
        return {"cancels": len(self._cancels), "exits": len(self._exits), "entries": len(self._entries),
                "in_flight": len(self.in_flight), "dropped": dict(self.dropped)}
