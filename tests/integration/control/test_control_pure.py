"""The control plane's decisions without Ray: config patches, manual trades, bot state, the status frame, the
metrics merge, the OpenAPI document, and the HTTP layer's error mapping (aiohttp test server, stand-in backend).
"""
from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer
from solders.keypair import Keypair

from actors.control_api import make_app
from actors.control_metrics import derived_samples, merged
from actors.metrics import Sample, render_prometheus
from pipelines import bot_state
from pipelines.api_models import ROUTES, ControlResponse, openapi_document
from pipelines.config import Config
from pipelines.config_patch import PatchError, apply_patch, replay, runtime_keys, runtime_view
from pipelines.manual_targets import (ManualTrades, TradeConflict, TradeNotFound, outcome, trade_from, trade_id)
from pipelines.messages import SafetyVerdict, TokenFeatures, stable_id
from pipelines.status_view import Frame, render, uptime

MINT = "So11111111111111111111111111111111111111112"
OTHER = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


# --- config patches -----------------------------------------------------------------------------------------
def test_patch_nested_and_dotted_gives_the_exact_diff():
    cfg = Config(risk={"max_open_positions": 10}, scoring={"min_score": 0.5},
                 exits={"take_profit": [[1.0, 0.25], [3.0, 1.0]]})
    p = apply_patch(cfg, {"risk": {"max_open_positions": 3, "blacklist": [MINT]}, "scoring.min_score": 0.6,
                          "exits.take_profit": [[2.0, 0.5], [1.0, 0.5]]})
    assert p.diff == {"risk.max_open_positions": {"old": 10, "new": 3},
                      "risk.blacklist": {"old": [], "new": [MINT]},
                      "scoring.min_score": {"old": 0.5, "new": 0.6},
                      "exits.take_profit": {"old": [[1.0, 0.25], [3.0, 1.0]],
                                            "new": [[1.0, 0.5], [2.0, 0.5]]}}   # the validator sorts the ladder
    assert p.config.risk.max_open_positions == 3 and p.config.risk.blacklist == (MINT,)
    assert cfg.risk.max_open_positions == 10                    # the old Config is untouched (frozen)


def test_feature_weights_merge_key_by_key():
    cfg = apply_patch(Config(), {"scoring.feature_weights.velocity": 0.3}).config
    p = apply_patch(cfg, {"scoring": {"feature_weights": {"activity": 0.1}}})
    assert p.config.scoring.feature_weights == {"velocity": 0.3, "activity": 0.1}
    assert p.diff == {"scoring.feature_weights": {"old": {"velocity": 0.3},
                                                  "new": {"velocity": 0.3, "activity": 0.1}}}


@pytest.mark.parametrize("patch,key", [
    ({"risk": {"max_open_positions": 0}}, "risk.max_open_positions"),
    ({"risk": {"max_open_positions": True}}, "risk.max_open_positions"),       # a bool is not a number here
    ({"risk": {"max_open_positions": "3"}}, "risk.max_open_positions"),
    ({"risk": {"max_open_positions": 2.5}}, "risk.max_open_positions"),
    ({"risk.daily_loss_limit": float("nan")}, "risk.daily_loss_limit"),
    ({"risk.starting_capital_sol": 5.0}, "risk.starting_capital_sol"),
    ({"analysis.window_s": [10, 60]}, "analysis.window_s"),
    ({"orchestrator.loop_ms": 5.0}, "orchestrator.loop_ms"),
    ({"api": {"token": "x"}}, "api.token"),
    ({"ledger.path": "/tmp/x"}, "ledger.path"),
    ({"risk": {"nope": 1}}, "risk.nope"),
    ({"nope": {"a": 1}}, "nope"),
    ({"risk": 5}, "risk"),
    ({"risk": {}}, "risk"),
    ({"a.b.c.d": 1}, "a.b.c.d"),
    ({"scoring.feature_weights.velocity": -1.0}, "scoring.feature_weights"),
    ({"risk.blacklist": [MINT, "not base58!"]}, "risk.blacklist[1]"),
    ({"analysis.creator_blacklist": [7]}, "analysis.creator_blacklist[0]"),
    ({"risk.blacklist": [str(Keypair())]}, "risk.blacklist"),                  # shaped like a secret key
    ({}, "(body)"), ([], "(body)"), ("risk", "(body)"),
])
def test_bad_patches_name_the_key(patch, key):
    with pytest.raises(PatchError) as err:
        apply_patch(Config(), patch)
    assert err.value.key == key, err.value


def test_a_patch_is_all_or_nothing_and_a_noop_changes_nothing():
    cfg = Config()
    with pytest.raises(PatchError):
        apply_patch(cfg, {"risk.max_open_positions": 3, "risk.max_concentration": 2.0})
    p = apply_patch(cfg, {"risk.max_open_positions": cfg.risk.max_open_positions})
    assert not p.changed and p.config == cfg


def test_every_runtime_key_accepts_its_current_value():
    cfg = Config()
    keys = runtime_keys(cfg)
    assert "risk.blacklist" in keys and "scoring.feature_weights" in keys and "exits.stop_loss" in keys
    assert "risk.starting_capital_sol" not in keys and "analysis.window_s" not in keys
    view = runtime_view(cfg)
    for key in keys:
        section, name = key.split(".")
        assert not apply_patch(cfg, {key: view[section][name]}).changed, key


def test_replay_rebuilds_the_config_and_skips_what_no_longer_validates():
    cfg = Config()
    a = apply_patch(cfg, {"risk.max_open_positions": cfg.risk.max_open_positions + 1})
    b = apply_patch(a.config, {"risk.blacklist": [MINT], "scoring.min_score": 0.71})
    rebuilt, skipped = replay(cfg, [a.diff, b.diff, {"risk.max_open_positions": {"new": -1}}, {"x": 1}])
    assert skipped == ["risk.max_open_positions", "x"]
    assert rebuilt == b.config


# --- manual trades -------------------------------------------------------------------------------------------
def _features(mint: str = MINT, slot: int = 100, safe: bool = True) -> TokenFeatures:
    return TokenFeatures(
        mint=mint, ts=1000.0, slot=slot, venue="pumpfun", age_s=5.0, price=3e-5, market_cap_lamports=30 * 10**9,
        curve_progress=0.05, liquidity_lamports=10**9, volume_lamports={60: 10**9}, buys={60: 3}, sells={60: 0},
        unique_buyers=3, net_flow_lamports=10**9, price_velocity=0.01, trade_size_entropy=1.0, top5_share=0.1,
        dev_share=0.05, dev_sold_lamports=0, rug_probability=0.2, complete=False, migrated=False,
        safety=SafetyVerdict(safe, () if safe else ("mint_authority",)))


def test_manual_trade_lifecycle():
    book = ManualTrades()
    t = book.add(trade_from(_features(), 0.6, 10**8, now=1000.0, ttl_s=30.0))
    assert t.id == trade_id(MINT, 100) == stable_id(MINT, "manual", 100)
    assert [x.id for x in book.pending(1010.0)] == [t.id] and book.pending(1030.0) == []
    opp = book.begin_execute(t.id, 1010.0, opportunity_ttl_s=30.0)
    assert (opp.id, opp.strategy, opp.capital_lamports, opp.created_at, opp.expires_at) == (
        t.id, "manual", 10**8, 1010.0, 1040.0)
    assert opp.risk == pytest.approx(0.2)
    book.submitted(t.id, opp)
    with pytest.raises(TradeConflict) as err:
        book.begin_execute(t.id, 1011.0, 30.0)
    assert err.value.code == "executed"
    # Analyzing the same slot again keeps the executed trade; a new slot is a new trade.
    assert book.add(trade_from(_features(), 0.9, 10**8, 1012.0, 30.0)).state == "submitted"
    assert book.add(trade_from(_features(slot=101), 0.9, 10**8, 1012.0, 30.0)).id != t.id
    with pytest.raises(TradeNotFound):
        book.get("ff" * 12)


def test_manual_trade_refuses_expired_and_unsafe():
    book = ManualTrades()
    late = book.add(trade_from(_features(), 0.6, 10**8, 1000.0, 30.0))
    with pytest.raises(TradeConflict) as err:
        book.begin_execute(late.id, 1030.0, 30.0)                  # at expires_at exactly: expired
    assert err.value.code == "expired"
    bad = book.add(trade_from(_features(OTHER, safe=False), 0.6, 10**8, 1000.0, 30.0))
    with pytest.raises(TradeConflict) as err:
        book.begin_execute(bad.id, 1001.0, 30.0)
    assert err.value.code == "unsafe" and "mint_authority" in err.value.message


def test_manual_trades_are_bounded():
    book = ManualTrades(max_kept=3)
    ids = [book.add(trade_from(_features(slot=s), 0.5, 1, 0.0, 10.0)).id for s in range(5)]
    assert [t.id for t in book.all()] == ids[2:]


@pytest.mark.parametrize("state,result,order,now,expected", [
    ("pending", None, None, 1010.0, ("pending", "")),
    ("pending", None, None, 1030.0, ("expired", "analysis expired")),
    ("submitted", {"status": "filled", "order_id": "o1"}, "confirmed", 1011.0, ("filled", "o1")),
    ("submitted", {"status": "rejected", "reason": "duplicate"}, None, 1011.0, ("rejected", "duplicate")),
    ("submitted", {"status": "refused", "reason": "no active curve"}, None, 1011.0, ("refused", "no active curve")),
    ("submitted", None, "submitted", 1011.0, ("executing", "submitted")),
    ("submitted", None, "confirmed", 1011.0, ("filled", "")),
    ("submitted", None, "failed", 1011.0, ("failed", "failed")),
    ("submitted", None, None, 1011.0, ("submitted", "")),
    ("submitted", None, None, 1040.0 + 30.0, ("expired", "no result before the opportunity expired")),
])
def test_manual_trade_outcome(state, result, order, now, expected):
    book = ManualTrades()
    t = book.add(trade_from(_features(), 0.6, 10**8, 1000.0, 30.0))
    if state == "submitted":
        t = book.submitted(t.id, book.begin_execute(t.id, 1010.0, 30.0))
    assert outcome(t, result, order, now) == expected


# --- bot state ------------------------------------------------------------------------------------------------
def _st(sup="running", risk_state="active", breakers=(), paused=False, entries=True, **extra):
    st = {"state": sup, "uptime_s": 100.0,
          "risk": {"state": risk_state, "breakers": list(breakers), "capital": 10 * 10**9, "equity": 10_050_000_000,
                   "deployed": 300_000_000, "reserved": 100_000_000, "available": 9_650_000_000,
                   "daily_pnl": 50_000_000, "unrealized_pnl": -20_000_000, "open_positions": 3},
          "orchestrator": {"paused": paused, "entries_enabled": entries,
                           "counts": {"sniper_opportunities": 4, "error_RayActorError": 2}},
          "momentum": {"opportunities": 6}, "ingest": {"connected": True, "reconnects": 1, "last_event_ts": 995.0},
          "ledger": {"orders": 5, "fills": 4}, "executor": {}, "positions": {},
          "shards": [{"index": 0, "tokens": 7, "reads": {"errors": 1}}, {"index": 1, "tokens": 5, "reads": {}}],
          "tokens_tracked": 12, "restarts": {"ledger": 0, "analyzer_shard_0": 1, "analyzer_shard_1": 0},
          "actor_restarts": 1, "failed_pings": {"ingest": 3}}
    st.update(extra)
    return st


@pytest.mark.parametrize("kw,expected", [
    ({}, "running"),
    ({"sup": "initializing"}, "initializing"),
    ({"sup": "shutting_down"}, "shutting_down"),
    ({"sup": "stopped"}, "shutting_down"),
    ({"paused": True}, "paused"),
    ({"risk_state": "reducing", "breakers": ["paused"]}, "paused"),
    ({"risk_state": "reducing", "breakers": ["daily_loss_limit"]}, "reducing"),
    ({"entries": False}, "reducing"),                              # entries stopped (kill exits_only, shutdown)
    ({"risk_state": "halted", "breakers": ["killed"], "paused": True}, "halted"),   # halted beats paused
    ({"risk": {"error": "RayActorError"}}, "error"),
    ({"orchestrator": {"error": "GetTimeoutError"}}, "error"),
])
def test_derive_state(kw, expected):
    extra = {k: kw.pop(k) for k in ("risk", "orchestrator") if k in kw}
    assert bot_state.derive_state(_st(**kw, **extra)) == expected


def test_day_counter():
    c = bot_state.DayCounter()
    day = 86_400.0
    assert c.today(5, 10 * day + 100, started_at=10 * day + 50) == 5     # started today: everything counts
    assert c.today(9, 10 * day + 200, 10 * day + 50) == 9
    assert c.today(12, 11 * day + 10, 10 * day + 50) == 0               # first look on the next day: baseline
    assert c.today(15, 11 * day + 20, 10 * day + 50) == 3
    assert c.today(2, 11 * day + 30, 10 * day + 50) == 2                # the counting actor restarted


def test_build_status_numbers():
    st = _st()
    s = bot_state.build_status(st, mode="paper", started_at=900.0, signals_today=10,
                               activity={"fills": 4, "last_fill_ts": 990.5},
                               daily={"trades": 3, "wins": 2, "losses": 1}, now=1000.0)
    assert (s.status, s.uptime_s, s.tracked_tokens, s.open_positions) == ("running", 100.0, 12, 3)
    assert (s.trades_today, s.closed_today, s.win_rate_today) == (4, 3, round(2 / 3, 4))
    assert (s.daily_pnl_sol, s.unrealized_pnl_sol, s.capital_deployed_sol, s.capital_available_sol) == (
        0.05, -0.02, 0.4, 9.65)                                     # deployed includes the live reservation
    assert s.errors == {"orchestrator_actions": 2, "missed_pings": 3, "shard_reads": 1, "unanswered": 0}
    assert s.error_count == 6 and s.last_trade_at == 990.5
    assert bot_state.signals_total(st) == 10
    empty = bot_state.build_status(st, mode="paper", started_at=900.0, signals_today=0, activity={}, daily={},
                                   now=1000.0)
    assert empty.win_rate_today is None and empty.last_trade_at is None


def test_health():
    rpc = bot_state.rpc_health({"endpoints": [
        {"url": "https://rpc.example.com/?api-key=SECRET", "benched": False, "success": 0.9, "latency_ms": 12.0,
         "consecutive_failures": 0},
        {"url": "https://b.example.com", "benched": True, "success": 0.9, "latency_ms": 5.0,
         "consecutive_failures": 4}]},
        {"https://rpc.example.com/?api-key=SECRET": "rpc.example.com", "https://b.example.com": "b.example.com"})
    assert rpc.ok and [e.healthy for e in rpc.endpoints] == [True, False]
    assert "SECRET" not in rpc.model_dump_json()
    h = bot_state.health(_st(), rpc, {"rpc_pool": True, "control_plane": True}, now=1000.0)
    assert h.status == "ok" and h.websocket.last_event_age_s == 5.0
    assert h.actors["analyzer_shard_0"].restarts == 1 and h.actors["control_plane"].alive
    st = _st(shards=[{"index": 0, "tokens": 1}, {"error": "RayActorError"}])
    assert bot_state.health(st, rpc, {}, 1000.0).status == "degraded"
    assert not bot_state.health(st, rpc, {}, 1000.0).actors["analyzer_shard_1"].alive
    st = _st(ingest={"connected": False, "reconnects": 4})
    assert bot_state.health(st, rpc, {}, 1000.0).status == "degraded"
    assert bot_state.health(_st(ledger={"error": "RayActorError"}), rpc, {}, 1000.0).status == "down"
    assert bot_state.health(_st(), bot_state.rpc_health({"error": "x"}, {}), {}, 1000.0).status == "down"


def test_signal_of():
    assert bot_state.signal_of(0.7, True, 0.5) == "buy"
    assert bot_state.signal_of(0.5, True, 0.5) == "buy"          # at min_score an opportunity is made
    assert bot_state.signal_of(0.49, True, 0.5) == "watch"
    assert bot_state.signal_of(0.9, False, 0.5) == "unsafe"


# --- the status frame -----------------------------------------------------------------------------------------
def _frame(**status):
    st = {"status": "running", "uptime_s": 3725, "mode": "paper", "capital_sol": 10.0, "equity_sol": 10.1,
          "capital_deployed_sol": 1.0, "capital_available_sol": 9.0, "signals_today": 5, "trades_today": 3,
          "closed_today": 2, "wins_today": 1, "losses_today": 1, "win_rate_today": 0.5, "daily_pnl_sol": -0.0123,
          "unrealized_pnl_sol": 0.01, "tracked_tokens": 42, "open_positions": 1, "last_trade_at": 970.0,
          "error_count": 0, "actor_restarts": 0, "breakers": []}
    st.update(status)
    health = {"rpc": {"ok": True, "endpoints": [{"healthy": True, "latency_ms": 3.2}]},
              "websocket": {"connected": True}, "ledger": {"ok": True},
              "actors": {"ledger": {"alive": True}, "ingest": {"alive": False}}}
    positions = [{"mint": OTHER, "strategy": "momentum", "entry_price": 2.5e-5, "last_price": 3.0e-5, "pct": 0.2,
                  "unrealized_pnl_sol": 0.012, "cost_sol": 1.0, "opened_at": 1.0}]
    top = [{"mint": MINT, "symbol": "EVIL\x1b[2J\nX", "score": 0.71, "signal": "buy", "price": 3e-5,
            "curve_progress": 0.2, "unique_buyers": 33, "rug_probability": 0.1}]
    return Frame(status=st, health=health, positions=positions, top=top)


def test_render_frame():
    text = render(_frame(), now=1000.0)
    lines = text.splitlines()
    assert lines[0].startswith("launchray  RUNNING   uptime 01:02:05   mode paper")
    assert lines[0].endswith("1970-01-01 00:16:40 UTC")
    assert "available 9.0000 SOL" in text and "deployed 1.0000 SOL" in text
    assert "signals 5   trades 3   closed 2 (1W/1L)   win rate 50%   P&L -0.0123 SOL" in text
    assert "last trade 00:00:30 ago" in text
    assert "4Nd1..DB4T" in text and "2.5e-05 -> 3e-05" in text and "+20.0%" in text
    assert "RPC ok (1/1 endpoints, 3 ms)" in text and "actors 1/2 up (down: ingest)" in text
    assert "\x1b" not in text and "EVIL[2JX" in text                # metadata cannot paint the terminal
    assert len(lines) == len(text.rstrip("\n").split("\n"))        # ...nor add lines
    painted = render(_frame(), now=1000.0, colour=True)
    assert "\x1b[32mRUNNING\x1b[0m" in painted and "\x1b[31m-0.0123 SOL\x1b[0m" in painted


def test_render_frame_edge_cases():
    text = render(Frame(status={"status": "halted", "breakers": ["killed"], "win_rate_today": None,
                                "last_trade_at": None}, health={}, positions=[], top=[]), now=0.0)
    assert "HALTED" in text and "breakers  killed" in text and "win rate -" in text and "last trade never" in text
    assert "OPEN POSITIONS (0)\n  none" in text and "no scored tokens yet" in text
    assert "RPC DOWN (0/0 endpoints)" in text and "stream DISCONNECTED" in text and "database DOWN" in text
    assert uptime(90061) == "1d 01:01:01"


# --- metrics --------------------------------------------------------------------------------------------------
def test_derived_metrics_and_merge():
    st = _st()
    st["risk"]["decisions"] = {"ok": 3, "clamped_max_position_size": 1, "duplicate": 2}
    st["executor"] = {"counts": {"filled_buy": 4, "filled_sell": 1}}
    st["ledger"]["orders_by_state"] = {"confirmed": 5}
    rpc = {"endpoints": [{"url": "https://rpc.example.com/key/SECRET", "calls": {"ok": 10, "timeout": 1}}]}
    derived = {(s.name, s.labels): s.value for s in derived_samples(st, rpc, "paper")}
    assert derived[("launchray_approvals", (("strategy", "all"),))] == 4
    assert derived[("launchray_rejections", (("reason", "duplicate"),))] == 2
    assert derived[("launchray_capital_deployed_sol", (("mode", "paper"),))] == pytest.approx(0.4)
    assert derived[("launchray_tokens_tracked", (("shard", "0"),))] == 7
    assert derived[("launchray_fills", (("side", "buy"), ("mode", "paper")))] == 4
    assert derived[("launchray_rpc_calls", (("endpoint", "rpc.example.com"), ("method", "all"),
                                            ("outcome", "timeout")))] == 1
    reported = [Sample("launchray_approvals", (("strategy", "sniper"),), 7.0)]
    out = merged(reported, derived_samples(st, rpc, "paper"))
    assert [s.value for s in out if s.name == "launchray_approvals"] == [7.0]      # the actor's, never both
    text = render_prometheus(out)
    assert 'ray_launchray_approvals_total{strategy="sniper"} 7.0' in text and "SECRET" not in text


# --- OpenAPI --------------------------------------------------------------------------------------------------
def test_openapi_document():
    doc = openapi_document("http://127.0.0.1:8787")
    json.dumps(doc)
    ops = {(m.upper(), p): op for p, v in doc["paths"].items() for m, op in v.items()}
    assert set(ops) == {(r.method, r.path) for r in ROUTES} and len(ops) == len(ROUTES)
    assert ops[("GET", "/health")]["security"] == [] and "401" not in ops[("GET", "/health")]["responses"]
    assert all("401" in ops[(r.method, r.path)]["responses"] for r in ROUTES if r.auth)
    kill = doc["components"]["schemas"]["KillRequest"]
    assert kill["properties"]["mode"]["enum"] == ["exits_only", "flatten"] and kill["required"] == ["mode"]
    assert kill["additionalProperties"] is False
    assert ops[("POST", "/api/v1/sniper/execute")]["responses"].keys() >= {"202", "404", "409", "422"}


# --- HTTP layer -----------------------------------------------------------------------------------------------
class _Backend:
    """Answers every operation with a fixed ControlResponse; `kill` fails like a bug would."""

    def __getattr__(self, name):
        if not name.startswith("api_"):
            raise AttributeError(name)

        async def op(**kwargs):
            if name == "api_kill":
                raise RuntimeError("boom")
            return ControlResponse(action="pause", status="running", risk_state="active", detail={})
        return op


async def test_http_layer_error_mapping():
    async with TestClient(TestServer(make_app(_Backend(), "tok"))) as client:
        auth = {"Authorization": "Bearer tok"}
        r = await client.post("/api/v1/kill", json={"mode": "flatten"}, headers=auth)
        assert r.status == 500 and (await r.json())["error"]["code"] == "internal"
        r = await client.get("/api/v1/status", headers=auth)      # the server survived the bug
        assert r.status == 200
        r = await client.post("/api/v1/pause", data=b"x" * (70 * 1024), headers=auth)
        assert r.status == 413 and (await r.json())["error"]["code"] == "too_large"
        r = await client.get("/nowhere")
        assert r.status == 401
        r = await client.get("/health")
        assert r.status == 200
        r = await client.get("/api/v1/status", headers={"Authorization": "Basic tok"})
        assert r.status == 401
        r = await client.post("/api/v1/kill", data=b"[1]", headers=auth)
        assert r.status == 422 and (await r.json())["error"]["message"] == "(body): expected a JSON object"


# --- runtime config inside a shard ----------------------------------------------------------------------------
def test_shard_applies_a_new_blacklist_to_tokens_it_already_tracks():
    from pipelines.analysis.shard import ShardCore
    from pipelines.chain.events import Launch
    from pipelines.config import AnalysisConfig

    creator = str(Keypair().pubkey())
    launch = Launch(venue="pumpfun", signature="sig1", slot=10, mint=OTHER, bonding_curve=MINT, creator=creator,
                    name="Coin", symbol="COIN", uri="https://example.com/c.json", token_program="", quote_mint="",
                    virtual_token_reserves=1_073_000_000_000_000, virtual_sol_reserves=30_000_000_000,
                    real_token_reserves=793_100_000_000_000, token_total_supply=1_000_000_000_000_000)
    core = ShardCore(AnalysisConfig())
    [before] = core.ingest([launch], now=100.0)
    assert "creator_blacklisted" not in before.safety.reasons
    core.update_config(AnalysisConfig(), extra_blacklist=[creator])          # risk.blacklist holds creators too
    after = core.get(OTHER).features(101.0)
    assert not after.safety.safe and "creator_blacklisted" in after.safety.reasons
    with pytest.raises(ValueError):
        core.update_config(AnalysisConfig(window_s=(5, 60)))                 # the state layout cannot change


# --- the API token ----------------------------------------------------------------------------------------------
def test_api_token_sources_and_file(tmp_path):
    import os

    from actors.control import resolve_token

    cfg = Config(ledger={"path": str(tmp_path / "run" / "ledger.sqlite")})
    token, where = resolve_token(cfg, {})
    path = tmp_path / "run" / "api_token"
    assert where == str(path) and path.read_text().strip() == token and len(token) >= 40
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert resolve_token(cfg, {}) == (token, where)                     # a restarted ControlPlane reuses it
    os.chmod(path, 0o644)
    assert resolve_token(cfg, {})[0] == token and oct(path.stat().st_mode & 0o777) == "0o600"
    assert resolve_token(cfg, {"LAUNCHRAY_API_TOKEN": " t1 "}) == ("t1", "$LAUNCHRAY_API_TOKEN")
    with_cfg = Config(ledger={"path": str(tmp_path / "other" / "ledger.sqlite")}, api={"token": "t2"})
    assert resolve_token(with_cfg, {}) == ("t2", "api.token")
    assert not (tmp_path / "other").exists()                            # nothing written when one is given
    assert sorted(p.name for p in path.parent.iterdir()) == ["api_token"]


def test_status_command_finds_the_newest_runs_token(tmp_path):
    import os

    from actors.commands.status import token_file_of

    for i, run in enumerate(("20260101T000000Z", "20260102T000000Z")):
        (tmp_path / run).mkdir()
        (tmp_path / run / "api_token").write_text(run)
        os.utime(tmp_path / run / "api_token", (1000 + i, 1000 + i))
    assert token_file_of(str(tmp_path / "{run_id}" / "ledger.sqlite")) == tmp_path / "20260102T000000Z" / "api_token"
    assert token_file_of(str(tmp_path / "fixed" / "ledger.sqlite")) == tmp_path / "fixed" / "api_token"
    assert token_file_of(str(tmp_path / "none" / "{run_id}" / "ledger.sqlite")) is None
