"""Parameter sweeps: a grid of profile changes -> one backtest per combination -> a ranked table. Pure.

Grid file (TOML): every key under [grid] is a dotted config path (or a `latency.*` backtest parameter) and its
value is the LIST of values to try; the sweep runs the cartesian product. Nested tables work as well:

    profile = "sim"                          # base profile (the command line's --profile wins)
    [grid]
    "exits.stop_loss" = [0.10, 0.15, 0.20]
    "scoring.min_score" = [0.5, 0.6]
    "latency.send_to_land_slots" = [0, 1]    # latency.detection_slots / send_to_land_slots / jitter_slots
    [grid.exits]
    take_profit = [[[1.0, 1.0]], [[0.5, 0.5], [1.0, 1.0]]]    # a list-valued setting: a list of lists

Combinations are numbered in a fixed order (keys sorted, the last key varying fastest) and every one is
validated against the Config schema before anything runs: a bad key or value fails the whole sweep up front,
naming the key. Ranking: by the objective, best first; a missing value ranks last; ties go to the higher P&L,
then the lower id. A profit factor with no losing trade and some profit counts as infinite.
"""
from __future__ import annotations

import itertools
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import Config, ConfigError, config_with, merge_tables

LATENCY_KEYS = frozenset({"detection_slots", "send_to_land_slots", "jitter_slots"})
OBJECTIVES = {"pnl_sol": "pnl_sol", "sharpe": "sharpe_per_trade", "profit_factor": "profit_factor"}
MAX_COMBINATIONS = 10_000


class GridError(ValueError):
    """A grid file that cannot be swept; the message names the key."""


@dataclass(frozen=True, slots=True)
class SweepPoint:
    id: int
    params: dict                   # dotted key -> value, as in the grid
    config: Config
    latency: dict                  # detection_slots / send_to_land_slots / jitter_slots given by the grid


def read_grid(path: Path | str) -> dict:
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise GridError(f"{path}: no such grid file") from None
    except tomllib.TOMLDecodeError as exc:
        raise GridError(f"{path}: not valid TOML: {exc}") from None
    return data


def flatten_grid(grid: dict, prefix: str = "") -> dict[str, list]:
    """{"exits": {"stop_loss": [..]}} and {"exits.stop_loss": [..]} both give {"exits.stop_loss": [..]}."""
    out: dict[str, list] = {}
    for k, v in grid.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_grid(v, key + "."))
        elif isinstance(v, list):
            if not v:
                raise GridError(f"grid.{key}: an empty list of values")
            out[key] = v
        else:
            raise GridError(f"grid.{key}: expected a list of values to try, got {v!r}")
    return out


def _nested(dotted: str, value) -> dict:
    node: dict = {}
    root = node
    parts = dotted.split(".")
    for p in parts[:-1]:
        node[p] = {}
        node = node[p]
    node[parts[-1]] = value
    return root


def expand(grid: dict, base: Config) -> list[SweepPoint]:
    """Every combination of the grid as a validated config (see the module docstring)."""
    flat = flatten_grid(grid)
    if not flat:
        raise GridError("the grid is empty: add [grid] keys with lists of values")
    keys = sorted(flat)
    for k in keys:
        head, _, rest = k.partition(".")
        if head == "latency":
            if rest not in LATENCY_KEYS:
                raise GridError(f"grid.{k}: unknown latency parameter (known: {', '.join(sorted(LATENCY_KEYS))})")
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in flat[k]):
                raise GridError(f"grid.{k}: slot counts must be integers >= 0")
        elif head not in Config.model_fields or not rest:
            raise GridError(f"grid.{k}: not a config key (sections: {', '.join(Config.model_fields)})")
    total = math.prod(len(flat[k]) for k in keys)
    if total > MAX_COMBINATIONS:
        raise GridError(f"the grid has {total} combinations (at most {MAX_COMBINATIONS})")
    points = []
    for i, values in enumerate(itertools.product(*(flat[k] for k in keys))):
        params = dict(zip(keys, values))
        changes: dict = {}
        latency = {}
        for k, v in params.items():
            head, _, rest = k.partition(".")
            if head == "latency":
                latency[rest] = v
            else:
                changes = merge_tables(changes, _nested(k, v))
        try:
            cfg = config_with(base, changes) if changes else base
        except ConfigError as exc:
            raise GridError(f"combination {i} {json.dumps(params)}: {exc}") from None
        points.append(SweepPoint(i, params, cfg, latency))
    return points


def objective_value(metrics: dict, objective: str) -> float | None:
    """The number a point is ranked by (None: no value, ranks last)."""
    key = OBJECTIVES.get(objective)
    if key is None:
        raise GridError(f"unknown objective {objective!r} (known: {', '.join(OBJECTIVES)})")
    v = metrics.get(key)
    if key == "profit_factor" and v is None and metrics.get("gross_profit_sol", 0) > 0 \
            and metrics.get("gross_loss_sol", 0) == 0:
        return math.inf
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def rank(results: list[dict], objective: str) -> list[dict]:
    """Results ({"id", "params", "metrics"}) best first, each with "rank" and "objective" added."""
    def key(r: dict):
        v = objective_value(r.get("metrics") or {}, objective)
        pnl = (r.get("metrics") or {}).get("pnl_sol")
        return (v is None, -(v if v is not None else 0.0), -(pnl if pnl is not None else -math.inf), r["id"])
    ranked = sorted(results, key=key)
    return [{**r, "rank": i + 1, "objective": objective_value(r.get("metrics") or {}, objective)}
            for i, r in enumerate(ranked)]


TABLE_METRICS = ("trades", "pnl_sol", "win_rate", "profit_factor", "gross_profit_sol", "gross_loss_sol",
                 "max_drawdown", "max_drawdown_sol", "sharpe_per_trade", "sortino_per_trade",
                 "sharpe_daily_annualized", "sortino_daily_annualized", "exposure", "avg_hold_s", "fees_sol",
                 "open_positions", "unrealized_pnl_sol", "fingerprint")


def table_rows(ranked: list[dict]) -> list[dict]:
    """Flat rows for the results table: rank, id, objective, one column per grid key, the metrics, error."""
    keys = sorted({k for r in ranked for k in r["params"]})
    scalar = {k: _scalar_column(r["params"].get(k) for r in ranked) for k in keys}
    rows = []
    for r in ranked:
        m = r.get("metrics") or {}
        row = {"rank": r["rank"], "id": r["id"], "objective": r["objective"]}
        for k in keys:
            v = r["params"].get(k)
            row[k] = v if scalar[k] else json.dumps(v)
        for k in TABLE_METRICS:
            row[k] = m.get(k)
        row["error"] = r.get("error", "")
        rows.append(row)
    return rows


def _scalar_column(values) -> bool:
    types = {type(v) for v in values}
    return len(types) == 1 and types <= {int, float, bool, str}
