"""dry_run: the decision and its intent are recorded, nothing is filled or sent."""
from __future__ import annotations

from actors.execution.client import Market, Outcome
from pipelines.messages import Order, OrderState


class DryRunClient:
    mode = "dry_run"

    def prepare(self, order: Order, market: Market) -> None:
        return None

    async def execute(self, order: Order, market: Market, prepared) -> Outcome:
        return Outcome(OrderState.FAILED, order, error="dry_run")
