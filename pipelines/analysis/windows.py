"""Compact rolling windows: for each window, a ring of time buckets holding exact integer sums.

A window of W seconds is a ring of B buckets of width w = W / B seconds, aligned to multiples of w on the
caller's clock. Something recorded at time t lands in bucket floor(t / w) and counts in the window at `now`
while floor(now / w) - floor(t / w) < B: it leaves at the bucket boundary (floor(t / w) + B) * w, i.e. between
W - w and W seconds after it happened. With the defaults (10/60/300 s, B = 8) that is 1.25 s, 7.5 s and 37.5 s
of resolution, for a fixed 2 x 8 + 3 x 2 bytes per bucket whatever the trade rate.

Per bucket: bought lamports, sold lamports (int64, saturating), buy count, sell count, first-time buyers
(uint16, saturating at 65,535 per bucket). Storage is metric-major (every (window, metric) ring is one
contiguous run of B slots).

Running sums: each (window, metric) also keeps the sum of its ring (2 int64 per window at `vol_sums`, 3 uint16
per window at `cnt_sums`), updated as buckets fill and expire, so reading a window whose newest bucket is still
current (every read right after a trade) costs one load instead of a slice sum. A sum is stored capped at its
type's maximum; a stored maximum means "not known exactly" and is recomputed from the buckets when read or
when buckets expire (only hostile volumes or > 65,535 trades per window ever get there).

The storage belongs to the caller: a `WindowLayout` (one per shard) says where in an int64 array the volumes
and their sums live (`vol_offset`, `vol_sums`: a token keeps its scalars and volumes in one array) and where
in a uint16 array the counts' sums live (`cnt_sums`); the time of the newest record is passed in and returned.
`RollingWindows` is the same thing owning its own arrays.
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
_SAFE_SUM = 1 << 62          # a volume sum below this cannot saturate on an add of <= 2^62 lamports


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
    vol_sums: int = 0          # int64 index of window 0's bought-lamports sum (then sold; then window 1 ...)
    cnt_sums: int = 0          # uint16 index of window 0's buys sum (then sells, new buyers; then window 1 ...)
    # per window: (width, first volume slot, first count slot, its volume sums, its count sums)
    geometry: tuple[tuple[float, int, int, int, int], ...] = ()
    # add_trade's loops: each window's geometry, then the ring and sum slots a buy (a sell) writes to
    buy_geometry: tuple = ()
    sell_geometry: tuple = ()

    @classmethod
    def of(cls, spans, buckets: int, vol_offset: int = 0, vol_sums: int | None = None,
           cnt_sums: int | None = None) -> WindowLayout:
        """Sums default to right after the buckets (vol_offset + n_vol in the int64 array, n_cnt in uint16)."""
        spans = tuple(sorted(int(s) for s in spans))
        if not spans or spans[0] <= 0 or buckets < 1:
            raise ValueError("windows need positive spans and at least one bucket")
        n = len(spans)
        if vol_sums is None:
            vol_sums = vol_offset + VOL_METRICS * n * buckets
        if cnt_sums is None:
            cnt_sums = CNT_METRICS * n * buckets
        widths = tuple(s / buckets for s in spans)
        geometry = tuple((w, vol_offset + wi * VOL_METRICS * buckets, wi * CNT_METRICS * buckets,
                          vol_sums + VOL_METRICS * wi, cnt_sums + CNT_METRICS * wi) for wi, w in enumerate(widths))
        buys = tuple(g + (g[1], g[2], g[3], g[4]) for g in geometry)
        sells = tuple(g + (g[1] + buckets, g[2] + buckets, g[3] + 1, g[4] + 1) for g in geometry)
        return cls(spans, buckets, vol_offset, widths, vol_sums, cnt_sums, geometry, buys, sells)

    @property
    def n_vol(self) -> int:
        """int64 bucket slots (the running sums are not included)."""
        return VOL_METRICS * len(self.spans) * self.buckets

    @property
    def n_cnt(self) -> int:
        """uint16 bucket slots (the running sums are not included)."""
        return CNT_METRICS * len(self.spans) * self.buckets

    @property
    def n_vol_sums(self) -> int:
        return VOL_METRICS * len(self.spans)

    @property
    def n_cnt_sums(self) -> int:
        return CNT_METRICS * len(self.spans)

    def add(self, vol, cnt, last: float, t: float, buy_lamports: int, sell_lamports: int,
            buys: int, sells: int, new_buyers: int) -> float:
        """Record at time t (clamped to no earlier than `last`); returns the new `last`. Buckets that moving
        from `last` to `t` pushes out of a ring are zeroed on the way (and leave the running sums)."""
        fresh = last != last                 # NO_RECORD
        if not fresh and t < last:
            t = last
        b = self.buckets
        for w, v0, c0, sv, sc in self.geometry:
            new = int(t // w)
            if not fresh:
                gap = new - int(last // w)
                if gap > 0:
                    self._expire(vol, cnt, v0, c0, sv, sc, new, gap)
            pos = new % b
            if buy_lamports:
                i = v0 + pos
                old = vol[i]
                x = old + buy_lamports
                vol[i] = x = x if x < I64_MAX else I64_MAX
                s = vol[sv]
                if s < I64_MAX:              # a stored maximum stays "unknown" until buckets expire
                    s += x - old
                    vol[sv] = s if s < I64_MAX else I64_MAX
            if sell_lamports:
                i = v0 + b + pos
                old = vol[i]
                x = old + sell_lamports
                vol[i] = x = x if x < I64_MAX else I64_MAX
                s = vol[sv + 1]
                if s < I64_MAX:
                    s += x - old
                    vol[sv + 1] = s if s < I64_MAX else I64_MAX
            i = c0 + pos
            if buys and cnt[i] < U16_MAX:
                cnt[i] += 1
                if cnt[sc] < U16_MAX:
                    cnt[sc] += 1
            if sells and cnt[i + b] < U16_MAX:
                cnt[i + b] += 1
                if cnt[sc + 1] < U16_MAX:
                    cnt[sc + 1] += 1
            if new_buyers and cnt[i + 2 * b] < U16_MAX:
                cnt[i + 2 * b] += 1
                if cnt[sc + 2] < U16_MAX:
                    cnt[sc + 2] += 1
        return t

    def add_trade(self, vol, cnt, last: float, t: float, sell: bool, lamports: int, new_buyer: bool) -> float:
        """add() for one trade (a buy, or a sell when `sell`; `new_buyer` for a first-time buyer) with
        `lamports` <= AMOUNT_MAX (2^62, what layout.clamp_amount gives): the same result as add(), cheaper.
        TokenState calls it once per trade.

        While a running sum is below 2^62 (U16_MAX for counts), no bucket of its ring can saturate on this add
        (every bucket <= the sum), so the saturating arithmetic is only needed past those points."""
        moved = last == last and t != last          # not NO_RECORD, and time moved: buckets may expire
        if moved and t < last:
            t = last
            moved = False
        b = self.buckets
        for w, v0, c0, sv, sc, vs, cs, svs, scs in (self.sell_geometry if sell else self.buy_geometry):
            new = int(t // w)
            if moved:
                gap = new - int(last // w)
                if gap:
                    self._expire(vol, cnt, v0, c0, sv, sc, new, gap)
            pos = new % b
            if lamports:
                s = vol[svs]
                if s < _SAFE_SUM:
                    vol[svs] = s + lamports
                    vol[vs + pos] += lamports
                else:
                    i = vs + pos
                    old = vol[i]
                    x = old + lamports
                    vol[i] = x = x if x < I64_MAX else I64_MAX
                    if s < I64_MAX:                  # a stored maximum stays "unknown" until buckets expire
                        s += x - old
                        vol[svs] = s if s < I64_MAX else I64_MAX
            c = cnt[scs]
            if c < U16_MAX:
                cnt[scs] = c + 1
                cnt[cs + pos] += 1
            elif cnt[cs + pos] < U16_MAX:
                cnt[cs + pos] += 1
            if new_buyer:
                i = sc + 2
                c = cnt[i]
                if c < U16_MAX:
                    cnt[i] = c + 1
                    cnt[c0 + 2 * b + pos] += 1
                elif cnt[c0 + 2 * b + pos] < U16_MAX:
                    cnt[c0 + 2 * b + pos] += 1
        return t

    def _expire(self, vol, cnt, v0: int, c0: int, sv: int, sc: int, new: int, gap: int) -> None:
        """Zero the buckets of indices new - gap + 1 .. new (all of them when gap >= B) and take them out of the
        window's running sums."""
        b = self.buckets
        if gap >= b:
            vol[v0:v0 + VOL_METRICS * b] = zeros("q", VOL_METRICS * b)
            cnt[c0:c0 + CNT_METRICS * b] = zeros("H", CNT_METRICS * b)
            vol[sv] = vol[sv + 1] = 0
            cnt[sc] = cnt[sc + 1] = cnt[sc + 2] = 0
            return
        unknown = False                     # a sum stored at its maximum: recomputed below
        for k in range(new - gap + 1, new + 1):
            q = k % b
            i = v0 + q                          # unrolled over the 2 + 3 metrics: this runs for most trades
            x = vol[i]
            if x:
                vol[i] = 0
                if vol[sv] < I64_MAX:
                    vol[sv] -= x
                else:
                    unknown = True
            i += b
            x = vol[i]
            if x:
                vol[i] = 0
                if vol[sv + 1] < I64_MAX:
                    vol[sv + 1] -= x
                else:
                    unknown = True
            i = c0 + q
            x = cnt[i]
            if x:
                cnt[i] = 0
                if cnt[sc] < U16_MAX:
                    cnt[sc] -= x
                else:
                    unknown = True
            i += b
            x = cnt[i]
            if x:
                cnt[i] = 0
                if cnt[sc + 1] < U16_MAX:
                    cnt[sc + 1] -= x
                else:
                    unknown = True
            i += b
            x = cnt[i]
            if x:
                cnt[i] = 0
                if cnt[sc + 2] < U16_MAX:
                    cnt[sc + 2] -= x
                else:
                    unknown = True
        if unknown:
            for m in range(VOL_METRICS):
                if vol[sv + m] == I64_MAX:
                    vol[sv + m] = min(sum(vol[v0 + m * b:v0 + (m + 1) * b]), I64_MAX)
            for m in range(CNT_METRICS):
                if cnt[sc + m] == U16_MAX:
                    cnt[sc + m] = min(sum(cnt[c0 + m * b:c0 + (m + 1) * b]), U16_MAX)

    def rebuild_sums(self, vol, cnt) -> None:
        """Running sums from the buckets (after buffers were restored or rewritten)."""
        b = self.buckets
        for _, v0, c0, sv, sc in self.geometry:
            for m in range(VOL_METRICS):
                vol[sv + m] = min(sum(vol[v0 + m * b:v0 + (m + 1) * b]), I64_MAX)
            for m in range(CNT_METRICS):
                cnt[sc + m] = min(sum(cnt[c0 + m * b:c0 + (m + 1) * b]), U16_MAX)

    def sums(self, vol, cnt, last: float, now: float):
        """Window sums at `now` (a `now` before the newest record reads as that record's time), flat, shortest
        window first: ([bought, sold lamports] per window, [buys, sells, new buyers] per window)."""
        n = len(self.spans)
        if last != last:
            return [0] * (VOL_METRICS * n), [0] * (CNT_METRICS * n)
        vs = vol[self.vol_sums:self.vol_sums + VOL_METRICS * n]
        cs = cnt[self.cnt_sums:self.cnt_sums + CNT_METRICS * n]
        if now > last:                     # a flush or refresh after the trade: did a ring move on since?
            for w in self.widths:
                if now // w != last // w:
                    return self._settled(vol, cnt, last, now, list(vs), list(cs))
        if I64_MAX in vs or U16_MAX in cs:
            return self._settled(vol, cnt, last, now, list(vs), list(cs))
        return vs, cs                      # every ring whole (its newest bucket is current), every sum exact

    def _settled(self, vol, cnt, last: float, now: float, vs: list, cs: list):
        """sums() for rings that `now` moved past (only their live buckets count) or sums stored at their
        maximum (recomputed from the buckets)."""
        b = self.buckets
        at = now if now > last else last
        for wi, (w, v0, c0, _, _) in enumerate(self.geometry):
            i, j = VOL_METRICS * wi, CNT_METRICS * wi
            last_idx = int(last // w)
            live = b - (int(at // w) - last_idx)
            if live <= 0:
                vs[i] = vs[i + 1] = cs[j] = cs[j + 1] = cs[j + 2] = 0
                continue
            if live >= b:
                if (vs[i] != I64_MAX and vs[i + 1] != I64_MAX and cs[j] != U16_MAX and cs[j + 1] != U16_MAX
                        and cs[j + 2] != U16_MAX):
                    continue
                start, end = 0, b
            else:
                end = last_idx % b + 1                   # one past the newest live slot
                start = (last_idx - live + 1) % b        # oldest live slot
            if start < end:
                vs[i], vs[i + 1] = sum(vol[v0 + start:v0 + end]), sum(vol[v0 + b + start:v0 + b + end])
                cs[j], cs[j + 1], cs[j + 2] = (sum(cnt[c0 + start:c0 + end]), sum(cnt[c0 + b + start:c0 + b + end]),
                                               sum(cnt[c0 + 2 * b + start:c0 + 2 * b + end]))
            else:                                        # the live slots wrap around the ring's end
                vs[i] = sum(vol[v0 + start:v0 + b]) + sum(vol[v0:v0 + end])
                vs[i + 1] = sum(vol[v0 + b + start:v0 + 2 * b]) + sum(vol[v0 + b:v0 + b + end])
                for m in range(CNT_METRICS):
                    base = c0 + m * b
                    cs[j + m] = sum(cnt[base + start:base + b]) + sum(cnt[base:base + end])
        return vs, cs

    def totals(self, vol, cnt, last: float, now: float) -> list[WindowTotals]:
        """Window sums as seen at `now` (a `now` before the newest record reads as that record's time)."""
        vs, cs = self.sums(vol, cnt, last, now)
        return [WindowTotals(span, vs[2 * i], vs[2 * i + 1], cs[3 * i], cs[3 * i + 1], cs[3 * i + 2])
                for i, span in enumerate(self.spans)]


class RollingWindows:
    """A WindowLayout with its own storage (for one-off use; TokenState embeds the arrays instead)."""

    __slots__ = ("layout", "vol", "cnt", "last")

    def __init__(self, spans=(10, 60, 300), buckets: int = 10) -> None:
        self.layout = WindowLayout.of(spans, buckets)
        self.vol = zeros("q", self.layout.n_vol + self.layout.n_vol_sums)
        self.cnt = zeros("H", self.layout.n_cnt + self.layout.n_cnt_sums)
        self.last = NO_RECORD

    def add(self, t: float, buy_lamports: int = 0, sell_lamports: int = 0, buys: int = 0, sells: int = 0,
            new_buyers: int = 0) -> None:
        self.last = self.layout.add(self.vol, self.cnt, self.last, t, buy_lamports, sell_lamports,
                                    buys, sells, new_buyers)

    def totals(self, now: float) -> list[WindowTotals]:
        return self.layout.totals(self.vol, self.cnt, self.last, now)
