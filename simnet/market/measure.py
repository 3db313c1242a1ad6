"""A market run measured the way calibration.py measures the dataset, so the two can be compared.

Input is the ground truth (it must keep every trade: MarketConfig.keep_trades >= the run's trade count). Only
curve (pump.fun) trades count, as in the dataset, and per-coin lifetime statistics use coins that died on the
curve (the dataset's "dead" coins: quiet for the rest of their track; none of its coins migrated).

The dataset's clock starts at a coin's first snapshot, which came after the launch rush (median 4 buyers and
2.35 SOL of round-trip volume already done at first sight). Statistics that depend on that clock (lifetime,
the peak a dump is measured from) start FIRST_SIGHT_S after the create here: by then the market's snipers, who
flip within 3-40 slots of buying in the first 3, are mostly out.
"""
from __future__ import annotations

FIRST_SIGHT_S = 15.0
DUMP_MIN_PEAK_LAMPORTS = 50_000_000        # the dataset's 0.05 SOL floor


def run_statistics(truth: dict, slot_s: float = 0.4) -> dict[str, float]:
    import polars as pl

    launches = pl.DataFrame(truth["launches"]).select("mint", pl.col("slot").alias("launch_slot"))
    n = launches.height
    trades = pl.DataFrame(truth["trades"], infer_schema_length=None)
    curve = trades.filter(pl.col("venue") == "pumpfun")
    completes = len(truth["completes"])
    died_on_curve = sum(1 for d in truth["dead"] if d["reason"] != "migrated")
    stats: dict[str, float] = {
        "launches": float(n),
        "planned_runner_share": sum(1 for t in truth["launches"] if t["plan"] == "runner") / n if n else 0.0,
        "completion_share": completes / n if n else 0.0,
        # of the coins whose curve story ended (completed, or died on the curve): young coins are not counted
        "resolved_completion_share": completes / (completes + died_on_curve) if completes + died_on_curve else 0.0,
        "migrations": float(len(truth["migrations"])),
        "rug_share_of_launches": len(truth["rugs"]) / n if n else 0.0,
    }
    buys = curve.filter(pl.col("side") == "buy")["sol_amount"].sum()
    sells = curve.filter(pl.col("side") == "sell")["sol_amount"].sum()
    stats["sell_buy_volume_ratio"] = float(sells / buys) if buys else 0.0
    dead = pl.DataFrame(truth["dead"]) if truth["dead"] else None
    if dead is None or dead.filter(pl.col("reason") != "migrated").height == 0:
        return stats
    sight = round(FIRST_SIGHT_S / slot_s)
    dead = dead.filter(pl.col("reason") != "migrated").join(launches, on="mint").with_columns(
        lifetime_s=((pl.col("last_trade_slot") - pl.col("launch_slot") - sight) * slot_s).clip(lower_bound=0))
    per = curve.join(dead.select("mint", "launch_slot"), on="mint")
    buyers = per.filter(pl.col("side") == "buy").group_by("mint").agg(pl.col("user").n_unique().alias("buyers"))
    signed = per.with_columns(
        sol=pl.when(pl.col("side") == "buy").then(pl.col("sol_amount")).otherwise(-pl.col("sol_amount")),
        tok=pl.when(pl.col("side") == "buy").then(pl.col("token_amount")).otherwise(-pl.col("token_amount")),
    ).sort("slot", maintain_order=True).with_columns(real=pl.col("sol").cum_sum().over("mint"))
    # the raised SOL from first sight on: the last value before it, then everything after
    seen = signed.with_columns(after=pl.col("slot") >= pl.col("launch_slot") + sight)
    before = seen.filter(~pl.col("after")).group_by("mint").agg(pl.col("real").last())
    after = seen.filter(pl.col("after")).select("mint", "real")
    path = pl.concat([before, after])
    raised = path.group_by("mint").agg(peak=pl.col("real").max(), final=pl.col("real").last())
    big = raised.filter(pl.col("peak") >= DUMP_MIN_PEAK_LAMPORTS)
    # one sell taking >= 80% of the raised SOL's running peak (the dataset's one-interval drop)
    drops = seen.filter(pl.col("after")).with_columns(
        running_peak=pl.col("real").cum_max().over("mint"),
        drop=pl.when(pl.col("side") == "sell").then(pl.col("sol_amount")).otherwise(0))
    dumped = drops.filter(pl.col("drop") >= 0.8 * pl.col("running_peak").shift(1).over("mint"))["mint"].unique()
    holders = signed.group_by("mint", "user").agg(pl.col("tok").sum().alias("bal")).filter(pl.col("bal") > 0)
    top3 = holders.group_by("mint").agg(
        (pl.col("bal").sort(descending=True).head(3).sum() / pl.col("bal").sum() * 100).alias("top3"))
    d_buys = per.filter(pl.col("side") == "buy")["sol_amount"].sum()
    d_sells = per.filter(pl.col("side") == "sell")["sol_amount"].sum()
    stats.update({
        "dead_coins": float(dead.height),
        "lifetime_median_s": float(dead["lifetime_s"].median()),
        "lifetime_buyers_median": float(buyers["buyers"].median()),
        "lifetime_buyers_p90": float(buyers["buyers"].quantile(0.9, interpolation="linear")),
        "dead_sell_buy_volume_ratio": float(d_sells / d_buys) if d_buys else 0.0,
        "dead_emptied_share": big.filter(pl.col("final") <= 0.1 * pl.col("peak")).height / max(big.height, 1),
        "single_dump_share": big.filter(pl.col("mint").is_in(dumped.implode())).height / max(big.height, 1),
        "dead_top3_final_median_pct": float(top3["top3"].median()) if top3.height else 0.0,
    })
    return stats
