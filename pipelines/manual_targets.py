"""Manual targeting: an operator analyzes a token, then executes the trade the analysis proposed.

The book here decides what may happen to such a trade; the ControlPlane does the actor calls. A trade's id is
`stable_id(mint, "manual", slot)` of the features it was analyzed on, which is also the id of the Opportunity it
becomes, so analyzing the same token twice at the same slot gives the same trade, and the Executor's
deterministic order id (one entry order per opportunity) makes a second buy of one trade impossible.

Lifecycle:  pending --execute--> submitted --(orchestrator / executor result)--> filled | rejected | refused |
            failed;  pending --(ttl)--> expired;  pending --execute on an unsafe verdict--> (409, stays pending)
Risk approval is not decided here: an executed trade goes through the Orchestrator and RiskSupervisor like
every other entry, so a manual trade obeys every limit and breaker.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

from pipelines.messages import Opportunity, TokenFeatures, stable_id

STRATEGY = "manual"
MAX_KEPT = 1000
# A submitted trade whose outcome nobody reported this long after its opportunity expired was dropped
# (expired in the queue, or the orchestrator restarted): it is reported as expired.
RESULT_GRACE_S = 30.0


class TradeNotFound(KeyError):
    pass


class TradeConflict(ValueError):
    """The trade cannot be executed now; `code` is "executed", "expired" or "unsafe"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ManualTrade:
    id: str
    mint: str
    venue: str
    slot: int
    score: float
    rug_probability: float
    price: float
    capital_lamports: int
    safe: bool
    reasons: tuple[str, ...]
    analyzed_at: float
    expires_at: float                # an analysis older than this may not be executed
    state: str = "pending"           # pending | submitted | refused (the orchestrator would not queue it)
    executed_at: float = 0.0
    opportunity_expires_at: float = 0.0
    detail: str = ""


def trade_id(mint: str, slot: int) -> str:
    return stable_id(mint, STRATEGY, slot)


def trade_from(features: TokenFeatures, score: float, capital_lamports: int, now: float,
               ttl_s: float) -> ManualTrade:
    f = features
    return ManualTrade(id=trade_id(f.mint, f.slot), mint=f.mint, venue=f.venue or "pumpfun", slot=f.slot,
                       score=float(score), rug_probability=float(f.rug_probability), price=float(f.price),
                       capital_lamports=int(capital_lamports), safe=bool(f.safety.safe),
                       reasons=tuple(f.safety.reasons), analyzed_at=now, expires_at=now + ttl_s)


class ManualTrades:
    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        self._trades: OrderedDict[str, ManualTrade] = OrderedDict()
        self.max_kept = max_kept

    def __len__(self) -> int:
        return len(self._trades)

    def add(self, trade: ManualTrade) -> ManualTrade:
        """Keep an analysis; the same id analyzed again keeps the first one unless it was still pending."""
        old = self._trades.get(trade.id)
        if old is not None and old.state != "pending":
            return old
        self._trades[trade.id] = trade
        self._trades.move_to_end(trade.id)
        while len(self._trades) > self.max_kept:
            self._trades.popitem(last=False)
        return trade

    def get(self, trade_id: str) -> ManualTrade:
        t = self._trades.get(trade_id)
        if t is None:
            raise TradeNotFound(trade_id)
        return t

    def begin_execute(self, trade_id: str, now: float, opportunity_ttl_s: float) -> Opportunity:
        """The Opportunity to send for a pending, fresh, safe trade; raises TradeNotFound / TradeConflict."""
        t = self.get(trade_id)
        if t.state != "pending":
            raise TradeConflict("executed", f"trade {trade_id} was already executed ({t.state})")
        if now >= t.expires_at:
            raise TradeConflict("expired", f"trade {trade_id} expired at {t.expires_at:.3f}; analyze the token again")
        if not t.safe:
            raise TradeConflict("unsafe", f"token {t.mint} failed the safety checks: {', '.join(t.reasons)}")
        return Opportunity(id=t.id, mint=t.mint, strategy=STRATEGY, score=t.score, expected_profit=0.0,
                           risk=min(1.0, max(0.0, t.rug_probability)), capital_lamports=t.capital_lamports,
                           created_at=now, expires_at=now + opportunity_ttl_s, venue=t.venue, price=t.price,
                           reason="manual:operator")

    def submitted(self, trade_id: str, opp: Opportunity) -> ManualTrade:
        t = replace(self.get(trade_id), state="submitted", executed_at=opp.created_at,
                    opportunity_expires_at=opp.expires_at)
        self._trades[trade_id] = t
        return t

    def refused(self, trade_id: str, now: float, why: str) -> ManualTrade:
        t = replace(self.get(trade_id), state="refused", executed_at=now, detail=why)
        self._trades[trade_id] = t
        return t

    def pending(self, now: float) -> list[ManualTrade]:
        """Trades that may still be executed, oldest first."""
        return [t for t in self._trades.values() if t.state == "pending" and now < t.expires_at]

    def all(self) -> list[ManualTrade]:
        return list(self._trades.values())


def outcome(trade: ManualTrade, result: dict | None, order_state: str | None, now: float) -> tuple[str, str]:
    """(state, detail) of a trade, from the orchestrator's result for its opportunity and its entry order.

    result: what Orchestrator.result(id) returned ({"status": "filled" | "rejected" | "refused" | "failed" |
    "duplicate" | ..., "reason": ...}) or None; order_state: the ledger state of its entry order or None.
    """
    if trade.state == "pending":
        return ("expired", "analysis expired") if now >= trade.expires_at else ("pending", "")
    if trade.state == "refused":
        return "refused", trade.detail
    if result:
        status = str(result.get("status", ""))
        reason = str(result.get("reason", "") or result.get("error", ""))
        if status == "filled":
            return "filled", result.get("order_id", "")
        if status == "rejected":
            return "rejected", reason
        if status:
            return status, reason
    if order_state is not None:
        if order_state == "confirmed":
            return "filled", ""
        if order_state in ("failed", "expired"):
            return "failed", order_state
        return "executing", order_state
    if now >= trade.opportunity_expires_at + RESULT_GRACE_S:
        return "expired", "no result before the opportunity expired"
    return "submitted", ""
