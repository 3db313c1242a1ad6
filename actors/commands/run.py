"""`launchray run`: join the Ray cluster it runs in (a Ray job's, RAY_ADDRESS, or ray.address) or start a local
one (pipelines/cluster.py), the chain (embedded simnet unless RPC URLs are configured)
and the whole actor system; trade until Ctrl+C / SIGTERM / --duration (a replay profile, chain.source =
"replay": until the recording has been fed); shut down in order; print a summary."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

HELP = "run the trading system (embedded simnet + paper trading by default)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="sim", help="profile name in conf/ or a TOML path (default: sim)")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (default: run until Ctrl+C)")
    p.add_argument("--summary-json", default="", help="write the final summary as JSON to this path")
    p.add_argument("--confirm-live", action="store_true", help="required, with mode = \"live\", to trade real funds")
    p.add_argument("--shards", type=int, default=0, help="analyzer shards (default: profile, else one per CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--record", default="", metavar="DIR",
                   help="also record the decoded event stream to DIR (hour-partitioned Parquet, as `launchray record`)")


EXIT_CRITICAL = 3      # the error level went CRITICAL (pipelines/health_levels.py): trading stopped


def _critical(system) -> str:
    """The CRITICAL summary line, or "" (a Supervisor that cannot answer is not a verdict)."""
    try:
        h = system.health()
    except Exception:  # noqa: BLE001
        return ""
    return str(h.get("summary") or "critical") if h.get("level") == "critical" else ""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:500]


def _fail(msg: str) -> int:
    print(f"launchray run: {msg}", file=sys.stderr)
    return 2


def check_live(cfg, confirm_live: bool, env) -> str | None:
    """Why live mode may not start (None when it may). Never includes key material."""
    proof = live_opt_in(cfg, confirm_live, env)
    return proof if isinstance(proof, str) else None


def live_opt_in(cfg, confirm_live: bool, env):
    """The proof of the three live opt-ins (pipelines/live_guard.LiveOptIn, the wallet's public key only) for
    the Executor, None for a paper / dry-run profile, or why live mode may not start."""
    if cfg.execution.mode != "live":
        return None
    if not confirm_live:
        return "mode = \"live\" trades real funds: add --confirm-live to the command line to proceed"
    from actors.wallet import WalletError, load_wallet
    from pipelines.live_guard import make_opt_in
    try:
        wallet = str(load_wallet(cfg.execution, env).pubkey())
    except WalletError as exc:
        return f"live mode needs a wallet: {exc}"
    return make_opt_in(cfg.execution.mode, confirm_live, wallet)


def with_durable_paths(cfg, env):
    """cfg with its durable paths absolute (pipelines/data_dir.py), resolved against the user's working directory
    and home here, before anything reaches Ray; refuses paths inside Ray's directories."""
    from pipelines import data_dir
    return data_dir.with_durable_paths(cfg, env, os.getcwd(), str(Path.home()))


def check_not_in_session(cfg) -> None:
    """Once Ray is up: the durable paths are not in the temp/session directory of the Ray we use (which may be
    configured elsewhere than the environment says, e.g. `ray start --temp-dir`)."""
    import ray

    from pipelines.data_dir import check_outside_ray, durable_paths
    try:
        node = ray._private.worker._global_node        # the driver's view of its node; private API, best effort
        dirs = tuple(d for d in (node.get_temp_dir_path(), node.get_session_dir_path()) if d)
    except Exception:  # noqa: BLE001
        return
    paths = durable_paths(cfg.data_dir, cfg.ledger.path, cfg.logging.dir, cfg.telemetry.trace_file,
                          cfg.recording.dir, cwd="/", home=str(Path.home()))
    check_outside_ray(paths, dirs)


def main(args: argparse.Namespace) -> int:
    from pipelines.cluster import ClusterError, grace_warning, join_plan, shutdown_budget_s
    from pipelines.config import ConfigError, config_with, load_config
    from pipelines.data_dir import DataDirError
    try:
        cfg = load_config(args.profile)
        if args.record:      # absolute: the Ingest actor's working directory is not ours
            cfg = config_with(cfg, {"recording": {"dir": str(Path(args.record).resolve())}})
        cfg = with_durable_paths(cfg, os.environ)
        plan = join_plan(os.environ, cfg.ray.address)
    except (ConfigError, DataDirError, ClusterError) as exc:
        return _fail(str(exc))
    if args.record and cfg.chain.source == "replay":
        return _fail("--record: a replay profile has no live stream to record")
    proof = live_opt_in(cfg, args.confirm_live, os.environ)
    if isinstance(proof, str):
        return _fail(proof)

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from actors.system import TradingSystem, progress_line

    # the shards' compiled trade path: compiled once per machine (kept on disk), loaded here while Ray starts
    from pipelines.analysis.trade_batch import warm_cache
    warming = threading.Thread(target=warm_cache, name="warm-trade-kernel", daemon=True)
    warming.start()
    started_ray = not ray.is_initialized() and plan.owns_cluster   # never shut down a cluster we joined
    if not ray.is_initialized():
        kw = {"namespace": cfg.ray.namespace, "log_to_driver": False, "configure_logging": False}
        print(f"launchray: {plan.reason}", flush=True)
        if not plan.owns_cluster:
            ray.init(address=plan.address, **kw)
        else:
            from actors.priority import ray_system_config
            ray.init(address="local", include_dashboard=cfg.ray.include_dashboard,
                     _system_config=ray_system_config(cfg), **kw)
    warming.join()
    try:
        check_not_in_session(cfg)
    except DataDirError as exc:
        if started_ray:
            ray.shutdown()
        return _fail(str(exc))
    warning = grace_warning(os.environ)
    if warning:
        print(f"launchray: warning: {warning}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    system = TradingSystem(cfg, args.shards, live_opt_in=proof)
    try:
        info = system.start()
        if system.chain.get("admin"):
            print(f"simnet: {system.chain['http'][0]} (ws {system.chain['ws'][0]})", flush=True)
        print(f"launchray: {len(info['actors'])} actors up ({system.n_shards} shards), mode {cfg.execution.mode}, "
              f"ledger {system.cfg.ledger.path}", flush=True)
        deadline = time.time() + args.duration if args.duration > 0 else float("inf")
        last = 0.0
        critical = ""
        try:
            while not stop.is_set() and time.time() < deadline and not system.replay_finished():
                stop.wait(min(1.0, max(0.0, deadline - time.time())))
                critical = _critical(system)
                if critical:
                    print(f"launchray: CRITICAL, stopping: {critical}", flush=True)
                    break
                if not args.quiet and time.time() - last >= 5:
                    last = time.time()
                    print(progress_line(system.status()), flush=True)
        except KeyboardInterrupt:
            pass
        print("launchray: shutting down (stop entries, settle positions, stop monitors, flush ledger)", flush=True)
        summary = system.stop(budget_s=shutdown_budget_s(os.environ))
        print(json.dumps(summary, indent=2), flush=True)
        if args.summary_json:
            Path(args.summary_json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.summary_json).write_text(json.dumps(summary, indent=2))
        critical = critical or (summary.get("health", {}).get("summary", "")
                                if summary.get("health", {}).get("level") == "critical" else "")
        if critical:
            print(f"launchray run: {_one_line(critical)}", file=sys.stderr, flush=True)
            return EXIT_CRITICAL
        return 0
    finally:
        system.teardown()
        if started_ray:
            ray.shutdown()
