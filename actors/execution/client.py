"""The protocol between the Executor (the host: plans, writes intents, books) and an execution client.

    prepare(order, market)           work that sends nothing (live: build and sign), started beside the intent
                                     write; None when the client has none
    execute(order, market, prepared) after the intent is durable: the order's outcome (Outcome)

A client records what only it knows before it happens (live: SUBMITTED with the signature before the send);
the host records every outcome it is handed and books fills. A client never raises for a failure of the order
itself: it answers FAILED (with `sent` saying whether anything left the process) so no order stays an intent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.messages import Fill, Order, OrderState


@dataclass(frozen=True, slots=True)
class Market:
    """The state an order was planned on: the curve (or the pool, after migration)."""
    curve: Any = None
    pool: Any = None
    refresh: bool = False           # paper: re-read it before filling (a sniper planned on its create event)


@dataclass(frozen=True, slots=True)
class Outcome:
    state: OrderState               # CONFIRMED | FAILED | EXPIRED | UNRESOLVED
    order: Order                    # the order as last recorded (intent, or submitted with its signature)
    fill: Fill | None = None        # CONFIRMED: the fill (None: landed, its transaction not readable yet)
    error: str = ""
    sent: bool = False              # False: nothing left the process (a FAILED order that was never sent)
    fee_lamports: int = 0           # FAILED after landing: the fee paid all the same
    fee_slot: int = 0


class ExecutionClient(Protocol):
    mode: str

    def prepare(self, order: Order, market: Market): ...

    async def execute(self, order: Order, market: Market, prepared) -> Outcome: ...


class Remote:
    """An actor handle called like a local async object: `await Remote(h).m(args)` is `await h.m.remote(args)`.
    The live client talks to the RpcPool and the Ledger through this, and to an RpcClient / store in tests."""

    __slots__ = ("_handle",)

    def __init__(self, handle) -> None:
        self._handle = handle

    def __getattr__(self, name: str):
        method = getattr(self._handle, name)
        return lambda *args, **kwargs: method.remote(*args, **kwargs)


def discard(task) -> None:
    """Drop a transaction built for an order that will not be sent (its exception, if any, retrieved)."""
    if task is None:
        return
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.cancel()
