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
_isfinite, _tanh, _exp = math.isfinite, math.tanh, math.exp
FEATURE_NAMES = ("buy_pressure", "net_flow", "volume_accel", "buyer_growth", "buyer_accel", "velocity",
                 "activity", "progress_fit", "freshness", "entropy", "drawdown", "rug")


def windows_of(f: TokenFeatures) -> tuple[int, int, int] | None:
    return _windows(f.volume_lamports)


_WINDOWS: dict[tuple, tuple[int, int, int] | None] = {}    # every token of a run has the same windows


def _windows(volume: dict) -> tuple[int, int, int] | None:
    keys = tuple(volume)
    try:
        return _WINDOWS[keys]
    except KeyError:
        pass
    spans = sorted(keys)
    w = (spans[0], spans[len(spans) // 2], spans[-1]) if spans else None
    if len(_WINDOWS) >= 64:
        _WINDOWS.clear()
    _WINDOWS[keys] = w
    return w


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
    # Called for every scored token: locals instead of repeated attribute and dict lookups (same arithmetic).
    volume, new_buyers = f.volume_lamports, f.new_buyers
    w = _windows(volume)
    if w is None:
        buys = sells = vol_mid = buy_vol_mid = new_mid = 0
        vol_accel = buyer_accel = 0.5
    else:
        short, mid, long = w
        if mid:
            buys, sells = f.buys.get(mid, 0), f.sells.get(mid, 0)
            vol_mid, buy_vol_mid = volume.get(mid, 0), f.buy_volume_lamports.get(mid, 0)
            new_mid = new_buyers.get(mid, 0)
        else:
            buys = sells = vol_mid = buy_vol_mid = new_mid = 0
        vol_accel = _ratio_squash(volume.get(short, 0), short, volume.get(long, 0), long)
        buyer_accel = _ratio_squash(new_buyers.get(short, 0), short, new_buyers.get(long, 0), long)
    trades_mid = buys + sells
    net_mid = 2 * buy_vol_mid - vol_mid
    liquidity = f.liquidity_lamports
    depth = LAMPORTS_PER_SOL if LAMPORTS_PER_SOL > liquidity else liquidity      # max(liquidity, 1 SOL)
    v = f.price_velocity
    if not _isfinite(v):
        v = 0.0
    price, peak = f.price, f.peak_price
    drawdown = 1.0 - price / peak if peak > 0 and price > 0 else 0.0
    age, entropy, rug = f.age_s, f.trade_size_entropy, f.rug_probability
    return {
        "buy_pressure": buys / trades_mid if trades_mid else 0.5,
        "net_flow": 0.5 + 0.5 * _tanh(net_mid / depth),
        "volume_accel": vol_accel,
        "buyer_growth": 1.0 - _exp(-new_mid / 8.0),
        "buyer_accel": buyer_accel,
        "velocity": 0.5 + 0.5 * _tanh(v * 60.0),
        "activity": 1.0 - _exp(-trades_mid / 20.0),
        "progress_fit": progress_fit(f.curve_progress),
        "freshness": _exp(-max(age, 0.0) / 600.0),
        "entropy": min(1.0, max(entropy, 0.0) / 4.0),
        "drawdown": min(1.0, max(drawdown, 0.0)),
        "rug": min(1.0, max(rug, 0.0)),
    }
