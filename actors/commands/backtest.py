"""`launchray backtest --data DIR [--profile P] --out DIR`: replay a recording through the trading pipeline.

One process, no Ray, no actors: pipelines/backtest's BacktestEngine drives the same analysis, scoring,
orchestration, risk, paper-fill and exit code as `launchray run`, on a simulated clock. Writes to --out:
report.json (metrics + fingerprint), trades.parquet (one row per closed trade), fills.parquet, equity.png.
Exit 0 when it ran, 2 with one line on stderr when the data, profile or options are unusable.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HELP = "backtest a profile on a recorded event stream (writes report.json, trades.parquet, equity.png)"


def add_latency_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--detection-slots", type=int, default=None,
                   help="slots from an event to the decision that sees it (default 0)")
    p.add_argument("--land-slots", type=int, default=None,
                   help="slots from sending an order to the slot whose state it fills against "
                        "(default: the profile's execution.paper_latency_ms in slots, 0 ms = 0)")
    p.add_argument("--jitter-slots", type=int, default=0, help="extra 0..N landing slots, drawn from --seed")
    p.add_argument("--seed", type=int, default=0, help="seed of the jitter draws (default 0)")
    p.add_argument("--shards", type=int, default=0,
                   help="analyzer shards to mirror (default: the profile's ray.shards, else 1)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="recording directory (launchray record --out, e.g. data/sample)")
    p.add_argument("--profile", default="sim", help="profile name in conf/ or a TOML path (default: sim)")
    p.add_argument("--out", required=True, help="directory for report.json, trades.parquet, equity.png")
    add_latency_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no summary line")


def _fail(msg: str) -> int:
    print(f"launchray backtest: {msg}".replace("\n", "; "), file=sys.stderr)
    return 2


def prepare(data: str, profile: str):
    """(recording, config, fees) or raise ValueError with a message for the user."""
    from pipelines.backtest.market import ChainFees
    from pipelines.config import load_config
    from pipelines.recording import load_recording
    cfg = load_config(profile)
    rec = load_recording(data)
    if not rec.events:
        raise ValueError(f"{data}: the recording holds no events")
    return rec, cfg, ChainFees.from_meta(rec.meta, rec.events)


def latency_for(cfg, rec, args):
    from pipelines.backtest.latency import latency_from, slot_ms_of
    slot_ms = slot_ms_of(rec.meta)
    for name in ("detection_slots", "land_slots", "jitter_slots"):
        v = getattr(args, name, None)
        if v is not None and v < 0:
            raise ValueError(f"--{name.replace('_', '-')} cannot be negative")
    return slot_ms, latency_from(cfg.execution, slot_ms, detection_slots=args.detection_slots,
                                 send_to_land_slots=args.land_slots, jitter_slots=args.jitter_slots)


def write_outputs(out: Path, result, report: dict, title: str) -> None:
    from pipelines.backtest.report import equity_png, fills_frame, trades_frame
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, allow_nan=False))
    trades_frame(result).write_parquet(out / "trades.parquet")
    fills_frame(result).write_parquet(out / "fills.parquet")
    (out / "equity.png").write_bytes(equity_png(result, title))


def main(args: argparse.Namespace) -> int:
    from pipelines.backtest.engine import BacktestEngine
    from pipelines.backtest.market import FeesUnknown
    from pipelines.backtest.report import build_report
    from pipelines.config import ConfigError
    from pipelines.recording import RecordingError

    try:
        rec, cfg, fees = prepare(args.data, args.profile)
        slot_ms, latency = latency_for(cfg, rec, args)
    except (ConfigError, RecordingError, ValueError) as exc:
        return _fail(str(exc))
    started = time.perf_counter()
    try:
        engine = BacktestEngine(cfg, fees, latency=latency, slot_ms=slot_ms, shards=args.shards or None,
                                seed=args.seed, t0=rec.t0)
        result = engine.run(rec.events)
    except FeesUnknown as exc:
        return _fail(str(exc))
    elapsed = time.perf_counter() - started
    params = {"data": str(args.data), "profile": cfg.profile, "detection_slots": latency.detection_slots,
              "send_to_land_slots": latency.send_to_land_slots, "jitter_slots": latency.jitter_slots,
              "seed": args.seed, "shards": engine.n_shards, "slot_ms": slot_ms,
              "fees": "recorded fee config" if fees.recorded else "trade events"}
    report = build_report(result, params)
    report["run_s"] = round(elapsed, 3)
    out = Path(args.out)
    try:
        write_outputs(out, result, report, f"{Path(args.data).name} / {cfg.profile}")
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc}")
    if not args.quiet:
        pf = report["profit_factor"]
        print(f"backtest: {report['events']} events in {elapsed:.2f}s | trades {report['trades']} | "
              f"pnl {report['pnl_sol']:+.4f} SOL | win {report['win_rate']:.0%} | "
              f"pf {'-' if pf is None else f'{pf:.2f}'} | max dd {report['max_drawdown']:.1%} | "
              f"open {report['open_positions']} | fingerprint {report['fingerprint'][:16]} -> {out}")
    return 0
