"""Ledger actor: the single writer of the SQLite ledger (pipelines/ledger hosts the schema and the rules).

Every method is idempotent (orders by deterministic id, fills by (order, signature), keyed daily P&L), because
with `max_task_retries=-1` a call in flight when this actor dies is replayed on the restarted one.

Two concurrency groups, one thread each: "write" owns the writer connection (every commit, the executor's
claim_intent among them) and "read" a read-only connection (WAL readers never block the writer nor wait for it).
So a slow status query (summary, activity, fills pages) never queues ahead of an order's durable intent.
A write has committed before its call returns, so a caller that awaited it reads its own write.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import ray

from actors import names, priority

from pipelines.ledger import LedgerStore
from pipelines.messages import Fill, Order, OrderState, Position, Reservation


_READ = ray.method(concurrency_group="read")
_WRITE = ray.method(concurrency_group="write")


@ray.remote(num_cpus=0, concurrency_groups={"write": 1, "read": 1})
class LedgerActor:
    def __init__(self, path: str, realtime_priority: int = 0) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(Path(path).resolve())
        self.store = LedgerStore(self.path)                      # migrates; the only writer
        self.reader = LedgerStore(self.path, readonly=True)      # after the migration: same schema
        priority.apply("ledger", 0, realtime=realtime_priority)  # on the decision path: not lowered

    # orders / fills / positions
    @_WRITE
    def record_order(self, order: Order) -> Order:
        return self.store.record_order(order)

    @_WRITE
    def claim_intent(self, packed_order: bytes) -> bool:
        """LedgerStore.claim_entry for a buy intent pickled once by the Executor: True once it is durable (False:
        its opportunity was claimed before). Packed and a bool back: that spares Ray serialising an Order each
        way, ~0.4 ms of the intent's round trip on the 2-core VM."""
        return self.store.claim_entry(pickle.loads(packed_order)) is not None

    @_WRITE
    def record_batch(self, orders: list[Order] = (), fills: list[Fill] = (), positions: list[Position] = ()):
        return self.store.record_batch(orders=orders, fills=fills, positions=positions)

    @_WRITE
    def record_fill(self, fill: Fill) -> bool:
        return self.store.record_fill(fill)

    @_WRITE
    def upsert_position(self, position: Position) -> None:
        self.store.upsert_position(position)

    @_READ
    def get_order(self, order_id: str) -> Order | None:
        return self.reader.get_order(order_id)

    @_READ
    def orders(self, states: list[OrderState] | None = None, mint: str | None = None) -> list[Order]:
        return self.reader.orders(states, mint)

    @_READ
    def open_orders(self) -> list[Order]:
        return self.reader.open_orders()

    @_READ
    def fills_to_replay(self, remembered: list[str]) -> list[Fill]:
        return self.reader.fills_to_replay(remembered)

    @_READ
    def confirmed_without_fill(self, mode: str = "live") -> list[Order]:
        return self.reader.confirmed_without_fill(mode)

    @_READ
    def failed_without_cost(self, mode: str = "live", since: float = 0.0) -> list[Order]:
        return self.reader.failed_without_cost(mode, since)

    @_READ
    def fills(self, order_id: str | None = None) -> list[Fill]:
        return self.reader.fills(order_id)

    @_READ
    def positions(self, open_only: bool = False) -> list[Position]:
        return self.reader.positions(open_only)

    @_READ
    def has_entry_for(self, mint: str) -> bool:
        return self.reader.has_entry_for(mint)

    @_READ
    def entry_order_for(self, opportunity_id: str) -> Order | None:
        return self.reader.entry_order_for(opportunity_id)

    @_WRITE
    def record_tx_cost(self, order_id: str, signature: str, lamports: int, slot: int, ts: float, day: str) -> bool:
        return self.store.record_tx_cost(order_id, signature, lamports, slot, ts, day)

    @_WRITE
    def record_launches(self, launches: list[tuple[str, str, int, str]], seen_at: float) -> int:
        return self.store.record_launches(launches, seen_at)

    @_READ
    def launch_mints(self) -> list[str]:
        return self.reader.launch_mints()

    # risk state, P&L, reservations, config audit, checkpoints
    @_WRITE
    def save_counters(self, counters: dict, now: float = 0.0) -> None:
        self.store.save_risk_counters(counters, now)

    @_READ
    def load_counters(self) -> dict:
        return self.reader.load_risk_counters()

    @_WRITE
    def add_daily_pnl(self, day: str, lamports: int, win: bool, key: str = "") -> bool:
        return self.store.add_daily_pnl(day, lamports, win, key)

    @_READ
    def daily_pnl(self, day: str):
        return self.reader.daily_pnl(day)

    @_WRITE
    def save_reservation(self, r: Reservation) -> None:
        self.store.save_reservation(r)

    @_WRITE
    def release_reservation(self, reservation_id: str, now: float) -> None:
        self.store.release_reservation(reservation_id, now)

    @_READ
    def reservations(self, active_at: float | None = None) -> list[Reservation]:
        return self.reader.reservations(active_at)

    @_WRITE
    def record_config_change(self, ts: float, who: str, diff: dict) -> None:
        self.store.record_config_change(ts, who, diff)

    @_READ
    def config_changes(self):
        return self.reader.config_changes()

    @_READ
    def activity_since(self, ts: float) -> dict:
        return self.reader.activity_since(ts)

    @_READ
    def fills_after(self, rowid: int, since_ts: float = 0.0, limit: int = 500) -> list:
        return self.reader.fills_after(rowid, since_ts, limit)

    @_READ
    def closed_since(self, ts: float) -> list[Position]:
        return self.reader.closed_since(ts)

    @_READ
    def summary(self) -> dict:
        return {**self.store.summary(), "ledger_path": self.path}

    @_WRITE
    def flush(self) -> str:
        # Every write is committed (synchronous=FULL) before its call returns; this only folds the WAL.
        self.store.checkpoint()
        return self.path

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()
