"""TokenFeatures -> a normalized feature vector: every value in [0, 1], 0.5 meaning "no signal" where a
feature has a direction. Windows are read as short / mid / long = the shortest, middle and longest configured
windows (10 s / 60 s / 300 s by default).

  buy_pressure    buys / (buys + sells) over the mid window; 0.5 without trades
  net_flow        0.5 + 0.5 tanh(net SOL flow over the mid window / max(liquidity, 1 SOL))
                  (the flow relative to the depth it moves)
  volume_accel    r / (1 + r), r = short-window lamports/s over long-window lamports/s; 0.5 = steady, -> 1 surging
  buyer_growth    1 - exp(-first-time buyers in the mid window / 8)   (8 new buyers a minute is a lot on pump.fun:
                  the June 2025 tracker data has a median of 8 unique buyers per token, lifetime)
  buyer_accel     r / (1 + r) like volume_accel, on first-time buyers
  velocity        0.5 + 0.5 tanh(Kalman ln-price velocity * 60): +-1.7%/s (x2.8 a minute) saturates
  activity        1 - exp(-trades in the mid window / 20)
  progress_fit    curve progress inside [5%, 70%] -> 1, ramping to 0 at 0% and at 100% (too early: nothing
                  proven; too late: migration, where our exits sell, is close)
  freshness       exp(-age / 600 s)
  entropy         min(1, trade-size entropy / 4 bits)  (4 bits = 16 equally used half-octave size bins)
  drawdown        1 - price / peak price (0 at the high)
  rug             the rug probability
"""
from __future__ import annotations

import math

from pipelines.messages import TokenFeatures

LAMPORTS_PER_SOL = 1_000_000_000
FEATURE_NAMES = ("buy_pressure", "net_flow", "volume_accel", "buyer_growth", "buyer_accel", "velocity",
                 "activity", "progress_fit", "freshness", "entropy", "drawdown", "rug")


def windows_of(f: TokenFeatures) -> tuple[int, int, int] | None:
    spans = sorted(f.volume_lamports)
    if not spans:
        return None
    return spans[0], spans[len(spans) // 2], spans[-1]


def _ratio_squash(short: float, short_s: int, long: float, long_s: int) -> float:
    """r / (1 + r) for r = short rate / long rate; 0.5 when both are zero (steady nothing)."""
    if long <= 0:
        return 1.0 if short > 0 else 0.5
    r = (short / short_s) / (long / long_s)
    return r / (1.0 + r)


def progress_fit(p: float, low: float = 0.05, high: float = 0.70) -> float:
    if p <= 0 or p >= 1:
        return 0.0
    if p < low:
        return p / low
    if p > high:
        return (1.0 - p) / (1.0 - high)
    return 1.0


def feature_vector(f: TokenFeatures) -> dict[str, float]:
    w = windows_of(f)
    if w is None:
        short = mid = long = None
    else:
        short, mid, long = w
    buys = f.buys.get(mid, 0) if mid else 0
    sells = f.sells.get(mid, 0) if mid else 0
    trades_mid = buys + sells
    vol_mid = f.volume_lamports.get(mid, 0) if mid else 0
    buy_vol_mid = f.buy_volume_lamports.get(mid, 0) if mid else 0
    net_mid = 2 * buy_vol_mid - vol_mid
    depth = max(f.liquidity_lamports, LAMPORTS_PER_SOL)
    if w is None:
        vol_accel = buyer_accel = 0.5
    else:
        vol_accel = _ratio_squash(f.volume_lamports.get(short, 0), short, f.volume_lamports.get(long, 0), long)
        buyer_accel = _ratio_squash(f.new_buyers.get(short, 0), short, f.new_buyers.get(long, 0), long)
    v = f.price_velocity if math.isfinite(f.price_velocity) else 0.0
    drawdown = 1.0 - f.price / f.peak_price if f.peak_price > 0 and f.price > 0 else 0.0
    return {
        "buy_pressure": buys / trades_mid if trades_mid else 0.5,
        "net_flow": 0.5 + 0.5 * math.tanh(net_mid / depth),
        "volume_accel": vol_accel,
        "buyer_growth": 1.0 - math.exp(-(f.new_buyers.get(mid, 0) if mid else 0) / 8.0),
        "buyer_accel": buyer_accel,
        "velocity": 0.5 + 0.5 * math.tanh(v * 60.0),
        "activity": 1.0 - math.exp(-trades_mid / 20.0),
        "progress_fit": progress_fit(f.curve_progress),
        "freshness": math.exp(-max(f.age_s, 0.0) / 600.0),
        "entropy": min(1.0, max(f.trade_size_entropy, 0.0) / 4.0),
        "drawdown": min(1.0, max(drawdown, 0.0)),
        "rug": min(1.0, max(f.rug_probability, 0.0)),
    }
