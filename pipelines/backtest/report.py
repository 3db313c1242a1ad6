"""Backtest metrics, the trades table, the fingerprint and the equity / drawdown plot.

A trade is a closed position (entry fill .. last exit fill). Money in SOL in the report, lamports in the table.
    pnl_sol              sum of closed trades' P&L (realised lamports - cost, fees included)
    win_rate             share of trades with P&L > 0
    profit_factor        gross profit / gross loss (null when there is no loss; see gross_* to tell why)
    max_drawdown         largest fall of realised equity (capital + closed P&L after each close) from its peak,
                         as a fraction of that peak; max_drawdown_sol the same in SOL; max_drawdown_mtm the same on
                         the marked-to-market curve (sampled every simulated second while positions are open)
    sharpe_per_trade     mean / sample std of per-trade returns (P&L / cost); sortino_per_trade uses the downside
                         deviation sqrt(mean(min(r, 0)^2)). Not annualised. Null with < 2 trades or no dispersion.
    sharpe_daily_annualized, sortino_daily_annualized
                         the same on daily returns (UTC day's closed P&L / equity at the day's start, every day of
                         the backtest including days without trades) times sqrt(365); null with < 2 days
    exposure             share of the backtest's time with at least one position open
    avg_hold_s           mean time from entry fill to the closing fill
    pnl_by_exit_reason   each sell's realised P&L (fill lamports - basis it released) by the sell's reason; the
                         reasons' P&L sums to pnl_sol
    pnl_by_score_bucket  trades by the entry opportunity's score, in tenths ("0.5-0.6")
    fingerprint          sha256 of the canonical JSON of the closed trades (sorted; floats as repr): two runs
                         with the same fingerprint made the same trades
"""
from __future__ import annotations

import hashlib
import io
import json
import math
from collections import defaultdict

import polars as pl

from pipelines.messages import Position

from .engine import BacktestResult

LAMPORTS = 1_000_000_000
DAY_S = 86_400


def trade_rows(result: BacktestResult) -> list[dict]:
    """One row per closed trade, in (opened_at, mint) order."""
    rows = []
    for p in sorted(result.closed, key=_trade_key):
        pnl = p.realized_lamports - p.cost_lamports
        rows.append({
            "mint": p.mint, "strategy": p.strategy, "score": result.entry_scores.get(p.entry_order_id),
            "opened_at": p.opened_at, "closed_at": p.closed_at, "hold_s": p.closed_at - p.opened_at,
            "cost_lamports": p.cost_lamports, "realized_lamports": p.realized_lamports, "pnl_lamports": pnl,
            "return": pnl / p.cost_lamports if p.cost_lamports else 0.0, "fees_lamports": p.fees_lamports,
            "initial_tokens": p.initial_tokens, "exit_reason": p.exit_reason, "venue": p.venue,
            "entry_order_id": p.entry_order_id, "exit_order_ids": ",".join(p.exit_order_ids),
            "sells": len(p.exit_order_ids),
        })
    return rows


def _trade_key(p: Position):
    return (p.opened_at, p.mint, p.entry_order_id)


def fingerprint(closed: list[Position]) -> str:
    canon = [[p.mint, p.strategy, p.entry_order_id, list(p.exit_order_ids), repr(float(p.opened_at)),
              repr(float(p.closed_at)), p.cost_lamports, p.realized_lamports, p.fees_lamports, p.initial_tokens,
              p.exit_reason] for p in sorted(closed, key=_trade_key)]
    return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()


def _sharpe(xs: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)
    return mean / math.sqrt(var) if var > 0 else None


def _sortino(xs: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mean = sum(xs) / len(xs)
    down = math.sqrt(sum(min(x, 0.0) ** 2 for x in xs) / len(xs))
    return mean / down if down > 0 else None


def _drawdown(values: list[int]) -> tuple[float, int]:
    """(max fractional drawdown, max drawdown in lamports) of a value series."""
    peak, worst, worst_abs = None, 0.0, 0
    for v in values:
        if peak is None or v > peak:
            peak = v
        if peak and peak > 0:
            worst = max(worst, (peak - v) / peak)
            worst_abs = max(worst_abs, peak - v)
    return worst, worst_abs


def realized_curve(result: BacktestResult) -> list[tuple[float, int]]:
    """(time, capital + closed P&L) at the start and after each close."""
    out = [(result.start, result.starting_capital)]
    equity = result.starting_capital
    for p in sorted(result.closed, key=lambda p: (p.closed_at, p.mint)):
        equity += p.realized_lamports - p.cost_lamports
        out.append((p.closed_at, equity))
    return out


def daily_returns(result: BacktestResult) -> list[tuple[str, int, float]]:
    """(UTC date, closed P&L that day, return on the day's starting equity) for every day of the backtest."""
    import datetime as dt
    if result.end < result.start:
        return []
    by_day: dict[int, int] = defaultdict(int)
    for p in result.closed:
        by_day[int(p.closed_at // DAY_S)] += p.realized_lamports - p.cost_lamports
    out, equity = [], result.starting_capital
    for day in range(int(result.start // DAY_S), int(result.end // DAY_S) + 1):
        pnl = by_day.get(day, 0)
        date = dt.datetime.fromtimestamp(day * DAY_S, tz=dt.timezone.utc).strftime("%Y-%m-%d")
        out.append((date, pnl, pnl / equity if equity > 0 else 0.0))
        equity += pnl
    return out


def _exposure(result: BacktestResult) -> float:
    span = result.end - result.start
    if span <= 0:
        return 0.0
    intervals = sorted([(p.opened_at, p.closed_at) for p in result.closed]
                       + [(p.opened_at, result.end) for p in result.open])
    covered, cur_start, cur_end = 0.0, None, None
    for a, b in intervals:
        a, b = max(a, result.start), min(b, result.end)
        if b <= a:
            continue
        if cur_end is None or a > cur_end:
            if cur_end is not None:
                covered += cur_end - cur_start
            cur_start, cur_end = a, b
        else:
            cur_end = max(cur_end, b)
    if cur_end is not None:
        covered += cur_end - cur_start
    return covered / span


def _bucket(score: float | None) -> str:
    if score is None or not math.isfinite(score):
        return "unknown"
    lo = min(9, max(0, int(score * 10 + 1e-9)))
    return f"{lo / 10:.1f}-{(lo + 1) / 10:.1f}"


def _group(rows: list[dict], key) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return {k: {"trades": len(v), "pnl_sol": sum(r["pnl_lamports"] for r in v) / LAMPORTS,
                "win_rate": sum(1 for r in v if r["pnl_lamports"] > 0) / len(v)}
            for k, v in sorted(groups.items())}


def build_report(result: BacktestResult, params: dict | None = None) -> dict:
    rows = trade_rows(result)
    pnls = [r["pnl_lamports"] for r in rows]
    returns = [r["return"] for r in rows]
    gross_profit = sum(x for x in pnls if x > 0)
    gross_loss = -sum(x for x in pnls if x < 0)
    curve = realized_curve(result)
    dd, dd_abs = _drawdown([v for _, v in curve])
    mtm, _ = _drawdown([b + u for _, b, u in result.equity])
    daily = daily_returns(result)
    day_r = [r for _, _, r in daily]
    by_reason: dict[str, int] = defaultdict(int)
    closed_keys = {(p.mint, p.opened_at) for p in result.closed}
    for s in result.sells:
        if (s.mint, s.opened_at) in closed_keys:
            by_reason[s.reason] += s.pnl_lamports
    report = {
        "trades": len(rows),
        "pnl_sol": sum(pnls) / LAMPORTS,
        "pnl_lamports": sum(pnls),
        "win_rate": sum(1 for x in pnls if x > 0) / len(pnls) if pnls else 0.0,
        "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
        "gross_profit_sol": gross_profit / LAMPORTS,
        "gross_loss_sol": gross_loss / LAMPORTS,
        "max_drawdown": dd,
        "max_drawdown_sol": dd_abs / LAMPORTS,
        "max_drawdown_mtm": mtm,
        "sharpe_per_trade": _sharpe(returns),
        "sortino_per_trade": _sortino(returns),
        "sharpe_daily_annualized": _annual(_sharpe(day_r)),
        "sortino_daily_annualized": _annual(_sortino(day_r)),
        "exposure": _exposure(result),
        "avg_hold_s": sum(r["hold_s"] for r in rows) / len(rows) if rows else 0.0,
        "fees_sol": sum(r["fees_lamports"] for r in rows) / LAMPORTS,
        "pnl_by_exit_reason": {k: v / LAMPORTS for k, v in sorted(by_reason.items())},
        "pnl_by_score_bucket": _group(rows, lambda r: _bucket(r["score"])),
        "pnl_by_strategy": _group(rows, lambda r: r["strategy"] or "unknown"),
        "daily": [{"date": d, "pnl_sol": p / LAMPORTS, "return": r} for d, p, r in daily],
        "open_positions": len(result.open),
        "open_basis_sol": sum(result.open_basis.values()) / LAMPORTS,
        "unrealized_pnl_sol": sum(result.unrealized.values()) / LAMPORTS,
        "starting_capital_sol": result.starting_capital / LAMPORTS,
        "start": result.start, "end": result.end, "duration_s": result.end - result.start,
        "events": result.events,
        "counts": dict(sorted(result.counts.items())),
        "fingerprint": fingerprint(result.closed),
    }
    if params is not None:
        report["params"] = params
    return report


def _annual(x: float | None) -> float | None:
    return None if x is None else x * math.sqrt(365)


def trades_frame(result: BacktestResult) -> pl.DataFrame:
    schema = {"mint": pl.Utf8, "strategy": pl.Utf8, "score": pl.Float64, "opened_at": pl.Float64,
              "closed_at": pl.Float64, "hold_s": pl.Float64, "cost_lamports": pl.Int64,
              "realized_lamports": pl.Int64, "pnl_lamports": pl.Int64, "return": pl.Float64,
              "fees_lamports": pl.Int64, "initial_tokens": pl.UInt64, "exit_reason": pl.Utf8, "venue": pl.Utf8,
              "entry_order_id": pl.Utf8, "exit_order_ids": pl.Utf8, "sells": pl.Int64}
    rows = trade_rows(result)
    return pl.DataFrame({k: [r[k] for r in rows] for k in schema}, schema=schema)


def fills_frame(result: BacktestResult) -> pl.DataFrame:
    schema = {"order_id": pl.Utf8, "mint": pl.Utf8, "side": pl.Utf8, "reason": pl.Utf8, "lamports": pl.Int64,
              "tokens": pl.UInt64, "fee_lamports": pl.Int64, "price": pl.Float64, "slot": pl.Int64,
              "quote_slot": pl.Int64, "ts": pl.Float64}
    rows = [{"order_id": f.order_id, "mint": f.mint, "side": f.side.value,
             "reason": result.orders[f.order_id].reason if f.order_id in result.orders else "",
             "lamports": f.lamports, "tokens": f.tokens, "fee_lamports": f.fee_lamports, "price": f.price,
             "slot": f.slot, "quote_slot": f.quote_slot, "ts": f.ts} for f in result.fills]
    return pl.DataFrame({k: [r[k] for r in rows] for k in schema}, schema=schema)


def equity_png(result: BacktestResult, title: str = "backtest") -> bytes:
    """Equity (realised, and marked to market) and drawdown as a PNG, drawn with matplotlib's Agg backend."""
    import datetime as dt

    import matplotlib
    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    def times(ts):
        return [dt.datetime.fromtimestamp(t, tz=dt.timezone.utc) for t in ts]

    curve = realized_curve(result)
    if result.end > curve[-1][0]:
        curve.append((result.end, curve[-1][1]))
    rt, rv = [t for t, _ in curve], [v / LAMPORTS for _, v in curve]
    mt = [t for t, _, _ in result.equity]
    mv = [(b + u) / LAMPORTS for _, b, u in result.equity]
    peak, dd = -math.inf, []
    for v in rv:
        peak = max(peak, v)
        dd.append(-(peak - v) / peak * 100 if peak > 0 else 0.0)

    fig = Figure(figsize=(10, 6), dpi=100)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    if len(mt) > 1:
        ax1.plot(times(mt), mv, color="#9bb7d4", linewidth=1, label="marked to market")
    ax1.step(times(rt), rv, where="post", color="#1f4e79", linewidth=2, label="realised (closed trades)")
    ax1.axhline(result.starting_capital / LAMPORTS, color="grey", linewidth=0.8, linestyle="--")
    ax1.set_ylabel("equity (SOL)")
    ax1.set_title(f"{title}: {len(result.closed)} trades, P&L {(rv[-1] - rv[0]):+.4f} SOL")
    ax1.legend(loc="upper left")
    ax1.grid(alpha=0.3)
    ax2.fill_between(times(rt), dd, 0, step="post", color="#c0392b", alpha=0.5)
    ax2.set_ylabel("drawdown (%)")
    ax2.set_xlabel("time (UTC)")
    ax2.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
