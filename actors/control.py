"""ControlPlane actor: the HTTP control API (health, metrics, status, portfolio, pause/resume/kill, runtime
config, manual targeting) on `cfg.api.host:cfg.api.port` (port 0 = any free port; ask `port()`).

It holds no trading state of its own: every answer is assembled from the actors (pipelines.bot_state decides
how), every command is a call to the actor that owns the decision. What it does own:
- the API token: LAUNCHRAY_API_TOKEN, else `api.token`, else one generated on first start and kept in
  `<ledger dir>/api_token` (mode 0600, reused by a restarted ControlPlane so clients keep working);
- the runtime config: a PATCH is validated (pipelines.config_patch), recorded in the ledger, then handed to
  every actor holding config. A restarted holder rebuilds it itself from the ledger before its first decision
  (actors/runtime_config.py); while the config differs from the profile it is also re-sent to every holder
  every REASSERT_S (a push that failed is retried that way); a restarted ControlPlane rebuilds it from the
  changes the ledger recorded during this run;
- the manual trades analyzed through the API (in memory; an analysis lives opportunity_ttl_s anyway).
"""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import asdict
from pathlib import Path

import ray
from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as PROMETHEUS_TEXT

from actors import names, observe
from actors.control_alerts import AlertFeedLoop, alerts_configured
from actors.control_api import ApiError, make_app
from actors.control_metrics import derived_samples, merged
from actors.logs import register_secret
from actors.metrics import endpoint_label, render_prometheus, snapshot
from pipelines import bot_state
from pipelines.analysis.routing import shard_for
from pipelines.api_models import health_status, level_fields
from pipelines.api_models import (AnalyzeResponse, ConfigPatchResponse, ConfigView, ControlResponse,
                                  ManualTradeView, PendingResponse, PositionsResponse, TokenAnalysis,
                                  TopTokensResponse, openapi_document)
from pipelines.config import Config
from pipelines.config_patch import PatchError, apply_patch, fold_recorded, runtime_keys, runtime_view
from pipelines.manual_targets import ManualTrade, ManualTrades, TradeConflict, TradeNotFound, outcome, trade_from

log = logging.getLogger("launchray.control")

TOKEN_ENV = "LAUNCHRAY_API_TOKEN"
TOKEN_FILE = "api_token"
CALL_TIMEOUT_S = 5.0
STATUS_CACHE_S = 0.5      # /health and /api/v1/status asked together (one dashboard frame) share one gather
REASSERT_S = 5.0
CONFIG_HOLDERS = (names.RISK, names.ORCHESTRATOR, names.MOMENTUM, names.POSITIONS)


def token_path(cfg: Config) -> Path:
    return Path(cfg.ledger.path).resolve().parent / TOKEN_FILE


def resolve_token(cfg: Config, env) -> tuple[str, str]:
    """(token, where it came from). Generates and stores one (0600) when neither env nor config has one."""
    if env.get(TOKEN_ENV, "").strip():
        return env[TOKEN_ENV].strip(), f"${TOKEN_ENV}"
    if cfg.api.token.strip():
        return cfg.api.token.strip(), "api.token"
    path = token_path(cfg)
    try:
        existing = path.read_text().strip()
        if existing:
            if path.stat().st_mode & 0o077:
                log.warning("%s was readable by other users; made it private (0600)", path)
                os.chmod(path, 0o600)
            return existing, str(path)
    except FileNotFoundError:
        pass
    # hex, not urlsafe: a urlsafe token starts with "-" one time in 64, and `launchray status --token -x...`
    # then reads it as an option
    token = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    # O_EXCL: the file is created here, with 0600, never an existing file with looser permissions.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.replace(tmp, path)
    return token, str(path)


@ray.remote(num_cpus=0)
class ControlPlane:
    def __init__(self, cfg: Config) -> None:
        observe.init_observability(cfg, "control_plane")
        self.base_cfg = cfg
        self.cfg = cfg
        self.ns = cfg.ray.namespace
        self.mode = cfg.execution.mode
        self.token, self.token_source = resolve_token(cfg, os.environ)
        register_secret(self.token)
        # Alerts (Telegram and/or webhook) when configured: fed from what changes in the system, ~1 s polls.
        self.alert_feed = AlertFeedLoop(cfg, self._call) if alerts_configured(cfg) else None
        self.manual = ManualTrades()
        self.signals_today = bot_state.DayCounter()
        self.changes_this_run = 0
        self.pending_push: set[str] = set()
        self._handles: dict[str, object] = {}
        self._status_cache: tuple[float, dict] | None = None
        self._status_lock = asyncio.Lock()
        self._config_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._ready = asyncio.get_event_loop().create_future()
        self._tasks = [asyncio.get_event_loop().create_task(self._start())]

    # --- lifecycle -------------------------------------------------------------------------------------------
    async def _start(self) -> None:
        try:
            await self._restore_config()
            self._runner = web.AppRunner(make_app(self, self.token), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.cfg.api.host, self.cfg.api.port)
            await site.start()
            self._port = self._runner.addresses[0][1]
            log.info("control API on http://%s:%d (token from %s)", self.cfg.api.host, self._port,
                     self.token_source)
            self._tasks.append(asyncio.get_event_loop().create_task(self._reassert_loop()))
            if self.alert_feed is not None:
                try:
                    await self.alert_feed.start()
                except Exception as exc:  # alerts are an extra: the API runs without them
                    log.error("alerts not started: %s", type(exc).__name__)
            self._ready.set_result(self._port)
        except Exception as exc:   # surfaced by ping()/port(): the Supervisor's start fails with this message
            log.error("control API could not start on %s:%s: %s", self.cfg.api.host, self.cfg.api.port, exc)
            self._ready.set_exception(RuntimeError(
                f"control API could not start on {self.cfg.api.host}:{self.cfg.api.port}: {exc}"))

    async def ping(self) -> str:
        """This worker's id (changes on restart: how the Supervisor counts restarts), once the API is up."""
        await asyncio.shield(self._ready)
        return names.incarnation()

    async def port(self) -> int:
        return await asyncio.shield(self._ready)

    async def url(self) -> str:
        return f"http://{self.cfg.api.host}:{await self.port()}"

    def token_file(self) -> str:
        """Where the token is kept when it was generated ("" when it came from the environment or config)."""
        return self.token_source if self.token_source.startswith("/") else ""

    def alerts_status(self) -> dict:
        """The alert feed's counters ({} when no alert channel is configured)."""
        return self.alert_feed.status() if self.alert_feed is not None else {}

    def post_alerts(self, alerts: list) -> int:
        """Alerts decided elsewhere (the Supervisor's health watch: error levels, unhandled exceptions, errors,
        low balance) handed to the AlertSender's gate. Returns how many were handed over (0 without a channel)."""
        if self.alert_feed is None:
            return 0
        return self.alert_feed.post(alerts)

    async def stop(self) -> None:
        if self.alert_feed is not None:
            await self.alert_feed.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def metrics_snapshot(self) -> list:
        return snapshot()

    # --- actor calls -----------------------------------------------------------------------------------------
    def _handle(self, name: str):
        h = self._handles.get(name)
        if h is None:
            try:
                h = ray.get_actor(name, namespace=self.ns)
            except ValueError:
                raise ApiError(503, "unavailable", f"{name} is not running") from None
            self._handles[name] = h
        return h

    async def _call(self, name: str, method: str, *args, timeout: float = CALL_TIMEOUT_S):
        ref = getattr(self._handle(name), method).remote(*args)
        try:
            return await asyncio.wait_for(asyncio.ensure_future(ref), timeout)
        except asyncio.TimeoutError:
            raise ApiError(503, "unavailable", f"{name}.{method} did not answer within {timeout:.0f} s") from None
        except ray.exceptions.RayActorError as exc:
            raise ApiError(503, "unavailable", f"{name} is unavailable ({type(exc).__name__})") from None

    async def _try(self, name: str, method: str, *args, timeout: float = CALL_TIMEOUT_S):
        """_call, with a failure as {"error": ...} (for reports that must answer even when a part cannot)."""
        try:
            return await self._call(name, method, *args, timeout=timeout)
        except ApiError as exc:
            return {"error": exc.message}
        except Exception as exc:
            return {"error": type(exc).__name__}

    async def _supervisor_status(self, fresh: bool = False) -> dict:
        async with self._status_lock:
            now = time.monotonic()
            if not fresh and self._status_cache and now - self._status_cache[0] < STATUS_CACHE_S:
                return self._status_cache[1]
            st = await self._try(names.SUPERVISOR, "status", timeout=2 * CALL_TIMEOUT_S)
            if "error" in st and "state" not in st:
                st = {"state": "error", "supervisor_error": st["error"]}
            self._status_cache = (time.monotonic(), st)
            return st

    async def _shard_count(self) -> int:
        info = await self._call(names.SUPERVISOR, "info")
        if not info.get("n_shards"):
            raise ApiError(503, "unavailable", "the supervisor has not started the shards yet")
        return int(info["n_shards"])

    def _holders(self, n_shards: int) -> list[str]:
        return [*CONFIG_HOLDERS, *map(names.shard_name, range(n_shards))]

    # --- runtime config --------------------------------------------------------------------------------------
    async def _restore_config(self) -> None:
        """After a ControlPlane restart: re-apply this run's recorded changes (a new run starts from its profile)."""
        try:
            info = await self._call(names.SUPERVISOR, "info")
            changes = await self._call(names.LEDGER, "config_changes")
        except ApiError as exc:
            log.warning("could not read recorded config changes: %s", exc.message)
            return
        folded = fold_recorded(self.cfg, changes, float(info.get("started_at", 0.0)))
        if folded.earlier:
            log.info("%d config changes recorded by earlier runs were not re-applied (the profile wins on a new run)",
                     folded.earlier)
        if folded.skipped:
            log.warning("recorded config changes no longer valid, skipped: %s", ", ".join(folded.skipped))
        if folded.changed:
            self.cfg = folded.config
            self.changes_this_run = folded.applied
            log.info("re-applied %d config changes recorded during this run", folded.applied)

    async def _push(self, cfg: Config, targets: list[str]) -> tuple[list[str], list[str]]:
        results = await asyncio.gather(*(self._call(t, "update_config", cfg, timeout=CALL_TIMEOUT_S)
                                         for t in targets), return_exceptions=True)
        done = [t for t, r in zip(targets, results) if not isinstance(r, BaseException)]
        failed = [t for t, r in zip(targets, results) if isinstance(r, BaseException)]
        for t, r in zip(targets, results):
            if isinstance(r, BaseException):
                log.warning("config not confirmed by %s: %s", t, getattr(r, "message", type(r).__name__))
        return done, failed

    async def _reassert_loop(self) -> None:
        while True:
            await asyncio.sleep(REASSERT_S)
            if self.cfg == self.base_cfg and not self.pending_push:
                continue
            try:
                async with self._config_lock:
                    _, failed = await self._push(self.cfg, self._holders(await self._shard_count()))
                    self.pending_push = set(failed)
            except Exception as exc:
                log.debug("config re-assert: %s", exc)

    # --- API operations (called by actors/control_api.py; also callable remotely) -----------------------------
    async def api_health(self):
        now = time.time()
        st, rpc = await asyncio.gather(self._supervisor_status(), self._try(names.RPC_POOL, "health"))
        labels = {e.get("url", ""): endpoint_label(e.get("url", "")) for e in (rpc.get("endpoints") or ())}
        alive_extra = {names.RPC_POOL: "error" not in rpc, names.CONTROL: True,
                       names.SUPERVISOR: "supervisor_error" not in st}
        h = bot_state.health(st, bot_state.rpc_health(rpc, labels), alive_extra, now)
        update = level_fields(st)
        if update:
            update["status"] = health_status(h.status, update["level"])
        h = h.model_copy(update=update)
        return h, (503 if h.status == "down" else 200)

    async def api_metrics(self):
        handles = [names.SUPERVISOR, names.LEDGER, names.RPC_POOL, names.RISK, names.POSITIONS, names.EXECUTOR,
                   names.MOMENTUM, names.ORCHESTRATOR, names.INGEST]
        st, rpc = await asyncio.gather(self._supervisor_status(), self._try(names.RPC_POOL, "health"))
        handles += [names.shard_name(i) for i in range(len(st.get("shards") or ()))]
        reports = await asyncio.gather(*(self._try(n, "metrics_snapshot", timeout=2.0) for n in handles))
        reported = [s for r in reports if isinstance(r, list) for s in r] + snapshot()
        text = render_prometheus(merged(reported, derived_samples(st, rpc, self.mode)))
        return web.Response(body=text.encode(), headers={"Content-Type": PROMETHEUS_TEXT})

    async def api_openapi(self):
        return web.json_response(openapi_document(await self.url()))

    async def api_status(self):
        now = time.time()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        st, info, activity, daily = await asyncio.gather(
            self._supervisor_status(), self._try(names.SUPERVISOR, "info"),
            self._try(names.LEDGER, "activity_since", bot_state.day_start(now)),
            self._try(names.LEDGER, "daily_pnl", day))
        started_at = float(info.get("started_at") or now - float(st.get("uptime_s", 0.0)))
        signals = self.signals_today.today(bot_state.signals_total(st), now, started_at)
        daily = asdict(daily) if not isinstance(daily, dict) else {}
        activity = activity if "error" not in activity else {}
        out = bot_state.build_status(st, mode=self.mode, started_at=started_at, signals_today=signals,
                                     activity=activity, daily=daily, now=now)
        return out.model_copy(update=level_fields(st))

    async def api_portfolio(self):
        risk, positions = await asyncio.gather(self._call(names.RISK, "status"),
                                               self._call(names.POSITIONS, "positions"))
        return bot_state.portfolio(risk, positions, time.time())

    async def api_positions(self):
        positions = await self._call(names.POSITIONS, "positions")
        views = [bot_state.position_view(p) for p in positions]
        return PositionsResponse(count=len(views), positions=views)

    async def api_top_tokens(self, query: dict):
        raw = query.get("n", "10")
        try:
            n = int(raw)
        except ValueError:
            raise ApiError(422, "invalid", f"n: expected an integer, got {raw[:20]!r}") from None
        if not 1 <= n <= 100:
            raise ApiError(422, "invalid", "n: must be between 1 and 100")
        top = await self._call(names.MOMENTUM, "top", n)
        min_score = self.cfg.scoring.min_score
        return TopTokensResponse(n=n, min_score=min_score, tokens=[bot_state.token_view(t, min_score) for t in top])

    async def api_get_config(self):
        return ConfigView(values=runtime_view(self.cfg), runtime_keys=runtime_keys(self.cfg),
                          changes_this_run=self.changes_this_run)

    async def api_patch_config(self, body, who: str):
        async with self._config_lock:
            try:
                patch = apply_patch(self.cfg, body)
            except PatchError as exc:
                raise ApiError(422, "invalid", f"{exc.key}: {exc.message}") from None
            if not patch.changed:
                return ConfigPatchResponse(changed=False, diff={}, applied_to=[], pending=[])
            n_shards = await self._shard_count()
            # The audit record comes first: a change nobody can trace is not applied.
            await self._call(names.LEDGER, "record_config_change", time.time(), who, patch.diff)
            self.cfg = patch.config
            self.changes_this_run += 1
            done, failed = await self._push(patch.config, self._holders(n_shards))
            self.pending_push = set(failed)
            log.info("config changed by %s: %s (pending: %s)", who, ", ".join(sorted(patch.diff)), failed or "none")
            return ConfigPatchResponse(changed=True, diff=patch.diff, applied_to=done, pending=failed)

    async def _control_answer(self, action: str, detail: dict) -> ControlResponse:
        st = await self._supervisor_status(fresh=True)
        risk = st.get("risk") if isinstance(st.get("risk"), dict) else {}
        return ControlResponse(action=action, status=bot_state.derive_state(st),
                               risk_state=str(risk.get("state", "unknown")), detail=detail)

    async def api_pause(self, body):
        await asyncio.gather(self._call(names.ORCHESTRATOR, "pause"), self._call(names.RISK, "pause"))
        log.warning("paused through the control API%s", f": {body.reason}" if body.reason else "")
        return await self._control_answer("pause", {"reason": body.reason})

    async def api_resume(self, body):
        risk = await self._call(names.RISK, "status")
        if risk.get("state") == "halted" and not body.reset_halt:
            raise ApiError(409, "conflict", f"trading is halted ({', '.join(risk.get('breakers') or ['halted'])}); "
                                            "resume with {\"reset_halt\": true} to clear the halt")
        if body.reset_halt:
            await self._call(names.RISK, "reset_halt")
        await asyncio.gather(self._call(names.RISK, "resume"), self._call(names.ORCHESTRATOR, "resume"))
        log.warning("resumed through the control API%s%s", " (halt reset)" if body.reset_halt else "",
                    f": {body.reason}" if body.reason else "")
        return await self._control_answer("resume", {"reason": body.reason, "reset_halt": body.reset_halt})

    async def api_kill(self, body):
        flatten = body.mode == "flatten"
        mints = await self._call(names.RISK, "kill", flatten)
        await self._call(names.ORCHESTRATOR, "stop_entries")
        fired = await self._call(names.POSITIONS, "flatten_all", "kill") if flatten else 0
        log.warning("kill switch (%s) through the control API: %d exits fired%s", body.mode, fired,
                    f": {body.reason}" if body.reason else "")
        return await self._control_answer("kill", {"mode": body.mode, "exits_fired": fired,
                                                   "held_mints": list(mints)})

    # --- manual targeting --------------------------------------------------------------------------------------
    def _view(self, t: ManualTrade, state: str, detail: str, order=None) -> ManualTradeView:
        return ManualTradeView(trade_id=t.id, mint=t.mint, state=state, detail=detail, score=round(t.score, 6),
                               safe=t.safe, reasons=list(t.reasons), capital_sol=bot_state.sol(t.capital_lamports),
                               analyzed_at=t.analyzed_at, expires_at=t.expires_at,
                               executed_at=t.executed_at or None, order_id=order.id if order else None,
                               order_state=order.state.value if order else None)

    async def api_sniper_analyze(self, body):
        n = await self._shard_count()
        shard = shard_for(body.mint, n)
        features = await self._call(names.shard_name(shard), "features", body.mint)
        if features is None:
            raise ApiError(404, "unknown_token", f"token {body.mint} is not tracked (no launch or trade seen)")
        scored = await self._call(names.MOMENTUM, "score_features", features)
        now = time.time()
        size = body.amount_sol if body.amount_sol is not None else self.cfg.execution.sniper_buy_sol
        trade = self.manual.add(trade_from(features, scored["score"], round(size * bot_state.LAMPORTS_PER_SOL), now,
                                           self.cfg.scoring.opportunity_ttl_s))
        state, detail = outcome(trade, None, None, now)
        f = features
        return AnalyzeResponse(
            trade=self._view(trade, state, detail), shard=shard, score_gate=scored["gate"],
            components={k: round(v, 6) for k, v in scored["components"].items()},
            features=TokenAnalysis(
                price=f.price, age_s=round(f.age_s, 3), curve_progress=f.curve_progress,
                liquidity_sol=bot_state.sol(f.liquidity_lamports), market_cap_sol=bot_state.sol(f.market_cap_lamports),
                unique_buyers=f.unique_buyers, buys={str(k): v for k, v in f.buys.items()},
                sells={str(k): v for k, v in f.sells.items()},
                volume_sol={str(k): bot_state.sol(v) for k, v in f.volume_lamports.items()},
                top5_share=f.top5_share, dev_share=f.dev_share, rug_probability=f.rug_probability,
                complete=f.complete, migrated=f.migrated))

    async def api_sniper_execute(self, body):
        now = time.time()
        try:
            opp = self.manual.begin_execute(body.trade_id, now, self.cfg.scoring.opportunity_ttl_s)
        except TradeNotFound:
            raise ApiError(404, "unknown_trade", f"no analyzed trade {body.trade_id}") from None
        except TradeConflict as exc:
            raise ApiError(409, "conflict", exc.message) from None
        answer = await self._call(names.ORCHESTRATOR, "on_manual", opp)
        if not answer.get("queued"):
            raise ApiError(409, "conflict", f"trade {opp.id} not executed: {answer.get('reason')}")
        trade = self.manual.submitted(opp.id, opp)
        log.warning("manual trade %s on %s sent to the orchestrator (%d lamports)", opp.id, opp.mint,
                    opp.capital_lamports)
        return self._view(trade, "submitted", "")

    async def api_sniper_status(self, trade_id: str):
        try:
            trade = self.manual.get(trade_id)
        except TradeNotFound:
            raise ApiError(404, "unknown_trade", f"no analyzed trade {trade_id[:64]}") from None
        result, order = None, None
        if trade.state == "submitted":
            result, order = await asyncio.gather(self._call(names.ORCHESTRATOR, "result", trade.id),
                                                 self._call(names.LEDGER, "entry_order_for", trade.id))
        state, detail = outcome(trade, result, order.state.value if order else None, time.time())
        return self._view(trade, state, detail, order)

    async def api_sniper_pending(self):
        now = time.time()
        return PendingResponse(trades=[self._view(t, "pending", "") for t in self.manual.pending(now)])
