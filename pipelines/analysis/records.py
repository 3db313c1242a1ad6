"""One TokenState as a compact record (primitives and bytes: pickle / msgpack ready) and back.

A record carries the layout it was written under (AnalysisParams.layout_key). Restored under the same layout,
the buffers are copied as they are, so a restored state continues bit for bit. Under another layout (window,
holder, sketch or ring sizes changed in the config) the scalars restore and each part whose layout changed
restores empty or trimmed: never misread. A record that is not one raises ValueError.

Values derived from the buffers (window sums, the Bloom set-bit count: see layout.py) are not written; a
restore rebuilds them, so records are the same bytes they were before those were kept.
"""
from __future__ import annotations

import math
import sys
from array import array

from .layout import CURSOR, LAST_TRADE, N_REALS, N_SCALARS, SAMPLED, AnalysisParams, clean_key, clean_name
from .token_state import TokenState
from .windows import NO_RECORD, WindowLayout


def to_record(st: TokenState) -> tuple:
    p = st.p
    return (st.mint, (st.creator, st.venue, st.token_program, st.symbol, st.pool), st.meta_problems,
            p.layout_key, st.ints[:p.n_record_ints].tobytes(), st.reals.tobytes(),
            st.cnt[:p.n_record_cnt].tobytes(), st.owners.tobytes(), bytes(st.buf))


def from_record(params: AnalysisParams, rec) -> TokenState:
    mint, strings, problems, key, ints, reals, cnt, owners, buf = rec
    if not isinstance(mint, str) or len(ints) < 8 * N_SCALARS or len(reals) != 8 * N_REALS:
        raise ValueError(f"token record for {mint!r} has another layout")
    st = TokenState(params, clean_key(mint), 0.0)
    creator, venue, program, symbol, pool = strings
    st.creator, st.pool = clean_key(creator), clean_key(pool)
    st.venue, st.token_program = clean_name(venue), clean_name(program)
    st.symbol = symbol if isinstance(symbol, str) else ""
    st.meta_problems = tuple(sys.intern(str(x)) for x in problems)
    old_ints = array("q", ints)
    st.reals[:] = array("d", reals)
    st.ints[:N_SCALARS] = old_ints[:N_SCALARS]
    if (tuple(key) == params.layout_key and len(old_ints) == params.n_record_ints
            and len(cnt) == 2 * params.n_record_cnt and len(owners) == 4 * params.holders.slots
            and len(buf) == len(st.buf)):
        st.ints[:params.n_record_ints] = old_ints
        st.cnt[:params.n_record_cnt] = array("H", cnt)
        st.owners[:] = array("I", owners)
        st.buf[:] = buf
        st.rebuild_derived()
        st.since = math.inf          # what happened between the record and now is missing: not warm (ShardCore)
        return st
    spans, buckets, slots, bloom_bytes, ring = key
    old_windows = WindowLayout.of(spans, buckets, vol_offset=N_SCALARS)
    w = params.windows
    if (old_windows.spans, old_windows.buckets) == (w.spans, w.buckets) and len(cnt) == 2 * w.n_cnt:
        st.ints[N_SCALARS:N_SCALARS + w.n_vol] = old_ints[N_SCALARS:N_SCALARS + w.n_vol]
        st.cnt[:w.n_cnt] = array("H", cnt)
    else:
        st.reals[LAST_TRADE] = NO_RECORD
    off = N_SCALARS + old_windows.n_vol
    params.holders.replace(st.owners, st.ints, zip(array("I", owners), old_ints[off:off + slots]))
    if bloom_bytes == params.bloom_bytes:
        st.buf[:bloom_bytes] = buf[:bloom_bytes]
    # the newest entries of the old size ring that fit the new one, oldest first from slot 0
    n, cur = min(st.ints[SAMPLED], ring, params.ring), st.ints[CURSOR]
    for i in range(n):
        st.buf[params.bloom_bytes + i] = buf[bloom_bytes + (cur - n + i) % ring]
    st.ints[SAMPLED], st.ints[CURSOR] = n, n % params.ring
    st.recompute_entropy_sum()
    st.rebuild_derived()
    st.since = math.inf
    return st
