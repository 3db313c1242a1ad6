"""The ControlPlane's alert feed: about once a second, read what changed (new ledger fills, closed positions, the
risk book's breakers, Ingest's connection; the day's stats at the UTC day change), let pipelines/alert_feed
decide which alerts that owes, and hand them to the AlertSender (which rate-limits, coalesces and delivers).
Alerts decided elsewhere (error levels, unhandled exceptions, errors, low balance: the Supervisor's health watch)
arrive through `post` and take the same gate.

Runs as its own task on the ControlPlane's loop: it never holds up an API request, and a failed read or a
failed delivery is counted and logged, never raised.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass, replace

from actors import names
from actors.alerts import AlertSender
from pipelines.alerting import Alert
from pipelines.alert_feed import FeedPolicy, FeedState, Snapshot, feed, summary_due, summary_stats
from pipelines.config import Config

log = logging.getLogger("launchray.control.alerts")

POLL_S = 1.0
CLOSED_LOOKBACK_S = 30.0   # closed positions are re-read this far back (the feed de-duplicates them)
READ_TIMEOUT_S = 3.0


def alerts_configured(cfg: Config) -> bool:
    a = cfg.alerts
    return bool((a.telegram_bot_token and a.telegram_chat_id) or a.webhook_url)


class AlertFeedLoop:
    """`call(actor, method, *args, timeout=...)` is the ControlPlane's actor call (raises on failure)."""

    def __init__(self, cfg: Config, call: Callable[..., Awaitable], *, poll_s: float = POLL_S,
                 disconnect_after_s: float | None = None):
        self.cfg = cfg
        self._call = call
        self.poll_s = poll_s
        self.policy = FeedPolicy(cfg.execution.mode, disconnect_after_s or cfg.alerts.ws_disconnect_after_s,
                                 cfg.risk.daily_loss_limit)
        self.sender = AlertSender(cfg.alerts)
        self.state = FeedState()
        self.cursor = 0             # ledger fills rowid: the last one alerted
        self.started_at = time.time()
        self.polls = 0
        self.errors: dict[str, int] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.sender.start()
        self._task = asyncio.get_event_loop().create_task(self._loop(), name="alert-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.sender.close()

    def status(self) -> dict:
        return {"channels": list(self.sender.channels), "polls": self.polls, "errors": dict(self.errors),
                "alerts": dict(self.state.counts), "delivered": self.sender.delivered,
                "failed": self.sender.failed, "overflow": self.sender.overflow}

    def post(self, alerts: list) -> int:
        """Alerts decided outside this feed (the Supervisor's health watch) through the same gate and sender."""
        n = 0
        for a in alerts:
            if isinstance(a, Alert):
                self.sender.post(a)
                self.state = replace(self.state, counts={**self.state.counts,
                                                         a.kind.value: self.state.counts.get(a.kind.value, 0) + 1})
                n += 1
        return n

    def _error(self, what: str, exc: BaseException) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1
        log.debug("alert feed: %s failed: %s", what, type(exc).__name__)

    async def _read(self, what: str, actor: str, method: str, *args):
        try:
            return await self._call(actor, method, *args, timeout=READ_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a read that fails concludes nothing this poll
            self._error(what, exc)
            return None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.poll_once(time.time())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                self._error("poll", exc)

    async def poll_once(self, now: float) -> list:
        # Only fills and closes from this ControlPlane's start on: history is never re-alerted (a restarted one
        # misses what happened while it was down; a replay's recorded times are all before it, so none alert).
        since = self.started_at
        closed_from = max(self.started_at, now - CLOSED_LOOKBACK_S)
        fills, closed, risk, ingest = await asyncio.gather(
            self._read("fills", names.LEDGER, "fills_after", self.cursor, since),
            self._read("closed", names.LEDGER, "closed_since", closed_from),
            self._read("risk", names.RISK, "status"),
            self._read("ingest", names.INGEST, "status"))
        if fills:
            self.cursor = fills[-1][0]
        summary = None
        day = summary_due(self.state, now)
        if day is not None:
            daily = await self._read("daily", names.LEDGER, "daily_pnl", day)
            if daily is not None:
                summary = summary_stats(asdict(daily) if is_dataclass(daily) else dict(daily), risk)
        snap = Snapshot(now, tuple((f, reason) for _, f, reason in fills or ()), tuple(closed or ()),
                        risk if isinstance(risk, dict) else None, ingest if isinstance(ingest, dict) else None,
                        summary)
        self.state, alerts = feed(self.state, snap, self.policy)
        for a in alerts:
            self.sender.post(a)
        self.polls += 1
        return alerts
