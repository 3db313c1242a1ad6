"""How a TokenState is laid out in memory, and the settings every token of a shard shares.

A token keeps five flat buffers instead of one Python object per number (that halves its footprint):
  ints   int64    the scalars below (reserves, counters, flags), then the window volumes (windows.py), then the
                  holder balances (sketches.py); then derived values: the windows' volume sums and the Bloom
                  filter's set-bit count
  reals  float64  times, peak price, the entropy sum, the Kalman state (scoring/filters.py)
  cnt    uint16   window counts, then the windows' count sums
  owners uint32   holder keys
  buf    bytes    Bloom bits (unique buyers), then the ring of trade-size bins
ints ends with the addresses of the other four buffers (reals, cnt, owners, buf: fixed for the token's life),
so the compiled trade kernel reaches all five from the one address of `ints`.
The offsets and sizes come from AnalysisConfig and are prepared once per shard in AnalysisParams. The derived
values are kept up to date by every write so reads need not recompute them; snapshot records leave them out
(`n_record_ints`, `n_record_cnt`) and a restore rebuilds them.
"""
from __future__ import annotations

import ctypes
import math
import sys
from array import array
from dataclasses import dataclass, field

from pipelines.config import AnalysisConfig
from pipelines.scoring.filters import STATE_LEN, KalmanParams

from . import safety
from .sketches import HolderLayout, check_bloom_bits
from .windows import WindowLayout

PUMP_INITIAL_REAL_TOKEN_RESERVES = 793_100_000_000_000
PUMP_TOKEN_TOTAL_SUPPLY = 1_000_000_000_000_000
CURVE_VENUES = frozenset({"pumpfun"})
LAMPORTS_PER_SOL = 1_000_000_000
AMOUNT_MAX = 1 << 62            # amounts are u64 on chain; saturate hostile ones so int64 storage never overflows
MAX_KEY_LEN = 64                # a base58 pubkey is 32-44 characters

# ints: array('q'): these scalars, then window volumes, then holder balances
(VSOL, VTOK, RSOL, RTOK, SUPPLY, INIT_RTOK, INIT_LIQ, PEAK_LIQ, TRADES, SAMPLED, CURSOR, DEV_BOUGHT, DEV_SOLD,
 DEV_SOLD_LAMPORTS, SLOT, MINT_FLAGS, CURVE_KEY, STATUS) = range(18)
N_SCALARS = 18
# STATUS bits
LAUNCHED, COMPLETE, MIGRATED, RUGGED = 1, 2, 4, 8
# reals: array('d'); LAST_TRADE is the windows' newest record; ENTROPY_S = sum of c log2 c over the size ring's
# bin counts (entropy = log2 n - S / n, kept up to date per trade); the Kalman state is KALMAN .. + STATE_LEN
FIRST_SEEN, LAST_ACTIVE, PEAK_PRICE, LP_BURNED, LAST_TRADE, ENTROPY_S, KALMAN = range(7)
N_REALS = KALMAN + STATE_LEN


N_ADDRESSES = 4


def buffer_address(buf) -> int:
    """Address of an array's or a bytearray's storage (fixed while its size is: TokenState never resizes)."""
    if isinstance(buf, array):
        return buf.buffer_info()[0]
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def clamp_amount(x) -> int:
    """An on-chain amount as a non-negative int below AMOUNT_MAX (TypeError/ValueError for non-numbers)."""
    if type(x) is int and 0 <= x < AMOUNT_MAX:
        return x
    x = int(x)
    return 0 if x < 0 else (x if x < AMOUNT_MAX else AMOUNT_MAX)


def clean_key(x) -> str:
    """A pubkey-ish string field cut to a sane length (hostile events cannot make a state grow)."""
    if not isinstance(x, str) or not x:
        return ""
    return x if len(x) <= MAX_KEY_LEN else x[:MAX_KEY_LEN]


def clean_name(x) -> str:
    """A low-cardinality name (venue, token program): interned so thousands of tokens share one string."""
    return sys.intern(clean_key(x))


def size_bin(lamports: int) -> int:
    """Half-octave bin of a trade size: 1 + floor(2 log2(lamports)); 0 for zero-lamport (non-SOL) trades."""
    if lamports <= 0:
        return 0
    return min(int(2.0 * math.log2(lamports)) + 1, 255)


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """What every TokenState of a shard shares: config-derived settings and buffer layouts, prepared once."""
    cfg: AnalysisConfig
    windows: WindowLayout
    holders: HolderLayout
    n_ints: int
    bloom_bytes: int
    ring: int
    rules: safety.SafetyRules
    kalman: KalmanParams
    trusted: frozenset[str]
    rug_floor_lamports: int
    rug_keep_bps: int                 # liquidity at or under this share of the peak (bps) is a rug
    xlogx: tuple[float, ...]          # c * log2(c) for c = 0 .. ring
    n_cnt: int = 0                    # uint16 slots: window counts, then their sums
    n_record_ints: int = 0            # ints written to a snapshot record (derived values are rebuilt)
    n_record_cnt: int = 0
    bloom_ones: int = 0               # ints index of the Bloom filter's set-bit count
    addresses: int = 0                # ints index of the other four buffers' addresses (trade_kernel.py)
    warmup_s: float = 0.0             # continuous watching a token with a gap in its history needs to be warm
    late_launch_slots: int = 0        # a launch this far behind the shard's newest slot was learned late
    # SafetyVerdict by everything it depends on (TokenReads._verdict): a shard's tokens share a handful
    # of verdicts, so they are looked up, not rebuilt per features() call. Bounded (VERDICT_CACHE).
    verdicts: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, cfg: AnalysisConfig, extra_blacklist=()) -> AnalysisParams:
        n_vol = WindowLayout.of(cfg.window_s, cfg.window_buckets).n_vol
        holders = HolderLayout(cfg.holder_slots, N_SCALARS + n_vol)
        n_record_ints = holders.offset + holders.slots
        windows = WindowLayout.of(cfg.window_s, cfg.window_buckets, vol_offset=N_SCALARS, vol_sums=n_record_ints)
        bloom_ones = n_record_ints + windows.n_vol_sums
        return cls(
            cfg=cfg, windows=windows, holders=holders, n_ints=bloom_ones + 1 + N_ADDRESSES,
            bloom_bytes=check_bloom_bits(cfg.buyer_sketch_bits), ring=cfg.max_trades_per_token,
            rules=safety.SafetyRules.from_config(cfg, extra_blacklist),
            kalman=KalmanParams(cfg.kalman_process_noise, cfg.kalman_measurement_noise, 1e-4),
            trusted=frozenset(cfg.trusted_launchpads),
            rug_floor_lamports=int(cfg.rug_min_peak_liquidity_sol * LAMPORTS_PER_SOL),
            rug_keep_bps=round((1.0 - cfg.rug_liquidity_drop) * 10_000),
            xlogx=(0.0,) + tuple(c * math.log2(c) for c in range(1, cfg.max_trades_per_token + 1)),
            n_cnt=windows.n_cnt + windows.n_cnt_sums, n_record_ints=n_record_ints, n_record_cnt=windows.n_cnt,
            bloom_ones=bloom_ones, addresses=bloom_ones + 1,
            warmup_s=float(max(cfg.window_s) if cfg.warmup_s is None else cfg.warmup_s),
            late_launch_slots=cfg.late_launch_slots,
        )

    @property
    def layout_key(self) -> tuple:
        """What a snapshot record must match for its buffers to be read as they are."""
        return (self.windows.spans, self.windows.buckets, self.holders.slots, self.bloom_bytes, self.ring)
