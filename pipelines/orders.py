"""The order state machine, deterministic order ids, and start-up reconciliation with the chain.

    intent ──> submitted ──> confirmed | failed | expired | unresolved
       │                                                    │
       └──> failed (simulation failed / never sent)          └──> confirmed | failed | expired

Rules that make "never buys twice" hold:
- An order id is derived from what the order is for (`entry_order_id`, `exit_order_id`), so a retry after a
  crash produces the same id and the ledger refuses a second order under it.
- The intent is recorded before anything is sent. A live order is recorded as SUBMITTED with its signature and
  last_valid_block_height *before* the transaction goes on the wire (the signature is known once signed), so
  every transaction that may have been sent has a signature in the ledger to reconcile with.
- Once set, an order's signature never changes (a re-signed transaction is a new order).
- Terminal states (confirmed, failed, expired) never change.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from .messages import Order, OrderState, stable_id

S = OrderState

ALLOWED: dict[OrderState, frozenset[OrderState]] = {
    S.INTENT: frozenset({S.SUBMITTED, S.FAILED}),
    S.SUBMITTED: frozenset({S.CONFIRMED, S.FAILED, S.EXPIRED, S.UNRESOLVED}),
    S.UNRESOLVED: frozenset({S.CONFIRMED, S.FAILED, S.EXPIRED}),
    S.CONFIRMED: frozenset(),
    S.FAILED: frozenset(),
    S.EXPIRED: frozenset(),
}

# What an order is *for* never changes after the intent; only these may be filled in as it progresses.
MUTABLE_FIELDS = frozenset({"state", "updated_at", "signature", "error", "last_valid_block_height", "trace_id"})
IDENTITY_FIELDS = tuple(f for f in Order.__dataclass_fields__ if f not in MUTABLE_FIELDS)

# Errors recorded by reconciliation (stable strings: dashboards and tests match on them).
NEVER_SENT = "never_sent"
PAPER_INTERRUPTED = "paper_interrupted"


class IllegalTransition(ValueError):
    """A state change (or field change) the order state machine does not allow."""


def can_transition(old: OrderState, new: OrderState) -> bool:
    return new in ALLOWED[old]


def check_identity(old: Order, new: Order) -> None:
    """Raise IllegalTransition if `new` is a different order than `old` (not just a later state of it)."""
    if old.id != new.id:
        raise IllegalTransition(f"order id changed: {old.id} -> {new.id}")
    for name in IDENTITY_FIELDS:
        if getattr(old, name) != getattr(new, name):
            raise IllegalTransition(f"order {old.id}: {name} cannot change after the intent "
                                    f"({getattr(old, name)!r} -> {getattr(new, name)!r})")


def validate_update(old: Order, new: Order) -> None:
    """Raise IllegalTransition unless `new` is a legal successor of `old` (same state = field update)."""
    check_identity(old, new)
    if old.signature and new.signature != old.signature:
        raise IllegalTransition(f"order {old.id}: signature cannot change once recorded")
    if old.last_valid_block_height and new.last_valid_block_height != old.last_valid_block_height:
        raise IllegalTransition(f"order {old.id}: last_valid_block_height cannot change once recorded")
    if old.state != new.state and not can_transition(old.state, new.state):
        raise IllegalTransition(f"order {old.id}: {old.state.value} -> {new.state.value} is not allowed")
    if old.state == new.state and old.state.terminal and old != new:
        raise IllegalTransition(f"order {old.id}: {old.state.value} is terminal and cannot change")
    if new.mode == "live" and new.state in (S.SUBMITTED, S.UNRESOLVED, S.CONFIRMED) and not new.signature:
        # Without a signature a sent live order could never be reconciled: refuse to record one.
        raise IllegalTransition(f"order {old.id}: a live order needs its signature to be {new.state.value}")


def transition(order: Order, new_state: OrderState, now: float, **changes) -> Order:
    """The order in `new_state` at `now` with `changes` (signature, error, last_valid_block_height, trace_id)."""
    bad = set(changes) - (MUTABLE_FIELDS - {"state", "updated_at"})
    if bad:
        raise IllegalTransition(f"order {order.id}: cannot change {', '.join(sorted(bad))}")
    new = replace(order, state=OrderState(new_state), updated_at=now, **changes)
    if new.state == order.state:
        raise IllegalTransition(f"order {order.id}: already {order.state.value}")
    validate_update(order, new)
    return new


def entry_order_id(opportunity_id: str) -> str:
    """One entry per opportunity: a restarted executor recomputes the same id and finds it in the ledger."""
    return stable_id("entry", opportunity_id)


def exit_order_id(mint: str, position_opened_at: float, reason: str, step: int, attempt: int = 0) -> str:
    """One exit order per (position, reason, ladder step, attempt).

    `attempt` is bumped only after the previous attempt reached failed/expired, so a crash-and-retry of the
    same attempt reuses its id (and the ledger refuses the duplicate) while a deliberate retry gets a new one.
    """
    return stable_id("exit", mint, repr(float(position_opened_at)), reason, int(step), int(attempt))


# ---------------------------------------------------------------------------------------------- reconciliation

class ChainView(Protocol):
    def signature_status(self, sig: str) -> tuple[int, object, str] | None:
        """(slot, err or None, confirmation_status) if the cluster knows the signature, else None."""

    def block_height(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StaticChainView:
    """A ChainView over statuses fetched in one batch (getSignatureStatuses + getBlockHeight).

    The actor does the I/O once for every open order, then every decision below is pure.
    """
    statuses: dict[str, tuple[int, object, str]] = field(default_factory=dict)
    height: int = 0

    def signature_status(self, sig: str) -> tuple[int, object, str] | None:
        return self.statuses.get(sig)

    def block_height(self) -> int:
        return self.height


LANDED = ("confirmed", "finalized")  # "processed" can still be dropped on a fork: wait for more


def reconcile_steps(order: Order, chain: ChainView, now: float) -> list[Order]:
    """The transitions that bring an open order in line with the chain (empty if nothing changes).

    - intent without signature: never sent -> failed("never_sent"). It is NOT re-queued: after a restart
      the opportunity is stale, and entry ids are per opportunity, so a failed entry is never bought again.
    - intent with a signature (signed, crash before SUBMITTED was written): may have been sent, so it goes
      through submitted and is then resolved like one.
    - a submitted/unresolved paper or dry-run order has no chain to ask: its fill is written together with
      `confirmed` in one batch, so an open one never filled -> failed("paper_interrupted").
    - submitted/unresolved with a signature: confirmed if the chain has it (confirmed/finalized) without
      error; failed(err) if it landed with an error; expired if not found and the block height is past
      last_valid_block_height; otherwise unresolved (retry reconciliation later).
    """
    if order.state.terminal:
        return []
    if order.state == S.INTENT and not order.signature:
        return [transition(order, S.FAILED, now, error=NEVER_SENT)]
    if order.mode != "live":
        return [transition(order, S.FAILED, now, error=PAPER_INTERRUPTED)]
    steps: list[Order] = []
    if order.state == S.INTENT:
        order = transition(order, S.SUBMITTED, now)
        steps.append(order)
    status = chain.signature_status(order.signature)
    if status is not None:
        _slot, err, confirmation = status
        if err is not None:
            steps.append(transition(order, S.FAILED, now, error=_err_text(err)))
            return steps
        if confirmation in LANDED:
            steps.append(transition(order, S.CONFIRMED, now))
            return steps
    elif order.last_valid_block_height and chain.block_height() > order.last_valid_block_height:
        steps.append(transition(order, S.EXPIRED, now, error="blockhash_expired"))
        return steps
    if order.state == S.SUBMITTED:
        steps.append(transition(order, S.UNRESOLVED, now))
    return steps


def reconcile(order: Order, chain: ChainView, now: float) -> Order:
    """The order after reconciliation (record `reconcile_steps` instead to keep every step in the history)."""
    steps = reconcile_steps(order, chain, now)
    return steps[-1] if steps else order


def _err_text(err: object) -> str:
    text = err if isinstance(err, str) else repr(err)
    return text[:500]
