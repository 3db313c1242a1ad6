"""Unique-buyer Bloom filter and the largest-holders table."""
import random
import zlib
from array import array

from pipelines.analysis.sketches import (HolderLayout, bloom_add, bloom_estimate, bloom_ones, bloom_set,
                                        check_bloom_bits, wallet_hash)

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def wallets(n, seed=11):
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(44)) for _ in range(n)]


def test_wallet_hash_is_crc32_of_the_text():
    assert wallet_hash("abc") == zlib.crc32(b"abc") == 0x352441C2


def test_bloom_add_reports_new_buyers_and_the_estimate_tracks_the_count():
    nbytes = check_bloom_bits(1024)
    for n in (5, 60, 200, 700):
        buf = bytearray(nbytes)
        news = sum(bloom_add(buf, nbytes, wallet_hash(w)) for w in wallets(n, seed=n))
        assert all(not bloom_add(buf, nbytes, wallet_hash(w)) for w in wallets(n, seed=n))   # repeats: not new
        est = bloom_estimate(buf, nbytes)
        assert abs(est - n) <= max(1, 0.1 * n), (n, est)
        # new-buyer detection misses false positives: mean of (1 - e^(-2i/m))^2 over the fill, which is
        # ~0.5% up to 60 buyers, ~3.5% up to 200, ~25% up to 700 with 1,024 bits
        assert n * {5: 1.0, 60: 0.97, 200: 0.93, 700: 0.70}[n] <= news <= n


def test_small_counts_are_exact():
    nbytes = 128
    buf = bytearray(nbytes)
    for w in ("A1", "B2", "C3", "D4", "E5", "A1"):
        bloom_add(buf, nbytes, wallet_hash(w))
    assert bloom_estimate(buf, nbytes) == 5


def test_a_saturated_filter_reports_its_ceiling():
    buf = bytearray(b"\xff" * 128)
    assert bloom_estimate(buf, 128) == 3549            # m/2 ln m for m = 1024


def test_bad_sizes():
    for bits in (0, 100, 3000, 1 << 17):
        try:
            check_bloom_bits(bits)
        except ValueError:
            continue
        raise AssertionError(bits)


def test_holder_table_keeps_the_largest_and_follows_sells():
    layout = HolderLayout(slots=3, offset=2)
    owners, bal = array("I", [0]) * 3, array("q", [7, 7, 0, 0, 0, 9])   # balances live at [2:5]
    layout.credit(owners, bal, 1, 100)
    layout.credit(owners, bal, 2, 50)
    layout.credit(owners, bal, 3, 10)
    layout.credit(owners, bal, 4, 5)           # full and smaller than everyone: not tracked
    assert layout.balance(owners, bal, 4) == 0
    layout.credit(owners, bal, 5, 60)          # replaces the smallest (3: 10)
    assert sorted(zip(owners, bal[2:5])) == [(1, 100), (2, 50), (5, 60)]
    layout.debit(owners, bal, 1, 70)
    layout.debit(owners, bal, 9, 70)           # untracked seller: ignored
    layout.credit(owners, bal, 2, 5)
    assert layout.top_sum(bal, 2) == 60 + 55
    assert bal[:2] == array("q", [7, 7]) and bal[5] == 9        # neighbours untouched
    layout.debit(owners, bal, 5, 10**6)
    assert layout.balance(owners, bal, 5) == 0                   # never negative


def test_holder_table_replace_aggregates_owners_and_keeps_the_top():
    layout = HolderLayout(slots=2, offset=0)
    owners, bal = array("I", [0]) * 2, array("q", [0]) * 2
    layout.replace(owners, bal, [(1, 10), (2, 30), (1, 25), (3, 5)])
    assert list(zip(owners, bal)) == [(1, 35), (2, 30)]


def test_bloom_set_counts_the_bits_it_sets_and_bloom_ones_counts_them_all():
    nbytes, total = 16, 0
    buf = bytearray(nbytes)
    for w in wallets(40, seed=9):
        h = wallet_hash(w)
        before = bloom_ones(buf, nbytes)
        new = bloom_set(buf, nbytes, h)
        assert bloom_ones(buf, nbytes) - before == new and 0 <= new <= 2
        total += new
    assert total == bloom_ones(buf, nbytes) == bin(int.from_bytes(buf, "little")).count("1")
    same = (5 << 16) | 5                     # both probes on one bit: set once, counted once
    buf = bytearray(nbytes)
    assert bloom_set(buf, nbytes, same) == 1 and bloom_set(buf, nbytes, same) == 0
