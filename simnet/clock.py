"""The slot ticker: one bank slot every `slot_ms / speed` milliseconds of wall time; an attached market acts
in each slot just before it closes.

Ticks are scheduled against the loop clock, not chained sleeps, so they do not drift. When the loop falls
behind (a burst of work), up to MAX_CATCH_UP missed slots are produced at once and the rest are skipped, so a
stall never turns into a flood of empty slots.
"""
from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

MAX_CATCH_UP = 4


class SlotClock:
    def __init__(self, bank, *, slot_ms: float = 400.0, speed: float = 1.0, before_advance=None) -> None:
        if slot_ms <= 0 or speed <= 0:
            raise ValueError("slot_ms and speed must be positive")
        self.bank = bank
        self.before_advance = before_advance   # e.g. market.on_slot: act in this slot, then it closes
        self.interval = slot_ms / speed / 1000.0
        self.ticks = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="simnet-slot-clock")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.interval
        while True:
            delay = next_at - loop.time()
            # Always yield, even when behind: a slot whose market work outlasts the interval must not
            # starve the RPC and WebSocket handlers sharing this loop.
            await asyncio.sleep(max(0.0, delay))
            due = int((loop.time() - next_at) / self.interval) + 1
            for _ in range(min(due, MAX_CATCH_UP)):
                try:
                    if self.before_advance is not None:
                        self.before_advance(self.bank.slot)
                    self.bank.advance_slot()
                except Exception:  # the ticker must outlive a failing listener or bank bug
                    log.exception("advance_slot failed")
                self.ticks += 1
            next_at += due * self.interval
