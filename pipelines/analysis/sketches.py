"""Bounded per-token sketches: unique buyers (a Bloom filter) and the largest holders (a top-K table).

Both key wallets by `wallet_hash` (CRC-32 of the base58 text): stable across processes, so a snapshot taken
in one actor restores in another, and cheap (~0.1 us). A 32-bit key can collide; that merges two wallets,
which only ever makes a token look *more* concentrated (the safe direction) or one buyer short.

Like the windows, the storage belongs to the token state (a bytearray for the Bloom bits, an int64 array for
balances at an offset): these are the operations on it.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Iterable

BALANCE_MAX = 1 << 62          # balances saturate here (hostile u64 amounts must not overflow int64)


def wallet_hash(address: str) -> int:
    return zlib.crc32(address.encode("utf-8", "surrogatepass"))


# --- unique buyers: a 2-probe Bloom filter over buf[0:nbytes] ---------------------------------------------------
#
# `bloom_add` says whether a buyer is (probably) new: exact until the first false positive, which stays rare
# while the filter is sparse (1,024 bits: ~1% of new buyers missed at 60 buyers, ~6% at 150, ~20% at 300).
# `bloom_estimate` reads the distinct count from the bit occupancy, n = -(m / k) ln(1 - X / m) (Swamidass &
# Baldi 2007), which corrects for those collisions: within a few % up to about 0.7 m buyers, saturating at
# m/2 ln m (3,549 for 1,024 bits). AnalysisConfig.buyer_sketch_bits trades memory for range.

def check_bloom_bits(nbits: int) -> int:
    if nbits < 8 or nbits & (nbits - 1) or nbits > 65536:
        raise ValueError("buyer sketch size must be a power of two between 8 and 65536 bits")
    return nbits // 8


def bloom_set(buf: bytearray, nbytes: int, h: int) -> int:
    """Set wallet h's two bits; returns how many of them were not set yet (0 = probably seen before)."""
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


def bloom_add(buf: bytearray, nbytes: int, h: int) -> bool:
    return bloom_set(buf, nbytes, h) > 0


def bloom_ones(buf: bytearray, nbytes: int) -> int:
    """Set bits of the filter (TokenState keeps this count up to date instead of recounting per read)."""
    return int.from_bytes(buf[:nbytes], "little").bit_count()


def bloom_estimate(buf: bytearray, nbytes: int) -> int:
    return estimate_from_ones(bloom_ones(buf, nbytes), nbytes * 8)


def estimate_from_ones(ones: int, m: int) -> int:
    """Distinct count from `ones` set bits out of m."""
    if not m:
        return 0
    if ones >= m:
        return round(m / 2 * math.log(m))           # saturated: the largest count it can tell apart
    return round(-(m / 2) * math.log1p(-ones / m))


# --- largest holders ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HolderLayout:
    """Balances of the K largest holders, estimated from trades (or seeded from real largest-account reads):
    owner hashes in a uint32 array of K, balances in an int64 array at `offset`.

    A buy credits the buyer; a sell debits the seller if tracked. When the table is full a new holder replaces
    the smallest one only if its balance is larger. Any holder owning more than 1/K of what the table has seen
    stays in it, so the top five are right whenever they are clearly larger than the K-th (the cases that
    matter for a 30% concentration limit); small holders churning through can be under-counted.
    An empty slot is (owner 0, balance 0).
    """
    slots: int
    offset: int

    def credit(self, owners, bal, h: int, amount: int) -> None:
        off = self.offset
        if h in owners:
            i = off + owners.index(h)
            x = bal[i] + amount
            bal[i] = x if x < BALANCE_MAX else BALANCE_MAX
            return
        lows = bal[off:off + self.slots]
        low = min(lows)
        if amount > low:
            j = lows.index(low)
            owners[j] = h
            bal[off + j] = amount if amount < BALANCE_MAX else BALANCE_MAX

    def debit(self, owners, bal, h: int, amount: int) -> None:
        if h in owners:
            i = self.offset + owners.index(h)
            x = bal[i] - amount
            bal[i] = x if x > 0 else 0

    def balance(self, owners, bal, h: int) -> int:
        try:
            return bal[self.offset + owners.index(h)]
        except ValueError:
            return 0

    def top_sum(self, bal, k: int = 5) -> int:
        return sum(sorted(bal[self.offset:self.offset + self.slots])[-k:])

    def replace(self, owners, bal, items: Iterable[tuple[int, int]]) -> None:
        """Replace the table with real balances (owner hash, amount); the largest K are kept."""
        agg: dict[int, int] = {}
        for h, amount in items:
            agg[h] = min(agg.get(h, 0) + amount, BALANCE_MAX)
        top = sorted(agg.items(), key=lambda kv: (-kv[1], kv[0]))[:self.slots]
        top += [(0, 0)] * (self.slots - len(top))
        for i, (h, amount) in enumerate(top):
            owners[i] = h
            bal[self.offset + i] = amount
