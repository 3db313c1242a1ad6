"""TradeKernel: the Python side of the compiled trade path (trade_kernel.py) for one ShardCore.

`row(values, state)` queues a trade (its field values) when the compiled kernel gives exactly what TokenState.apply would
(the plain branch of TokenState._trade: see `row`) and returns True; otherwise False, and the caller applies
it in Python after `run` has applied what is queued, so each token sees its events in order. `run(now)`
applies the queue in one kernel call and returns how many rows failed (counted as bad events, as a raising
TokenState.apply is). Queued states are held until then: a state the cap evicts meanwhile still gets its
trades (as it would have, applied one by one before the eviction).

Without numba (an exotic platform) or with AnalysisConfig.compiled_trades = False, ShardCore has no kernel and
every event takes the Python path.
"""
from __future__ import annotations

import dataclasses
import logging
import zlib
from array import array
from itertools import chain
from operator import methodcaller

import numpy as np

from pipelines.chain.events import Trade

from .layout import CURVE_VENUES, VSOL, VTOK, AnalysisParams

log = logging.getLogger("launchray.analysis")
# `row` unpacks a trade's values by position: Trade's field order, checked here rather than trusted
_ROW_FIELDS = ("venue", "signature", "slot", "mint", "side", "sol_amount", "token_amount", "user", "quote_mint",
               "quote_amount", "timestamp", "virtual_sol_reserves", "virtual_token_reserves", "real_sol_reserves",
               "real_token_reserves", "fee", "fee_basis_points", "creator")
if tuple(f.name for f in dataclasses.fields(Trade))[:len(_ROW_FIELDS)] != _ROW_FIELDS:
    raise ImportError("pipelines.chain.events.Trade's fields moved: update TradeKernel.row")
EXACT_MAX = 1 << 53          # amounts below this: the kernel's float64 divisions round as Python's int / int
_crc32 = zlib.crc32
utf8 = methodcaller("encode", "utf-8", "surrogatepass")     # str -> bytes as the digests encode them
# TradeColumns.ints rows: the kernel's amount columns C_SOL..C_RTOK in order, then the slot
_INT_FIELDS = (5, 6, 11, 12, 13, 14, 2)       # sol, token, vsol, vtok, rsol, rtok amounts; slot

trade_kernel = None          # the numba module, imported by the first TradeKernel (numba costs ~60 MB: only
_unavailable = False         # a process that applies trades, a shard or a backtester, pays for it)


def _load_module():
    global trade_kernel, _unavailable
    if trade_kernel is None and not _unavailable:
        try:
            from . import trade_kernel as module
            trade_kernel = module
        except Exception as exc:     # numba missing or broken here: the Python path does everything
            log.warning("compiled trade kernel unavailable (%s): trades take the Python path", exc)
            _unavailable = True
    return trade_kernel


class TradeKernel:
    __slots__ = ("args", "rows", "ptrs", "states")

    def __init__(self, params: AnalysisParams) -> None:
        self.args = trade_kernel.params_arrays(params)
        self.rows: list[int] = []              # N_COLS values per queued trade, flat
        self.ptrs: list[int] = []              # the address of its state's `ints`
        self.states: list = []                 # keeps each queued state (and so its buffers) alive until run
        # load (or compile, the first time on a machine) the kernel now, not on the first batch of trades
        trade_kernel.apply_trades(np.zeros(0, np.int64), np.zeros((0, trade_kernel.N_COLS), np.int64), 0.0,
                                  *self.args, np.zeros(0, np.uint8))

    @classmethod
    def for_params(cls, params: AnalysisParams) -> TradeKernel | None:
        if _load_module() is None or not trade_kernel.supports(params):
            return None
        return cls(params)

    @property
    def pending(self) -> int:
        return len(self.rows)      # flat: N_COLS values per queued trade (non-zero is all callers ask)

    def row(self, values: tuple, st) -> bool:
        """Queue a trade, given as its field values (Trade's field order), for state st if the kernel reproduces
        TokenState.apply exactly: a buy or a sell on the state's own venue, the creator already known (or none
        claimed), every amount an int in [0, 2^53), the slot an int in [0, 2^62), and a price the kernel
        divides exactly."""
        side = values[4]
        if side == "buy":
            buy = 1
        elif side == "sell":
            buy = 0
        else:
            return False
        slot, sol, tok, user = values[2], values[5], values[6], values[7]
        vsol, vtok, rsol, rtok = values[11], values[12], values[13], values[14]
        if not (type(sol) is int and type(tok) is int and type(vsol) is int and type(vtok) is int
                and type(rsol) is int and type(rtok) is int and type(slot) is int and type(user) is str
                and 0 <= sol < EXACT_MAX and 0 <= tok < EXACT_MAX and 0 <= vsol < EXACT_MAX
                and 0 <= vtok < EXACT_MAX and 0 <= rsol < EXACT_MAX and 0 <= rtok < EXACT_MAX
                and 0 <= slot < 1 << 62):
            return False
        venue = st.venue
        if not venue or values[0] != venue or (values[17] and not st.creator):
            return False               # first trade, another venue (missed migration), creator to learn: Python
        if not (vsol and vtok):        # the price comes from the reserves already held: exact only below 2^53
            ints = st.ints
            if ints[VSOL] >= EXACT_MAX or ints[VTOK] >= EXACT_MAX:
                return False
        self.ptrs.append(st.ints.buffer_info()[0])
        self.states.append(st)
        self.rows += (buy, sol, tok, vsol, vtok, rsol, rtok, _crc32(user.encode("utf-8", "surrogatepass")),
                      1 if user else 0, 1 if user and user == st.creator else 0, 1 if venue in CURVE_VENUES else 0,
                      slot)
        return True

    def run(self, now: float) -> int:
        """Apply the queued trades at `now`, in order; returns how many failed."""
        if not self.rows:
            return 0
        try:
            # flat int lists -> int64 matrices through array('q'): ~20x cheaper than np.array on tuples
            ev = np.frombuffer(array("q", self.rows), dtype=np.int64).reshape(-1, trade_kernel.N_COLS)
            ptrs = np.frombuffer(array("q", self.ptrs), dtype=np.int64)
            failed = np.zeros(len(ev), dtype=np.uint8)
            P, geom, widths, xlx, F = self.args
            trade_kernel.apply_trades(ptrs, ev, float(now), P, geom, widths, xlx, F, failed)
            return int(failed.sum())
        finally:
            self.rows, self.ptrs, self.states = [], [], []


class TradeColumns:
    """A batch of trades' columns (Trade's field order, as an EventBatch carries them), checked and converted for
    the kernel once per column instead of once per row: `fit[i]` says row i passes every check of `row` that
    does not depend on its token's state (a buy or a sell, every amount an int in [0, 2^53), the slot an int in
    [0, 2^62)); `ints`, `buy`, `hashes` and `has_user` are the kernel's values. `of` gives None when a column
    holds another type (a broken or hostile decoder): that batch takes the row path."""

    __slots__ = ("fit", "ints", "buy", "hashes", "has_user")

    @classmethod
    def of(cls, columns: tuple) -> TradeColumns | None:
        n = len(columns[0])
        sides, users = columns[4], columns[7]
        if any(set(map(type, columns[j])) != {int} for j in _INT_FIELDS) or \
                set(map(type, sides)) != {str} or set(map(type, users)) != {str}:
            return None                      # exact types: a bool or a float is not an amount here
        try:
            ints = np.fromiter(chain.from_iterable(columns[j] for j in _INT_FIELDS), dtype=np.int64,
                               count=len(_INT_FIELDS) * n).reshape(len(_INT_FIELDS), n)
        except OverflowError:                # beyond int64: the row path judges each trade
            return None
        self = cls.__new__(cls)
        side = np.array(sides, dtype=object)
        buy = side == "buy"
        amounts, slot = ints[:6], ints[6]
        self.fit = (((amounts >= 0) & (amounts < EXACT_MAX)).all(axis=0) & (slot >= 0) & (slot < 1 << 62)
                    & (buy | (side == "sell"))).tolist()
        self.ints, self.buy = ints, buy
        self.hashes = np.fromiter(map(_crc32, map(utf8, users)), dtype=np.int64, count=n)
        self.has_user = np.fromiter(map(bool, users), dtype=np.int64, count=n)
        return self


def run_columns(kernel: TradeKernel, cols: TradeColumns, rows: list[int], ptrs: list[int], devs: list[int],
                curves: list[int], now: float) -> int:
    """Apply rows `rows` of `cols` (their states' `ints` at `ptrs`; creator and curve flags per row, which depend
    on the state) at `now`, in order; returns how many failed. The row path's `run`, column by column."""
    k = trade_kernel
    ix = np.array(rows, dtype=np.intp)
    ev = np.empty((len(rows), k.N_COLS), dtype=np.int64)
    ev[:, k.C_BUY] = cols.buy[ix]
    ev[:, k.C_SOL:k.C_RTOK + 1] = cols.ints[:6, ix].T
    ev[:, k.C_HASH] = cols.hashes[ix]
    ev[:, k.C_USER] = cols.has_user[ix]
    ev[:, k.C_DEV] = devs
    ev[:, k.C_CURVE] = curves
    ev[:, k.C_SLOT] = cols.ints[6, ix]
    failed = np.zeros(len(rows), dtype=np.uint8)
    P, geom, widths, xlx, F = kernel.args
    k.apply_trades(np.array(ptrs, dtype=np.int64), ev, float(now), P, geom, widths, xlx, F, failed)
    return int(failed.sum())


def warm_cache() -> bool:
    """Load the compiled kernel in this process, compiling it if this machine has not yet (numba keeps it on
    disk beside the module): actors started after this load it in ~2 s instead of compiling for ~10-25 s.
    False when numba is not available here."""
    if _load_module() is None:
        return False
    from pipelines.config import AnalysisConfig
    TradeKernel(AnalysisParams.from_config(AnalysisConfig()))
    return True

