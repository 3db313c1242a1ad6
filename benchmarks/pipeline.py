"""Pipeline benchmark: the actor system under load, on this machine. Prints one JSON object.

- ingest_events_per_s: decoded events pushed through the Ingest actor to the AnalyzerShards (deserializing the
  feed's batches, routing, Ray transfer in batches, TokenState updates, features out) until every shard has
  taken them (the driver serializes the feed before the clock starts), with simnet's market
  stopped (it stands in for a chain that is not on this machine in production); the rest of the system still
  runs; the median of --ingest-rounds rounds (each with signatures of its own), every round in
  ingest_events_per_s_rounds: one round lasts ~2 s, and a burst of the VM's host in it says nothing of the
  system. ingest_events_per_s_market_running: one round with the market still trading beside it.
- loop_period_ms_p50/p99: the Orchestrator's 10 ms loop while simnet's market runs at a high launch rate.
  machine.timer_period_ms_p50/p99 beside it: a bare 10 ms sleep loop in its own process at the same scheduling
  class over the same minutes, the floor this machine (a VM's host included) gives any loop at that time.
- detect_to_send_ms_p50/p95: sniper path, from the WebSocket notification's arrival at Ingest to the order's
  durable intent (the moment before the fill/send), no strategy wait; entries detected in the first --warmup
  seconds are reported apart (*_with_warmup covers all of them).
- risk_reserve_us_p50/p99: approve_and_reserve measured inside the RiskSupervisor actor.
- bytes_per_token: the shards' own measure of TokenState size (tracemalloc-calibrated estimate).
- rss_mb / pss_mb per actor: resident memory of each actor's worker process; PSS splits the pages several processes
  share (the libraries every Ray worker maps), so PSS adds up. memory_pss_mb_total: every process the run started
  (memory_pss_mb_actors + memory_pss_mb_ray: GCS, raylet, the dashboard, agents, idle workers; each in
  pss_mb_ray_processes); the driver is not counted.
- machine.steal_pct: CPU time the VM's host took for other guests during the run (every figure drops with it).

Usage: python benchmarks/pipeline.py [--seconds 60] [--events 200000] [--ingest-rounds 3] [--launches-per-minute 120]
       [--realtime-priority N] [--ray-worker-niceness N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def synthetic_events(n: int, mints: int = 2000, tag: str = "bench") -> list:
    """Trade events shaped like the decoder's output (real field layout), spread over `mints` coins."""
    import random

    from solders.pubkey import Pubkey

    from pipelines.chain.events import Trade
    rng = random.Random(7)
    keys = [str(Pubkey.new_unique()) for _ in range(mints)]
    users = [str(Pubkey.new_unique()) for _ in range(5000)]
    out = []
    vsol, vtok = 30_000_000_000, 1_073_000_000_000_000
    for i in range(n):
        buy = rng.random() < 0.6
        sol = rng.randint(5_000_000, 900_000_000)
        tok = sol * vtok // vsol
        out.append(Trade(venue="pumpfun", signature=f"{tag}{i}", slot=1000 + i // 50, mint=keys[i % mints],
                         side="buy" if buy else "sell", sol_amount=sol, token_amount=tok,
                         user=users[rng.randrange(len(users))], quote_mint="So11111111111111111111111111111111111111112",
                         quote_amount=sol, timestamp=1_700_000_000 + i // 50, virtual_sol_reserves=vsol + sol,
                         virtual_token_reserves=vtok - tok, real_sol_reserves=sol, real_token_reserves=793_100_000_000_000 - tok,
                         seq=0))
    return out


def measure_ingest(system, events: list, batch: int = 2000) -> float:
    import ray

    from actors import names
    ingest = system.actor(names.INGEST)
    from pipelines.wire import EventBatch
    ray.get(ingest.ingest_events.remote(EventBatch(events[:batch])))          # warm up shards and code paths
    ray.get(ingest.drain.remote())
    body = events[batch:]
    # the feed is serialized before the clock starts: it stands in for the WebSocket, and its cost is the
    # driver's, not the system's (Ingest still deserializes every batch, as it would decode notifications)
    puts = [ray.put(EventBatch(body[i:i + batch])) for i in range(0, len(body), batch)]
    t0 = time.perf_counter()
    refs = [ingest.ingest_events.remote(ref) for ref in puts]
    ray.get(refs)
    ray.get(ingest.drain.remote())
    return len(body) / (time.perf_counter() - t0)


PROBE = """
import os, sys, time
prio = int(sys.argv[1])
if prio:
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(prio))
    except OSError:
        pass
n, periods, last = int(sys.argv[2]), [], time.perf_counter()
deadline = last
for _ in range(n):
    deadline += 0.01
    time.sleep(max(0.0, deadline - time.perf_counter()))
    t = time.perf_counter()
    periods.append((t - last) * 1000)
    last = t
periods.sort()
print(periods[len(periods) // 2], periods[int(len(periods) * 0.99)])
"""


def start_timer_probe(seconds: float, realtime_priority: int):
    """A bare 10 ms sleep loop in its own process at the Orchestrator's scheduling class, beside the system: the
    period p99 this machine gives any loop at that moment (a VM's host adds its own jitter; the Orchestrator's
    loop cannot do better than this floor)."""
    import subprocess
    return subprocess.Popen([sys.executable, "-c", PROBE, str(realtime_priority), str(int(seconds * 100))],
                            stdout=subprocess.PIPE, text=True)


def cpu_ticks() -> list[int] | None:
    """/proc/stat's machine-wide CPU counters (user, nice, system, idle, iowait, irq, softirq, steal, ...)."""
    try:
        with open("/proc/stat") as fh:
            return [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def steal_pct(before: list[int] | None, after: list[int] | None) -> float | None:
    """Share of CPU time the hypervisor gave to other guests between two cpu_ticks() readings (a VM's host
    taking its cores away: every figure here slows down with it)."""
    if not before or not after or len(before) < 8 or len(after) < 8:
        return None
    total = sum(after[:8]) - sum(before[:8])
    return round(100.0 * (after[7] - before[7]) / total, 2) if total > 0 else None


def _pct(values: list[float], q: float) -> float | None:
    return round(values[min(len(values) - 1, int(len(values) * q))], 2) if values else None


def _process_name(words: list[str]) -> str:
    """A Ray process's name: its title (ray::IDLE, ray-dashboard-...), its script or program (dashboard,
    log_monitor, gcs_server, raylet), or the module a `python -c` runs (the dashboard's multiprocessing helpers)."""
    if words[0].startswith(("ray::", "ray-")):
        return words[0]
    scripts = [Path(w).stem for w in words[1:] if w.endswith(".py")]
    if scripts:
        return scripts[0]
    code = words[words.index("-c") + 1] if "-c" in words[:-1] else ""
    module = code.split("from ", 1)[1].split()[0] if code.startswith("from ") else ""
    return module or Path(words[0]).name


def actor_memory_mb(namespace: str, exclude: tuple[int, ...] = ()) -> dict:
    """Each actor's resident memory, RSS and PSS (shared pages split among the processes that map them: the
    libraries every Ray worker loads count once across the system, not once per actor), and the PSS total of every
    process this run started (Ray's own and the actors; the driver and the timer probe excluded)."""
    import psutil
    import ray
    from ray.util.state import list_actors

    def pss(proc) -> float | None:
        try:
            return proc.memory_full_info().pss / 2**20
        except (psutil.Error, AttributeError):    # no smaps here, or the process is gone
            return None

    rss, pss_of, actor_pids = {}, {}, set()
    for a in list_actors(address=ray.get_runtime_context().gcs_address, filters=[("ray_namespace", "=", namespace), ("state", "=", "ALIVE")], detail=True, limit=200):
        try:
            proc = psutil.Process(a.pid)
            rss[a.name] = round(proc.memory_info().rss / 2**20, 1)
        except psutil.Error:
            continue
        actor_pids.add(a.pid)
        if (v := pss(proc)) is not None:
            pss_of[a.name] = round(v, 1)
    ray_own: dict[str, float] = {}     # by process name: ray::IDLE workers, gcs_server, raylet, agents
    for proc in psutil.Process().children(recursive=True):
        if proc.pid in exclude or proc.pid in actor_pids or (v := pss(proc)) is None:
            continue
        try:
            name = _process_name(proc.cmdline() or [proc.name()])
        except psutil.Error:
            continue
        ray_own[name] = round(ray_own.get(name, 0.0) + v, 1)
    actors_total, ray_total = sum(pss_of.values()), sum(ray_own.values())
    return {"rss_mb": rss, "pss_mb": pss_of, "pss_mb_ray_processes": ray_own,
            "memory_pss_mb_actors": round(actors_total, 1), "memory_pss_mb_ray": round(ray_total, 1),
            "memory_pss_mb_total": round(actors_total + ray_total, 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--ingest-rounds", type=int, default=3, help="market stopped: the median of this many rounds")
    ap.add_argument("--launches-per-minute", type=float, default=120.0)
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds after start not counted in detect_to_send")
    ap.add_argument("--ray-worker-niceness", type=int, default=None,
                    help="override ray.worker_niceness (15 = Ray's own default) to compare")
    ap.add_argument("--realtime-priority", type=int, default=None,
                    help="override ray.realtime_priority (0 = the decision path at ordinary priority) to compare")
    args = ap.parse_args()
    # stdout carries the JSON alone: Ray prints to this process's stdout (e.g. "(raylet) Task ... failed" as the
    # actors are killed at teardown), so everything else goes to stderr from here on
    json_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from actors import names
    from actors.system import TradingSystem
    from pipelines.config import config_with, load_config

    from actors.priority import ray_system_config
    tmp = Path(tempfile.mkdtemp(prefix="lr-bench-"))
    ns = f"lr-bench-{uuid.uuid4().hex[:6]}"
    cfg = config_with(load_config("sim", env={}), {
        "ray": {"namespace": ns}, "ledger": {"path": str(tmp / "ledger.sqlite")}, "api": {"enabled": False},
        "logging": {"dir": str(tmp / "logs")}, "telemetry": {"trace_file": str(tmp / "traces.jsonl")},
        "simnet": {"launches_per_minute": args.launches_per_minute, "speed": 1.0},
        # limits wide open: every safe launch is sniped for the whole run, so detect-to-send has samples after
        # the warm-up (the default limits stop entries within seconds: 10 positions, drawdown, loss streak)
        "risk": {"starting_capital_sol": 10_000.0, "max_open_positions": 10_000, "max_portfolio_heat": 1.0,
                 "daily_loss_limit": 1.0, "drawdown_halt": 1.0, "consecutive_loss_pause": 10_000,
                 "max_concentration": 1.0}})
    if args.ray_worker_niceness is not None:
        cfg = config_with(cfg, {"ray": {"worker_niceness": args.ray_worker_niceness}})
    if args.realtime_priority is not None:
        cfg = config_with(cfg, {"ray": {"realtime_priority": args.realtime_priority}})
    # Ray started as `launchray run` starts it (worker priority included)
    ray.init(address="local", num_cpus=2, include_dashboard=True, log_to_driver=False, configure_logging=False,
             _system_config=ray_system_config(cfg))
    system = TradingSystem(cfg)
    result: dict = {"name": "pipeline", "machine": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
                    "ray_worker_niceness": cfg.ray.worker_niceness, "realtime_priority": cfg.ray.realtime_priority}
    ticks_at_start = cpu_ticks()
    try:
        system.start()
        market_start = time.time()
        time.sleep(min(args.warmup, args.seconds))
        probe = start_timer_probe(max(1.0, args.seconds - args.warmup), cfg.ray.realtime_priority)
        time.sleep(max(0.0, args.seconds - args.warmup))
        st = system.status()
        samples = ray.get(system.actor(names.EXECUTOR).detect_to_send_samples.remote())
        steady = sorted(ms for at, ms in samples if at >= market_start + args.warmup)
        orch, exe, risk = st["orchestrator"], st["executor"], st["risk"]
        shards = [s for s in st["shards"] if "bytes_per_token" in s and s.get("tokens")]
        metrics = {
            "loop_period_ms_p50": orch.get("loop_period_ms_p50"),
            "loop_period_ms_p99": orch.get("loop_period_ms_p99"),
            # steady state: entries detected after the first --warmup seconds (actor connections, caches)
            "detect_to_send_ms_p50": _pct(steady, 0.50),
            "detect_to_send_ms_p95": _pct(steady, 0.95),
            "detect_to_send_n": len(steady),
            "detect_to_send_ms_p50_with_warmup": exe.get("detect_to_send_ms_p50"),
            "detect_to_send_ms_p95_with_warmup": exe.get("detect_to_send_ms_p95"),
            "risk_reserve_us_p50": risk.get("reserve_us_p50"),
            "risk_reserve_us_p99": risk.get("reserve_us_p99"),
            "bytes_per_token": max((s["bytes_per_token"] for s in shards), default=None),
            "tokens_tracked": st.get("tokens_tracked"),
            "launches_seen": st["ingest"].get("launches_seen"),
            "sniper_entries": (orch.get("counts") or {}).get("approved", 0),
            **actor_memory_mb(ns, exclude=(probe.pid,)),
        }
        try:
            p50, p99 = map(float, probe.communicate(timeout=30)[0].split())
            result["machine"].update(timer_period_ms_p50=round(p50, 3), timer_period_ms_p99=round(p99, 3))
        except Exception as exc:        # the reference figure only: the benchmark's own figures stand without it
            print(f"timer probe: {exc}", file=sys.stderr)
        # simnet's market stops first: it stands in for a chain that is not on this machine in production, and
        # its CPU is not the system's to measure (the figure with it running is reported beside)
        # each measure with signatures of its own: the shards drop a signature they have seen (dedupe)
        metrics["ingest_events_per_s_market_running"] = round(measure_ingest(
            system, synthetic_events(args.events, tag="running")))
        ray.get(system.simnet.stop_market.remote())
        time.sleep(1.0)
        rounds = [round(measure_ingest(system, synthetic_events(args.events, tag=f"stopped{k}")))
                  for k in range(max(1, args.ingest_rounds))]
        metrics["ingest_events_per_s"] = statistics.median(rounds)
        metrics["ingest_events_per_s_rounds"] = rounds
        result["metrics"] = metrics
        result["machine"]["steal_pct"] = steal_pct(ticks_at_start, cpu_ticks())
        result["params"] = {"trace_file": str(tmp / "traces.jsonl"), "seconds": args.seconds, "events": args.events,
                            "ingest_rounds": len(rounds),
                            "launches_per_minute": args.launches_per_minute, "shards": system.n_shards}
        system.stop()
    finally:
        system.teardown()
        ray.shutdown()
    print(json.dumps(result), file=json_out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
