"""Error levels on the real system (embedded simnet, paper, control API, a webhook on 127.0.0.1), issue 14.

One system for the module, a scripted chain (chain_driver.py: launches the sniper buys); the tests run in file
order on it, CRITICAL last since it is sticky for the run:
- a WebSocket outage makes the level DEGRADED (stream): new entries refused with their own reason, an exit still
  runs, the "degraded" alert reaches the webhook; once the stream is back the level recovers by itself, the
  "recovered" alert arrives and the next launch is bought;
- every RPC request failing (simnet http_5xx_rate = 1.0) is DEGRADED (rpc_down) in /health and /metrics; an
  operator's pause made meanwhile is not lifted by the recovery;
- a ledger nobody can write (another connection holds SQLite's write lock) is CRITICAL: entries halted, the urgent
  alert sent, the level stays CRITICAL after the lock is gone;
- an unhandled exception in a task of the Orchestrator is alerted (redacted) and counted as a CRITICAL reason;
- an ERROR log line of an actor is alerted (redacted);
- an analyzer shard that stays down is listed among the reasons.
"""
from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from solders.keypair import Keypair

from actors import names
from pipelines.messages import Opportunity, Side, stable_id
from tests.acceptance.harness import open_ledger, system_config
from tests.integration.control.chain_driver import ChainDriver
from tests.integration.control.test_control_live import Api, wait_for
from tests.integration.control.test_observability_live import Receiver

pytestmark = pytest.mark.ray
LAMPORTS = 1_000_000_000
TOKEN = "levels-test-token"


@pytest.fixture(scope="module")
def sys_(ray_session, tmp_path_factory):
    from actors.system import TradingSystem

    tmp = tmp_path_factory.mktemp("levels")
    with Receiver() as hook:
        cfg = system_config(
            tmp, api={"enabled": True, "port": 0, "token": TOKEN},
            alerts={"webhook_url": hook.url, "min_interval_s": 0.0, "ws_disconnect_after_s": 600.0},
            errors={"degrade_after_s": 1.0, "recover_after_s": 2.0, "rpc_down_critical_s": 300.0,
                    "ledger_slow_ms": 500.0, "ledger_critical_s": 3.0, "on_critical": "report"},
            rpc={"backoff_max_s": 0.5})
        system = TradingSystem(cfg, 1)
        try:
            system.start(start_market=False)
            api = Api(ray_session.get(system.actor(names.CONTROL).url.remote()), TOKEN)
            yield {"cfg": cfg, "system": system, "api": api, "hook": hook, "ray": ray_session,
                   "driver": ChainDriver(system.chain["http"][0], system.simnet)}
        finally:
            system.teardown()


def _health(s) -> dict:
    return s["ray"].get(s["system"].supervisor.health_view.remote())


def _level(s, level: str, cause: str | None = None, timeout: float = 15.0) -> dict:
    def reached():
        h = _health(s)
        causes = {r["cause"] for r in h["reasons"]}
        return h if h["level"] == level and (cause is None or cause in causes) else None
    return wait_for(reached, timeout=timeout, what=f"level {level} ({cause})")


def _alert(s, kind: str, timeout: float = 10.0, after: int = 0) -> dict:
    return wait_for(lambda: next((a for a in list(s["hook"].alerts)[after:] if a["kind"] == kind), None),
                    timeout=timeout, what=f"a {kind} alert at the webhook")


def _opp() -> Opportunity:
    now = time.time()
    mint = str(Keypair().pubkey())
    return Opportunity(id=stable_id(mint, "levels", now), mint=mint, strategy="momentum", score=0.8,
                       expected_profit=0.1, risk=0.2, capital_lamports=LAMPORTS // 10, created_at=now,
                       expires_at=now + 60)


def _approve(s):
    """An entry as the Orchestrator asks for it: the risk book's decision (released again when approved)."""
    risk = s["system"].actor(names.RISK)
    decision = s["ray"].get(risk.approve_and_reserve.remote(_opp()))
    if decision.approved:
        s["ray"].get(risk.release.remote(decision.reservation.id))
    return decision


def _fills(s, mint: str, side: Side) -> list:
    return [f for f in open_ledger(s["cfg"].ledger.path).fills() if f.mint == mint and f.side is side]


def _samples(api: Api) -> dict:
    status, text = api.call("GET", "/metrics")
    assert status == 200
    return {(m.name, tuple(sorted(m.labels.items()))): m.value
            for fam in text_string_to_metric_families(text) for m in fam.samples}


def test_the_system_starts_at_level_ok(sys_):
    wait_for(lambda: _health(sys_)["checks"] >= 3, timeout=15, what="three health checks")
    h = _level(sys_, "ok")
    assert h["reasons"] == [] and h["wallet"]["source"] == "paper"
    assert h["wallet"]["balance_lamports"] == 10 * LAMPORTS         # paper: the book's cash, 10 SOL configured
    status, body = sys_["api"].call("GET", "/health", token=None)
    assert status == 200 and body["level"] == "ok" and body["level_reasons"] == []
    assert _samples(sys_["api"])[("ray_launchray_health_level", ())] == 0


def test_a_stream_outage_pauses_entries_keeps_exits_alerts_and_recovers(sys_):
    s, d, ray = sys_, sys_["driver"], sys_["ray"]
    mint = d.launch(d.wallet(5), "LVLA", 1.0)
    wait_for(lambda: _fills(s, mint, Side.BUY), timeout=15, what="the sniper's buy of the first launch")
    seen = len(s["hook"].alerts)

    ray.get(s["system"].simnet.set_faults.remote({"ws_refuse_connections": True, "ws_disconnect_now": True}))
    try:
        h = _level(s, "degraded", "stream_stale")
        assert h["reasons"][0]["detail"].startswith("stream ")
        risk = ray.get(s["system"].actor(names.RISK).status.remote())
        assert "degraded" in risk["breakers"] and risk["state"] == "reducing"
        assert _approve(s).reason == "degraded"                        # new entries refused, with their own reason
        # exits keep running: the position is sold while the level is DEGRADED
        fired = ray.get(s["system"].actor(names.POSITIONS).flatten_all.remote("levels-test"))
        assert fired == 1
        sell = wait_for(lambda: _fills(s, mint, Side.SELL), timeout=15, what="the exit's sell while degraded")
        assert _health(s)["level"] == "degraded" and sell[0].lamports > 0
        alert = _alert(s, "degraded", after=seen)
        assert alert["urgent"] is False and alert["title"] == "Degraded: new entries paused"
        assert alert["fields"]["stream_stale"].startswith("stream ")
        assert "exits and monitoring go on" in alert["fields"]["action"]
    finally:
        ray.get(s["system"].simnet.set_faults.remote({}))

    _level(s, "ok", timeout=20)          # reconnect (backoff <= 0.5 s), then 2 s without the cause
    recovered = _alert(s, "recovered", after=seen)
    assert recovered["fields"] == {"stream_stale": "cleared", "action": "entries resume"}
    assert "degraded" not in ray.get(s["system"].actor(names.RISK).status.remote())["breakers"]
    second = d.launch(d.wallet(5), "LVLB", 1.0)
    wait_for(lambda: _fills(s, second, Side.BUY), timeout=15, what="a buy once the level is OK again")


def test_every_rpc_endpoint_failing_degrades_and_an_operator_pause_survives_the_recovery(sys_):
    s, ray, api = sys_, sys_["ray"], sys_["api"]
    ray.get(s["system"].simnet.set_faults.remote({"http_5xx_rate": 1.0}))
    try:
        h = _level(s, "degraded", "rpc_down")
        assert any(r["detail"].startswith("all 1 RPC endpoint(s) failing") for r in h["reasons"])
        status, body = api.call("GET", "/health", token=None)
        assert body["level"] == "degraded" and body["status"] in ("degraded", "down")
        assert "rpc_down" in {r["cause"] for r in body["level_reasons"]}
        samples = _samples(api)
        assert samples[("ray_launchray_health_level", ())] == 1
        assert samples[("ray_launchray_health_reason", (("cause", "rpc_down"),))] == 1
        assert samples[("ray_launchray_health_reason", (("cause", "ledger_unwritable"),))] == 0
        _, st = api.call("GET", "/api/v1/status")
        assert st["level"] == "degraded" and st["status"] == "reducing"
        api.ok("POST", "/api/v1/pause", {"reason": "operator, during the outage"})
    finally:
        ray.get(s["system"].simnet.set_faults.remote({}))
    _level(s, "ok", timeout=20)
    risk = ray.get(s["system"].actor(names.RISK).status.remote())
    assert risk["breakers"] == ["paused"]                   # the recovery lifted its own switch only
    assert _approve(s).reason == "paused"
    api.ok("POST", "/api/v1/resume", {"reason": "operator"})
    assert _approve(s).approved


def test_a_ledger_nobody_can_write_is_critical_and_stays_so(sys_):
    s, ray = sys_, sys_["ray"]
    seen = len(s["hook"].alerts)
    lock = sqlite3.connect(s["cfg"].ledger.path, timeout=1.0, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")              # the write lock: the Ledger's writes wait, then fail
    try:
        h = _level(s, "critical", "ledger_unwritable", timeout=20)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    crit = next(r for r in h["reasons"] if r["cause"] == "ledger_unwritable")
    assert crit["level"] == "critical" and crit["detail"].startswith("ledger write")
    alert = _alert(s, "critical", after=seen)
    assert alert["urgent"] is True and alert["title"] == "CRITICAL: trading stopped"
    assert "ledger_unwritable" in alert["fields"] and "positions: report" in alert["fields"]["action"]
    risk = ray.get(s["system"].actor(names.RISK).status.remote())
    assert risk["state"] == "halted" and "critical" in risk["breakers"]
    assert ray.get(s["system"].actor(names.ORCHESTRATOR).status.remote())["entries_enabled"] is False
    assert _approve(s).reason == "critical"
    time.sleep(3 * s["cfg"].errors.check_every_s)            # the lock is gone: CRITICAL stays for the run
    assert _health(s)["level"] == "critical"
    assert s["system"].health()["level"] == "critical"       # what `launchray run` polls
    status, body = s["api"].call("GET", "/health", token=None)
    assert status == 503 and body["status"] == "down" and body["level"] == "critical"


def _inject(orchestrator) -> None:
    """Runs inside the Orchestrator (Ray's __ray_call__, on a thread of its own): a task on the actor's event loop
    (the one its 10 ms loop runs on) that fails, as a bug would."""
    async def doomed():
        raise RuntimeError("injected fault on the decision path, endpoint https://rpc.example/abcdefabcdefabcdef")
    loop = orchestrator._loop.get_loop()
    loop.call_soon_threadsafe(lambda: loop.create_task(doomed(), name="doomed"))


def test_an_unhandled_exception_on_the_decision_path_is_alerted_and_critical(sys_):
    s, ray = sys_, sys_["ray"]
    seen = len(s["hook"].alerts)
    ray.get(s["system"].actor(names.ORCHESTRATOR).__ray_call__.remote(_inject))
    alert = _alert(s, "unhandled_exception", after=seen)
    assert alert["urgent"] is True and alert["title"].startswith("Unhandled RuntimeError in orchestrator")
    assert "injected fault on the decision path" in alert["fields"]["error"]
    assert "abcdefabcdefabcdef" not in str(alert)            # the URL's key is redacted
    h = _level(s, "critical", "unhandled_exception")
    detail = next(r["detail"] for r in h["reasons"] if r["cause"] == "unhandled_exception")
    assert detail.startswith("unhandled exception in orchestrator: ") and "RuntimeError" in detail


def _log_error(orchestrator) -> None:
    """Runs inside the Orchestrator: an ERROR log line, as its code writes one when something went wrong."""
    import logging
    logging.getLogger("launchray.orchestrator").error("exit for %s not dispatched: %s", "MintXYZ",
                                                      "https://rpc.example/abcdefabcdefabcdef timed out")


def test_an_error_logged_by_an_actor_is_alerted(sys_):
    s = sys_
    seen = len(s["hook"].alerts)
    s["ray"].get(s["system"].actor(names.ORCHESTRATOR).__ray_call__.remote(_log_error))
    alert = _alert(s, "error", after=seen)
    assert alert["urgent"] is False and alert["title"] == "Error in orchestrator"
    assert alert["fields"]["error"] == "exit for MintXYZ not dispatched: https://rpc.example/[REDACTED] timed out"


def test_an_analyzer_shard_that_stays_down_is_listed(sys_):
    s = sys_
    s["ray"].kill(s["system"].actor(names.shard_name(0)), no_restart=True)     # no restart: its pings fail
    h = _level(s, "critical", "shard_down")                   # still CRITICAL (sticky), the shard listed beside
    shard = next(r for r in h["reasons"] if r["cause"] == "shard_down")
    assert shard["level"] == "degraded" and shard["detail"] == "analyzer_shard_0 not answering"
