"""Throughput of simnet's bank: signed pump.fun buy transactions through Bank.process_transaction.

Each transaction is the executor's usual buy: compute-unit limit + price, CreateIdempotent for the buyer's
token account, pump `buy`; built and signed beforehand, then executed back to back with signature
verification on (200 buyers rotate, so most ATAs already exist, as for repeat traders). Prints one JSON object:
wall-clock tx/s and, since the 2-core machine is shared, CPU-time tx/s of this process too.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solders.keypair import Keypair  # noqa: E402

from pipelines.chain import builders as B  # noqa: E402
from pipelines.chain.intents import PumpBuy, PumpCreate  # noqa: E402
from simnet import genesis as G  # noqa: E402
from simnet.bank import Bank  # noqa: E402


def _setup(n_buyers: int):
    bank = Bank(seed=1)
    creator, mint = Keypair(), Keypair()
    bank.airdrop(creator.pubkey(), 10**10)
    bh, _ = bank.latest_blockhash()
    res = bank.process_transaction(B.build_create_tx(
        PumpCreate(str(mint.pubkey()), str(creator.pubkey()), "Bench", "BNCH", "https://b", str(creator.pubkey())),
        creator, mint, bh))
    assert res.err is None, res.err
    buyers = [Keypair() for _ in range(n_buyers)]
    for kp in buyers:
        bank.airdrop(kp.pubkey(), 10**12)
    return bank, creator, mint, buyers


def _buy_txs(bank, creator, mint, buyers, n: int):
    bh, _ = bank.latest_blockhash()
    txs = []
    for i in range(n):
        kp = buyers[i % len(buyers)]
        intent = PumpBuy(str(mint.pubkey()), str(kp.pubkey()), G.PUMP_FEE_RECIPIENT, 1_000_000 + i, 10**9,
                         None, str(creator.pubkey()))
        txs.append(B.build_buy_tx(intent, kp, bh, compute_unit_limit=120_000, compute_unit_price=10_000))
    return txs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--txs", type=int, default=3000)
    ap.add_argument("--buyers", type=int, default=200)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    bank, creator, mint, buyers = _setup(args.buyers)
    txs = _buy_txs(bank, creator, mint, buyers, args.txs)
    prof = cProfile.Profile() if args.profile else None
    if prof:
        prof.enable()
    t0, c0 = time.perf_counter(), time.process_time()
    failed = 0
    for tx in txs:
        if bank.process_transaction(tx).err is not None:
            failed += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if prof:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    print(json.dumps({
        "benchmark": "simnet_bank_buy", "txs": len(txs), "failed": failed, "seconds": round(elapsed, 4),
        "tx_per_s": round(len(txs) / elapsed, 1), "us_per_tx": round(elapsed / len(txs) * 1e6, 1),
        "cpu_tx_per_s": round(len(txs) / cpu, 1), "sig_verify": True, "stored_txs": len(txs),
    }))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
