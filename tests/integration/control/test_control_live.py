"""The control API, `launchray status` and the notebooks against a live TradingSystem (embedded simnet, paper).

One system for the module. The chain activity is real and scripted (chain_driver.py): signed pump.fun creates,
buys and sells sent to simnet over JSON-RPC, so the numbers checked here come from the whole pipeline (Ingest ->
shards -> momentum/sniper -> orchestrator -> risk -> executor -> positions -> ledger), not from fixtures.
Tests run in file order and build on each other's story (noted where they do).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import uuid
import urllib.request
from pathlib import Path

import pytest
from solders.keypair import Keypair

from pipelines.api_models import ROUTES
from pipelines.messages import Opportunity, stable_id

from .chain_driver import ChainDriver

pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[3]
LAMPORTS = 1_000_000_000

# A valid body for every route that takes one (used to show that auth is checked before anything runs).
VALID_BODIES = {
    "patch_config": {"risk": {"max_open_positions": 10}},
    "pause": {}, "resume": {}, "kill": {"mode": "exits_only"},
    "sniper_analyze": {"mint": "So11111111111111111111111111111111111111112"},
    "sniper_execute": {"trade_id": "0" * 24},
}


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body=None, token: str | None = "default", raw: bytes | None = None,
             headers: dict | None = None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        tok = self.token if token == "default" else token
        if tok:
            req.add_header("Authorization", f"Bearer {tok}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text, ctype = resp.status, resp.read().decode(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, text, ctype = exc.code, exc.read().decode(), exc.headers.get("Content-Type", "")
        return status, (json.loads(text) if "json" in ctype else text)

    def ok(self, method: str, path: str, body=None, expect: int = 200):
        status, out = self.call(method, path, body)
        assert status == expect, (method, path, status, out)
        return out


def wait_for(fn, timeout: float = 15.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def live(ray_session, tmp_path_factory):
    ray = ray_session
    from actors import names
    from actors.system import TradingSystem
    from pipelines.config import load_config

    ns = f"launchray-control-{uuid.uuid4().hex[:8]}"      # this module's own system: no name can collide
    tmp = tmp_path_factory.mktemp("control")
    cfg = load_config("sim", env={}, overrides={
        "ray": {"namespace": ns}, "ledger": {"path": str(tmp / "ledger.sqlite")}, "api": {"port": 0, "token": ""},
        "logging": {"dir": str(tmp / "logs")}, "telemetry": {"trace_file": str(tmp / "traces.jsonl")}})
    system = TradingSystem(cfg, 2)
    try:
        system.start(start_market=False)          # the activity is scripted below, not the random market
        cp = ray.get_actor(names.CONTROL, namespace=ns)
        url = ray.get(cp.url.remote())
        token_file = Path(ray.get(cp.token_file.remote()))
        state = {"system": system, "cfg": cfg, "ns": ns, "tmp": tmp, "token_file": token_file,
                 "api": Api(url, token_file.read_text().strip()),
                 "driver": ChainDriver(system.chain["http"][0], system.simnet),
                 "risk": ray.get_actor(names.RISK, namespace=ns), "ledger": ray.get_actor(names.LEDGER, namespace=ns)}
        yield state
    finally:
        system.teardown()


# --- auth, routing, bodies ----------------------------------------------------------------------------------
def test_token_file_is_private_and_health_needs_no_token(live):
    path = live["token_file"]
    assert path.parent == live["tmp"] and oct(path.stat().st_mode & 0o777) == "0o600"
    status, h = live["api"].call("GET", "/health", token=None)
    assert status == 200, h
    assert h["status"] == "ok" and h["state"] == "running"
    assert h["rpc"]["ok"] and h["rpc"]["endpoints"][0]["healthy"]
    assert "/" not in h["rpc"]["endpoints"][0]["endpoint"]          # host:port only, never a URL path
    assert h["websocket"]["connected"] and h["ledger"]["ok"]
    for name in ("ledger", "rpc_pool", "risk_supervisor", "position_tracker", "executor", "momentum_engine",
                 "orchestrator", "ingest", "analyzer_shard_0", "analyzer_shard_1", "control_plane", "supervisor"):
        assert h["actors"][name]["alive"], name
        assert h["actors"][name]["restarts"] == 0


@pytest.mark.parametrize("route", [r for r in ROUTES if r.auth], ids=lambda r: f"{r.method} {r.path}")
def test_every_route_refuses_a_missing_or_wrong_token(live, route):
    api = live["api"]
    path = route.path.replace("{trade_id}", "0" * 24)
    body = VALID_BODIES.get(route.op)
    for token in (None, "wrong-" + api.token, ""):
        status, out = api.call(route.method, path, body, token=token)
        assert status == 401, (route.path, token, out)
        assert out["error"]["code"] == "unauthorized"
    status, out = api.call(route.method, path, body, token=None, headers={"Authorization": api.token})  # no scheme
    assert status == 401
    st = api.ok("GET", "/api/v1/status")
    assert st["status"] == "running" and not st["paused"]              # the refused kill/pause did nothing


def test_unknown_route_and_wrong_method(live):
    api = live["api"]
    assert api.call("GET", "/api/v1/nope", token=None)[0] == 401        # no route listing without a token
    status, out = api.call("GET", "/api/v1/nope")
    assert status == 404 and out["error"]["code"] == "not_found"
    status, out = api.call("DELETE", "/api/v1/status")
    assert status == 405 and out["error"]["code"] == "method_not_allowed"
    status, out = api.call("GET", "/api/v1/sniper/status/" + "0" * 24)
    assert status == 404 and out["error"]["code"] == "unknown_trade"


@pytest.mark.parametrize("op", ["patch_config", "pause", "resume", "kill", "sniper_analyze", "sniper_execute"])
def test_malformed_bodies(live, op):
    api = live["api"]
    route = next(r for r in ROUTES if r.op == op)
    for raw in (b"{not json", b"\xff\xfe", b'{"mode": '):
        status, out = api.call(route.method, route.path, raw=raw)
        assert status == 400 and out["error"]["code"] == "bad_json", (op, raw, out)
    bad, key = {
        "patch_config": ([1, 2], "(body)"), "pause": ({"reason": 5}, "reason"),
        "resume": ({"reset_halt": "yes please"}, "reset_halt"), "kill": ({"mode": "nuke"}, "mode"),
        "sniper_analyze": ({"mint": "0OIl" * 10}, "mint"), "sniper_execute": ({"trade_id": "xyz"}, "trade_id"),
    }[op]
    status, out = api.call(route.method, route.path, bad)
    assert status == 422 and out["error"]["code"] == "invalid", (op, out)
    assert out["error"]["message"].startswith(key), out
    status, out = api.call(route.method, route.path, {"unexpected": 1})
    assert status == 422 and "unexpected" in out["error"]["message"]
    if op in ("kill", "sniper_analyze", "sniper_execute"):             # a body is required
        status, out = api.call(route.method, route.path, raw=b"")
        assert status == 400 and out["error"]["code"] == "bad_json"


def test_invalid_config_patches_name_the_key_and_change_nothing(live):
    api = live["api"]
    before = api.ok("GET", "/api/v1/config")
    for body, key in [({"risk": {"max_open_positions": 0}}, "risk.max_open_positions"),
                      ({"risk": {"max_open_positions": "3"}}, "risk.max_open_positions"),
                      ({"risk.max_concentration": 1.5, "risk.max_open_positions": 3}, "risk.max_concentration"),
                      ({"risk": {"starting_capital_sol": 100.0}}, "risk.starting_capital_sol"),
                      ({"execution.mode": "live"}, "execution.mode"),
                      ({"scoring.feature_weights.nonsense": 1.0}, "scoring.feature_weights"),
                      ({"risk.blacklist": ["not-a-key"]}, "risk.blacklist[0]"),
                      ({"risk.blacklist": [str(Keypair())]}, "risk.blacklist"),     # a secret key: never stored
                      ({"nope": {"x": 1}}, "nope"), ({}, "(body)")]:
        status, out = api.call("PATCH", "/api/v1/config", body)
        assert status == 422, (body, out)
        assert out["error"]["message"].startswith(key + ":"), (body, out)
    assert api.ok("GET", "/api/v1/config") == before
    assert ray_get(live["ledger"].config_changes.remote()) == []


def ray_get(ref):
    import ray
    return ray.get(ref, timeout=30)


def _opp(mint: str | None = None, sol: float = 0.1) -> Opportunity:
    now = time.time()
    mint = mint or str(Keypair().pubkey())
    return Opportunity(id=stable_id(mint, "test", now), mint=mint, strategy="momentum", score=0.8,
                       expected_profit=0.1, risk=0.2, capital_lamports=int(sol * LAMPORTS), created_at=now,
                       expires_at=now + 60)


def test_patch_risk_limit_takes_effect_on_the_next_decision(live):
    """No chain activity yet: the book holds nothing, so the counts below are exact."""
    api, risk = live["api"], live["risk"]
    limit = api.ok("GET", "/api/v1/config")["values"]["risk"]["max_open_positions"]     # the profile's
    assert limit > 2
    first = ray_get(risk.approve_and_reserve.remote(_opp()))
    assert first.approved
    out = api.ok("PATCH", "/api/v1/config", {"risk": {"max_open_positions": 1}})
    assert out["diff"] == {"risk.max_open_positions": {"old": limit, "new": 1}}
    assert "risk_supervisor" in out["applied_to"] and out["pending"] == []
    second = _opp()
    refused = ray_get(risk.approve_and_reserve.remote(second))      # 1 reservation + 1 > 1: the next call refuses
    assert not refused.approved and refused.reason == "max_open_positions"
    api.ok("PATCH", "/api/v1/config", {"risk.max_open_positions": 2})
    again = ray_get(risk.approve_and_reserve.remote(second))        # same opportunity, limit raised: approved
    assert again.approved
    # The blacklist too: a blacklisted mint is refused on the next call.
    banned = str(Keypair().pubkey())
    api.ok("PATCH", "/api/v1/config", {"risk": {"max_open_positions": limit, "blacklist": [banned]}})
    assert ray_get(risk.approve_and_reserve.remote(_opp(banned))).reason == "blacklisted"
    for d in (first, again):
        assert ray_get(risk.release.remote(d.reservation.id))
    changes = ray_get(live["ledger"].config_changes.remote())
    assert [c[2] for c in changes] == [
        {"risk.max_open_positions": {"old": limit, "new": 1}},
        {"risk.max_open_positions": {"old": 1, "new": 2}},
        {"risk.max_open_positions": {"old": 2, "new": limit}, "risk.blacklist": {"old": [], "new": [banned]}}]
    assert all(c[1] == "api" for c in changes)
    view = api.ok("GET", "/api/v1/config")
    assert view["values"]["risk"]["blacklist"] == [banned] and view["changes_this_run"] == 3
    same = api.ok("PATCH", "/api/v1/config", {"risk.max_open_positions": limit})
    assert same["changed"] is False and len(ray_get(live["ledger"].config_changes.remote())) == 3
    status = api.ok("GET", "/api/v1/status")
    capital = live["cfg"].risk.starting_capital_sol
    assert status["open_positions"] == 0 and status["capital_available_sol"] == capital


# --- the story: a sniped launch that closes, one that stays open ----------------------------------------------
def _positions(api) -> dict:
    return {p["mint"]: p for p in api.ok("GET", "/api/v1/positions")["positions"]}


def test_sniper_trade_shows_in_status_portfolio_and_positions(live):
    api, d = live["api"], live["driver"]
    dev, crowd = d.wallet(5), d.wallet(20)
    live["dev"], live["crowd"] = dev, crowd
    mint_a = d.launch(dev, "AAA", 1.0)
    pos = wait_for(lambda: _positions(api).get(mint_a), what="the sniper's position in AAA")
    assert pos["strategy"] == "sniper" and pos["tokens"] > 0
    assert abs(pos["cost_sol"] - live["cfg"].execution.sniper_buy_sol) < 1e-9      # the reservation, fees inside
    d.buy(crowd, mint_a, str(dev.pubkey()), 2.0)
    wait_for(lambda: _positions(api)[mint_a]["pct"] > 0.05, what="AAA's mark to rise after the crowd's buy")
    d.sell_all(dev, mint_a, str(dev.pubkey()))                       # the dev dumps: a rug exit sells
    wait_for(lambda: mint_a not in _positions(api), what="the rug exit to close AAA")
    # the tracker books the close to the ledger right after it drops the position: wait for the row
    closed = wait_for(lambda: next((p for p in ray_get(live["ledger"].positions.remote())
                                    if p.mint == mint_a and not p.is_open), None), what="AAA's closed ledger row")
    pnl_sol = (closed.realized_lamports - closed.cost_lamports) / LAMPORTS
    assert closed.exit_reason == "rug" and pnl_sol > 0       # bought before the crowd, sold after it: a gain

    mint_b = d.launch(dev, "BBB", 0.5)
    wait_for(lambda: mint_b in _positions(api), what="the sniper's position in BBB")
    live["mint_a"], live["mint_b"], live["pnl_a"] = mint_a, mint_b, pnl_sol

    st = api.ok("GET", "/api/v1/status")
    assert st["status"] == "running" and st["mode"] == "paper"
    assert st["trades_today"] == 3                     # AAA buy + sell, BBB buy
    assert st["closed_today"] == 1 and st["wins_today"] == 1 and st["win_rate_today"] == 1.0
    assert st["daily_pnl_sol"] == pytest.approx(pnl_sol, abs=1e-9)
    assert st["open_positions"] == 1 and st["tracked_tokens"] >= 2
    assert st["signals_today"] >= 2                     # two sniper launches at least
    size, capital = live["cfg"].execution.sniper_buy_sol, live["cfg"].risk.starting_capital_sol
    assert st["capital_deployed_sol"] == pytest.approx(size, abs=1e-9)          # BBB's cost basis
    assert st["capital_available_sol"] == pytest.approx(capital + pnl_sol - size, abs=1e-9)
    assert time.time() - 60 < st["last_trade_at"] <= time.time()
    assert st["errors"]["orchestrator_actions"] == 0 and st["errors"]["unanswered"] == 0, st["errors"]
    snap = api.ok("GET", "/api/v1/portfolio/snapshot")
    assert snap["realized_pnl_sol"] == pytest.approx(pnl_sol, abs=1e-9)
    assert [p["mint"] for p in snap["positions"]] == [mint_b] and snap["deployed_sol"] == pytest.approx(size)
    top = api.ok("GET", "/api/v1/tokens/top?n=5")
    assert top["n"] == 5 and {t["mint"] for t in top["tokens"]} >= {mint_b}
    assert all(t["signal"] in ("buy", "watch", "unsafe") for t in top["tokens"])
    for bad in ("0", "101", "ten"):
        status, out = api.call("GET", f"/api/v1/tokens/top?n={bad}")
        assert status == 422 and out["error"]["message"].startswith("n:")


# --- manual targeting --------------------------------------------------------------------------------------
def _analyze(api, mint):
    status, out = api.call("POST", "/api/v1/sniper/analyze", {"mint": mint})
    return out if status == 200 else None


def test_manual_targeting(live):
    api, d, dev = live["api"], live["driver"], live["dev"]
    # No momentum entries during this test (no score reaches 1.0), so only the operator buys CCC.
    scoring = api.ok("GET", "/api/v1/config")["values"]["scoring"]
    api.ok("PATCH", "/api/v1/config", {"scoring.min_score": 1.0})
    assert api.ok("POST", "/api/v1/pause", {"reason": "manual targeting test"})["status"] == "paused"
    mint_c = d.launch(dev, "CCC", 0.5)                 # paused: tracked, but the sniper does not buy it
    analysis = wait_for(lambda: _analyze(api, mint_c), what="CCC to be tracked by its shard")
    trade = analysis["trade"]
    assert trade["state"] == "pending" and trade["safe"] and trade["mint"] == mint_c
    assert analysis["features"]["buys"] and 0 <= analysis["trade"]["score"] <= 1
    assert mint_c not in _positions(api)
    pending = api.ok("GET", "/api/v1/sniper/pending")["trades"]
    assert trade["trade_id"] in [t["trade_id"] for t in pending]
    status, out = api.call("POST", "/api/v1/sniper/execute", {"trade_id": trade["trade_id"]})
    assert status == 409 and "paused" in out["error"]["message"]      # risk/orchestrator state still applies
    assert api.ok("POST", "/api/v1/resume", {})["status"] == "running"

    out = api.ok("POST", "/api/v1/sniper/execute", {"trade_id": trade["trade_id"]}, expect=202)
    assert out["state"] == "submitted"
    done = wait_for(lambda: (lambda v: v if v["state"] not in ("submitted", "executing") else None)(
        api.ok("GET", f"/api/v1/sniper/status/{trade['trade_id']}")), what="the manual trade to finish")
    assert done["state"] == "filled" and done["order_state"] == "confirmed", done
    assert _positions(api)[mint_c]["strategy"] == "manual"
    status, out = api.call("POST", "/api/v1/sniper/execute", {"trade_id": trade["trade_id"]})
    assert status == 409 and "already executed" in out["error"]["message"]
    assert trade["trade_id"] not in [t["trade_id"] for t in api.ok("GET", "/api/v1/sniper/pending")["trades"]]

    # A manual trade in a mint the book already holds is refused by the risk supervisor, like any entry.
    held = _analyze(api, live["mint_b"])["trade"]
    api.ok("POST", "/api/v1/sniper/execute", {"trade_id": held["trade_id"]}, expect=202)
    refused = wait_for(lambda: (lambda v: v if v["state"] != "submitted" else None)(
        api.ok("GET", f"/api/v1/sniper/status/{held['trade_id']}")), what="the duplicate to be refused")
    assert refused["state"] == "rejected" and refused["detail"] == "duplicate", refused

    # Unknown token, unknown trade, expired analysis.
    status, out = api.call("POST", "/api/v1/sniper/analyze", {"mint": str(Keypair().pubkey())})
    assert status == 404 and out["error"]["code"] == "unknown_token"
    status, out = api.call("POST", "/api/v1/sniper/execute", {"trade_id": "ab" * 12})
    assert status == 404 and out["error"]["code"] == "unknown_trade"
    api.ok("PATCH", "/api/v1/config", {"scoring.opportunity_ttl_s": 0.3})
    quick = _analyze(api, live["mint_a"])["trade"]
    time.sleep(0.5)
    assert api.ok("GET", f"/api/v1/sniper/status/{quick['trade_id']}")["state"] == "expired"
    status, out = api.call("POST", "/api/v1/sniper/execute", {"trade_id": quick["trade_id"]})
    assert status == 409 and "expired" in out["error"]["message"]
    api.ok("PATCH", "/api/v1/config", {"scoring.opportunity_ttl_s": scoring["opportunity_ttl_s"],
                                       "scoring.min_score": scoring["min_score"]})
    live["mint_c"] = mint_c


# --- terminal status view, metrics ---------------------------------------------------------------------------
def _status_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "actors.cli", "status", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_status_once_prints_a_frame_with_real_numbers(live):
    api = live["api"]
    st = api.ok("GET", "/api/v1/status")
    run = _status_cli("--once", "--url", api.url, "--token", api.token)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.startswith("launchray  RUNNING") and "mode paper" in out
    assert f"closed 1 (1W/0L)" in out and "win rate 100%" in out
    assert f"P&L {st['daily_pnl_sol']:+.4f} SOL" in out
    assert f"available {st['capital_available_sol']:.4f} SOL" in out
    assert f"OPEN POSITIONS ({st['open_positions']})" in out and st["open_positions"] == 2
    for mint in (live["mint_b"], live["mint_c"]):
        assert f"{mint[:4]}..{mint[-4:]}" in out
    assert "RPC ok (1/1 endpoints" in out and "stream connected" in out and "database ok" in out
    assert "TOP MOMENTUM" in out and "\x1b[" not in out          # --once is plain text

    token_file = _status_cli("--once", "--url", api.url, "--token-file", str(live["token_file"]),
                             env={"LAUNCHRAY_API_TOKEN": ""})
    assert token_file.returncode == 0 and token_file.stdout.startswith("launchray  RUNNING")
    wrong = _status_cli("--once", "--url", api.url, "--token", "wrong")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert len(wrong.stderr.strip().splitlines()) == 1 and "refused the token (401)" in wrong.stderr
    down = _status_cli("--once", "--url", "http://127.0.0.1:9", "--token", api.token)
    assert down.returncode == 2 and "cannot reach the control API" in down.stderr


def test_metrics_list_the_launchray_metrics(live):
    from prometheus_client.parser import text_string_to_metric_families

    api = live["api"]
    st = api.ok("GET", "/api/v1/status")
    status, text = api.call("GET", "/metrics")
    assert status == 200 and isinstance(text, str)
    samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    names = {n for n, _ in samples}
    for name in ("ray_launchray_open_positions", "ray_launchray_capital_available_sol", "ray_launchray_tokens_tracked",
                 "ray_launchray_risk_state", "ray_launchray_fills_total", "ray_launchray_orders_total",
                 "ray_launchray_approvals_total", "ray_launchray_rejections_total", "ray_launchray_rpc_calls_total",
                 "ray_launchray_opportunities_total", "ray_launchray_actor_restarts_total"):
        assert name in names, name
    assert samples[("ray_launchray_open_positions", (("mode", "paper"),))] == st["open_positions"]
    assert sum(v for (n, _), v in samples.items() if n == "ray_launchray_tokens_tracked") == st["tracked_tokens"]
    assert samples[("ray_launchray_fills_total", (("mode", "paper"), ("side", "buy")))] == 3     # AAA, BBB, CCC
    assert samples[("ray_launchray_fills_total", (("mode", "paper"), ("side", "sell")))] == 1
    assert samples[("ray_launchray_rejections_total", (("reason", "duplicate"),))] >= 1
    assert samples[("ray_launchray_risk_state", ())] == 0


def test_openapi_document_covers_every_route(live):
    doc = live["api"].ok("GET", "/api/v1/openapi.json")
    assert doc["openapi"].startswith("3.") and doc["servers"][0]["url"] == live["api"].url
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == {(r.method, r.path) for r in ROUTES}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            for resp in op["responses"].values():
                ref = resp["content"].get("application/json", {}).get("schema", {}).get("$ref")
                if ref:
                    assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]


# --- notebooks ---------------------------------------------------------------------------------------------
def _run_notebook(name: str, env: dict, monkeypatch) -> object:
    import nbformat
    from nbclient import NotebookClient

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    return nb


def _outputs(nb) -> str:
    text = []
    for cell in nb.cells:
        for o in cell.get("outputs", ()):
            text.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(text)


def test_notebooks_run_against_the_live_system(live, ray_session, monkeypatch):
    api = live["api"]
    address = ray_session.get_runtime_context().gcs_address
    nb = _run_notebook("attach_live.ipynb", {"LAUNCHRAY_NAMESPACE": live["ns"], "LAUNCHRAY_RAY_ADDRESS": address,
                                             "LAUNCHRAY_ROOT": str(ROOT)}, monkeypatch)
    out = _outputs(nb)
    assert "after pause: paused | risk: reducing" in out and "after resume: running | risk: active" in out
    assert live["mint_b"] in out and live["mint_c"] in out, out      # the positions table
    assert api.ok("GET", "/api/v1/status")["status"] == "running"    # left as it found it

    report_dir = live["tmp"] / "report"
    _run_notebook("ledger_report.ipynb", {"LAUNCHRAY_LEDGER": str(live["cfg"].ledger.path),
                                          "LAUNCHRAY_REPORT_DIR": str(report_dir), "LAUNCHRAY_ROOT": str(ROOT)},
                  monkeypatch)
    summary = json.loads((report_dir / "summary.json").read_text())
    st = api.ok("GET", "/api/v1/status")
    assert summary["fills"] == st["trades_today"] == 4 and summary["buys"] == 3 and summary["sells"] == 1
    assert summary["positions_closed"] == 1 and summary["positions_open"] == 2 and summary["wins"] == 1
    assert summary["realized_pnl_sol"] == pytest.approx(live["pnl_a"], abs=1e-9)
    assert summary["daily_pnl_table_sol"] == pytest.approx(live["pnl_a"], abs=1e-9)
    assert summary["orders_by_state"] == {"buy/confirmed": 3, "sell/confirmed": 1}
    for png in summary["plots"]:
        assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- restarts: the runtime config survives them -----------------------------------------------------------------
def test_runtime_config_survives_actor_restarts(live):
    """A restarted actor comes back with its constructor's (profile) config: the ControlPlane re-sends the
    current one; a restarted ControlPlane rebuilds it from the changes the ledger recorded during this run."""
    import ray
    from actors import names

    api, risk = live["api"], live["risk"]
    view = api.ok("GET", "/api/v1/config")
    banned = view["values"]["risk"]["blacklist"][0]          # set by the PATCH test earlier in this module
    assert ray_get(risk.status.remote())["restored"] is False   # first start: no snapshot in the new ledger
    ray.kill(risk, no_restart=False)
    wait_for(lambda: _status_or_none(risk).get("restored"), timeout=30, what="the risk supervisor to restart")

    def refused_again():
        d = ray_get(risk.approve_and_reserve.remote(_opp(banned)))
        if d.approved:                                         # still the profile's config: undo and retry
            ray_get(risk.release.remote(d.reservation.id))
        return d.reason == "blacklisted"
    wait_for(refused_again, timeout=20, interval=0.5, what="the restarted risk supervisor to get the config again")

    cp = ray.get_actor(names.CONTROL, namespace=live["ns"])
    ray.kill(cp, no_restart=False)
    url = wait_for(lambda: (lambda u: u if u not in (None, api.url) else None)(_try_url(cp)), timeout=30,
                   what="the restarted ControlPlane (port 0: a new port)")
    again = Api(url, live["token_file"].read_text().strip())   # same token: the file is reused
    assert again.token == api.token
    restored = again.ok("GET", "/api/v1/config")
    assert restored["values"] == view["values"] and restored["changes_this_run"] == view["changes_this_run"]
    live["api"] = again


def _status_or_none(actor) -> dict:
    try:
        return ray_get(actor.status.remote())
    except Exception:
        return {}


def _try_url(cp):
    import ray
    try:
        return ray.get(cp.url.remote(), timeout=5)
    except Exception:
        return None


# --- kill switch (last: it halts trading) ---------------------------------------------------------------------
def test_kill_exits_only_then_flatten_then_resume(live):
    api = live["api"]
    out = api.ok("POST", "/api/v1/kill", {"mode": "exits_only", "reason": "test"})
    assert out["status"] == "halted" and out["risk_state"] == "halted" and out["detail"]["exits_fired"] == 0
    assert len(_positions(api)) == 2                                # exits only: nothing sold by the kill itself
    assert ray_get(live["risk"].approve_and_reserve.remote(_opp())).reason == "killed"
    status, out = api.call("POST", "/api/v1/resume", {})
    assert status == 409 and "reset_halt" in out["error"]["message"]

    out = api.ok("POST", "/api/v1/kill", {"mode": "flatten"})
    assert out["detail"]["exits_fired"] == 2 and sorted(out["detail"]["held_mints"]) == sorted(
        [live["mint_b"], live["mint_c"]])
    wait_for(lambda: not _positions(api), what="flatten to sell every position")
    # The position book settles first, the risk book a call later: wait for both.
    st = wait_for(lambda: (lambda s: s if s["open_positions"] == 0 and s["closed_today"] == 3 else None)(
        api.ok("GET", "/api/v1/status")), what="the risk book and the ledger to book the flatten sells")
    assert st["status"] == "halted" and st["capital_deployed_sol"] == 0

    out = api.ok("POST", "/api/v1/resume", {"reset_halt": True})
    assert out["status"] == "running" and out["risk_state"] == "active"
    assert ray_get(live["risk"].approve_and_reserve.remote(_opp())).approved
