"""TradingSystem: starts the chain (embedded simnet unless RPC URLs are configured) and the Supervisor with
every actor, reports status, and shuts down in order. `launchray run`, the acceptance tests, benchmarks and
notebooks all use this one code path. Ray must be initialised by the caller.

chain.source = "replay": no chain at all; the actors trade on paper over a recorded stream (chain.replay_path)
fed by the ReplayFeed actor on the recording's simulated clock (actors/replay.py); `replay_until_done` waits
for the end of the stream.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import ray

from actors import names
from actors.placement import current_state_node, options_for
from actors.simnet_host import SimnetHost
from actors.supervisor import Supervisor
from pipelines.config import Config, config_with
from pipelines.data_dir import with_durable_paths

LAMPORTS = 1_000_000_000


def _section(st: dict, key: str) -> dict:
    v = st.get(key)
    return v if isinstance(v, dict) else {}


def progress_line(st: dict) -> str:
    led, ing, mom, risk = (_section(st, k) for k in ("ledger", "ingest", "momentum", "risk"))
    pnl = (risk.get("realized_pnl", 0) or 0) / LAMPORTS
    stream = ing.get("stream") if isinstance(ing.get("stream"), dict) else {}
    state = stream.get("state") or ("live" if ing.get("connected") else "disconnected" if ing else "?")
    behind = stream.get("slots_behind")
    health = _section(st, "health")
    level = health.get("summary") or health.get("level") or "?"
    return (f"[{st.get('uptime_s', 0):>6.0f}s] health {level} | stream {state}"
            + (f" ({behind} slots behind)" if state != "live" and isinstance(behind, int) and behind else "")
            + f" | launches {ing.get('launches_seen', 0)} | tokens "
            f"{st.get('tokens_tracked', 0)} | signals {mom.get('opportunities', 0)} | orders {led.get('orders', 0)} | "
            f"open {risk.get('open_positions', 0)} | pnl {pnl:+.4f} SOL | restarts {st.get('actor_restarts', 0)}")


def build_summary(st: dict, truth: dict | None) -> dict:
    led, ing, mom, orch = (_section(st, k) for k in ("ledger", "ingest", "momentum", "orchestrator"))
    sniper = (orch.get("counts") or {}).get("sniper_opportunities", 0)
    return {
        "launches_seen": led.get("launches_seen", ing.get("launches_seen", 0)),
        "launches_on_chain": len(truth.get("launches", [])) if truth is not None else None,
        "signals": mom.get("opportunities", 0) + sniper,
        "orders": led.get("orders", 0),
        "fills": led.get("fills", 0),
        "positions_opened": led.get("positions_opened", 0),
        "positions_closed": led.get("positions_closed", 0),
        "realized_pnl_sol": round(led.get("realized_pnl_lamports", 0) / LAMPORTS, 9),
        "actor_restarts": st.get("actor_restarts", 0),
        "duplicate_orders": led.get("duplicate_orders", 0),
        "ledger_path": led.get("ledger_path", ""),
        "health": {k: v for k, v in _section(st, "health").items() if k in ("level", "summary", "reasons")},
    } | ({"recorded_events": ing["recorded"].get("events", 0)} if ing.get("recorded") else {})


def with_run_id(cfg: Config, run_id: str | None = None) -> Config:
    """Fill `{run_id}` in the ledger path: the embedded simnet is a new chain every run, so its ledger (positions,
    cursors, risk counters) must be too; a ledger for a real chain keeps a fixed path and resumes."""
    if "{run_id}" not in cfg.ledger.path:
        return cfg
    run_id = run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return config_with(cfg, {"ledger": {"path": cfg.ledger.path.format(run_id=run_id)}})


def wallet_address(cfg: Config) -> str:
    """The live wallet's PUBLIC key (the Supervisor watches its balance); "" on paper or without a wallet."""
    if cfg.execution.mode != "live":
        return ""
    import os

    from actors.wallet import WalletError, load_wallet
    try:
        return str(load_wallet(cfg.execution, os.environ).pubkey())
    except WalletError:
        return ""


class TradingSystem:
    def __init__(self, cfg: Config, n_shards: int = 0, live_opt_in=None) -> None:
        """live_opt_in: the proof `launchray run` made of the three live opt-ins (pipelines/live_guard), handed
        to the Executor with the chain's endpoints; without it a live Executor sends nothing."""
        # absolute before any actor sees them (a notebook's relative path would be each worker's own); idempotent
        cfg = with_run_id(with_durable_paths(cfg, os.environ, os.getcwd(), str(Path.home())))
        self.cfg = cfg
        self.live_opt_in = live_opt_in
        self.ns = cfg.ray.namespace
        self.n_shards = n_shards or cfg.ray.shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.simnet = None
        self.supervisor = None
        self.chain: dict = {}
        self.info: dict = {}

    def start(self, start_market: bool = True) -> dict:
        cfg = self.cfg
        Path(cfg.ledger.path).parent.mkdir(parents=True, exist_ok=True)
        where = current_state_node()        # the Supervisor and an embedded chain beside the ledger
        if cfg.chain.source == "simnet":
            self.simnet = SimnetHost.options(name=names.SIMNET, namespace=self.ns, num_cpus=0, get_if_exists=True,
                                             **options_for(names.SIMNET, where)).remote(cfg)
            self.chain = ray.get(self.simnet.start.remote())
        elif cfg.chain.source == "replay":
            from pipelines.backtest.latency import recording_clock
            recording_clock(cfg.chain.replay_path)     # a bad recording fails here, not in every actor
            self.chain = {"http": [], "ws": [], "jupiter": "", "jito": "", "admin": "",
                          "replay": cfg.chain.replay_path}
        else:
            self.chain = {"http": list(cfg.chain.rpc_http), "ws": list(cfg.chain.rpc_ws),
                          "jupiter": cfg.execution.jupiter_url, "jito": cfg.execution.jito_url, "admin": ""}
        if self.live_opt_in is not None:
            self.chain["live_opt_in"] = self.live_opt_in
        self.supervisor = Supervisor.options(name=names.SUPERVISOR, namespace=self.ns, lifetime="detached",
                                             max_restarts=-1, num_cpus=0, get_if_exists=True,
                                             **options_for(names.SUPERVISOR, where)).remote(
            cfg, self.chain, self.n_shards, wallet=wallet_address(cfg))
        self.info = ray.get(self.supervisor.start.remote())
        if self.simnet is not None and start_market:
            time.sleep(0.5)   # let Ingest's subscriptions settle before the market starts launching
            ray.get(self.simnet.start_market.remote())
        if cfg.chain.source == "replay" and start_market:
            ray.get(self.actor(names.REPLAY).start.remote())
        return self.info

    def replay_until_done(self, timeout: float | None = None) -> dict:
        """Replay mode: wait until every slot of the recording has gone through the system; its status."""
        return ray.get(self.actor(names.REPLAY).wait.remote(), timeout=timeout)

    def replay_finished(self) -> bool:
        """Replay mode: True once the stream has been fed (or the replay stopped or failed)."""
        if self.cfg.chain.source != "replay":
            return False
        return ray.get(self.actor(names.REPLAY).status.remote())["state"] in ("done", "stopped", "failed")

    def status(self) -> dict:
        return ray.get(self.supervisor.status.remote())

    def health(self) -> dict:
        """The error level, cheaply ({"level": "ok" | "degraded" | "critical", "summary": one line})."""
        return ray.get(self.supervisor.info.remote(), timeout=30).get("health") or {}

    def actor(self, name: str):
        return ray.get_actor(name, namespace=self.ns)

    def stop(self, budget_s: float | None = None) -> dict:
        """Stop the market, let the last notifications arrive, shut down in order; returns the summary.
        budget_s: the time `ray job stop` leaves before SIGKILL (pipelines/cluster.shutdown_budget_s)."""
        start = time.monotonic()
        truth = None
        if self.simnet is not None:
            ray.get(self.simnet.stop_market.remote())
            time.sleep(1.0)
            truth = ray.get(self.simnet.ground_truth.remote())
        left = None if budget_s is None else max(0.0, budget_s - (time.monotonic() - start))
        report = ray.get(self.supervisor.shutdown.remote(budget_s=left))
        summary = build_summary(report["status"], truth)
        summary["open_positions"] = report.get("open_positions", [])
        self.last_status = report["status"]
        self.ground_truth = truth
        return summary

    def teardown(self) -> None:
        """Kill every actor this system started (after stop(), or on an error path)."""
        if self.supervisor is not None:
            try:
                ray.get(self.supervisor.kill_children.remote(), timeout=10)
                ray.kill(self.supervisor, no_restart=True)
            except Exception:
                pass
            self.supervisor = None
        if self.simnet is not None:
            try:
                ray.get(self.simnet.stop.remote(), timeout=10)
                ray.kill(self.simnet, no_restart=True)
            except Exception:
                pass
            self.simnet = None
