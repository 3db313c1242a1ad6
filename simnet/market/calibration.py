"""Calibration: statistics of real pump.fun curves and the agent parameters derived from them.

Source: /work/shared/datasets/pumpfun_token_tracks_2025-06.csv, 10,740 snapshots (every ~6 s) of 75 live pump.fun
bonding curves on 2025-06-06, 16:35-18:16 UTC. What the columns are (checked against the data, see
docs/simnet_market.md): sol_in_pool = 30 + sol_raised_total (virtual + real SOL), progress = % of the curve's
sellable tokens sold, unique_buyers / buy_pressure / sell_pressure = CUMULATIVE distinct buyers and SOL bought /
sold since creation (monotone per coin), buy_sell_delta = buy_pressure - sell_pressure, top3_pct = % of the
circulating supply held by the three largest holders. A coin's "age" is seconds since its first snapshot (the
tracker picks coins up shortly after creation: median 4 unique buyers at first sight).

`derive_statistics(csv)` recomputes every statistic with polars (the tests call it); `calibration.json` holds its
output so simnet runs without the dataset; `parameters(stats)` turns statistics into the agents' parameters, each
with the statistic it came from. `python -m simnet.market.calibration [csv]` rewrites calibration.json.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

DATASET = Path("/work/shared/datasets/pumpfun_token_tracks_2025-06.csv")
JSON_PATH = Path(__file__).with_name("calibration.json")

QUIET_S = 180.0          # a coin with no activity for this long before its last snapshot counts as dead
DEV_BUY_MIN_SOL = 0.01   # below this, a first-sight balance is dust, not a dev buy
MICRO_BUY_SOL = 0.01     # "bump bot" buys: tiny buys that only add a buyer
DUMP_MIN_PEAK_SOL = 0.05  # dumps are only counted on coins that raised at least this much
Z90 = 1.2815515655446004  # standard normal 90% quantile


def _q(series, q: float) -> float:
    v = series.quantile(q, interpolation="linear")
    return float(v) if v is not None else 0.0


def _log_sd(values: list[float]) -> float:
    logs = [math.log(v) for v in values if v > 0]
    if len(logs) < 2:
        return 0.0
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))


def derive_statistics(path: str | Path = DATASET) -> dict[str, float]:
    """Every statistic the market is calibrated to, recomputed from the snapshot CSV."""
    import polars as pl

    df = pl.read_csv(path, try_parse_dates=True).sort("mint", "timestamp")
    first_ts = pl.col("timestamp").first().over("mint")
    df = df.with_columns(age=(pl.col("timestamp") - first_ts).dt.total_milliseconds() / 1000.0)
    diff = lambda c: pl.col(c).diff().over("mint").fill_null(0)          # noqa: E731
    df = df.with_columns(d_ub=diff("unique_buyers"), d_bp=diff("buy_pressure"), d_sp=diff("sell_pressure"),
                         d_sr=diff("sol_raised_total"), dt=pl.col("age").diff().over("mint"))
    df = df.with_columns(active=(pl.col("d_bp").abs() > 1e-9) | (pl.col("d_sp").abs() > 1e-9) | (pl.col("d_ub") != 0))

    per = df.group_by("mint").agg(
        max_drop=(-pl.col("d_sr")).max(),
        span=pl.col("age").max(),
        last_active=pl.col("age").filter(pl.col("active")).max().fill_null(0.0),
        ub0=pl.col("unique_buyers").first(), ub_last=pl.col("unique_buyers").last(),
        sr0=pl.col("sol_raised_total").first(), sr_max=pl.col("sol_raised_total").max(),
        sr_last=pl.col("sol_raised_total").last(), bp0=pl.col("buy_pressure").first(),
        bp=pl.col("buy_pressure").last(), sp=pl.col("sell_pressure").last(),
        p_max=pl.col("progress").max(), top3_last=pl.col("top3_pct").last(),
    )
    n = per.height
    dead = per.filter(pl.col("span") >= pl.col("last_active") + QUIET_S)
    big = per.filter(pl.col("sr_max") >= DUMP_MIN_PEAK_SOL)
    dead_big = dead.filter(pl.col("sr_max") >= DUMP_MIN_PEAK_SOL)
    fresh = per.filter(pl.col("ub0") <= 3)
    dev_buys = [float(v) for v in fresh["sr0"].to_list() if v >= DEV_BUY_MIN_SOL]

    # single-buyer increments: a snapshot interval in which exactly one new buyer arrived
    single = df.filter((pl.col("d_ub") == 1) & (pl.col("d_bp") > 0))["d_bp"]
    real = [float(v) for v in single.to_list() if v >= MICRO_BUY_SOL]
    micro = single.filter(single < MICRO_BUY_SOL)

    # completion: none completed; bound it from both sides
    completed = per.filter(pl.col("p_max") >= 100.0).height
    ci_upper = 1.0 - 0.05 ** (1.0 / n)     # one-sided 95% upper bound for 0 successes in n (exact binomial)
    levels = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0)
    surv = [(p, per.filter(pl.col("p_max") > p).height / n) for p in levels]
    pts = [(p, math.log(s)) for p, s in surv if s > 0]
    mx = sum(p for p, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    slope = sum((p - mx) * (y - my) for p, y in pts) / sum((p - mx) ** 2 for p, _ in pts)
    tail_fit = math.exp(my + slope * (100.0 - mx))

    rates = df.filter(pl.col("d_ub") > 0).with_columns(rate=pl.col("d_ub") / pl.col("dt"))["rate"]
    stats = {
        "rows": float(df.height),
        "coins": float(n),
        "window_s": float((df["timestamp"].max() - df["timestamp"].min()).total_seconds()),
        "snapshot_interval_median_s": _q(df["dt"].drop_nulls(), 0.5),
        # launch
        "first_seen_unique_buyers_median": _q(per["ub0"], 0.5),
        "first_seen_churn_median_sol": _q(per["bp0"] - per["sr0"], 0.5),
        "fresh_coins": float(fresh.height),
        "dev_buy_share": len(dev_buys) / fresh.height,
        "dev_buy_median_sol": _q(pl.Series(dev_buys), 0.5),
        "dev_buy_log_sd": _log_sd(dev_buys),
        "dev_buy_max_sol": max(dev_buys) if dev_buys else 0.0,
        # life and death
        "dead_coins": float(dead.height),
        "lifetime_median_s": _q(dead["last_active"], 0.5),
        "lifetime_p90_s": _q(dead["last_active"], 0.9),
        "long_lived_share": dead.filter(pl.col("last_active") > 600).height / max(dead.height, 1),
        "lifetime_buyers_p10": _q(dead["ub_last"], 0.1),
        "lifetime_buyers_median": _q(dead["ub_last"], 0.5),
        "lifetime_buyers_p90": _q(dead["ub_last"], 0.9),
        "new_buyers_after_first_seen_median": _q(dead["ub_last"] - dead["ub0"], 0.5),
        "new_buyers_after_first_seen_p90": _q(dead["ub_last"] - dead["ub0"], 0.9),
        "buyer_arrival_rate_p95_per_s": _q(rates, 0.95),
        # trade sizes and mix
        "single_buys": float(single.len()),
        "micro_buy_share": micro.len() / max(single.len(), 1),
        "micro_buy_median_sol": _q(micro, 0.5),
        "real_buy_median_sol": _q(pl.Series(real), 0.5),
        "real_buy_log_sd": _log_sd(real),
        "sell_buy_volume_ratio": float(per["sp"].sum() / per["bp"].sum()),
        "dead_sell_buy_volume_ratio": float(dead["sp"].sum() / dead["bp"].sum()),
        "dead_sol_left_total": float(dead["sr_last"].sum()),
        # dumps: the raised SOL fell by >= 80% of its peak within one snapshot interval (one holder dumped)
        "single_dump_share": big.filter(pl.col("max_drop") >= 0.8 * pl.col("sr_max")).height / max(big.height, 1),
        "dead_emptied_share": (dead_big.filter(pl.col("sr_last") <= 0.1 * pl.col("sr_max")).height
                               / max(dead_big.height, 1)),
        # holders
        "top3_final_median_pct": _q(per["top3_last"], 0.5),
        "dead_top3_final_median_pct": _q(dead["top3_last"], 0.5),
        "top3_final_median_pct_20_buyers": _q(per.filter(pl.col("ub_last") >= 20)["top3_last"], 0.5),
        # completion
        "completed": float(completed),
        "completion_ci95_upper": ci_upper,
        "completion_tail_fit": tail_fit,
        "peak_progress_over_10pct_share": surv[0][1],
        "peak_progress_over_30pct_share": surv[2][1],
        "peak_progress_over_50pct_share": surv[4][1],
        "peak_progress_max_pct": float(per["p_max"].max()),
    }
    return {k: round(v, 6) for k, v in stats.items()}


@dataclass(frozen=True, slots=True)
class Parameters:
    """What the agents draw from; each field's comment names the statistic it comes from."""
    sniper_count_mean: float           # first_seen_unique_buyers_median - dev_buy_share (early buyers minus the dev)
    sniper_buy_median_sol: float       # first_seen_churn_median_sol / sniper_count_mean (bought and sold pre-sight)
    dev_buy_share: float               # dev_buy_share
    dev_buy_median_sol: float          # dev_buy_median_sol
    dev_buy_log_sd: float              # dev_buy_log_sd
    dev_buy_max_sol: float             # dev_buy_max_sol (the lognormal is capped at the largest dev buy seen)
    organic_buyers_median: float       # new_buyers_after_first_seen_median
    organic_buyers_log_sd: float       # ln(new_buyers_after_first_seen_p90 / median) / z90
    activity_tau_s: float              # lifetime_median_s / (ln(organic_buyers_median) + Euler gamma)
    long_lived_share: float            # long_lived_share
    long_lived_tau_factor: float       # lifetime_p90_s / lifetime_median_s
    micro_buy_share: float             # micro_buy_share
    micro_buy_median_sol: float        # micro_buy_median_sol
    real_buy_median_sol: float         # real_buy_median_sol
    real_buy_log_sd: float             # real_buy_log_sd
    holder_sell_probability: float     # dead_sell_buy_volume_ratio (what real buyers of a coin that died sold)
    rug_share: float                   # single_dump_share / dev_buy_share (P(one-sell dump | the dev has a bag))
    completion_share: float            # sqrt(completion_tail_fit * completion_ci95_upper)
    runner_buyer_rate_per_s: float     # buyer_arrival_rate_p95_per_s

    def to_dict(self) -> dict:
        return asdict(self)


EULER_GAMMA = 0.5772156649015329


def parameters(stats: dict[str, float]) -> Parameters:
    """The agents' parameters from the dataset statistics (the mapping docs/simnet_market.md explains)."""
    snipers = max(0.0, stats["first_seen_unique_buyers_median"] - stats["dev_buy_share"])
    organic = max(1.0, stats["new_buyers_after_first_seen_median"])
    p90 = max(stats["new_buyers_after_first_seen_p90"], organic)
    return Parameters(
        sniper_count_mean=snipers,
        sniper_buy_median_sol=stats["first_seen_churn_median_sol"] / snipers if snipers else 0.0,
        dev_buy_share=stats["dev_buy_share"],
        dev_buy_median_sol=stats["dev_buy_median_sol"],
        dev_buy_log_sd=stats["dev_buy_log_sd"],
        dev_buy_max_sol=stats["dev_buy_max_sol"],
        organic_buyers_median=organic,
        organic_buyers_log_sd=math.log(p90 / organic) / Z90,
        # a coin's last activity is about its last arrival, the latest of N exponential ages: E = tau * H(N)
        activity_tau_s=stats["lifetime_median_s"] / (math.log(organic) + EULER_GAMMA),
        long_lived_share=stats["long_lived_share"],
        long_lived_tau_factor=max(1.0, stats["lifetime_p90_s"] / max(stats["lifetime_median_s"], 1e-9)),
        micro_buy_share=stats["micro_buy_share"],
        micro_buy_median_sol=stats["micro_buy_median_sol"],
        real_buy_median_sol=stats["real_buy_median_sol"],
        real_buy_log_sd=stats["real_buy_log_sd"],
        holder_sell_probability=min(1.0, stats["dead_sell_buy_volume_ratio"]),
        rug_share=min(1.0, stats["single_dump_share"] / max(stats["dev_buy_share"], 1e-9)),
        completion_share=math.sqrt(stats["completion_tail_fit"] * stats["completion_ci95_upper"]),
        runner_buyer_rate_per_s=stats["buyer_arrival_rate_p95_per_s"],
    )


def load_statistics(path: Path = JSON_PATH) -> dict[str, float]:
    return dict(json.loads(path.read_text())["statistics"])


def load() -> Parameters:
    """The committed calibration (no dataset or polars needed at runtime)."""
    return parameters(load_statistics())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    src = Path(args[0]) if args else DATASET
    stats = derive_statistics(src)
    doc = {"source": str(src), "statistics": stats, "parameters": parameters(stats).to_dict()}
    JSON_PATH.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(json.dumps(doc, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
