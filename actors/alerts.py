"""Alert delivery over aiohttp: Telegram Bot API and a generic JSON webhook.

`AlertSender.notify(alert)` returns at once and never raises: the gate in `pipelines.alerting` decides whether
the alert goes now, waits for the next digest, or is a duplicate; HTTP happens in background tasks with
timeouts, retries on 429 (Telegram's `retry_after` honoured) and 5xx, and a cap on deliveries in flight, so a
dead receiver costs the caller nothing. The bot token is part of the Telegram URL: nothing here ever logs or
raises that URL, and every logged error goes through the redactor with the token registered.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import aiohttp

from actors.metrics import metrics
from pipelines.alerting import (Alert, AlertGate, GatePolicy, Verdict, format_digest, format_text, retry_delay,
                                webhook_payload)
from pipelines.config import AlertsConfig
from pipelines.redaction import Redactor
from pipelines.rpc.policy import retry_after_s

RETRY_AFTER_MAX_S = 3600.0     # parse bound only: retry_delay gives up on anything past its own cap

log = logging.getLogger("launchray.alerts")

MAX_IN_FLIGHT = 8  # deliveries running at once (x2 for urgent); beyond this a send is dropped, never awaited


class AlertSender:
    """One per process that alerts (the ControlPlane hosts it); `await start()` before use, `await close()` after."""

    def __init__(self, cfg: AlertsConfig, *, clock: Callable[[], float] = time.monotonic,
                 session: aiohttp.ClientSession | None = None, backoff_base_s: float = 0.5,
                 max_retry_wait_s: float = 30.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.cfg = cfg
        self._clock = clock
        self._sleep = sleep  # retry waits only (tests record them instead of waiting)
        self._session = session
        self._own_session = session is None
        self._backoff_base_s = backoff_base_s
        self._max_retry_wait_s = max_retry_wait_s
        self.gate = AlertGate(GatePolicy(cfg.min_interval_s, cfg.dedup_window_s, cfg.max_queue,
                                         frozenset(cfg.muted)))
        self.redact = Redactor([cfg.telegram_bot_token])
        self._tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task | None = None
        self.delivered = 0
        self.failed = 0
        self.overflow = 0

    @property
    def channels(self) -> tuple[str, ...]:
        out = []
        if self.cfg.telegram_bot_token and self.cfg.telegram_chat_id:
            out.append("telegram")
        if self.cfg.webhook_url:
            out.append("webhook")
        return tuple(out)

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.cfg.timeout_s))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="alerts-flush")

    async def close(self, drain_s: float = 2.0) -> None:
        """Send what is queued (bounded by `drain_s`), then stop."""
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        batch, dropped = self.gate.drain()
        if batch or dropped:
            self._spawn(batch, dropped)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=drain_s)
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def notify(self, alert: Alert) -> Verdict:
        """Hand an alert over. Returns the gate's verdict; never raises, never waits on the network."""
        return self.post(alert)

    def post(self, alert: Alert) -> Verdict:
        """Synchronous twin of notify() for code already on the event loop."""
        try:
            verdict = self.gate.offer(alert, self._clock())
            if verdict is Verdict.SEND:
                self._spawn([alert], 0)
            elif verdict in (Verdict.QUEUED, Verdict.DROPPED):
                self._wake.set()
            return verdict
        except Exception:  # noqa: BLE001 - an alert must never break its caller
            log.exception("alert %s could not be handed over", alert.kind.value)
            return Verdict.DROPPED

    async def _flush_loop(self) -> None:
        while True:
            due = self.gate.next_due()
            if due is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = due - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            batch, dropped = self.gate.take_due(self._clock())
            if batch or dropped:
                self._spawn(batch, dropped)

    def _spawn(self, alerts: Sequence[Alert], dropped: int) -> None:
        if not self.channels:
            return
        if self._session is None:
            self.overflow += len(alerts)
            log.warning("alerts: sender not started (or closed), dropping %d alert(s)", len(alerts))
            return
        # Urgent alerts get headroom past the cap, so a backlog of retries never crowds out a loss-limit alert.
        limit = MAX_IN_FLIGHT * 2 if any(a.urgent for a in alerts) else MAX_IN_FLIGHT
        if len(self._tasks) >= limit:
            self.overflow += len(alerts)
            log.warning("alerts: %d deliveries in flight, dropping %d alert(s)", len(self._tasks), len(alerts))
            return
        task = asyncio.get_running_loop().create_task(self._deliver(list(alerts), dropped))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, alerts: list[Alert], dropped: int) -> None:
        kind = alerts[0].kind.value if len(alerts) == 1 and not dropped else "digest"
        sends = []
        if "telegram" in self.channels:
            text = format_text(alerts[0], self.redact) if kind != "digest" else format_digest(alerts, dropped,
                                                                                              self.redact)
            body = {"chat_id": self.cfg.telegram_chat_id, "text": text, "parse_mode": "HTML",
                    "disable_web_page_preview": True}
            url = f"{self.cfg.telegram_base_url.rstrip('/')}/bot{self.cfg.telegram_bot_token}/sendMessage"
            sends.append(self._post("telegram", kind, url, body))
        if "webhook" in self.channels:
            sends.append(self._post("webhook", kind, self.cfg.webhook_url, webhook_payload(alerts, dropped,
                                                                                           self.redact)))
        await asyncio.gather(*sends, return_exceptions=True)

    async def _post(self, channel: str, kind: str, url: str, body: dict) -> bool:
        attempt = 0
        while True:
            status, retry_after, problem = None, None, ""
            try:
                async with self._session.post(url, json=body) as resp:
                    status = resp.status
                    if 200 <= status < 300:
                        self._count(channel, kind, "ok")
                        self.delivered += 1
                        return True
                    retry_after = await _retry_after(resp)
                    problem = f"HTTP {status}"
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                # str(exc) of a ClientResponseError carries the URL (and so the token): use the type only.
                problem = type(exc).__name__
            except Exception as exc:  # noqa: BLE001
                problem = f"unexpected {type(exc).__name__}"
            wait = None if attempt >= self.cfg.max_retries else retry_delay(
                status, attempt, retry_after=retry_after, base_s=self._backoff_base_s, cap_s=self._max_retry_wait_s)
            if wait is None:
                self.failed += 1
                self._count(channel, kind, "failed")
                log.warning("alert via %s failed after %d attempt(s): %s", channel, attempt + 1,
                            self.redact(problem))
                return False
            self._count(channel, kind, "retry")
            log.info("alert via %s: %s, retrying in %.2f s", channel, self.redact(problem), wait)
            await self._sleep(wait)
            attempt += 1

    @staticmethod
    def _count(channel: str, kind: str, outcome: str) -> None:
        metrics().alerts_sent.inc(tags={"channel": channel, "kind": kind, "outcome": outcome})


async def _retry_after(resp: aiohttp.ClientResponse) -> float | None:
    """Telegram puts the wait in the JSON body (`parameters.retry_after`); HTTP servers in Retry-After."""
    try:
        data = json.loads(await resp.read() or b"{}")
        value = (data.get("parameters") or {}).get("retry_after") if isinstance(data, dict) else None
        if value is not None:
            return float(value)
    except (ValueError, TypeError, AttributeError, aiohttp.ClientError):
        pass
    # seconds or an HTTP-date, clamped: a wait past retry_delay's cap gives the alert up instead of parking it
    return retry_after_s(resp.headers.get("Retry-After"), time.time(), RETRY_AFTER_MAX_S)
