"""Ledger actor: the single writer of the SQLite ledger (pipelines/ledger hosts the schema and the rules).

Every method is idempotent (orders by deterministic id, fills by (order, signature), keyed daily P&L), because
with `max_task_retries=-1` a call in flight when this actor dies is replayed on the restarted one.
"""
from __future__ import annotations

from pathlib import Path

import ray

from actors import names

from pipelines.ledger import LedgerStore
from pipelines.messages import Fill, Order, OrderState, Position, Reservation


@ray.remote(num_cpus=0)
class LedgerActor:
    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(Path(path).resolve())
        self.store = LedgerStore(self.path)

    # orders / fills / positions
    def record_order(self, order: Order) -> Order:
        return self.store.record_order(order)

    def claim_entry(self, order: Order) -> Order | None:
        return self.store.claim_entry(order)

    def record_batch(self, orders: list[Order] = (), fills: list[Fill] = (), positions: list[Position] = ()):
        return self.store.record_batch(orders=orders, fills=fills, positions=positions)

    def record_fill(self, fill: Fill) -> bool:
        return self.store.record_fill(fill)

    def upsert_position(self, position: Position) -> None:
        self.store.upsert_position(position)

    def get_order(self, order_id: str) -> Order | None:
        return self.store.get_order(order_id)

    def orders(self, states: list[OrderState] | None = None, mint: str | None = None) -> list[Order]:
        return self.store.orders(states, mint)

    def open_orders(self) -> list[Order]:
        return self.store.open_orders()

    def fills(self, order_id: str | None = None) -> list[Fill]:
        return self.store.fills(order_id)

    def positions(self, open_only: bool = False) -> list[Position]:
        return self.store.positions(open_only)

    def has_entry_for(self, mint: str) -> bool:
        return self.store.has_entry_for(mint)

    def entry_order_for(self, opportunity_id: str) -> Order | None:
        return self.store.entry_order_for(opportunity_id)

    def record_tx_cost(self, order_id: str, signature: str, lamports: int, slot: int, ts: float, day: str) -> bool:
        return self.store.record_tx_cost(order_id, signature, lamports, slot, ts, day)

    def record_launches(self, launches: list[tuple[str, str, int, str]], seen_at: float) -> int:
        return self.store.record_launches(launches, seen_at)

    def launch_mints(self) -> list[str]:
        return self.store.launch_mints()

    # risk state, P&L, reservations, config audit, checkpoints
    def save_counters(self, counters: dict, now: float = 0.0) -> None:
        self.store.save_risk_counters(counters, now)

    def load_counters(self) -> dict:
        return self.store.load_risk_counters()

    def add_daily_pnl(self, day: str, lamports: int, win: bool, key: str = "") -> bool:
        return self.store.add_daily_pnl(day, lamports, win, key)

    def daily_pnl(self, day: str):
        return self.store.daily_pnl(day)

    def save_reservation(self, r: Reservation) -> None:
        self.store.save_reservation(r)

    def release_reservation(self, reservation_id: str, now: float) -> None:
        self.store.release_reservation(reservation_id, now)

    def reservations(self, active_at: float | None = None) -> list[Reservation]:
        return self.store.reservations(active_at)

    def record_config_change(self, ts: float, who: str, diff: dict) -> None:
        self.store.record_config_change(ts, who, diff)

    def config_changes(self):
        return self.store.config_changes()

    def activity_since(self, ts: float) -> dict:
        return self.store.activity_since(ts)

    def fills_after(self, rowid: int, since_ts: float = 0.0, limit: int = 500) -> list:
        return self.store.fills_after(rowid, since_ts, limit)

    def closed_since(self, ts: float) -> list[Position]:
        return self.store.closed_since(ts)

    def summary(self) -> dict:
        return {**self.store.summary(), "ledger_path": self.path}

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
