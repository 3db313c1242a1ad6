"""The bot state the control API reports (REQUIREMENTS "Bot state", dashboard, /health), derived from what the
actors report. Pure: the ControlPlane gathers the reports and passes `now`.

Inputs are the dicts the actors already return: `Supervisor.status()` (with its "risk", "orchestrator",
"ingest", "ledger", "executor", "momentum", "shards", "restarts" sections; a section that did not answer is
{"error": "<exception name>"}), `RpcPool.health()`, `LedgerActor.activity_since()` and `daily_pnl()`.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipelines.api_models import (ActorHealth, HealthResponse, LedgerHealth, PortfolioSnapshot, PositionView,
                                  RpcEndpointHealth, RpcHealth, StatusResponse, StreamHealth, TokenView)

LAMPORTS_PER_SOL = 1_000_000_000
DAY_S = 86_400
# An endpoint is usable when it is not benched and at least this share of recent calls succeeded.
RPC_MIN_SUCCESS = 0.5


def sol(lamports) -> float:
    return round((lamports or 0) / LAMPORTS_PER_SOL, 9)


def day_start(now: float) -> float:
    return (now // DAY_S) * DAY_S


def _section(st: dict, key: str) -> dict:
    v = st.get(key)
    return v if isinstance(v, dict) else {}


def _failed(st: dict, key: str) -> bool:
    v = st.get(key)
    return not isinstance(v, dict) or "error" in v


def derive_state(st: dict) -> str:
    """initializing | running | paused | reducing | halted | shutting_down | error.

    Supervisor state first (start-up, shutdown), then whether the deciding actors answer at all, then the risk
    book (halted beats everything the operator did), then the operator pause, then exits-only conditions
    (daily loss limit, loss-streak pause, entries stopped by a kill or a shutdown)."""
    sup = st.get("state", "")
    if sup == "initializing":
        return "initializing"
    if sup in ("shutting_down", "stopped"):
        return "shutting_down"
    if _failed(st, "risk") or _failed(st, "orchestrator"):
        return "error"
    risk, orch = _section(st, "risk"), _section(st, "orchestrator")
    if risk.get("state") == "halted":
        return "halted"
    if orch.get("paused") or "paused" in (risk.get("breakers") or ()):
        return "paused"
    if risk.get("state") == "reducing" or not orch.get("entries_enabled", True):
        return "reducing"
    return "running"


@dataclass(slots=True)
class DayCounter:
    """Turns a running total (counted since an actor started) into "today" (UTC).

    The total started at 0 when the system started; on a day the system started, nothing is subtracted. On a
    later day the total seen first that day is the baseline (so what was counted between midnight and the first
    look is missed, at most one status poll). A total that went down means the counting actor restarted."""
    day: int = -1
    base: int = 0

    def today(self, total: int, now: float, started_at: float) -> int:
        d = int(now // DAY_S)
        if d != self.day:
            self.day = d
            self.base = 0 if int(started_at // DAY_S) == d else total
        if total < self.base:
            self.base = 0
        return total - self.base


def signals_total(st: dict) -> int:
    """Signals raised since start: momentum opportunities plus sniper launch opportunities."""
    mom, orch = _section(st, "momentum"), _section(st, "orchestrator")
    return int(mom.get("opportunities", 0)) + int((orch.get("counts") or {}).get("sniper_opportunities", 0))


def error_counts(st: dict) -> dict[str, int]:
    """Errors by where they happened: failed orchestrator actions, actors that missed pings or did not answer
    this status call, shard account-read errors."""
    orch = _section(st, "orchestrator")
    out = {
        "orchestrator_actions": sum(v for k, v in (orch.get("counts") or {}).items() if k.startswith("error_")),
        "missed_pings": sum((st.get("failed_pings") or {}).values()),
        "shard_reads": sum(int((s.get("reads") or {}).get("errors", 0)) for s in st.get("shards", ())
                           if isinstance(s, dict)),
        "unanswered": sum(1 for k in ("ingest", "risk", "positions", "orchestrator", "executor", "momentum", "ledger")
                          if k in st and _failed(st, k))
                      + sum(1 for s in st.get("shards", ()) if not isinstance(s, dict) or "error" in s),
    }
    return out


def build_status(st: dict, *, mode: str, started_at: float, signals_today: int, activity: dict, daily: dict,
                 now: float) -> StatusResponse:
    """activity: LedgerActor.activity_since(day start) ({"fills", "last_fill_ts"}); daily: the day's DailyPnl
    as a dict ({"trades", "wins", "losses", ...})."""
    risk, orch = _section(st, "risk"), _section(st, "orchestrator")
    wins, losses = int(daily.get("wins", 0)), int(daily.get("losses", 0))
    errors = error_counts(st)
    last = activity.get("last_fill_ts") or 0.0
    return StatusResponse(
        status=derive_state(st), mode=mode, started_at=started_at, uptime_s=round(max(0.0, now - started_at), 1),
        tracked_tokens=int(st.get("tokens_tracked", 0)), open_positions=int(risk.get("open_positions", 0)),
        signals_today=signals_today, trades_today=int(activity.get("fills", 0)),
        closed_today=int(daily.get("trades", 0)), wins_today=wins, losses_today=losses,
        win_rate_today=round(wins / (wins + losses), 4) if wins + losses else None,
        daily_pnl_sol=sol(risk.get("daily_pnl")), unrealized_pnl_sol=sol(risk.get("unrealized_pnl")),
        capital_sol=sol(risk.get("capital")), equity_sol=sol(risk.get("equity")),
        capital_deployed_sol=sol((risk.get("deployed") or 0) + (risk.get("reserved") or 0)),
        capital_available_sol=sol(risk.get("available")), last_trade_at=float(last) if last else None,
        error_count=sum(errors.values()), errors=errors, risk_state=str(risk.get("state", "unknown")),
        breakers=list(risk.get("breakers") or ()), paused=bool(orch.get("paused", False)),
        entries_enabled=bool(orch.get("entries_enabled", False)), actor_restarts=int(st.get("actor_restarts", 0)),
    )


def position_view(p: dict) -> PositionView:
    """One entry of PositionTracker.positions()."""
    return PositionView(
        mint=p["mint"], strategy=p.get("strategy", ""), tokens=int(p.get("tokens", 0)),
        cost_sol=sol(p.get("cost_lamports")), entry_price=float(p.get("entry_price", 0.0)),
        last_price=float(p.get("last_price", 0.0)), pct=round(float(p.get("pct", 0.0)), 6),
        unrealized_pnl_sol=sol(p.get("unrealized_lamports")), opened_at=float(p.get("opened_at", 0.0)),
        tp_steps_done=int(p.get("tp_steps_done", 0)))


def portfolio(risk: dict, positions: list[dict], now: float) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        ts=now, risk_state=str(risk.get("state", "unknown")), capital_sol=sol(risk.get("capital")),
        equity_sol=sol(risk.get("equity")), book_equity_sol=sol(risk.get("book_equity")),
        peak_equity_sol=sol(risk.get("peak_equity")), drawdown=round(float(risk.get("drawdown", 0.0)), 6),
        cash_sol=sol(risk.get("cash")), deployed_sol=sol(risk.get("deployed")), reserved_sol=sol(risk.get("reserved")),
        available_sol=sol(risk.get("available")), realized_pnl_sol=sol(risk.get("realized_pnl")),
        unrealized_pnl_sol=sol(risk.get("unrealized_pnl")), daily_pnl_sol=sol(risk.get("daily_pnl")),
        open_positions=int(risk.get("open_positions", 0)), reservations=int(risk.get("reservations", 0)),
        positions=[position_view(p) for p in positions])


def signal_of(score: float, safe: bool, min_score: float) -> str:
    """What the momentum engine would do with the token now: buy (score clears min_score), watch, unsafe."""
    if not safe:
        return "unsafe"
    return "buy" if score >= min_score else "watch"


def token_view(t: dict, min_score: float) -> TokenView:
    """One entry of MomentumEngine.top()."""
    score = float(t.get("score", 0.0))
    safe = bool(t.get("safe", False))
    return TokenView(mint=t["mint"], symbol=str(t.get("symbol", "")), score=score,
                     signal=signal_of(score, safe, min_score), price=float(t.get("price", 0.0)),
                     curve_progress=float(t.get("curve_progress", 0.0)), unique_buyers=int(t.get("unique_buyers", 0)),
                     rug_probability=float(t.get("rug_probability", 0.0)), safe=safe,
                     reasons=list(t.get("reasons", ())))


def rpc_health(h: dict | None, labels: dict[str, str]) -> RpcHealth:
    """RpcPool.health() -> RpcHealth; `labels` maps each endpoint URL to what may be shown (host[:port])."""
    if not isinstance(h, dict) or "error" in h:
        return RpcHealth(ok=False, detail=str((h or {}).get("error", "no answer")) if isinstance(h, dict) else "no answer")
    eps = []
    for e in h.get("endpoints", ()):
        healthy = not e.get("benched", False) and float(e.get("success", 0.0)) >= RPC_MIN_SUCCESS
        eps.append(RpcEndpointHealth(endpoint=labels.get(e.get("url", ""), "unknown"), healthy=healthy,
                                     success_rate=float(e.get("success", 0.0)),
                                     latency_ms=float(e.get("latency_ms", 0.0)),
                                     consecutive_failures=int(e.get("consecutive_failures", 0))))
    ok = any(e.healthy for e in eps)
    return RpcHealth(ok=ok, endpoints=eps, cache_hit_rate=float(h.get("account_cache_hit_rate", 0.0)),
                     detail="" if ok else "no healthy endpoint")


def health(st: dict, rpc: RpcHealth, alive_extra: dict[str, bool], now: float) -> HealthResponse:
    """alive_extra: actors not covered by Supervisor.status() (rpc_pool, control_plane, simnet) -> answered."""
    ing = _section(st, "ingest")
    led = st.get("ledger") if isinstance(st.get("ledger"), dict) else {}
    last = float(ing.get("last_event_ts", 0.0) or 0.0)
    stream = StreamHealth(ok=bool(ing.get("connected")), connected=bool(ing.get("connected")),
                          reconnects=int(ing.get("reconnects", 0)),
                          last_event_age_s=round(now - last, 3) if last else None,
                          detail="" if ing.get("connected") else (ing.get("error") and f"ingest: {ing['error']}"
                                                                  or "websocket not connected"))
    # /health answers without a token: it says whether the ledger answers, not what it holds.
    ledger = LedgerHealth(ok=not _failed(st, "ledger"),
                          detail=f"ledger: {led.get('error', 'no answer')}" if _failed(st, "ledger") else "")
    restarts = st.get("restarts") or {}
    pings = st.get("failed_pings") or {}
    section_of = {"ingest": "ingest", "risk_supervisor": "risk", "position_tracker": "positions",
                  "orchestrator": "orchestrator", "executor": "executor", "momentum_engine": "momentum",
                  "ledger": "ledger"}
    actors: dict[str, ActorHealth] = {}
    for name in sorted(set(restarts) | set(alive_extra)):
        if name in alive_extra:
            alive = alive_extra[name]
        elif name in section_of:
            alive = not _failed(st, section_of[name])
        elif name.startswith("analyzer_shard_"):
            i = int(name.rsplit("_", 1)[1])
            shards = st.get("shards") or []
            alive = i < len(shards) and isinstance(shards[i], dict) and "error" not in shards[i]
        else:
            alive = True
        actors[name] = ActorHealth(alive=alive, restarts=int(restarts.get(name, 0)),
                                   failed_pings=int(pings.get(name, 0)), detail="" if alive else "did not answer")
    if not ledger.ok or not rpc.ok or derive_state(st) == "error":
        status = "down"
    elif not stream.ok or not all(a.alive for a in actors.values()):
        status = "degraded"
    else:
        status = "ok"
    return HealthResponse(status=status, state=derive_state(st), rpc=rpc, websocket=stream, ledger=ledger,
                          actors=actors)
