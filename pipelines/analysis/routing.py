"""Which AnalyzerShard owns a mint: a stable hash, the same in every process, host and Python version.

    shard_for(mint, n) = int.from_bytes(blake2b(mint.encode("utf-8"), digest_size=8).digest(), "little") % n

The hash is of the base58 text (what every event carries), so routing never decodes a key and still works
for malformed ones. Python's hash() is salted per process (PYTHONHASHSEED) and must never be used here: the
Ingest actor, the shards and a restarted actor must all agree.
"""
from __future__ import annotations

import functools
import hashlib

from pipelines.chain.events import PoolCreated
from pipelines.chain.programs import USDC_MINT, WSOL_MINT

QUOTE_MINTS = frozenset({WSOL_MINT, USDC_MINT})


@functools.lru_cache(maxsize=1 << 16)     # a young token trades many times: hash its mint once (~1 us -> 0.1)
def shard_for(mint: str, n: int) -> int:
    if n <= 0:
        raise ValueError(f"shard count must be positive, got {n}")
    digest = hashlib.blake2b(mint.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % n


def event_mint(event) -> str:
    """The token an event is about. A new pool is about its non-quote side (pump migrations to Raydium put
    WSOL as mint_a, so mint_a alone would send every migration to one shard); "" for SOL/USDC pools."""
    if isinstance(event, PoolCreated):
        a, b = event.mint_a, event.mint_b
        if a in QUOTE_MINTS:
            return "" if b in QUOTE_MINTS else b
        return a
    mint = getattr(event, "mint", "")
    return mint if isinstance(mint, str) else ""


def partition(events, n: int) -> dict[int, list]:
    """Events grouped by shard, order kept within each shard; events about no token are left out."""
    out: dict[int, list] = {}
    for ev in events:
        mint = event_mint(ev)
        if mint:
            out.setdefault(shard_for(mint, n), []).append(ev)
    return out
