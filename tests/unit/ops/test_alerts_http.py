"""AlertSender against real HTTP servers on 127.0.0.1."""
import asyncio
import logging
import socket

import pytest
from aiohttp import web

from actors.alerts import AlertSender
from pipelines.alerting import Verdict, disconnected_alert, error_alert, exception_alert, trade_alert
from pipelines.config import AlertsConfig
from pipelines.messages import Fill, Side

TOKEN = "123456789:AAH-test-token-not-real-0123456789abcdef"
MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"


def fill(order_id):
    return Fill(order_id=order_id, mint=MINT, side=Side.BUY, lamports=100_000_000, tokens=3_000_000_000,
                fee_lamports=1_000_000, price=0.0333, slot=9, ts=1.0, signature=f"sig{order_id}")


class Receiver:
    """A fake Telegram Bot API + webhook. `script` is a list of (status, json) answered in order, then 200."""

    def __init__(self, script=()):
        self.script = list(script)
        self.requests: list[dict] = []
        self.arrivals: list[float] = []
        self.runner = None
        self.port = 0

    async def handle(self, request: web.Request):
        self.requests.append({"path": request.path, "json": await request.json()})
        self.arrivals.append(asyncio.get_running_loop().time())
        if self.script:
            status, body, *headers = self.script.pop(0)
            return web.json_response(body, status=status, headers=headers[0] if headers else None)
        return web.json_response({"ok": True, "result": {"message_id": len(self.requests)}})

    async def start(self):
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        await self.runner.cleanup()


def cfg(port, **kw):
    base = dict(telegram_bot_token=TOKEN, telegram_chat_id="-1001", telegram_base_url=f"http://127.0.0.1:{port}",
                min_interval_s=0.0, max_retries=3, timeout_s=2.0)
    base.update(kw)
    return AlertsConfig(**base)


async def wait_for(pred, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
def caplog_all(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def ours(caplog) -> str:
    """Log text from everything but the fake server's own access/error log (which shows the URL it served)."""
    return "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records
                     if not r.name.startswith("aiohttp.access") and not r.name.startswith("aiohttp.server"))


async def test_trade_alert_arrives_with_the_right_text(caplog_all):
    rx = await Receiver().start()
    sender = AlertSender(cfg(rx.port))
    await sender.start()
    try:
        assert await sender.notify(trade_alert(fill("o1"), "paper", reason="sniper")) is Verdict.SEND
        await wait_for(lambda: sender.delivered == 1)
    finally:
        await sender.close()
        await rx.stop()
    (req,) = rx.requests
    assert req["path"] == f"/bot{TOKEN}/sendMessage"
    body = req["json"]
    assert body["chat_id"] == "-1001" and body["parse_mode"] == "HTML"
    lines = body["text"].splitlines()
    assert lines[0] == "<b>BUY 7GCi…W2hr</b>"
    assert "sol: <code>0.1000 SOL</code>" in lines and "reason: <code>sniper</code>" in lines
    assert TOKEN not in ours(caplog_all)


async def test_a_burst_is_coalesced_into_one_digest():
    rx = await Receiver().start()
    sender = AlertSender(cfg(rx.port, min_interval_s=0.3))
    await sender.start()
    try:
        verdicts = [await sender.notify(trade_alert(fill(f"o{i}"), "paper")) for i in range(6)]
        assert verdicts == [Verdict.SEND] + [Verdict.QUEUED] * 5
        await wait_for(lambda: len(rx.requests) == 2)
        await asyncio.sleep(0.4)                    # nothing else trickles in afterwards
    finally:
        await sender.close()
        await rx.stop()
    assert len(rx.requests) == 2
    first, digest = (r["json"]["text"] for r in rx.requests)
    assert first.startswith("<b>BUY")
    assert digest.splitlines()[0] == "<b>5 alerts</b>" and digest.count("• <b>BUY") == 5
    assert rx.arrivals[1] - rx.arrivals[0] >= 0.25   # the digest waited for the interval


async def test_429_retry_after_is_honoured_then_delivered(caplog_all):
    rx = await Receiver(script=[(429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                                       "parameters": {"retry_after": 3}})]).start()
    waits = []

    async def record_sleep(s):
        waits.append(s)

    sender = AlertSender(cfg(rx.port), sleep=record_sleep)
    await sender.start()
    try:
        await sender.notify(error_alert("rpc", "boom", 0))
        await wait_for(lambda: sender.delivered == 1)
    finally:
        await sender.close()
        await rx.stop()
    assert waits == [3.0]                # exactly Telegram's retry_after
    assert len(rx.requests) == 2 and rx.requests[0]["json"] == rx.requests[1]["json"]
    assert TOKEN not in ours(caplog_all)


async def test_a_retry_after_http_date_is_read_and_an_absurd_one_gives_the_alert_up(caplog_all):
    from email.utils import formatdate
    import time
    soon = formatdate(time.time() + 10, usegmt=True)              # an HTTP-date ~10 s ahead (whole seconds)
    rx = await Receiver(script=[(429, {}, {"Retry-After": soon}), (429, {}, {"Retry-After": "99999999"})]).start()
    waits = []

    async def record_sleep(s):
        waits.append(s)

    sender = AlertSender(cfg(rx.port), sleep=record_sleep)
    await sender.start()
    try:
        await sender.notify(error_alert("rpc", "boom", 0))
        await wait_for(lambda: sender.failed == 1)
    finally:
        await sender.close()
        await rx.stop()
    assert len(waits) == 1 and 8.0 <= waits[0] <= 10.0    # the date's wait, not the 0.5 s default backoff
    assert len(rx.requests) == 2                           # the 99999999 s wait is past the cap: given up


async def test_5xx_backs_off_and_gives_up_after_max_retries(caplog_all):
    rx = await Receiver(script=[(502, {})] * 10).start()
    waits = []

    async def record_sleep(s):
        waits.append(s)

    sender = AlertSender(cfg(rx.port, max_retries=2), sleep=record_sleep, backoff_base_s=0.5)
    await sender.start()
    try:
        await sender.notify(error_alert("rpc", "boom", 0))
        await wait_for(lambda: sender.failed == 1)
    finally:
        await sender.close()
        await rx.stop()
    assert waits == [0.5, 1.0] and len(rx.requests) == 3
    assert "HTTP 502" in caplog_all.text and TOKEN not in ours(caplog_all)


async def test_a_dead_receiver_neither_blocks_nor_raises(caplog_all):
    with socket.socket() as s:                       # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = AlertSender(cfg(port, max_retries=1), backoff_base_s=0.01)
    await sender.start()
    verdict = await asyncio.wait_for(sender.notify(exception_alert("executor", ValueError("x"), 0)), 1.0)
    assert verdict is Verdict.SEND
    await wait_for(lambda: sender.failed == 1)
    await asyncio.wait_for(sender.close(), 5.0)
    assert "ClientConnectorError" in caplog_all.text or "ClientOSError" in caplog_all.text
    assert TOKEN not in ours(caplog_all)


async def test_a_hanging_receiver_is_cut_off_by_the_timeout_and_close_is_bounded(caplog_all):
    release = asyncio.Event()

    async def hang(request):
        await release.wait()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/{tail:.*}", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    sender = AlertSender(cfg(port, max_retries=0, timeout_s=0.3))
    await sender.start()
    try:
        await sender.notify(error_alert("x", "y", 0))
        await wait_for(lambda: sender.failed == 1)
        await asyncio.wait_for(sender.close(drain_s=0.5), 3.0)
    finally:
        release.set()
        await runner.cleanup()
    assert "TimeoutError" in caplog_all.text and TOKEN not in ours(caplog_all)


async def test_webhook_gets_json_and_secrets_in_alert_text_are_removed():
    rx = await Receiver().start()
    sender = AlertSender(AlertsConfig(webhook_url=f"http://127.0.0.1:{rx.port}/hook", min_interval_s=0))
    await sender.start()
    try:
        assert sender.channels == ("webhook",)
        await sender.notify(error_alert("api", f"auth failed: Bearer {TOKEN}", 0))
        await wait_for(lambda: sender.delivered == 1)
    finally:
        await sender.close()
        await rx.stop()
    (req,) = rx.requests
    assert req["path"] == "/hook"
    assert req["json"]["kind"] == "error" and req["json"]["urgent"] is False
    assert TOKEN not in str(req["json"]) and "[REDACTED]" in req["json"]["fields"]["error"]


async def test_queued_alerts_are_flushed_on_close():
    rx = await Receiver().start()
    sender = AlertSender(cfg(rx.port, min_interval_s=60))
    await sender.start()
    await sender.notify(trade_alert(fill("a"), "paper"))
    await sender.notify(trade_alert(fill("b"), "paper"))
    await sender.notify(trade_alert(fill("c"), "paper"))
    await sender.close()
    await rx.stop()
    assert len(rx.requests) == 2 and rx.requests[1]["json"]["text"].startswith("<b>2 alerts</b>")


async def test_an_alert_before_start_or_after_close_is_dropped_quietly():
    sender = AlertSender(cfg(1))
    assert await sender.notify(error_alert("x", "early", 0)) is Verdict.SEND   # the gate said send...
    assert sender.overflow == 1 and sender.delivered == 0                      # ...but nothing to send with
    await sender.start()
    await sender.close()
    await sender.notify(error_alert("x", "late", 0))
    assert sender.overflow == 2


def test_posting_outside_an_event_loop_does_not_raise():
    sender = AlertSender(cfg(1))
    sender._session = object()          # looks started, but there is no running loop in this thread
    assert sender.post(error_alert("x", "y", 0)) is Verdict.DROPPED


async def test_deliveries_in_flight_are_capped_but_urgent_alerts_get_headroom():
    release = asyncio.Event()
    seen = []

    async def slow(request):
        seen.append((await request.json())["text"])
        await release.wait()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    sender = AlertSender(cfg(port, dedup_window_s=0))
    await sender.start()
    try:
        for i in range(10):   # all "send now" (no interval), but only 8 may be in flight
            await sender.notify(disconnected_alert(f"rpc{i}", "x", 0) if i == 9 else error_alert("c", f"e{i}", 0))
        assert sender.overflow == 1                      # the 9th normal alert; the urgent 10th still went
        await wait_for(lambda: len(seen) == 9)
        assert any("Disconnected: rpc9" in t for t in seen)
    finally:
        release.set()
        await sender.close()
        await runner.cleanup()
    assert sender.delivered == 9
