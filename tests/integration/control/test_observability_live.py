"""Alerts, trade logs and traces from the running system (embedded simnet, paper), end to end.

One real fill is followed through all three: the ControlPlane's alert feed posts a trade alert for it to a
webhook (a local aiohttp receiver), the Executor writes its trades.jsonl record, and the trace file holds the
spans of its opportunity's one trace (Orchestrator: opportunity + approve; Executor: quote, intent, fill).
The expected values come from the ledger's fill, never from the alert or the logs themselves.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from actors.observe import trace_path
from pipelines.messages import Side
from tests.acceptance.harness import open_ledger, running_system, system_config

pytestmark = pytest.mark.ray


class Receiver:
    """A webhook on 127.0.0.1 (its own thread and loop) that keeps every alert posted to it."""

    def __init__(self) -> None:
        self.alerts: list[dict] = []
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.alerts.extend(body["alerts"] if body.get("kind") == "digest" else [body])
        return web.json_response({"ok": True})

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hook", self._post)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self._runner = runner
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> "Receiver":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def alerted_fill(alerts: list[dict], fills) -> tuple[dict, object] | None:
    """The first trade alert that matches a ledger fill exactly (side, mint, tokens), with that fill."""
    for a in alerts:
        if a.get("kind") != "trade":
            continue
        f = a["fields"]
        for fill in fills:
            if f["side"] == fill.side.value and f["mint"] == fill.mint and f["tokens"] == f"{fill.tokens:,}":
                return a, fill
    return None


def test_a_real_fill_is_alerted_logged_and_traced(ray_session, tmp_path):
    with Receiver() as hook:
        cfg = system_config(tmp_path, api={"enabled": True, "port": 0}, alerts={"webhook_url": hook.url},
                            exits={"max_hold_s": 6.0})
        trades_log = Path(cfg.logging.dir) / "trades.jsonl"
        traces = Path(trace_path(cfg))
        assert traces == tmp_path / "var" / "traces.jsonl"        # relative: under the ledger's directory
        found = spans = record = None
        with running_system(cfg) as system:
            deadline = time.time() + 30
            while time.time() < deadline:
                time.sleep(0.5)
                buys = [f for f in open_ledger(cfg.ledger.path).fills() if f.side is Side.BUY]
                found = found or alerted_fill(list(hook.alerts), buys)
                if found is None:
                    continue
                fill = found[1]
                record = next((r for r in read_jsonl(trades_log)
                               if r["msg"] == "fill" and r.get("order_id") == fill.order_id), None)
                if record is None or not record.get("traceparent"):
                    continue
                trace_id = record["traceparent"].split("-")[1]
                spans = [s for s in read_jsonl(traces) if s["trace_id"] == trace_id]
                if {"opportunity", "approve", "quote", "intent", "fill"} <= {s["name"] for s in spans}:
                    break
            system.stop()

    assert found is not None, f"no trade alert matched a ledger fill; got {[a.get('kind') for a in hook.alerts]}"
    alert, fill = found
    assert alert["urgent"] is False and alert["fields"]["mode"] == "paper"
    assert alert["fields"]["sol"] == f"{fill.lamports / 1e9:.4f} SOL"

    assert record is not None, "no trades.jsonl record for the alerted fill"
    assert record["level"] == "INFO" and record["logger"] == "launchray.trades"
    assert (record["mint"], record["side"], record["lamports"], record["tokens"], record["state"]) == (
        fill.mint, "buy", fill.lamports, fill.tokens, "confirmed")

    by_name = {s["name"]: s for s in spans}
    assert {"opportunity", "approve", "quote", "intent", "fill"} <= set(by_name), sorted(by_name)
    root = by_name["opportunity"]
    assert root["parent_span_id"] is None and root["attributes"]["mint"] == fill.mint
    assert root["attributes"]["opportunity.id"] == record["opportunity_id"]
    for name in ("approve", "quote", "intent", "fill"):      # all children of the one root, across two actors
        assert by_name[name]["parent_span_id"] == root["span_id"], name
    assert by_name["approve"]["service"] == "launchray.orchestrator"
    assert by_name["fill"]["service"] == "launchray.executor"
    assert by_name["fill"]["attributes"]["order.id"] == fill.order_id
    # detection -> approval -> quote -> intent -> fill happen in that order in time
    starts = [by_name[n]["start_ns"] for n in ("opportunity", "approve", "quote", "intent", "fill")]
    assert starts == sorted(starts)
