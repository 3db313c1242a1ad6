"""paper: fill at the quote computed from fresh on-chain state (pipelines/stages.paper_fill: fees and the
slippage model included), after the configured latency; the state it lands on is re-read after that latency."""
from __future__ import annotations

import asyncio

from actors.execution.client import Market, Outcome
from pipelines import stages
from pipelines.fills import PaperFillModel, Rejection
from pipelines.messages import Order, OrderState
from pipelines.orders import transition


class PaperClient:
    mode = "paper"

    def __init__(self, reader, fill_model: PaperFillModel, latency_s: float, clock) -> None:
        self.reader, self.fill_model, self.latency_s, self.clock = reader, fill_model, latency_s, clock

    def prepare(self, order: Order, market: Market) -> None:
        return None

    async def execute(self, order: Order, market: Market, prepared) -> Outcome:
        curve_view, pool_view = market.curve, market.pool
        if self.latency_s > 0 or market.refresh:   # the state the order lands on is the state after our send
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            if curve_view is not None:
                curve_view = await self.reader.curve(order.mint) or curve_view
            elif pool_view is not None:
                pool_view = await self.reader.pool(order.mint) or pool_view
        now = self.clock.now()
        result = stages.paper_fill(order, self.fill_model, curve_view, pool_view, now)
        submitted = transition(order, OrderState.SUBMITTED, now)
        if isinstance(result, Rejection):     # a fee > 0: the model says it would have landed and failed
            return Outcome(OrderState.FAILED, submitted, error=result.reason, sent=result.fee_lamports > 0,
                           fee_lamports=result.fee_lamports, fee_slot=result.quote_slot)
        return Outcome(OrderState.CONFIRMED, submitted, fill=result, sent=True)
