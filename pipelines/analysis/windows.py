"""Compact rolling windows: for each window, a ring of time buckets holding exact integer sums.

A window of W seconds is a ring of B buckets of width w = W / B seconds, aligned to multiples of w on the
caller's clock. Something recorded at time t lands in bucket floor(t / w) and counts in the window at `now`
while floor(now / w) - floor(t / w) < B: it leaves at the bucket boundary (floor(t / w) + B) * w, i.e. between
W - w and W seconds after it happened. With the defaults (10/60/300 s, B = 8) that is 1.25 s, 7.5 s and 37.5 s
of resolution, for a fixed 2 x 8 + 3 x 2 bytes per bucket whatever the trade rate.

Per bucket: bought lamports, sold lamports (int64, saturating), buy count, sell count, first-time buyers
(uint16, saturating at 65,535 per bucket). Storage is metric-major (every (window, metric) ring is one
contiguous run of B slots) so a window total is at most two C-level slice sums.

The storage belongs to the caller: a `WindowLayout` (one per shard) says where in an int64 array the volumes
start (`vol_offset`, so a token keeps its scalars and volumes in one array) and reads/writes a uint16 array
for the counts; the time of the newest record is passed in and returned. `RollingWindows` is the same thing
owning its own arrays.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import NamedTuple

VOL_METRICS = 2          # buy lamports, sell lamports
CNT_METRICS = 3          # buys, sells, new buyers
U16_MAX = 0xFFFF
I64_MAX = (1 << 63) - 1
NO_RECORD = float("nan")     # `last` before anything was recorded


def zeros(typecode: str, n: int) -> array:
    """An exactly sized zeroed array (array(tc, bytes) over-allocates ~10%: thousands of tokens notice)."""
    return array(typecode, [0]) * n


class WindowTotals(NamedTuple):
    span: int
    buy_lamports: int
    sell_lamports: int
    buys: int
    sells: int
    new_buyers: int

    @property
    def volume(self) -> int:
        return self.buy_lamports + self.sell_lamports

    @property
    def net_flow(self) -> int:
        return self.buy_lamports - self.sell_lamports


@dataclass(frozen=True, slots=True)
class WindowLayout:
    spans: tuple[int, ...]
    buckets: int
    vol_offset: int = 0
    widths: tuple[float, ...] = ()

    @classmethod
    def of(cls, spans, buckets: int, vol_offset: int = 0) -> WindowLayout:
        spans = tuple(sorted(int(s) for s in spans))
        if not spans or spans[0] <= 0 or buckets < 1:
            raise ValueError("windows need positive spans and at least one bucket")
        return cls(spans, buckets, vol_offset, tuple(s / buckets for s in spans))

    @property
    def n_vol(self) -> int:
        return VOL_METRICS * len(self.spans) * self.buckets

    @property
    def n_cnt(self) -> int:
        return CNT_METRICS * len(self.spans) * self.buckets

    def add(self, vol, cnt, last: float, t: float, buy_lamports: int, sell_lamports: int,
            buys: int, sells: int, new_buyers: int) -> float:
        """Record at time t (clamped to no earlier than `last`); returns the new `last`. Buckets that moving
        from `last` to `t` pushes out of a ring are zeroed on the way."""
        fresh = last != last                 # NO_RECORD
        if not fresh and t < last:
            t = last
        b, off = self.buckets, self.vol_offset
        for wi, w in enumerate(self.widths):
            new = int(t // w)
            pos = new % b
            v0, c0 = off + wi * VOL_METRICS * b, wi * CNT_METRICS * b
            if not fresh:
                gap = new - int(last // w)
                if gap >= b:
                    vol[v0:v0 + VOL_METRICS * b] = zeros("q", VOL_METRICS * b)
                    cnt[c0:c0 + CNT_METRICS * b] = zeros("H", CNT_METRICS * b)
                elif gap > 0:
                    for k in range(new - gap + 1, new + 1):
                        q = k % b
                        vol[v0 + q] = vol[v0 + b + q] = 0
                        cnt[c0 + q] = cnt[c0 + b + q] = cnt[c0 + 2 * b + q] = 0
            if buy_lamports:
                i = v0 + pos
                vol[i] = min(vol[i] + buy_lamports, I64_MAX)
            if sell_lamports:
                i = v0 + b + pos
                vol[i] = min(vol[i] + sell_lamports, I64_MAX)
            i = c0 + pos
            if buys and cnt[i] < U16_MAX:
                cnt[i] += 1
            if sells and cnt[i + b] < U16_MAX:
                cnt[i + b] += 1
            if new_buyers and cnt[i + 2 * b] < U16_MAX:
                cnt[i + 2 * b] += 1
        return t

    def totals(self, vol, cnt, last: float, now: float) -> list[WindowTotals]:
        """Window sums as seen at `now` (a `now` before the newest record reads as that record's time)."""
        b, off = self.buckets, self.vol_offset
        out = []
        for wi, w in enumerate(self.widths):
            span = self.spans[wi]
            if last != last:
                out.append(WindowTotals(span, 0, 0, 0, 0, 0))
                continue
            last_idx = int(last // w)
            live = b - max(0, int(max(now, last) // w) - last_idx)
            if live <= 0:
                out.append(WindowTotals(span, 0, 0, 0, 0, 0))
                continue
            v0 = off + wi * VOL_METRICS * b
            c0 = wi * CNT_METRICS * b
            if live == b:
                out.append(WindowTotals(span, sum(vol[v0:v0 + b]), sum(vol[v0 + b:v0 + 2 * b]),
                                        sum(cnt[c0:c0 + b]), sum(cnt[c0 + b:c0 + 2 * b]),
                                        sum(cnt[c0 + 2 * b:c0 + 3 * b])))
                continue
            end = last_idx % b + 1                   # one past the newest live slot
            start = (last_idx - live + 1) % b        # oldest live slot
            runs = ((start, end),) if start < end else ((start, b), (0, end))
            vals = [span]
            for arr, base in ((vol, v0), (vol, v0 + b), (cnt, c0), (cnt, c0 + b), (cnt, c0 + 2 * b)):
                vals.append(sum(sum(arr[base + a:base + z]) for a, z in runs))
            out.append(WindowTotals(*vals))
        return out


class RollingWindows:
    """A WindowLayout with its own storage (for one-off use; TokenState embeds the arrays instead)."""

    __slots__ = ("layout", "vol", "cnt", "last")

    def __init__(self, spans=(10, 60, 300), buckets: int = 10) -> None:
        self.layout = WindowLayout.of(spans, buckets)
        self.vol = zeros("q", self.layout.n_vol)
        self.cnt = zeros("H", self.layout.n_cnt)
        self.last = NO_RECORD

    def add(self, t: float, buy_lamports: int = 0, sell_lamports: int = 0, buys: int = 0, sells: int = 0,
            new_buyers: int = 0) -> None:
        self.last = self.layout.add(self.vol, self.cnt, self.last, t, buy_lamports, sell_lamports,
                                    buys, sells, new_buyers)

    def totals(self, now: float) -> list[WindowTotals]:
        return self.layout.totals(self.vol, self.cnt, self.last, now)
