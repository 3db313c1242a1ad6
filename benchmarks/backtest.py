"""Backtest benchmark: BacktestEngine throughput on one core, and a Ray sweep's speedup on 2 cores.

The stream is the committed simnet recording (data/sample: a real market's launches, snipes, rugs, runners and
migrations) replicated --copies times with renamed mints, pools and signatures and the same slots, i.e. a
market --copies times busier than simnet's default (closer to mainnet's launch rate). Everything runs the
sim profile at zero latency, as `launchray backtest` does.

    python benchmarks/backtest.py [--copies 40] [--repeat 3] [--sweep-copies 8] [--sweep-points 4] [--profile]

Prints one JSON object: {"name": "backtest", "metrics": {"events_per_s", "sweep_speedup_2_cores", ...}}.
events_per_s is the engine alone (events already loaded), wall clock, best of --repeat runs; events_per_cpu_s
is the same run count on this process's CPU time (less sensitive to other work on a shared machine, whose
1-minute load average is reported as load_avg_1m); load_events_per_s is reading the Parquet.
sweep_speedup_2_cores = (the same --sweep-points backtests run one after the other in this process) / (run as
Ray tasks on a local Ray with 2 CPUs, started here and already warm). --profile adds cProfile's top functions.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.backtest.engine import BacktestEngine  # noqa: E402
from pipelines.backtest.market import ChainFees  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.recording import load_recording  # noqa: E402

SAMPLE = ROOT / "data" / "sample"
_RENAMED = ("mint", "pool", "bonding_curve", "mint_a")


def replicate(events: list, copies: int) -> list:
    """`copies` disjoint markets on the same slots: copy k renames every token, pool and signature."""
    out = []
    for ev in events:
        for k in range(copies):
            if k == 0:
                out.append(ev)
                continue
            tag = f"{k:04d}"
            changes = {"signature": ev.signature[:80] + tag}
            for name in _RENAMED:
                v = getattr(ev, name, None)
                if v and v != "So11111111111111111111111111111111111111112":
                    changes[name] = v[:40] + tag
            out.append(replace(ev, **changes))
    return out


def run_engine(cfg, fees, events, t0):
    return BacktestEngine(cfg, fees, t0=t0).run(events)


def bench_engine(events, fees, t0, profile: bool, repeat: int = 3) -> tuple[float, float, dict, str]:
    """(best wall seconds, best CPU seconds, result counts, cProfile top entries when profiling)."""
    cfg = load_config("sim", env={})
    run_engine(cfg, fees, events[: len(events) // 10], t0)            # warm-up (imports, caches)
    best_wall = best_cpu = math.inf
    for _ in range(max(1, repeat)):
        t, c = time.perf_counter(), time.process_time()
        result = run_engine(cfg, fees, events, t0)
        best_wall = min(best_wall, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    top = ""
    if profile:           # a separate run: cProfile's overhead must not count in the figures above
        prof = cProfile.Profile()
        prof.enable()
        run_engine(cfg, fees, events, t0)
        prof.disable()
        s = io.StringIO()
        stats = pstats.Stats(prof, stream=s)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(30)
        top = s.getvalue()
    return best_wall, best_cpu, {"closed": len(result.closed), "fills": len(result.fills)}, top


def bench_sweep(rec, fees, copies: int, n_points: int) -> dict:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from actors.commands.sweep import run_point, run_sweep
    from pipelines.backtest.sweep import expand
    from pipelines.recording import Recording
    events = replicate(rec.events, copies)
    sub = Recording(events, [rec.t0] * len(events), rec.meta)
    base = load_config("sim", env={})
    points = expand({"exits.stop_loss": [0.05 + 0.05 * i for i in range(n_points)]}, base)
    lat = {"detection_slots": 0, "send_to_land_slots": 0, "jitter_slots": 0}
    t = time.perf_counter()
    serial = [run_point([events], f"serial{i}", rec.t0, fees, p.config, lat, 400, None, 0, p.id, p.params)
              for i, p in enumerate(points)]
    t_serial = time.perf_counter() - t
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        warm = expand({"exits.stop_loss": [0.1, 0.2]}, base)           # start both workers, cache the events
        run_sweep(sub, fees, warm, slot_ms=400, base_latency=lat, shards=None, seed=0, progress=False)
        t = time.perf_counter()
        parallel = run_sweep(sub, fees, points, slot_ms=400, base_latency=lat, shards=None, seed=0, progress=False)
        t_parallel = time.perf_counter() - t
    finally:
        ray.shutdown()
    same = ({r["id"]: r["metrics"]["fingerprint"] for r in serial}
            == {r["id"]: r["metrics"]["fingerprint"] for r in parallel})
    return {"sweep_speedup_2_cores": round(t_serial / t_parallel, 3), "sweep_serial_s": round(t_serial, 3),
            "sweep_ray_s": round(t_parallel, 3), "sweep_points": n_points, "sweep_events": len(events),
            "sweep_results_identical": same}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3, help="engine runs; the best is reported")
    ap.add_argument("--sweep-copies", type=int, default=8)
    ap.add_argument("--sweep-points", type=int, default=4)
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()

    t = time.perf_counter()
    rec = load_recording(SAMPLE)
    load_s = time.perf_counter() - t
    fees = ChainFees.from_meta(rec.meta, rec.events)
    events = replicate(rec.events, args.copies)
    load_avg = os.getloadavg()[0]
    dt, cpu, info, top = bench_engine(events, fees, rec.t0, args.profile, args.repeat)
    metrics = {"events_per_s": round(len(events) / dt), "events_per_cpu_s": round(len(events) / cpu),
               "engine_s": round(dt, 3), "engine_cpu_s": round(cpu, 3), "events": len(events),
               "load_avg_1m": round(load_avg, 2), "load_events_per_s": round(len(rec.events) / load_s), **info}
    if not args.no_sweep:
        metrics.update(bench_sweep(rec, fees, args.sweep_copies, args.sweep_points))
    out = {"name": "backtest", "metrics": metrics,
           "params": {"copies": args.copies, "repeat": args.repeat, "sample_events": len(rec.events),
                      "python": sys.version.split()[0]}}
    if top:
        out["profile_top"] = top
    print(json.dumps(out))


if __name__ == "__main__":
    main()
