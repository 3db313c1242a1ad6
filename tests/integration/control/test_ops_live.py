"""Operating a running system (embedded simnet, paper): the gaps closed around issue 5, each end to end.

One system for the module, no random market: the chain activity is one scripted pump.fun launch (chain_driver.py)
that the sniper buys. The tests run in file order on that one story:
- the analyzer shards write the structured logs (a corrupt shard checkpoint, planted before the start, is
  reported in system.jsonl by the shard that skipped it);
- the actors record their own metrics on their hot paths (labels only an actor knows, counts from the story);
- a WebSocket outage injected in simnet reaches the local alert receiver as an urgent "disconnected" alert;
- a restarted RiskSupervisor decides with the limit PATCHed earlier in the run from its first decision (the
  ControlPlane is gone by then, so nothing re-sends the config: the actor read it from the ledger itself);
- the graceful shutdown exports every batched span: with a 10-minute export period nothing reaches the trace
  file while trading, and after stop() it holds the opportunity's trace with the Orchestrator's and the
  Executor's spans (the shutdown path `launchray run --duration N` takes: TradingSystem.stop()).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from solders.keypair import Keypair

from actors import names
from actors.analyzer import checkpoint_path
from actors.observe import trace_path
from pipelines.messages import Opportunity, Side, stable_id
from tests.acceptance.harness import open_ledger, system_config

from .chain_driver import ChainDriver
from .test_control_live import Api, wait_for
from .test_observability_live import Receiver, read_jsonl

pytestmark = pytest.mark.ray
LAMPORTS = 1_000_000_000


@pytest.fixture(scope="module")
def story(ray_session, tmp_path_factory):
    from actors.system import TradingSystem

    tmp = tmp_path_factory.mktemp("ops")
    with Receiver() as hook:
        cfg = system_config(
            tmp, api={"enabled": True, "port": 0, "token": "ops-test-token"},
            alerts={"webhook_url": hook.url, "ws_disconnect_after_s": 1.0},
            telemetry={"export_interval_ms": 600_000.0},        # only a flush writes spans during this module
            rpc={"backoff_max_s": 0.5})                          # Ingest reconnects quickly once the outage ends
        bad = checkpoint_path(cfg, 0)
        bad.parent.mkdir(parents=True, exist_ok=True)
        bad.write_bytes(b"not a pickle")
        system = TradingSystem(cfg, 2)
        try:
            system.start(start_market=False)
            cp = system.actor(names.CONTROL)
            api = Api(ray_session.get(cp.url.remote()), "ops-test-token")
            yield {"cfg": cfg, "system": system, "api": api, "hook": hook, "ray": ray_session,
                   "driver": ChainDriver(system.chain["http"][0], system.simnet)}
        finally:
            system.teardown()


def _buys(cfg) -> list:
    return [f for f in open_ledger(cfg.ledger.path).fills() if f.side is Side.BUY]


def test_analyzer_shards_write_the_structured_logs(story):
    system_log = Path(story["cfg"].logging.dir) / "system.jsonl"
    record = wait_for(lambda: next((r for r in read_jsonl(system_log)
                                    if r["logger"] == "launchray.analyzer" and "ignoring checkpoint" in r["msg"]),
                                   None), timeout=10, what="the shard's warning in system.jsonl")
    assert record["level"] == "WARNING" and record["msg"].startswith("shard 0: ignoring checkpoint")
    assert str(checkpoint_path(story["cfg"], 0)) in record["msg"]


def _samples(api: Api) -> dict:
    status, text = api.call("GET", "/metrics")
    assert status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_actors_record_their_own_metrics(story):
    cfg, api, d = story["cfg"], story["api"], story["driver"]
    dev = d.wallet(5)
    mint = d.launch(dev, "OPS", 1.0)
    fill = wait_for(lambda: next((f for f in _buys(cfg) if f.mint == mint), None), timeout=15,
                    what="the sniper's buy of the launch")
    story["mint"] = mint

    def recorded():
        s = _samples(api)
        key = ("ray_launchray_orders_total", (("mode", "paper"), ("side", "buy"), ("state", "confirmed")))
        return s if s.get(key) == 1 else None
    s = wait_for(recorded, timeout=10, what="the executor's order metrics")
    paper_buy = (("mode", "paper"), ("side", "buy"))

    # Ingest: the one launch of this story (a create whose dev buy is also a trade), counted by kind and venue.
    assert s[("ray_launchray_events_in_total", (("kind", "launch"), ("venue", "pumpfun")))] == 1
    assert s[("ray_launchray_events_in_total", (("kind", "trade"), ("venue", "pumpfun")))] >= 1
    # Executor: every order state it wrote, by side (the ledger-derived series only know side="all"): the same
    # transitions as the ledger's own history of each order; its fills; the sniper's detection-to-send latency.
    store = open_ledger(cfg.ledger.path)
    history: dict = {}
    for order in store.orders():
        for step in store.history(order.id):
            key = (("mode", "paper"), ("side", order.side.value), ("state", step.state.value))
            history[key] = history.get(key, 0) + 1
    reported = {labels: v for (n, labels), v in s.items() if n == "ray_launchray_orders_total"}
    assert reported == history, [(o.id, o.reason, o.state, store.history(o.id)) for o in store.orders()]
    assert history[(*paper_buy, ("state", "confirmed"))] == 1
    assert s[("ray_launchray_fills_total", paper_buy)] == len(_buys(cfg)) == 1
    assert s[("ray_launchray_detect_to_send_ms_count", (("strategy", "sniper"),))] == 1
    # Risk: the sniper's opportunity approved; every decision timed.
    assert s[("ray_launchray_approvals_total", (("strategy", "sniper"),))] == 1
    decisions = sum(v for (n, _), v in s.items() if n in ("ray_launchray_approvals_total",
                                                           "ray_launchray_rejections_total"))
    assert s[("ray_launchray_risk_reserve_ms_count", ())] == decisions
    # Orchestrator: its 10 ms loop period, seconds of it by now.
    assert s[("ray_launchray_loop_period_ms_count", ())] >= 100
    # RPC pool: calls by endpoint, method and outcome (the executor's quote and the shards' mint reads).
    rpc = {dict(labels)["method"]: v for (n, labels), v in s.items()
           if n == "ray_launchray_rpc_calls_total" and dict(labels)["outcome"] == "ok"}
    assert rpc.get("getMultipleAccounts", 0) >= 1, rpc
    host = dict(next(labels for (n, labels) in s if n == "ray_launchray_rpc_calls_total"))["endpoint"]
    assert host.startswith("127.0.0.1:") and "/" not in host
    # Shards: the tokens each tracks; the story's mint is tracked by exactly one of them.
    tracked = {dict(labels)["shard"]: v for (n, labels), v in s.items() if n == "ray_launchray_tokens_tracked"}
    assert set(tracked) == {"0", "1"} and sum(tracked.values()) == 1, tracked
    assert fill.tokens > 0


def test_a_websocket_outage_reaches_the_alert_receiver(story):
    system, hook = story["system"], story["hook"]
    ingest = system.actor(names.INGEST)
    assert story["ray"].get(ingest.status.remote())["connected"]
    story["ray"].get(system.simnet.set_faults.remote({"ws_refuse_connections": True, "ws_disconnect_now": True}))
    t0 = time.time()
    try:
        alert = wait_for(lambda: next((a for a in list(hook.alerts) if a["kind"] == "disconnected"), None),
                         timeout=10, what="the disconnect alert at the receiver")
        assert story["ray"].get(ingest.status.remote())["connected"] is False     # still down: not a blip
    finally:
        story["ray"].get(system.simnet.set_faults.remote({}))
    assert alert["urgent"] is True and alert["fields"]["endpoint"] == "127.0.0.1"
    assert alert["fields"]["detail"].startswith("no WebSocket connection for")
    assert time.time() - t0 >= story["cfg"].alerts.ws_disconnect_after_s
    wait_for(lambda: story["ray"].get(ingest.status.remote())["connected"], timeout=10,
             what="Ingest to reconnect once the endpoint is back")
    assert [a["kind"] for a in hook.alerts].count("disconnected") == 1          # one alert per outage


def _opp(sol: float) -> Opportunity:
    now = time.time()
    mint = str(Keypair().pubkey())
    return Opportunity(id=stable_id(mint, "ops", now), mint=mint, strategy="momentum", score=0.8,
                       expected_profit=0.1, risk=0.2, capital_lamports=int(sol * LAMPORTS), created_at=now,
                       expires_at=now + 60)


def test_a_restarted_risk_supervisor_applies_the_patched_limit_from_its_first_decision(story):
    ray, api, system = story["ray"], story["api"], story["system"]
    risk = system.actor(names.RISK)
    profile_max = story["cfg"].risk.max_position_sol
    assert profile_max == 1.0 and story["cfg"].risk.clamp_to_max_position
    before = ray.get(risk.approve_and_reserve.remote(_opp(0.5)))          # under the profile's limit: as asked
    assert before.approved and before.reservation.lamports == int(0.5 * LAMPORTS)
    assert ray.get(risk.release.remote(before.reservation.id))

    out = api.ok("PATCH", "/api/v1/config", {"risk": {"max_position_sol": 0.05}})
    assert out["diff"] == {"risk.max_position_sol": {"old": profile_max, "new": 0.05}}
    # No ControlPlane from here on: nothing can re-send the config to the restarted actor.
    ray.kill(system.actor(names.CONTROL), no_restart=True)
    incarnation = ray.get(risk.ping.remote())
    ray.kill(risk, no_restart=False)
    wait_for(lambda: _ping(ray, risk) not in (None, incarnation), timeout=15, what="the risk supervisor's restart")
    first = ray.get(risk.approve_and_reserve.remote(_opp(0.5)))             # the first call we make after it
    assert first.approved and first.reason == "clamped_max_position_size"
    assert first.reservation.lamports == int(0.05 * LAMPORTS)
    assert ray.get(risk.release.remote(first.reservation.id))
    assert ray.get(risk.status.remote())["restored"]                       # same book, from its ledger snapshot


def _ping(ray, actor):
    try:
        return ray.get(actor.ping.remote(), timeout=5)
    except Exception:
        return None


def test_shutdown_exports_the_batched_spans(story):
    cfg, system = story["cfg"], story["system"]
    traces = Path(trace_path(cfg))
    assert not [s for s in read_jsonl(traces) if s["service"] == "launchray.executor"]   # batched, not exported
    system.stop()
    spans = read_jsonl(traces)
    roots = [s for s in spans if s["name"] == "opportunity" and s["attributes"].get("mint") == story["mint"]
             and s["attributes"].get("outcome") == "filled"]     # (a momentum entry in it was refused: duplicate)
    assert len(roots) == 1, roots
    trace = [s for s in spans if s["trace_id"] == roots[0]["trace_id"]]
    by_service = {}
    for s in trace:
        by_service.setdefault(s["service"], set()).add(s["name"])
    assert by_service["launchray.orchestrator"] >= {"opportunity", "deliver", "approve"}
    assert by_service["launchray.executor"] >= {"quote", "intent", "fill"}
    # the create event's way from Ingest to the Orchestrator: from the detection the trace starts at, ending before
    # the approval starts
    deliver, approve = (next(s for s in trace if s["name"] == n) for n in ("deliver", "approve"))
    assert deliver["start_ns"] == roots[0]["start_ns"] and deliver["end_ns"] <= approve["start_ns"]
    decode = next(s for s in trace if s["name"] == "decode")        # inside it: until Ingest sent the launch on
    assert decode["start_ns"] == deliver["start_ns"] and decode["end_ns"] <= deliver["end_ns"]
    fills = [f for f in _buys(cfg) if f.mint == story["mint"]]
    fill_span = next(s for s in trace if s["name"] == "fill")
    assert fill_span["attributes"]["order.id"] == fills[0].order_id and fill_span["attributes"]["outcome"] == "filled"
