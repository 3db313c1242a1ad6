"""`launchray sweep --data DIR --grid GRID.toml --out DIR [--objective pnl_sol|sharpe|profit_factor] [--address auto]`

Runs one backtest per combination of the grid (pipelines/backtest/sweep.py: format, validation, ranking) as Ray
tasks, one CPU each: on every core of a local Ray by default, on a cluster with --address auto (or ray://...).
The recording is loaded once by the driver and put in the object store; each worker process deserializes it
once and reuses it for every task it runs. A progress bar runs on stderr. Writes to --out: results.parquet and
results.csv (one row per combination, ranked by the objective: rank, id, objective, the grid's keys, the
metrics, the fingerprint, an error if that run failed) and sweep.json (objective, grid, best combination).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from actors.commands.backtest import add_latency_arguments

HELP = "backtest every combination of a parameter grid as Ray tasks and rank them (results.parquet/.csv)"
_CACHE: dict[str, object] = {}          # per worker process: recording id -> events


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="recording directory (launchray record --out)")
    p.add_argument("--grid", required=True, help="grid TOML (see pipelines/backtest/sweep.py)")
    p.add_argument("--out", required=True, help="directory for results.parquet, results.csv, sweep.json")
    p.add_argument("--profile", default=None, help="base profile (default: the grid's `profile`, else sim)")
    p.add_argument("--objective", default="pnl_sol", choices=("pnl_sol", "sharpe", "profit_factor"),
                   help="rank by this metric (sharpe = per-trade Sharpe ratio; default pnl_sol)")
    p.add_argument("--address", default="", help="Ray address: '' starts a local Ray on all cores; 'auto' attaches")
    p.add_argument("--cpus", type=int, default=0, help="local Ray only: CPUs to use (default: all)")
    add_latency_arguments(p)


def _fail(msg: str) -> int:
    print(f"launchray sweep: {msg}".replace("\n", "; "), file=sys.stderr)
    return 2


def run_point(events_box: list, rec_id: str, t0: float | None, fees, cfg, latency_kw: dict, slot_ms: int,
              shards: int | None, seed: int, point_id: int, params: dict) -> dict:
    """One backtest (runs in a Ray worker, or inline). events_box = [ObjectRef] (or [events]), so the events are
    fetched here, once per process, rather than deserialized for every task."""
    from pipelines.backtest.engine import BacktestEngine
    from pipelines.backtest.latency import latency_from
    from pipelines.backtest.report import build_report
    events = _CACHE.get(rec_id)
    if events is None:
        box = events_box[0]
        if type(box).__name__ == "ObjectRef":
            import ray
            box = ray.get(box)
        _CACHE.clear()
        events = _CACHE[rec_id] = box
    started = time.perf_counter()
    try:
        latency = latency_from(cfg.execution, slot_ms, **latency_kw)
        result = BacktestEngine(cfg, fees, latency=latency, slot_ms=slot_ms, shards=shards, seed=seed,
                                t0=t0).run(events)
        report = build_report(result)
    except Exception as exc:          # one bad combination is reported in its row, the sweep goes on
        return {"id": point_id, "params": params, "metrics": {}, "error": f"{type(exc).__name__}: {exc}",
                "elapsed_s": time.perf_counter() - started}
    for k in ("daily", "counts"):
        report.pop(k, None)
    return {"id": point_id, "params": params, "metrics": report, "elapsed_s": time.perf_counter() - started}


class ProgressBar:
    """A plain text bar on stderr ([#####.....] 12/40 30% 1.2/s eta 23s)."""

    def __init__(self, total: int, stream=sys.stderr, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.done = 0
        self.started = time.perf_counter()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def update(self, n: int = 1) -> None:
        self.done += n
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = int(self.width * self.done / self.total) if self.total else self.width
        line = (f"sweep [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{self.done / self.total:.0%} {rate:.2f}/s eta {eta:.0f}s")
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        if self.tty and self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _tqdm_ray(total: int):
    """ray.experimental.tqdm_ray when it can draw in the driver (it needs the tqdm package), else None."""
    try:
        import tqdm  # noqa: F401
        from ray.experimental.tqdm_ray import tqdm as tqdm_ray
    except ImportError:
        return None
    return tqdm_ray(total=total, desc="sweep", unit="backtest")


def run_sweep(rec, fees, points, *, slot_ms: int, base_latency: dict, shards: int | None, seed: int,
              progress: bool = True) -> list[dict]:
    """Every point as a Ray task (Ray must be initialised); results in completion order."""
    import ray
    remote = ray.remote(num_cpus=1, max_retries=1)(run_point)
    events_ref = ray.put(rec.events)
    rec_id = events_ref.hex()
    pending = []
    for pt in points:
        latency_kw = {**base_latency, **pt.latency}
        pending.append(remote.remote([events_ref], rec_id, rec.t0, fees, pt.config, latency_kw, slot_ms, shards,
                                     seed, pt.id, pt.params))
    bar = (_tqdm_ray(len(points)) or ProgressBar(len(points))) if progress else None
    results = []
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            try:
                results.append(ray.get(ref))
            except Exception as exc:       # a worker died twice: the row says so
                results.append({"id": -1, "params": {}, "metrics": {}, "error": f"{type(exc).__name__}: {exc}"})
            if bar is not None:
                bar.update(1)
    if bar is not None and hasattr(bar, "close"):
        bar.close()
    return results


def write_results(out: Path, ranked: list[dict], objective: str, grid: dict) -> None:
    import polars as pl

    from pipelines.backtest.sweep import table_rows
    out.mkdir(parents=True, exist_ok=True)
    rows = table_rows(ranked)
    df = pl.DataFrame(rows, infer_schema_length=None)
    df.write_parquet(out / "results.parquet")
    df.write_csv(out / "results.csv")
    best = ranked[0] if ranked else None
    (out / "sweep.json").write_text(json.dumps({
        "objective": objective, "combinations": len(ranked), "grid": grid,
        "best": {"id": best["id"], "params": best["params"], "objective": _finite(best["objective"]),
                 "metrics": best["metrics"]} if best else None}, indent=2, default=str))


def _finite(x):
    """JSON has no infinity: a profit factor with no losses is written as the string "inf"."""
    return str(x) if isinstance(x, float) and x in (float("inf"), float("-inf")) else x


def main(args: argparse.Namespace) -> int:
    from actors.commands.backtest import latency_for, prepare
    from pipelines.backtest.sweep import GridError, expand, rank, read_grid
    from pipelines.config import ConfigError
    from pipelines.recording import RecordingError
    try:
        grid_file = read_grid(args.grid)
        profile = args.profile or grid_file.get("profile") or "sim"
        rec, cfg, fees = prepare(args.data, profile)
        slot_ms, latency = latency_for(cfg, rec, args)
        points = expand(grid_file.get("grid", {}), cfg)
    except (GridError, ConfigError, RecordingError, ValueError) as exc:
        return _fail(str(exc))
    base_latency = {"detection_slots": latency.detection_slots, "send_to_land_slots": latency.send_to_land_slots,
                    "jitter_slots": latency.jitter_slots}
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    started_ray = False
    if not ray.is_initialized():
        kw = {"log_to_driver": False, "configure_logging": False, "namespace": cfg.ray.namespace}
        if args.address:
            ray.init(address=args.address, **kw)
        else:
            ray.init(address="local", num_cpus=args.cpus or None, include_dashboard=False, **kw)
        started_ray = True
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        print(f"sweep: {len(points)} backtests of {len(rec.events)} events on {cpus} CPUs, "
              f"objective {args.objective}", file=sys.stderr)
        t = time.perf_counter()
        results = run_sweep(rec, fees, points, slot_ms=slot_ms, base_latency=base_latency,
                            shards=args.shards or None, seed=args.seed)
        elapsed = time.perf_counter() - t
    finally:
        if started_ray:
            ray.shutdown()
    ranked = rank(results, args.objective)
    try:
        write_results(Path(args.out), ranked, args.objective, grid_file.get("grid", {}))
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc}")
    failed = sum(1 for r in ranked if r.get("error"))
    print(f"sweep: {len(ranked)} backtests in {elapsed:.1f}s ({failed} failed) -> {args.out}")
    for r in ranked[:5]:
        m = r["metrics"]
        print(f"  #{r['rank']} id {r['id']} {args.objective}={r['objective']} pnl {m.get('pnl_sol', 0):+.4f} SOL "
              f"trades {m.get('trades', 0)} {json.dumps(r['params'])}")
    return 0
