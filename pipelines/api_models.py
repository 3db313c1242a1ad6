"""The control API's request and response models, its route table, and the OpenAPI 3 document built from both.

Requests are strict (unknown fields refused) so a typo is a 422, not a silently ignored field. Money in
responses is in SOL (floats, for people and dashboards); the ledger and the actors keep integer lamports.
The route table is the one list of routes: the aiohttp app registers exactly these, and the OpenAPI
document describes exactly these.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator
from pydantic.json_schema import models_json_schema
from solders.pubkey import Pubkey

API_VERSION = "1.0.0"
SYSTEM_STATES = ("initializing", "running", "paused", "reducing", "halted", "shutting_down", "error")
SystemState = Literal["initializing", "running", "paused", "reducing", "halted", "shutting_down", "error"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- errors -------------------------------------------------------------------------------------------------
class ErrorBody(_Response):
    code: str = Field(description="bad_json | unauthorized | not_found | unknown_token | unknown_trade | "
                                  "conflict | invalid | method_not_allowed | unavailable | internal")
    message: str


class ErrorResponse(_Response):
    error: ErrorBody


# --- requests -----------------------------------------------------------------------------------------------
class PauseRequest(_Request):
    reason: str = Field("", max_length=200)


class ResumeRequest(_Request):
    reason: str = Field("", max_length=200)
    reset_halt: bool = Field(False, description="also clear the kill switch, an operator halt and a drawdown halt")


class KillRequest(_Request):
    mode: Literal["exits_only", "flatten"] = Field(
        description="exits_only: no new entries, exits still run; flatten: also sell every open position now")
    reason: str = Field("", max_length=200)


def _check_pubkey(v: str) -> str:
    try:
        Pubkey.from_string(v)
    except ValueError:
        raise ValueError("not a base58 public key") from None
    return v


class AnalyzeRequest(_Request):
    mint: str = Field(min_length=32, max_length=44)
    amount_sol: float | None = Field(None, gt=0, le=1000, description="entry size; default execution.sniper_buy_sol")

    _mint = field_validator("mint")(_check_pubkey)


class ExecuteRequest(_Request):
    trade_id: str = Field(min_length=24, max_length=24, pattern=r"^[0-9a-f]+$")


class ConfigPatchRequest(RootModel[dict[str, Any]]):
    """Changes by section or dotted key: {"risk": {"max_open_positions": 3}, "scoring.min_score": 0.6}."""


# --- responses ----------------------------------------------------------------------------------------------
class ActorHealth(_Response):
    alive: bool
    restarts: int = 0
    failed_pings: int = 0
    detail: str = ""


class RpcEndpointHealth(_Response):
    endpoint: str = Field(description="host[:port] only (URLs often carry API keys)")
    healthy: bool
    success_rate: float
    latency_ms: float
    consecutive_failures: int


class RpcHealth(_Response):
    ok: bool
    endpoints: list[RpcEndpointHealth] = []
    cache_hit_rate: float = 0.0
    detail: str = ""


class StreamHealth(_Response):
    ok: bool
    connected: bool
    reconnects: int = 0
    last_event_age_s: float | None = None
    detail: str = ""


class LedgerHealth(_Response):
    ok: bool
    detail: str = ""


class LevelReason(_Response):
    cause: str = Field(description="stream_stale, rpc_down, ledger_slow, shard_down (DEGRADED); balance_low (a "
                                   "warning: alerted, no pause); "
                                   "ledger_unwritable, unexplained_outflow, rpc_down_too_long, "
                                   "unhandled_exception (CRITICAL)")
    level: Literal["warning", "degraded", "critical"]
    detail: str
    since: float


class HealthResponse(_Response):
    status: Literal["ok", "degraded", "down"]
    state: SystemState
    rpc: RpcHealth
    websocket: StreamHealth
    ledger: LedgerHealth
    actors: dict[str, ActorHealth]
    level: Literal["ok", "degraded", "critical"] = Field(
        "ok", description="error level: DEGRADED pauses new entries until the cause clears; CRITICAL stops the run")
    level_reasons: list[LevelReason] = []


class StatusResponse(_Response):
    status: SystemState
    mode: str
    started_at: float
    uptime_s: float
    tracked_tokens: int
    open_positions: int
    signals_today: int
    trades_today: int = Field(description="fills today (UTC), buys and sells")
    closed_today: int = Field(description="positions closed today (UTC)")
    wins_today: int
    losses_today: int
    win_rate_today: float | None
    daily_pnl_sol: float = Field(description="realised P&L today (UTC), from the risk book")
    unrealized_pnl_sol: float
    capital_sol: float
    equity_sol: float
    capital_deployed_sol: float = Field(description="cost basis of open positions plus live reservations")
    capital_available_sol: float
    last_trade_at: float | None
    error_count: int
    errors: dict[str, int]
    risk_state: str
    breakers: list[str]
    paused: bool
    entries_enabled: bool
    actor_restarts: int
    level: Literal["ok", "degraded", "critical"] = "ok"
    level_reasons: list[LevelReason] = []


class PositionView(_Response):
    mint: str
    strategy: str
    tokens: int
    cost_sol: float
    entry_price: float = Field(description="lamports per token base unit, fees included")
    last_price: float
    pct: float = Field(description="last / entry - 1")
    unrealized_pnl_sol: float
    opened_at: float
    tp_steps_done: int


class PositionsResponse(_Response):
    count: int
    positions: list[PositionView]


class PortfolioSnapshot(_Response):
    ts: float
    risk_state: str
    capital_sol: float
    equity_sol: float
    book_equity_sol: float
    peak_equity_sol: float
    drawdown: float
    cash_sol: float
    deployed_sol: float
    reserved_sol: float
    available_sol: float
    realized_pnl_sol: float
    unrealized_pnl_sol: float
    daily_pnl_sol: float
    open_positions: int
    reservations: int
    positions: list[PositionView]


class TokenView(_Response):
    mint: str
    symbol: str
    score: float
    signal: Literal["buy", "watch", "unsafe"]
    price: float
    curve_progress: float
    unique_buyers: int
    rug_probability: float
    safe: bool
    reasons: list[str]


class TopTokensResponse(_Response):
    n: int
    min_score: float
    tokens: list[TokenView]


class ControlResponse(_Response):
    action: Literal["pause", "resume", "kill"]
    status: SystemState
    risk_state: str
    detail: dict[str, Any] = {}


class ConfigView(_Response):
    values: dict[str, dict[str, Any]]
    runtime_keys: list[str]
    changes_this_run: int


class ConfigPatchResponse(_Response):
    changed: bool
    diff: dict[str, dict[str, Any]]
    applied_to: list[str]
    pending: list[str] = Field(description="actors that did not confirm in time; the change is re-sent to them")


class TokenAnalysis(_Response):
    price: float
    age_s: float
    curve_progress: float
    liquidity_sol: float
    market_cap_sol: float
    unique_buyers: int
    buys: dict[str, int]
    sells: dict[str, int]
    volume_sol: dict[str, float]
    top5_share: float
    dev_share: float
    rug_probability: float
    complete: bool
    migrated: bool


class ManualTradeView(_Response):
    trade_id: str
    mint: str
    state: str = Field(description="pending | submitted | executing | filled | rejected | refused | failed | expired")
    detail: str = ""
    score: float
    safe: bool
    reasons: list[str]
    capital_sol: float
    analyzed_at: float
    expires_at: float
    executed_at: float | None = None
    order_id: str | None = None
    order_state: str | None = None


class AnalyzeResponse(_Response):
    trade: ManualTradeView
    shard: int
    score_gate: str = Field(description="why the momentum score is forced to 0, if it is")
    components: dict[str, float]
    features: TokenAnalysis


class PendingResponse(_Response):
    trades: list[ManualTradeView]


# --- routes -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    op: str                                  # handler name and OpenAPI operationId
    summary: str
    response: type[BaseModel] | None         # None: not JSON (/metrics)
    request: type[BaseModel] | None = None
    auth: bool = True
    status: int = 200
    errors: tuple[int, ...] = ()
    query: tuple[tuple[str, str, str], ...] = ()   # (name, JSON type, description)
    path_params: tuple[str, ...] = ()


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "health", "Health of RPC, stream, ledger and every actor (no token needed)",
          HealthResponse, auth=False),
    Route("GET", "/metrics", "metrics", "Prometheus text exposition of the launchray_ metrics", None),
    Route("GET", "/api/v1/openapi.json", "openapi", "This document", None),
    Route("GET", "/api/v1/status", "status", "Bot state: status, uptime, today's activity, capital", StatusResponse),
    Route("GET", "/api/v1/portfolio/snapshot", "portfolio", "Equity, capital use and open positions",
          PortfolioSnapshot),
    Route("GET", "/api/v1/positions", "positions", "Open positions", PositionsResponse),
    Route("GET", "/api/v1/tokens/top", "top_tokens", "Top momentum tokens with score and signal", TopTokensResponse,
          errors=(422,), query=(("n", "integer", "how many, 1..100 (default 10)"),)),
    Route("GET", "/api/v1/config", "get_config", "Current values of the keys that may change at runtime",
          ConfigView),
    Route("PATCH", "/api/v1/config", "patch_config", "Change risk limits, thresholds, weights, blacklist at runtime",
          ConfigPatchResponse, ConfigPatchRequest, errors=(400, 422, 503)),
    Route("POST", "/api/v1/pause", "pause", "Stop new entries (exits keep running)", ControlResponse,
          PauseRequest, errors=(400, 422)),
    Route("POST", "/api/v1/resume", "resume", "Resume entries after a pause (reset_halt also clears halts)",
          ControlResponse, ResumeRequest, errors=(400, 409, 422)),
    Route("POST", "/api/v1/kill", "kill", "Kill switch: exits only, or flatten every position", ControlResponse,
          KillRequest, errors=(400, 422)),
    Route("POST", "/api/v1/sniper/analyze", "sniper_analyze", "Analyze a token for a manual trade",
          AnalyzeResponse, AnalyzeRequest, errors=(400, 404, 422)),
    Route("POST", "/api/v1/sniper/execute", "sniper_execute", "Execute an analyzed trade (risk approval applies)",
          ManualTradeView, ExecuteRequest, status=202, errors=(400, 404, 409, 422)),
    Route("GET", "/api/v1/sniper/status/{trade_id}", "sniper_status", "State of a manual trade", ManualTradeView,
          errors=(404,), path_params=("trade_id",)),
    Route("GET", "/api/v1/sniper/pending", "sniper_pending", "Analyzed trades that may still be executed",
          PendingResponse),
)

_ERROR_TEXT = {400: "Body is not valid JSON", 401: "Missing or wrong bearer token", 404: "Not found",
               409: "Conflict with the current state", 422: "Invalid values (the message names the key)",
               503: "A component did not answer"}


def openapi_document(server_url: str = "") -> dict:
    """OpenAPI 3.1 document of ROUTES, schemas from the pydantic models (model_json_schema)."""
    models = {ErrorResponse}
    for r in ROUTES:
        models |= {m for m in (r.request, r.response) if m is not None}
    def is_request(m: type[BaseModel]) -> bool:
        return issubclass(m, (_Request, RootModel))

    ordered = sorted(models, key=lambda m: m.__name__)
    # Responses: the serialization schema (what we send); requests: the validation schema (what we accept).
    _, out_schema = models_json_schema([(m, "serialization") for m in ordered if not is_request(m)],
                                       ref_template="#/components/schemas/{model}")
    _, in_schema = models_json_schema([(m, "validation") for m in ordered if is_request(m)],
                                      ref_template="#/components/schemas/{model}")
    schemas = {**out_schema.get("$defs", {}), **in_schema.get("$defs", {})}

    def ref(m: type[BaseModel]) -> dict:
        return {"$ref": f"#/components/schemas/{m.__name__}"}

    def error(code: int) -> dict:
        return {"description": _ERROR_TEXT[code], "content": {"application/json": {"schema": ref(ErrorResponse)}}}

    paths: dict[str, dict] = {}
    for r in ROUTES:
        if r.response is not None:
            ok = {"description": "OK", "content": {"application/json": {"schema": ref(r.response)}}}
        elif r.op == "metrics":
            ok = {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
        else:
            ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
        responses: dict[str, Any] = {str(r.status): ok}
        for code in sorted({*r.errors, *((401,) if r.auth else ())}):
            responses[str(code)] = error(code)
        op: dict[str, Any] = {"operationId": r.op, "summary": r.summary, "responses": responses}
        if not r.auth:
            op["security"] = []
        params = [{"name": n, "in": "query", "required": False, "description": d, "schema": {"type": t}}
                  for n, t, d in r.query]
        params += [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in r.path_params]
        if params:
            op["parameters"] = params
        if r.request is not None:
            op["requestBody"] = {"required": r.request is not PauseRequest and r.request is not ResumeRequest,
                                 "content": {"application/json": {"schema": ref(r.request)}}}
        paths.setdefault(r.path, {})[r.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "launchray control API", "version": API_VERSION},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


_STATUS_RANK = {"ok": 0, "degraded": 1, "down": 2}
_LEVEL_STATUS = {"ok": "ok", "degraded": "degraded", "critical": "down"}


def level_fields(st: dict) -> dict:
    """The error level of Supervisor.status()["health"] as HealthResponse / StatusResponse fields (an update for
    model_copy); nothing when the Supervisor did not say."""
    h = st.get("health") if isinstance(st, dict) else None
    if not isinstance(h, dict) or h.get("level") not in _LEVEL_STATUS:
        return {}
    reasons = []
    for r in h.get("reasons") or ():
        try:
            reasons.append(LevelReason(cause=str(r["cause"]), level=r["level"], detail=str(r["detail"]),
                                       since=float(r["since"])))
        except (KeyError, TypeError, ValueError):
            continue
    return {"level": h["level"], "level_reasons": reasons}


def health_status(status: str, level: str) -> str:
    """/health's status: the worse of what it saw itself and the error level."""
    worse = _LEVEL_STATUS.get(level, "ok")
    return worse if _STATUS_RANK[worse] > _STATUS_RANK.get(status, 0) else status
