"""Configuration: TOML profiles in conf/ loaded into pydantic models, with environment overrides.

A profile may name a base (`extends = "sim"`); its tables are merged over the base's. Environment variables
`LAUNCHRAY__SECTION__KEY=value` override single keys (values parsed as TOML literals, falling back to strings).
An unknown or invalid key is rejected with a message naming the key and the file.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
ENV_PREFIX = "LAUNCHRAY__"


class ConfigError(ValueError):
    """A profile that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChainConfig(_Section):
    # "simnet": start the embedded chain; "rpc": use the endpoints below (mainnet or any RPC); "replay": no chain,
    # paper trading over the recording at replay_path on its simulated clock (actors/replay.py).
    source: Literal["simnet", "rpc", "replay"] = "simnet"
    rpc_http: tuple[str, ...] = ()
    rpc_ws: tuple[str, ...] = ()
    commitment: Literal["processed", "confirmed", "finalized"] = "confirmed"
    replay_path: str = ""
    programs: tuple[str, ...] = ()  # empty = every venue launchray decodes
    # The log stream is *stale* when the chain has transactions of a watched program that the stream has not
    # delivered and it has delivered nothing for that program for this many slots (150 ~ 60 s at 400 ms):
    # health shows it, a gauge counts it, and the stream is given a new connection. Probed every stale_probe_s
    # (getSlot + getSignaturesForAddress limit 1 per watched program). pipelines/stream_health.py decides.
    stale_after_slots: int = Field(150, ge=10, le=100_000)
    stale_probe_s: float = Field(5.0, gt=0, le=300)


class MarketConfig(_Section):
    """simnet's synthetic market (simnet/market); its calibrated numbers live in simnet/market/calibration.json."""
    enabled: bool = True
    create_v2_share: float = Field(0.3, ge=0, le=1)      # launches using create_v2 (Token-2022)
    bundle_share: float = Field(0.1, ge=0, le=1)         # launches with a bundled (same-slot Jito) buy
    whale_share: float = Field(0.1, ge=0, le=1)          # launches where one wallet buys a large supply share
    completion_share: float | None = Field(None, ge=0, le=1)   # None = calibrated
    rug_share: float | None = Field(None, ge=0, le=1)          # None = calibrated (of coins whose dev bought)
    organic_wallets: int = Field(384, ge=8, le=100_000)
    keep_trades: int = Field(2_000, ge=0)                # ground truth keeps the last N trades (+ counts)


class SimnetConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port (`launchray simnet` defaults to 8899)
    seed: int = 7
    speed: float = Field(1.0, gt=0)
    slot_ms: int = Field(400, gt=0)
    launches_per_minute: float = Field(6.0, ge=0)
    faults: dict[str, float] = Field(default_factory=dict)
    market: MarketConfig = MarketConfig()


class RpcConfig(_Section):
    requests_per_second: float = Field(50.0, gt=0)
    burst: int = Field(100, gt=0)
    timeout_s: float = Field(5.0, gt=0)
    cache_ttl_s: float = Field(2.0, ge=0)
    tx_cache_ttl_s: float = Field(300.0, ge=0)
    max_retries: int = Field(4, ge=0)
    backoff_base_s: float = Field(0.1, gt=0)
    backoff_max_s: float = Field(10.0, gt=0)
    batch_size: int = Field(100, gt=0, le=100)
    # A response body larger than this is refused and counted (a real getTransaction or a page of 1,000
    # signatures is well under 1 MiB); a Retry-After longer than retry_after_max_s is cut to it.
    max_response_bytes: int = Field(16 * 2**20, ge=64 * 2**10, le=1 << 30)
    retry_after_max_s: float = Field(30.0, ge=0, le=3600)


class RayConfig(_Section):
    # "" = the cluster we are in (a Ray job's, or RAY_ADDRESS), else start a local Ray; "auto" or host:port = join
    # that cluster; "local" = always a private local Ray (pipelines/cluster.py). Only a Ray we start is shut down.
    address: str = ""
    # The Ray namespace every actor of a run lives in and every attaching tool looks in; "" = launchray-<profile>
    # (namespace_for), so each profile runs apart: a paper run never attaches to a live system's actors.
    namespace: str = Field("", max_length=100, pattern=r"^[A-Za-z0-9_.-]*$")
    shards: int = Field(0, ge=0)  # 0 = one per CPU Ray sees
    include_dashboard: bool = True
    # nice increment of the background actors (analyzer shards, momentum, control plane, supervisor), so the
    # decision path (ingest, orchestrator, risk, executor, ledger) wins the CPU on a small machine; 0 = off
    background_nice: int = Field(10, ge=0, le=19)
    # nice value of Ray's worker processes when launchray starts Ray itself (Ray's own default is 15, below the
    # raylet and everything else on the machine): the decision path runs at it, the background actors at it +
    # background_nice. Ignored when attaching to a running cluster (its `ray start` decides).
    worker_niceness: int = Field(0, ge=0, le=19)
    # SCHED_RR priority of the decision path's actors (Orchestrator, RiskSupervisor, Executor, Ledger,
    # PositionTracker: light on CPU, bound by wake-up latency); 0 = off. Needs CAP_SYS_NICE (root); without it
    # they log a warning and run at normal priority.
    realtime_priority: int = Field(5, ge=0, le=99)
    # Largest call argument or result Ray hands straight to the receiving worker over gRPC when launchray starts
    # Ray itself (Ray's `max_direct_call_object_size`, default 100 KiB); larger ones go through the shared-memory
    # object store, which costs the raylet and both workers a round of IPC per object. Ingest's batches to a
    # shard (~0.3 KB an event, up to 4,096 events) fit under 4 MiB: ~25% more events/s on 2 cores.
    inline_object_bytes: int = Field(4 * 2**20, ge=100 * 2**10, le=64 * 2**20)


class AnalysisConfig(_Section):
    window_s: tuple[int, ...] = (10, 60, 300)
    max_trades_per_token: int = Field(64, gt=0)
    max_tracked_tokens: int = Field(20_000, gt=0)
    evict_after_idle_s: float = Field(900.0, gt=0)
    max_top5_holder_share: float = Field(0.30, ge=0, le=1)
    min_initial_liquidity_sol: float = Field(0.0, ge=0)
    require_mint_authority_revoked: bool = True
    require_freeze_authority_revoked: bool = True
    creator_blacklist: tuple[str, ...] = ()
    max_dev_sell_share: float = Field(0.5, ge=0, le=1)
    # Rolling windows: each window is a ring of this many time buckets (expiry resolution = window / buckets;
    # 8 keeps a token within ~2 KB: 1.25 s / 7.5 s / 37.5 s with the default windows).
    window_buckets: int = Field(8, ge=2, le=60)
    # Holder balances estimated from trades: the largest N owners are kept (top-5 share reads them).
    holder_slots: int = Field(12, ge=5, le=256)
    # Unique-buyer sketch size in bits, a power of two (a 2-probe Bloom filter: counts within a few % up to
    # ~0.7 x bits buyers; new-buyer counts miss ~6% at 150 buyers with 1,024 bits). 1 bit = 1/8 byte per token.
    buyer_sketch_bits: int = Field(1024, ge=64, le=65536)
    # Kalman filter on ln(price): process noise (ln-units^2/s^3) and per-trade measurement noise (ln-units^2).
    kalman_process_noise: float = Field(1e-5, gt=0)
    kalman_measurement_noise: float = Field(4e-4, gt=0)
    # A token is "rugged" when its liquidity falls this far below its peak, once the peak passed the floor.
    rug_liquidity_drop: float = Field(0.8, gt=0, le=1)
    rug_min_peak_liquidity_sol: float = Field(1.0, ge=0)
    # Launchpads whose create instruction revokes mint and freeze authority by construction (pump.fun does):
    # their launches count as authority-checked until a real mint read says otherwise.
    trusted_launchpads: tuple[str, ...] = ("pumpfun",)
    min_lp_burned_share: float = Field(0.9, ge=0, le=1)   # AMM pools, when the LP burn is known
    # ShardCore drops an event it saw among the last N (Ray retries deliver a batch at least once); 0 = off.
    dedupe_events: int = Field(65_536, ge=0)
    # Plain trades go through the compiled batch kernel (trade_kernel.py, numba): the same state bit for bit,
    # ~20x cheaper per trade. False = the pure-Python path for every event (the reference; slower).
    compiled_trades: bool = True
    # Live shards send the features of the tokens traded since their last 20 ms flush, at most this many per
    # flush, stalest first; the rest wait for the next flush. Normal traffic never reaches it (no delay); a burst
    # costs freshness (a hot token's features every few flushes) instead of the shard's whole CPU.
    max_features_per_flush: int = Field(100, gt=0)
    # Warm-up: momentum makes no entry on a token whose analysis state has a gap in its history (restored from a
    # checkpoint, first seen mid-life, or launched while we were not watching and learned from a backfill) until
    # the shard has watched it this long without a break (None = the longest window, what the score reads). A
    # token seen from its launch is warm at once. A launch is "learned late" when it is more than
    # late_launch_slots behind the newest slot the shard has seen.
    warmup_s: float | None = Field(None, ge=0, le=86_400)
    late_launch_slots: int = Field(10, ge=0, le=100_000)

    @field_validator("buyer_sketch_bits")
    @classmethod
    def _power_of_two(cls, v):
        if v & (v - 1):
            raise ValueError("buyer_sketch_bits must be a power of two")
        return v

    @field_validator("window_s")
    @classmethod
    def _windows(cls, v):
        if not v or any(w <= 0 for w in v) or len(set(v)) != len(v):
            raise ValueError("window_s needs distinct positive window lengths in seconds")
        return tuple(sorted(v))


class ScoringConfig(_Section):
    # Opportunity priority = w1*profit - w2*risk - w3*capital_cost + w4*strategy_bonus
    w_profit: float = 0.4
    w_risk: float = 0.3
    w_capital: float = 0.2
    w_bonus: float = 0.1
    min_score: float = Field(0.6, ge=0, le=1)   # below this momentum score no opportunity is made
    feature_weights: dict[str, float] = Field(default_factory=dict)
    opportunity_ttl_s: float = Field(30.0, gt=0)
    adapt_interval_s: float = Field(300.0, gt=0)
    # REQUIREMENTS: test vs live thresholds "entropy 2.5 / 1.5, Bayesian 0.80 / 0.20"; defaults are the test
    # (sim/paper) values, conf/live.toml sets the live ones.
    entropy_threshold: float = 2.5
    rug_probability_max: float = Field(0.80, ge=0, le=1)
    # Sniper: launch opportunities go stale fast (the first buyers move the curve within a few slots).
    sniper_ttl_s: float = Field(5.0, gt=0)
    sniper_score: float = Field(0.5, ge=0, le=1)          # prior score of an unscored fresh launch
    sniper_expected_profit: float = 0.10                  # prior expected return of a sniped launch (backtest it)
    # A launch is only a launch for a few slots: one learned later than this many slots after its own slot (a
    # backfill after a reconnect or a restart) is not sniped (counted stale_launch; momentum may still trade it).
    sniper_max_age_slots: int = Field(10, ge=0, le=10_000)
    # Momentum score -> probability that an entry reaches the first take-profit before the stop-loss
    # (p = scale * score * (1 - rug probability)); a calibration knob: fit it from backtests.
    win_probability_scale: float = Field(0.4, gt=0, le=1)


class OrchestratorConfig(_Section):
    loop_ms: float = Field(10.0, gt=0)
    max_concurrent_executions: int = Field(10, gt=0)
    strategies: tuple[str, ...] = ("momentum", "sniper")


class RiskConfig(_Section):
    starting_capital_sol: float = Field(10.0, gt=0)
    max_position_sol: float = Field(1.0, gt=0)
    max_open_positions: int = Field(10, gt=0)
    max_concentration: float = Field(0.30, gt=0, le=1)
    max_portfolio_heat: float = Field(0.80, gt=0, le=1)
    daily_loss_limit: float = Field(0.10, gt=0, le=1)
    drawdown_halt: float = Field(0.15, gt=0, le=1)
    consecutive_loss_pause: int = Field(5, gt=0)
    consecutive_loss_pause_s: float = Field(900.0, ge=0)
    token_cooldown_s: float = Field(300.0, ge=0)
    reservation_ttl_s: float = Field(300.0, gt=0)
    leverage_cap: float = Field(3.0, gt=0)
    blacklist: tuple[str, ...] = ()
    # An entry asking for more than max_position_sol is cut to the max (True) or refused (False).
    clamp_to_max_position: bool = True
    # Live: capital = min(starting_capital_sol, wallet balance - balance_reserve_sol) (the reserve pays the sells'
    # fees); a balance lower than the ledger explains by more than outflow_tolerance_sol, still so
    # outflow_confirm_s later with no order open, is CRITICAL (pipelines/risk/wallet_balance.py).
    balance_reserve_sol: float = Field(0.05, ge=0)
    outflow_tolerance_sol: float = Field(0.01, ge=0)
    outflow_confirm_s: float = Field(60.0, ge=0)   # long enough for a late-landing trade to be found and booked
    balance_check_s: float = Field(5.0, gt=0)      # the balance is also read after each fill


class ExitConfig(_Section):
    stop_loss: float = Field(0.15, gt=0, lt=1)
    # (gain multiple over entry, share of the original position sold): +100% sells 25%, +200% 25%, +300% the rest
    take_profit: tuple[tuple[float, float], ...] = ((1.0, 0.25), (2.0, 0.25), (3.0, 1.0))
    trailing_stop: float = Field(0.25, gt=0, lt=1)
    trailing_activation: float = Field(0.5, ge=0)
    max_hold_s: float = Field(1800.0, gt=0)
    exit_on_migration: bool = True
    exit_on_rug: bool = True

    @field_validator("take_profit")
    @classmethod
    def _ladder(cls, v):
        for gain, share in v:
            if gain <= 0 or not 0 < share <= 1:
                raise ValueError("each take_profit step is [gain > 0, share in (0, 1]]")
        return tuple(sorted(v))


class ExecutionConfig(_Section):
    mode: Literal["paper", "dry_run", "live"] = "paper"
    wallet_key_file: str = ""
    wallet_key_env: str = "LAUNCHRAY_WALLET_KEY"
    slippage_bps: int = Field(500, ge=0, le=5000)
    compute_unit_limit: int = Field(200_000, gt=0)
    priority_fee_micro_lamports: int = Field(100_000, ge=0)
    use_jito: bool = False
    jito_url: str = ""
    jito_tip_lamports: int = Field(10_000, ge=0)
    jupiter_url: str = ""
    simulate_before_send: bool = True
    confirm_timeout_s: float = Field(30.0, gt=0)
    paper_latency_ms: float = Field(0.0, ge=0)
    paper_extra_slippage_bps: int = Field(0, ge=0)
    sniper_buy_sol: float = Field(0.1, gt=0)
    settle_on_shutdown: Literal["report", "close"] = "report"


class LedgerConfig(_Section):
    path: str = "var/ledger.sqlite"
    # FULL: every commit (each intent) is fsynced before it returns, surviving power loss; NORMAL survives a
    # process crash only; OFF is for throwaway backtest ledgers.
    synchronous: Literal["FULL", "NORMAL", "OFF"] = "FULL"


class ApiConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=0, le=65535)  # 0 = any free port (ControlPlane.port() says which)
    token: str = ""  # or LAUNCHRAY_API_TOKEN


class AlertsConfig(_Section):
    telegram_bot_token: str = ""
    telegram_chat_id: str = ""
    telegram_base_url: str = "https://api.telegram.org"
    webhook_url: str = ""
    min_interval_s: float = Field(1.0, ge=0)
    dedup_window_s: float = Field(300.0, ge=0)     # same alert key inside this window is sent once
    max_queue: int = Field(100, gt=0)              # normal alerts waiting for the next digest
    max_retries: int = Field(3, ge=0)              # per delivery, on 429 / 5xx / no answer
    timeout_s: float = Field(10.0, gt=0)
    muted: tuple[str, ...] = ()                    # alert kinds not sent (urgent kinds cannot be muted)
    ws_disconnect_after_s: float = Field(30.0, gt=0)   # Ingest without its WebSocket this long: an urgent alert
    low_balance_sol: float = Field(0.1, ge=0)      # wallet (paper: the book's cash) below this: an urgent alert


class ErrorsConfig(_Section):
    """Error levels (pipelines/health_levels.py): DEGRADED pauses entries until the cause clears, CRITICAL halts
    the run (`launchray run` exits non-zero)."""
    on_critical: Literal["as_shutdown", "close", "report"] = "as_shutdown"   # as_shutdown: execution.settle_on_shutdown
    check_every_s: float = Field(1.0, gt=0)
    degrade_after_s: float = Field(2.0, ge=0)          # a condition must last this long to make the level DEGRADED
    recover_after_s: float = Field(10.0, ge=0)         # ...and be gone this long before entries resume
    rpc_down_critical_s: float = Field(60.0, gt=0)     # every RPC endpoint failing this long: CRITICAL
    ledger_slow_ms: float = Field(2000.0, gt=0)        # a probe write slower than this: the ledger is slow
    ledger_critical_s: float = Field(30.0, gt=0)       # slow (no write completing) this long: unwritable, CRITICAL


class LoggingConfig(_Section):
    dir: str = "var/logs"
    level: str = "INFO"
    retention_days: dict[str, int] = Field(
        default_factory=lambda: {"trades": 90, "signals": 30, "errors": 30, "system": 14})


class RecordingConfig(_Section):
    """Record the decoded event stream while trading (`launchray run --record DIR`): Ingest writes every event it
    routes to DIR as hour-partitioned Parquet, the format `launchray record` writes and `backtest` reads."""
    dir: str = ""                                  # empty = not recording
    flush_rows: int = Field(50_000, gt=0)          # a part is written when this many events are buffered...
    flush_s: float = Field(30.0, gt=0)             # ...or the oldest buffered event is this old


class TelemetryConfig(_Section):
    otlp_endpoint: str = ""
    trace_file: str = "var/traces.jsonl"
    # Spans are exported in batches this often; a graceful shutdown flushes the rest, a killed actor loses them.
    export_interval_ms: float = Field(1000.0, gt=0)


class Config(_Section):
    profile: str = "sim"
    extends: str = ""
    # Where relative ledger/log/trace/recording paths live ("" = ~/.launchray); resolved to absolute paths by the
    # CLI before anything reaches Ray (pipelines/data_dir.py). Never inside Ray's temp or session directories.
    data_dir: str = ""
    chain: ChainConfig = ChainConfig()
    simnet: SimnetConfig = SimnetConfig()
    rpc: RpcConfig = RpcConfig()
    ray: RayConfig = RayConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    scoring: ScoringConfig = ScoringConfig()
    orchestrator: OrchestratorConfig = OrchestratorConfig()
    risk: RiskConfig = RiskConfig()
    exits: ExitConfig = ExitConfig()
    execution: ExecutionConfig = ExecutionConfig()
    ledger: LedgerConfig = LedgerConfig()
    api: ApiConfig = ApiConfig()
    alerts: AlertsConfig = AlertsConfig()
    errors: ErrorsConfig = ErrorsConfig()
    logging: LoggingConfig = LoggingConfig()
    recording: RecordingConfig = RecordingConfig()
    telemetry: TelemetryConfig = TelemetryConfig()

    @model_validator(mode="before")
    @classmethod
    def _namespace_of_the_profile(cls, data):
        """ray.namespace unset or "": the profile's own (namespace_for)."""
        if not isinstance(data, dict):
            return data
        ray = data.get("ray")
        if isinstance(ray, RayConfig):
            if not ray.namespace:
                data = {**data, "ray": ray.model_copy(update={"namespace": namespace_for(data.get("profile"))})}
        elif ray is None or (isinstance(ray, dict) and not ray.get("namespace")):
            data = {**data, "ray": {**(ray or {}), "namespace": namespace_for(data.get("profile"))}}
        return data

    @model_validator(mode="after")
    def _rpc_needs_urls(self):
        if self.chain.source == "rpc" and not self.chain.rpc_http:
            raise ValueError("chain.source = 'rpc' needs at least one chain.rpc_http URL")
        if self.chain.source == "replay":
            if not self.chain.replay_path:
                raise ValueError("chain.source = 'replay' needs chain.replay_path (a recording directory)")
            if self.execution.mode == "live":
                raise ValueError("chain.source = 'replay' has no chain to send to: execution.mode must be "
                                 "'paper' or 'dry_run'")
            if self.execution.paper_latency_ms:
                # the replay holds the market still until a slot's orders are done: a delay would change nothing
                raise ValueError("chain.source = 'replay' runs at zero latency: set execution.paper_latency_ms = 0 "
                                 "(latency is modelled by `launchray backtest --land-slots`)")
        return self


def merge_tables(base: dict, over: dict) -> dict:
    """`over` merged into `base` table by table (nested dicts merge, anything else replaces)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge_tables(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _resolve_path(profile: str | Path) -> Path:
    p = Path(profile)
    if p.suffix == ".toml" or p.exists():
        return p
    return CONF_DIR / f"{profile}.toml"


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if path in seen:
        raise ConfigError(f"{path}: profile extends itself through {' -> '.join(map(str, seen))}")
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such profile") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    base = data.get("extends")
    if base:
        data = merge_tables(_read(_resolve_path(base), (*seen, path)), data)
    return data


def _env_overrides(env: dict[str, str]) -> dict:
    out: dict = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__") if k]
        if not keys:
            continue
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = out
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return out


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(x) for x in err["loc"]) or "(root)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{source}: {key}: {msg}")
    return "\n".join(lines)


def namespace_for(profile) -> str:
    """The Ray namespace of a profile: `launchray-<profile>` (characters Ray and shells take; "sim" if unnamed)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", profile if isinstance(profile, str) and profile else "sim")
    return f"launchray-{name.strip('-') or 'sim'}"[:100]


def load_config(profile: str | Path = "sim", env: dict[str, str] | None = None,
                overrides: dict | None = None) -> Config:
    """Load a profile by name (conf/NAME.toml) or path; apply environment and explicit overrides."""
    path = _resolve_path(profile)
    data = _read(path)
    data.pop("extends", None)
    data.setdefault("profile", path.stem)
    env_data = _env_overrides(dict(os.environ) if env is None else env)
    if env_data:
        data = merge_tables(data, env_data)
    if overrides:
        data = merge_tables(data, overrides)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        source = str(path) + (" (+ LAUNCHRAY__ environment)" if env_data else "")
        raise ConfigError(_describe(exc, source)) from None


def config_with(cfg: Config, changes: dict) -> Config:
    """A new Config with nested changes applied and validated (runtime PATCH); raises ConfigError."""
    try:
        return Config.model_validate(merge_tables(cfg.model_dump(), changes))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "change")) from None
