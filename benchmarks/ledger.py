"""Ledger write throughput on this machine's disk.

order_writes_per_s: record_order of new intents, one commit each (the pre-send durability point).
fill_writes_per_s: record_fill, one commit each.
batch_writes_per_s: record_batch calls per second for the executor's batch (submitted + confirmed order,
    its fill and the position: 4 rows, one commit).
Also: the same order writes with synchronous=NORMAL (what FULL costs), rows/s in 500-row batches, and
record_order latency percentiles. Prints one JSON object.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.ledger import LedgerStore  # noqa: E402
from pipelines.messages import Fill, Order, OrderState, Position, Side  # noqa: E402
from pipelines.orders import transition  # noqa: E402


def _order(i: int, tag: str) -> Order:
    return Order(id=f"{tag}{i}", mint=f"M{i}", side=Side.BUY, venue="pumpfun", amount=100_000_000, limit=1,
                 mode="paper", opportunity_id=f"{tag}opp{i}", created_at=float(i), updated_at=float(i))


def _fill(o: Order) -> Fill:
    return Fill(order_id=o.id, mint=o.mint, side=Side.BUY, lamports=100_025_000, tokens=3_529_021_423_800,
                fee_lamports=1_015_100, price=2.8e-5, slot=1, ts=o.created_at + 0.2)


def _position(o: Order) -> Position:
    return Position(mint=o.mint, opened_at=o.created_at + 0.2, tokens=10, initial_tokens=10,
                    cost_lamports=100_025_000, entry_price=1.0, entry_order_id=o.id)


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def run(n: int = 2_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        metrics: dict = {}
        for sync in ("FULL", "NORMAL"):
            store = LedgerStore(Path(tmp) / f"bench-{sync}.sqlite", synchronous=sync)
            lat = []
            t0 = time.perf_counter()
            for i in range(n):
                t = time.perf_counter()
                store.record_order(_order(i, "o"))
                lat.append(time.perf_counter() - t)
            elapsed = time.perf_counter() - t0
            if sync == "FULL":
                metrics["order_writes_per_s"] = _rate(n, elapsed)
                lat.sort()
                metrics["order_write_p50_ms"] = round(lat[n // 2] * 1e3, 3)
                metrics["order_write_p99_ms"] = round(lat[int(n * 0.99)] * 1e3, 3)

                t0 = time.perf_counter()
                for i in range(n):
                    store.record_fill(_fill(_order(i, "o")))
                metrics["fill_writes_per_s"] = _rate(n, time.perf_counter() - t0)

                batch_orders = [_order(i, "b") for i in range(n)]
                for chunk in range(0, n, 500):
                    store.record_batch(orders=batch_orders[chunk:chunk + 500])
                t0 = time.perf_counter()
                for o in batch_orders:
                    s = transition(o, OrderState.SUBMITTED, o.created_at + 0.1)
                    c = transition(s, OrderState.CONFIRMED, o.created_at + 0.2)
                    store.record_batch(orders=[s, c], fills=[_fill(o)], positions=[_position(o)])
                metrics["batch_writes_per_s"] = _rate(n, time.perf_counter() - t0)

                big = [_order(i, "big") for i in range(n * 5)]
                t0 = time.perf_counter()
                for chunk in range(0, len(big), 500):
                    store.record_batch(orders=big[chunk:chunk + 500])
                metrics["rows_per_s_in_500_row_batches"] = _rate(len(big), time.perf_counter() - t0)
                summary = store.summary()
                assert summary["duplicate_orders"] == 0 and summary["fills"] == 2 * n
            else:
                metrics["order_writes_per_s_synchronous_normal"] = _rate(n, elapsed)
            store.close()
    return {"name": "ledger", "metrics": metrics,
            "params": {"n": n, "synchronous": "FULL", "journal_mode": "WAL", "batch_rows": 4}}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000)))
