"""Shard routing: a fixed, documented hash, the same in every process, and balanced."""
import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.analysis.routing import event_mint, partition, shard_for
from pipelines.chain.programs import USDC_MINT, WSOL_MINT

from .market import Curve, key, pool_created

ROOT = Path(__file__).resolve().parents[3]
# a real pump.fun mint (shared/datasets/pumpfun_token_tracks_2025-06.csv)
MINT = "ELGZNwwE74WAanKNZstKAebqS3fQmcKnQmm3UFPwpump"
# blake2b(MINT.encode(), digest_size=8) = d4 72 e4 24 86 ba 40 db; read little-endian:
# 0xdb40ba8624e472d4 = 15798832578123035348
MINT_HASH = 15798832578123035348


def test_the_hash_definition():
    digest = hashlib.blake2b(MINT.encode("utf-8"), digest_size=8).digest()
    assert digest.hex() == "d472e42486ba40db"
    assert int.from_bytes(digest, "little") == MINT_HASH == 0xDB40BA8624E472D4


def test_fixed_mint_goes_to_the_fixed_shard():
    assert shard_for(MINT, 8) == 4            # low byte 0xd4 = 212, 212 mod 8 = 4
    assert shard_for(MINT, 16) == 4           # 0xd4 & 15 = 4
    assert shard_for(MINT, 3) == 2            # digit sum of 15798832578123035348 is 92, 92 mod 3 = 2
    assert shard_for(MINT, 1) == 0


def test_same_answer_in_other_processes_with_other_hash_seeds():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pipelines.analysis.routing import shard_for; "
            "print([shard_for(m, 7) for m in sys.argv[2:]])")
    mints = [MINT, WSOL_MINT, "x", "\u00e9t\u00e9"]
    outs = set()
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code, str(ROOT), *mints], env=env, check=True,
                             capture_output=True, text=True, timeout=60).stdout.strip()
        outs.add(out)
    assert outs == {str([shard_for(m, 7) for m in mints])}


def test_balanced_over_many_mints():
    rng = random.Random(1)
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    counts = [0] * 8
    n = 16_000
    for _ in range(n):
        counts[shard_for("".join(rng.choice(alphabet) for _ in range(44)), 8)] += 1
    # each shard expects 2,000 (sd ~ 42): 10% slack is > 4 sd
    assert all(1_800 <= c <= 2_200 for c in counts), counts


def test_bad_shard_counts():
    with pytest.raises(ValueError):
        shard_for(MINT, 0)


def test_event_mint_picks_the_token_side_of_a_pool():
    mint = key()
    assert event_mint(pool_created(mint, 1, 1, wsol_first=True)) == mint
    assert event_mint(pool_created(mint, 1, 1, wsol_first=False)) == mint
    sol_usdc = pool_created(USDC_MINT, 1, 1, wsol_first=True)
    assert event_mint(sol_usdc) == ""                      # SOL/USDC: about no token
    c = Curve()
    assert event_mint(c.launch()) == c.mint and event_mint(c.buy_sol(key(), 10**9)) == c.mint


def test_partition_keeps_order_within_a_shard():
    curves = [Curve() for _ in range(6)]
    events = [c.launch() for c in curves] + [c.buy_sol(key(), 10**9) for c in curves]
    parts = partition(events + [pool_created(USDC_MINT, 1, 1)], 3)
    assert sum(len(v) for v in parts.values()) == 12
    for shard, evs in parts.items():
        assert all(shard_for(event_mint(e), 3) == shard for e in evs)
        kinds = [e.kind for e in evs]
        assert kinds == sorted(kinds, key=lambda k: k != "launch")     # launches (first in input) stay first
