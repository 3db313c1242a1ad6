"""What the Executor answers for an entry or an exit: a typed report (the dict callers see is `as_dict()`).

Statuses:
    filled      the fill is booked (ledger and position)
    rejected    not sent: refused by the fill model (paper), or the build / checks / simulation failed (live)
    refused     not attempted: no market state, nothing to sell, shutting down, an exit already in flight
    duplicate   the entry's opportunity (or this strategy's hold on the mint) was claimed before
    dry_run     recorded only
    failed      landed with an error (its fee is booked as a cost)
    expired     never landed: its blockhash is past its last valid block height
    unresolved  sent, outcome not known yet (the reconciler settles it from the chain)
    confirmed   landed, its transaction not readable yet (the reconciler books the fill when it is)
    no_position nothing to sell
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ExecStatus(str, Enum):
    FILLED = "filled"
    REJECTED = "rejected"
    REFUSED = "refused"
    DUPLICATE = "duplicate"
    DRY_RUN = "dry_run"
    FAILED = "failed"
    EXPIRED = "expired"
    UNRESOLVED = "unresolved"
    CONFIRMED = "confirmed"
    NO_POSITION = "no_position"


@dataclass(frozen=True, slots=True)
class Booked:
    """What the PositionTracker did with a fill (PositionTracker.on_fill's answer)."""
    opened: bool = False
    closed: bool = False
    duplicate: bool = False
    tokens: int = 0                 # the position's tokens after the fill
    pnl_lamports: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "Booked":
        return cls(bool(d.get("opened")), bool(d.get("closed")), bool(d.get("duplicate")),
                   int(d.get("tokens", 0)), int(d.get("pnl_lamports", 0)))


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    status: ExecStatus
    order_id: str = ""
    reason: str = ""
    signature: str = ""
    tokens: int = 0                 # the fill's tokens
    lamports: int = 0
    slot: int = 0
    booked: Booked | None = None

    def as_dict(self) -> dict:
        """The answer as it crosses Ray (RiskSupervisor.approve_and_execute, the Orchestrator, the control API):
        the keys the callers read, as before the report was typed."""
        out: dict = {"status": self.status.value}
        if self.order_id:
            out["order_id"] = self.order_id
        if self.reason:
            out["reason"] = self.reason
        if self.signature:
            out["signature"] = self.signature
        if self.status is ExecStatus.FILLED:
            out.update(tokens=self.tokens, lamports=self.lamports, slot=self.slot)
            if self.booked is not None:
                b = self.booked
                out.update(opened=b.opened, closed=b.closed, duplicate=b.duplicate, tokens=b.tokens,
                           pnl_lamports=b.pnl_lamports)
        return out
