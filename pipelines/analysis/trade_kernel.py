"""TokenState._trade for a whole batch of trades, compiled (numba): the shards' hot loop.

Python spends ~15 us per trade in TokenState._trade (windows, Bloom filter, holder table, size ring, Kalman
filter, rug check: a hundred small array operations). This is the same arithmetic, in the same order, compiled:
~0.3 us per trade. It writes into each TokenState's own buffers (array('q'/'d'/'H'/'I') and the bytearray,
fixed-size for the state's life) through their addresses (layout.py keeps them at the end of `ints`), so TokenState, its reads, snapshots and records are
unchanged, and a state the compiled path updated is bit-for-bit the state the Python path would have made
(tests/unit/analysis/test_trade_kernel.py runs both on the same streams and compares every buffer).

ShardCore sends a trade here only when the Python path would take its plain branch and the results are exact
in 64-bit arithmetic (`eligible`): same venue as the state's, creator already known, amounts below 2^53 (so
int/int divisions round as Python's do). Anything else (launches, migrations, a token's first trade, hostile
values) takes TokenState.apply, after the pending compiled rows are applied, so the order of events holds.

Layout indices are literals here, checked against layout.py at import: numba caches the compiled code by this
file, and a cached kernel must never run against another layout.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import layout
from .windows import I64_MAX, U16_MAX, _SAFE_SUM

# ints / reals indices (layout.py; checked below)
VSOL, VTOK, RSOL, RTOK, TRADES, SAMPLED, CURSOR = 0, 1, 2, 3, 8, 9, 10
DEV_BOUGHT, DEV_SOLD, DEV_SOLD_LAMPORTS, SLOT, PEAK_LIQ, STATUS = 11, 12, 13, 14, 7, 17
RUGGED_BIT = 8
LAST_ACTIVE, PEAK_PRICE, LAST_TRADE, ENTROPY_S, KALMAN = 1, 2, 4, 5, 6
AMOUNT_MAX = 1 << 62
BALANCE_MAX = 1 << 62
EXACT_MAX = 1 << 53          # ints below this convert to float64 exactly: int / int rounds as Python's

# columns of the event matrix
(C_BUY, C_SOL, C_TOK, C_VSOL, C_VTOK, C_RSOL, C_RTOK, C_HASH, C_USER, C_DEV, C_CURVE, C_SLOT) = range(12)
N_COLS = 12
# params (int64): buffer lengths and shard-wide settings
(P_INTS, P_REALS, P_CNT, P_OWNERS, P_BUF, P_BLOOM, P_RING, P_ONES, P_HOFF, P_HSLOTS, P_BUCKETS, P_RUG_FLOOR,
 P_RUG_KEEP, P_ADDR) = range(14)
# geometry rows (per window, for a buy [0] and a sell [1]): WindowLayout.buy_geometry / sell_geometry minus width
G_V0, G_C0, G_SV, G_SC, G_VS, G_CS, G_SVS, G_SCS = range(8)


def _check_layout() -> None:
    L = layout
    want = dict(VSOL=L.VSOL, VTOK=L.VTOK, RSOL=L.RSOL, RTOK=L.RTOK, TRADES=L.TRADES, SAMPLED=L.SAMPLED,
                CURSOR=L.CURSOR, DEV_BOUGHT=L.DEV_BOUGHT, DEV_SOLD=L.DEV_SOLD, DEV_SOLD_LAMPORTS=L.DEV_SOLD_LAMPORTS,
                SLOT=L.SLOT, PEAK_LIQ=L.PEAK_LIQ, STATUS=L.STATUS, RUGGED_BIT=L.RUGGED, LAST_ACTIVE=L.LAST_ACTIVE,
                PEAK_PRICE=L.PEAK_PRICE, LAST_TRADE=L.LAST_TRADE, ENTROPY_S=L.ENTROPY_S, KALMAN=L.KALMAN,
                AMOUNT_MAX=L.AMOUNT_MAX)
    bad = [k for k, v in want.items() if globals()[k] != v]
    if bad:
        raise ImportError(f"trade_kernel indices out of date with layout.py: {', '.join(bad)}")


_check_layout()


@intrinsic
def _ptr(typingctx, addr):
    """An integer address as a void* (numba.carray views a buffer Python owns)."""
    if not isinstance(addr, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)
    return types.voidptr(addr), codegen


_JIT = dict(cache=True, boundscheck=True, nogil=True)


@nb.njit(**_JIT)
def _sat_add(a, b):
    """a + b capped at I64_MAX (a, b >= 0), without int64 overflow."""
    return I64_MAX if a > I64_MAX - b else a + b


@nb.njit(**_JIT)
def _expire(vol, cnt, v0, c0, sv, sc, new, gap, b):
    """WindowLayout._expire."""
    if gap >= b:
        for k in range(2 * b):
            vol[v0 + k] = 0
        for k in range(3 * b):
            cnt[c0 + k] = 0
        vol[sv] = 0
        vol[sv + 1] = 0
        cnt[sc] = 0
        cnt[sc + 1] = 0
        cnt[sc + 2] = 0
        return
    unknown = False
    for k in range(new - gap + 1, new + 1):
        q = k % b
        for m in range(2):
            i = v0 + m * b + q
            x = vol[i]
            if x:
                vol[i] = 0
                if vol[sv + m] < I64_MAX:
                    vol[sv + m] -= x
                else:
                    unknown = True
        for m in range(3):
            i = c0 + m * b + q
            x = cnt[i]
            if x:
                cnt[i] = 0
                if cnt[sc + m] < U16_MAX:
                    cnt[sc + m] -= x
                else:
                    unknown = True
    if unknown:
        for m in range(2):
            if vol[sv + m] == I64_MAX:
                acc = 0
                for k in range(b):
                    acc = _sat_add(acc, vol[v0 + m * b + k])
                vol[sv + m] = acc
        for m in range(3):
            if cnt[sc + m] == U16_MAX:
                acc = 0
                for k in range(b):
                    acc += cnt[c0 + m * b + k]
                cnt[sc + m] = acc if acc < U16_MAX else U16_MAX


@nb.njit(**_JIT)
def _add_trade(vol, cnt, last, t, sell, lamports, new_buyer, geom, widths, b):
    """WindowLayout.add_trade."""
    moved = last == last and t != last
    if moved and t < last:
        t = last
        moved = False
    g = geom[1 if sell else 0]
    for wi in range(widths.shape[0]):
        w = widths[wi]
        v0, c0, sv, sc = g[wi, G_V0], g[wi, G_C0], g[wi, G_SV], g[wi, G_SC]
        vs, cs, svs, scs = g[wi, G_VS], g[wi, G_CS], g[wi, G_SVS], g[wi, G_SCS]
        new = int(t // w)
        if moved:
            gap = new - int(last // w)
            if gap:
                _expire(vol, cnt, v0, c0, sv, sc, new, gap, b)
        pos = new % b
        if lamports:
            s = vol[svs]
            if s < _SAFE_SUM:
                vol[svs] = s + lamports
                vol[vs + pos] += lamports
            else:
                i = vs + pos
                old = vol[i]
                x = _sat_add(old, lamports)
                vol[i] = x
                if s < I64_MAX:
                    vol[svs] = _sat_add(s, x - old)
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


@nb.njit(**_JIT)
def _bloom_set(buf, nbytes, h):
    """sketches.bloom_set."""
    mask = nbytes * 8 - 1
    i, j = h & mask, (h >> 16) & mask
    new = 0
    bit = 1 << (i & 7)
    if not buf[i >> 3] & bit:
        buf[i >> 3] |= bit
        new = 1
    bit = 1 << (j & 7)
    if not buf[j >> 3] & bit:
        buf[j >> 3] |= bit
        new += 1
    return new


@nb.njit(**_JIT)
def _find(owners, slots, h):
    for k in range(slots):
        if owners[k] == h:
            return k
    return -1


@nb.njit(**_JIT)
def _credit(owners, bal, off, slots, h, amount):
    """HolderLayout.credit."""
    k = _find(owners, slots, h)
    if k >= 0:
        x = bal[off + k] + amount
        bal[off + k] = x if x < BALANCE_MAX else BALANCE_MAX
        return
    j, low = 0, bal[off]
    for k in range(1, slots):
        if bal[off + k] < low:
            j, low = k, bal[off + k]
    if amount > low:
        owners[j] = h
        bal[off + j] = amount if amount < BALANCE_MAX else BALANCE_MAX


@nb.njit(**_JIT)
def _debit(owners, bal, off, slots, h, amount):
    """HolderLayout.debit."""
    k = _find(owners, slots, h)
    if k >= 0:
        x = bal[off + k] - amount
        bal[off + k] = x if x > 0 else 0


@nb.njit(**_JIT)
def _count(buf, v, start, end):
    c = 0
    for k in range(start, end):
        if buf[k] == v:
            c += 1
    return c


@nb.njit(**_JIT)
def _push_size(ints, reals, buf, off, ring, xlx, b):
    """TokenState._push_size."""
    n, cur = ints[SAMPLED], ints[CURSOR]
    s = reals[ENTROPY_S]
    if n >= ring:
        old = buf[off + cur]
        c = _count(buf, old, off, off + ring)
        s += xlx[c - 1] - xlx[c]
        cb = _count(buf, b, off, off + ring) - (1 if old == b else 0)
    else:
        cb = _count(buf, b, off, off + n)
        ints[SAMPLED] = n + 1
    s += xlx[cb + 1] - xlx[cb]
    buf[off + cur] = b
    cur += 1
    ints[CURSOR] = cur if cur < ring else 0
    reals[ENTROPY_S] = s


@nb.njit(**_JIT)
def _kalman(q, r, velocity_var0, s, o, t, z):
    """scoring.filters.kalman_update."""
    if not (math.isfinite(z) and math.isfinite(t)):
        return
    if not s[o]:
        s[o], s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5], s[o + 6] = 1.0, z, 0.0, r, 0.0, velocity_var0, t
        return
    x, v, p00, p01, p11, t0 = s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5], s[o + 6]
    dt = t - t0
    if dt > 0:
        x += v * dt
        p00 += dt * (2.0 * p01 + dt * p11) + q * dt * dt * dt / 3.0
        p01 += dt * p11 + q * dt * dt / 2.0
        p11 += q * dt
        t0 = t
    sv = p00 + r
    k0, k1 = p00 / sv, p01 / sv
    y = z - x
    x += k0 * y
    v += k1 * y
    p11 -= k1 * p01
    p00 *= 1.0 - k0
    p01 *= 1.0 - k0
    if not (math.isfinite(x) and math.isfinite(v) and math.isfinite(p00) and math.isfinite(p11)):
        s[o] = 0.0
        return
    s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5], s[o + 6] = x, v, p00, p01, p11, t0


@nb.njit(**_JIT)
def _size_bin(lamports):
    """layout.size_bin."""
    if lamports <= 0:
        return 0
    b = int(2.0 * math.log2(lamports)) + 1
    return b if b < 255 else 255


@nb.njit(**_JIT)
def apply_trades(ptrs, ev, t, P, geom, widths, xlx, F, failed):
    """Apply trade e (row e of `ev`, columns C_*) to the state whose `ints` buffer is at address ptrs[e] (its
    other buffers' addresses are in it, at P_ADDR), at time t, in row order. failed[e] = 1 for a row the kernel
    could not apply (an index out of a buffer: a corrupted state); the rest still apply."""
    n_ints, n_reals, n_cnt, n_owners, n_buf = P[P_INTS], P[P_REALS], P[P_CNT], P[P_OWNERS], P[P_BUF]
    addr = P[P_ADDR]
    bloom, ring, ones, hoff, hslots, b = P[P_BLOOM], P[P_RING], P[P_ONES], P[P_HOFF], P[P_HSLOTS], P[P_BUCKETS]
    rug_floor, rug_keep = P[P_RUG_FLOOR], P[P_RUG_KEEP]
    kq, kr, kv0 = F[0], F[1], F[2]
    for e in range(ev.shape[0]):
        ints = nb.carray(_ptr(ptrs[e]), n_ints, np.int64)
        reals = nb.carray(_ptr(ints[addr]), n_reals, np.float64)
        cnt = nb.carray(_ptr(ints[addr + 1]), n_cnt, np.uint16)
        owners = nb.carray(_ptr(ints[addr + 2]), n_owners, np.uint32)
        buf = nb.carray(_ptr(ints[addr + 3]), n_buf, np.uint8)
        try:
            buy = ev[e, C_BUY] != 0
            sol, tokens = ev[e, C_SOL], ev[e, C_TOK]
            vsol, vtok = ev[e, C_VSOL], ev[e, C_VTOK]
            h = ev[e, C_HASH]
            if vsol and vtok:
                ints[VSOL], ints[VTOK], ints[RSOL], ints[RTOK] = vsol, vtok, ev[e, C_RSOL], ev[e, C_RTOK]
            if buy:
                new_buyer = False
                if ev[e, C_USER]:
                    bits = _bloom_set(buf, bloom, h)
                    if bits:
                        ints[ones] += bits
                        new_buyer = True
                reals[LAST_TRADE] = _add_trade(ints, cnt, reals[LAST_TRADE], t, False, sol, new_buyer, geom,
                                               widths, b)
                _credit(owners, ints, hoff, hslots, h, tokens)
            else:
                reals[LAST_TRADE] = _add_trade(ints, cnt, reals[LAST_TRADE], t, True, sol, False, geom, widths, b)
                _debit(owners, ints, hoff, hslots, h, tokens)
            if ev[e, C_DEV]:
                if buy:
                    x = ints[DEV_BOUGHT] + tokens
                    ints[DEV_BOUGHT] = x if x < AMOUNT_MAX else AMOUNT_MAX
                else:
                    x = ints[DEV_SOLD] + tokens
                    ints[DEV_SOLD] = x if x < AMOUNT_MAX else AMOUNT_MAX
                    x = ints[DEV_SOLD_LAMPORTS] + sol
                    ints[DEV_SOLD_LAMPORTS] = x if x < AMOUNT_MAX else AMOUNT_MAX
            _push_size(ints, reals, buf, bloom, ring, xlx, _size_bin(sol))
            ints[TRADES] += 1
            vsol, vtok = ints[VSOL], ints[VTOK]
            if vsol and vtok:
                price = vsol / vtok
            elif sol and tokens:
                price = sol / tokens
            else:
                price = 0.0
            if price > 0:
                _kalman(kq, kr, kv0, reals, KALMAN, t, math.log(price))
                if price > reals[PEAK_PRICE]:
                    reals[PEAK_PRICE] = price
            liq = ints[RSOL] if ev[e, C_CURVE] else vsol
            peak = ints[PEAK_LIQ]
            if liq > peak:
                ints[PEAK_LIQ] = liq
            elif peak > 0 and peak >= rug_floor:
                # liq * 10_000 <= peak * rug_keep, exactly, without the products (they can pass 2^63)
                d = peak // 10_000
                if liq <= d * rug_keep + ((peak - d * 10_000) * rug_keep) // 10_000:
                    ints[STATUS] |= RUGGED_BIT
            # TokenState.apply's tail: activity time and slot
            if t > reals[LAST_ACTIVE]:
                reals[LAST_ACTIVE] = t
            slot = ev[e, C_SLOT]
            if slot > ints[SLOT]:
                ints[SLOT] = slot if slot < AMOUNT_MAX else AMOUNT_MAX
        except Exception:
            failed[e] = 1


def params_arrays(p) -> tuple:
    """The kernel's view of AnalysisParams `p`: (P, geom, widths, xlogx, F)."""
    w, hl = p.windows, p.holders
    P = np.array([p.n_ints, layout.N_REALS, p.n_cnt, hl.slots, p.bloom_bytes + p.ring, p.bloom_bytes, p.ring,
                  p.bloom_ones, hl.offset, hl.slots, w.buckets, p.rug_floor_lamports, p.rug_keep_bps, p.addresses],
                 dtype=np.int64)
    geom = np.array([[g[1:] for g in w.buy_geometry], [g[1:] for g in w.sell_geometry]], dtype=np.int64)
    widths = np.array(w.widths, dtype=np.float64)
    xlx = np.array(p.xlogx, dtype=np.float64)
    F = np.array([p.kalman.q, p.kalman.r, p.kalman.velocity_var0], dtype=np.float64)
    return P, geom, widths, xlx, F


def supports(p) -> bool:
    """Whether the kernel reproduces the Python path for these settings (the config's bounds guarantee it)."""
    return p.holders.slots >= 1 and 0 <= p.rug_keep_bps <= 10_000 and p.ring >= 1
