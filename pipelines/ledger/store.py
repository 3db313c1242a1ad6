"""LedgerStore: the durable record of intents, orders, fills, positions, risk counters and P&L.

One writer connection (the Ledger actor owns it). SQLite in WAL mode with `synchronous=FULL`: every commit
fsyncs the WAL before it returns, so an intent acknowledged by `record_order` survives a process crash AND a
power loss / OS crash. NORMAL would be enough for a process crash but can drop the last commits on power loss,
and a lost intent after its transaction went out is an on-chain position nobody knows about. The cost (one
fsync per commit) is measured in benchmarks/ledger.py; callers with many rows use `record_batch` (one commit).
Backtests that want speed over durability pass `synchronous="OFF"` (or path ":memory:").
Observations that are re-derived or re-saved anyway (detected launches, risk-book and cursor snapshots, saved
every 0.1-1 s) commit with NORMAL: durable across a process crash, fsynced with the next FULL commit, and they
never make an order's intent wait for their fsync on the single writer.

Every write is idempotent so an actor restarted mid-call (Ray `max_task_retries`) can simply repeat it:
recording the same order state, fill, position, counters or keyed P&L twice changes nothing.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from .. import orders as om
from ..config import LedgerConfig
from ..messages import Fill, Order, OrderState, Position, Reservation, Side
from . import codec
from .codec import FILL_COLUMNS, ORDER_COLUMNS, POSITION_COLUMNS, RESERVATION_COLUMNS, quoted
from .keyguard import refuse_secrets
from .schema import SCHEMA_VERSION, LedgerError, migrate, user_version


class LedgerConflict(LedgerError):
    """A write that contradicts what the ledger already holds (same id/key, different content)."""


OPEN_STATES = (OrderState.INTENT, OrderState.SUBMITTED, OrderState.UNRESOLVED)
SENT_STATES = (OrderState.SUBMITTED, OrderState.CONFIRMED)


@dataclass(frozen=True, slots=True)
class DailyPnl:
    day: str
    realized_lamports: int = 0
    trades: int = 0
    wins: int = 0
    losses: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    state: OrderState
    ts: float
    error: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    orders: tuple[Order, ...]       # each order as stored after the write
    new_fills: int                  # fills that were not already recorded


def _ins(table: str, cols: tuple[str, ...], verb: str = "INSERT") -> str:
    return f"{verb} INTO {table} ({quoted(cols)}) VALUES ({', '.join('?' * len(cols))})"


_INSERT_ORDER = _ins("orders", ORDER_COLUMNS)
_UPDATE_ORDER = "UPDATE orders SET " + ", ".join(f'"{c}" = ?' for c in ORDER_COLUMNS[1:]) + " WHERE id = ?"
_INSERT_FILL = _ins("fills", FILL_COLUMNS, "INSERT OR IGNORE")
_UPSERT_POSITION = _ins("positions", (*POSITION_COLUMNS, "is_open"), "INSERT OR REPLACE")
UNBOOKED_FEE_WINDOW_S = 900.0   # a failed live order's fee is looked for this long (a provider's index catches up)

_SELECT_ORDER = f"SELECT {quoted(ORDER_COLUMNS)} FROM orders"


class LedgerStore:
    def __init__(self, path: str | Path, synchronous: Literal["FULL", "NORMAL", "OFF"] = "FULL",
                 readonly: bool = False):
        self.path = str(path)
        self.readonly = readonly
        self.synchronous = synchronous
        self._lock = threading.RLock()
        memory = self.path == ":memory:"
        if not memory and not readonly:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if readonly:
            if not Path(self.path).exists():
                raise LedgerError(f"{self.path}: no ledger here")
            uri = f"file:{Path(self.path).resolve()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            self._open(memory, synchronous)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def from_config(cls, cfg: LedgerConfig) -> LedgerStore:
        return cls(cfg.path, synchronous=cfg.synchronous)

    def _open(self, memory: bool, synchronous: str) -> None:
        try:
            if self.readonly:
                version = user_version(self._db)
            else:
                mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode != "wal" and not memory:
                    raise LedgerError(f"{self.path}: could not switch to WAL mode (got {mode})")
                if synchronous not in ("FULL", "NORMAL", "OFF"):
                    raise ValueError(f"synchronous must be FULL, NORMAL or OFF, not {synchronous!r}")
                self._db.execute(f"PRAGMA synchronous={synchronous}")
                self._db.execute("PRAGMA foreign_keys=ON")
                version = migrate(self._db, name=self.path)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: not a usable SQLite ledger ({exc})") from None
        if self.readonly and version != SCHEMA_VERSION:
            raise LedgerError(f"{self.path}: schema version {version}, this launchray uses {SCHEMA_VERSION}; "
                              "open it read-write once to migrate" if version < SCHEMA_VERSION else
                              f"{self.path}: schema version {version} is newer than this launchray "
                              f"({SCHEMA_VERSION}); refusing to open it")

    # ------------------------------------------------------------------------------------------ plumbing
    @contextmanager
    def _tx(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction. durable=False: commit without the fsync when the ledger runs FULL."""
        if self.readonly:
            raise LedgerError(f"{self.path}: opened read-only")
        relax = not durable and self.synchronous == "FULL"
        with self._lock:
            if relax:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if relax:
                    self._db.execute("PRAGMA synchronous=FULL")

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (shutdown, backups); every write is already durable before this."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------- orders
    def record_order(self, order: Order) -> Order:
        """Insert an intent or advance an order's state; returns the order as stored.

        A new id must arrive as an INTENT (the intent is written before anything is sent). Re-recording the
        current state is a no-op; re-recording a state the order already passed through (a late retry) is
        a no-op too; anything else the state machine forbids raises IllegalTransition, and a different
        order under an existing id raises it as well.
        """
        with self._tx() as db:
            return self._record_order(db, order)

    def _record_order(self, db: sqlite3.Connection, order: Order) -> Order:
        row = db.execute(f"{_SELECT_ORDER} WHERE id = ?", (order.id,)).fetchone()
        if row is None:
            if order.state != OrderState.INTENT:
                raise om.IllegalTransition(
                    f"order {order.id}: first record must be an intent, not {order.state.value}")
            try:
                db.execute(_INSERT_ORDER, codec.to_row(order))
            except sqlite3.IntegrityError:    # the entries trigger: one buy per (strategy, mint) at a time
                raise LedgerConflict(f"order {order.id}: strategy {order.reason!r} already has a buy of "
                                     f"{order.mint}") from None
            self._add_transition(db, order, 1)
            return order
        stored = codec.order_from_row(row)
        if order.state == stored.state:
            if replace(order, updated_at=stored.updated_at) == stored:
                return stored                                  # a retry of the same write
            om.validate_update(stored, order)                  # filling in signature / error etc.
            db.execute(_UPDATE_ORDER, (*codec.to_row(order)[1:], order.id))
            return order
        seen = [OrderState(s) for (s,) in db.execute(
            "SELECT state FROM order_transitions WHERE order_id = ? ORDER BY seq", (order.id,))]
        if order.state in seen:
            om.check_identity(stored, order)
            return stored                                      # a late retry of an earlier step
        om.validate_update(stored, order)
        db.execute(_UPDATE_ORDER, (*codec.to_row(order)[1:], order.id))
        self._add_transition(db, order, len(seen) + 1)
        return order

    @staticmethod
    def _add_transition(db: sqlite3.Connection, order: Order, seq: int) -> None:
        ts = order.updated_at or order.created_at
        db.execute("INSERT INTO order_transitions (order_id, seq, state, ts, error) VALUES (?, ?, ?, ?, ?)",
                   (order.id, seq, order.state.value, ts, order.error))

    def claim_entry(self, order: Order) -> Order | None:
        """Record a buy's intent unless its opportunity already has an entry order: the check and the write in
        one transaction (the sniper path's one ledger round trip). Returns the stored intent, or None when the
        opportunity was claimed before (a retried call after a restart: never buy it twice)."""
        if order.side is not Side.BUY or not order.opportunity_id or order.state is not OrderState.INTENT:
            raise om.IllegalTransition(f"order {order.id}: claim_entry takes a buy intent with an opportunity")
        with self._tx() as db:
            if db.execute("SELECT 1 FROM orders WHERE opportunity_id = ? AND side = 'buy' LIMIT 1",
                          (order.opportunity_id,)).fetchone():
                return None
            if db.execute("SELECT 1 FROM entries WHERE strategy = ? AND mint = ?",
                          (order.reason, order.mint)).fetchone():
                return None        # this strategy bought (or is buying) this mint under another opportunity
            return self._record_order(db, order)

    def get_order(self, order_id: str) -> Order | None:
        rows = self._all(f"{_SELECT_ORDER} WHERE id = ?", (order_id,))
        return codec.order_from_row(rows[0]) if rows else None

    def orders(self, states: Iterable[OrderState] | None = None, mint: str | None = None,
               side: Side | None = None) -> list[Order]:
        where, args = [], []
        if states is not None:
            states = [OrderState(s).value for s in states]
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args += states
        if mint is not None:
            where.append("mint = ?")
            args.append(mint)
        if side is not None:
            where.append("side = ?")
            args.append(Side(side).value)
        sql = _SELECT_ORDER + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY created_at, id"
        return [codec.order_from_row(r) for r in self._all(sql, args)]

    def open_orders(self) -> list[Order]:
        """Orders not yet in a terminal state: what start-up reconciliation looks at."""
        return self.orders(states=OPEN_STATES)

    def confirmed_without_fill(self, mode: str = "live") -> list[Order]:
        """Confirmed orders of `mode` that have no fill: landed, but the transaction could not be read yet
        (getTransaction null after confirmation). Reconciliation books them when the chain serves them."""
        sql = (f"{_SELECT_ORDER} WHERE state = 'confirmed' AND mode = ? AND NOT EXISTS "
               "(SELECT 1 FROM fills f WHERE f.order_id = orders.id) ORDER BY created_at, id")
        return [codec.order_from_row(r) for r in self._all(sql, (mode,))]

    def failed_without_cost(self, mode: str = "live", since: float = 0.0) -> list[Order]:
        """Failed orders of `mode` with a signature (the chain said it landed with an error, so its fee is
        gone), updated since `since`, whose fee is not booked yet: the transaction could not be read when it
        failed (getTransaction null after confirmation). Reconciliation books the fee when the chain serves it."""
        sql = (f"{_SELECT_ORDER} WHERE state = 'failed' AND mode = ? AND signature != '' AND updated_at >= ? "
               "AND NOT EXISTS (SELECT 1 FROM tx_costs c WHERE c.order_id = orders.id) ORDER BY created_at, id")
        return [codec.order_from_row(r) for r in self._all(sql, (mode, since))]

    def entry_holder(self, strategy: str, mint: str) -> str | None:
        """The id of the buy that holds (strategy, mint) now, if any (in flight, or its position open)."""
        rows = self._all("SELECT order_id FROM entries WHERE strategy = ? AND mint = ?", (strategy, mint))
        return rows[0][0] if rows else None

    def history(self, order_id: str) -> list[Transition]:
        rows = self._all("SELECT state, ts, error FROM order_transitions WHERE order_id = ? ORDER BY seq",
                         (order_id,))
        return [Transition(OrderState(s), ts, e) for s, ts, e in rows]

    def entry_order_for(self, opportunity_id: str) -> Order | None:
        """The buy order already made for this opportunity, in any state (a restarted executor checks this)."""
        rows = self._all(f"{_SELECT_ORDER} WHERE opportunity_id = ? AND side = 'buy' ORDER BY created_at, id",
                         (opportunity_id,))
        return codec.order_from_row(rows[0]) if rows else None

    def has_entry_for(self, mint: str) -> bool:
        """True while this mint has a buy in flight (intent/submitted/unresolved) or an open position."""
        open_states = tuple(s.value for s in OPEN_STATES)
        rows = self._all(
            "SELECT EXISTS (SELECT 1 FROM orders WHERE mint = ? AND side = 'buy' AND state IN (?, ?, ?)) "
            "OR EXISTS (SELECT 1 FROM positions WHERE mint = ? AND is_open = 1)", (mint, *open_states, mint))
        return bool(rows[0][0])

    # ----------------------------------------------------------------------------------------------- fills
    def record_fill(self, fill: Fill) -> bool:
        """Record a fill; True if new. The same (order_id, signature) again is a no-op (False)."""
        with self._tx() as db:
            return self._record_fill(db, fill)

    def _record_fill(self, db: sqlite3.Connection, fill: Fill) -> bool:
        if db.execute("SELECT 1 FROM orders WHERE id = ?", (fill.order_id,)).fetchone() is None:
            raise LedgerConflict(f"fill for unknown order {fill.order_id}: record the order first")
        if db.execute(_INSERT_FILL, codec.to_row(fill)).rowcount:
            return True
        row = db.execute(f"SELECT {quoted(FILL_COLUMNS)} FROM fills WHERE order_id = ? AND signature = ?",
                         (fill.order_id, fill.signature)).fetchone()
        if codec.fill_from_row(row) != fill:
            raise LedgerConflict(f"order {fill.order_id}: a different fill is already recorded under "
                                 f"signature {fill.signature!r}")
        return False

    def fills(self, order_id: str | None = None) -> list[Fill]:
        sql = f"SELECT {quoted(FILL_COLUMNS)} FROM fills"
        args: tuple = ()
        if order_id is not None:
            sql, args = sql + " WHERE order_id = ?", (order_id,)
        return [codec.fill_from_row(r) for r in self._all(sql + " ORDER BY ts, rowid", args)]

    def fills_to_replay(self, remembered: list[str]) -> list[Fill]:
        """The fills a position book that remembers settling `remembered` (its most recent order ids) may not have
        settled: every fill from the oldest remembered one on, in insertion order (all of them when it remembers
        none). Older fills were settled and forgotten: replaying them would apply them twice."""
        cols = quoted(FILL_COLUMNS)
        start = 0
        if remembered:
            oldest = None
            for i in range(0, len(remembered), 500):
                chunk = remembered[i:i + 500]
                (low,), = self._all(f"SELECT min(rowid) FROM fills WHERE order_id IN ({', '.join('?' * len(chunk))})",
                                    chunk)
                if low is not None:
                    oldest = low if oldest is None else min(oldest, low)
            if oldest is not None:
                start = oldest
        return [codec.fill_from_row(r) for r in
                self._all(f"SELECT {cols} FROM fills WHERE rowid >= ? ORDER BY rowid", (start,))]

    # ------------------------------------------------------------------------------------------- positions
    def upsert_position(self, position: Position) -> None:
        """Insert or replace the position keyed by (mint, opened_at)."""
        with self._tx() as db:
            self._upsert_position(db, position)

    @staticmethod
    def _upsert_position(db: sqlite3.Connection, position: Position) -> None:
        db.execute(_UPSERT_POSITION, (*codec.to_row(position), int(position.is_open)))

    def positions(self, open_only: bool = False) -> list[Position]:
        sql = f"SELECT {quoted(POSITION_COLUMNS)} FROM positions"
        if open_only:
            sql += " WHERE is_open = 1"
        return [codec.position_from_row(r) for r in self._all(sql + " ORDER BY opened_at, mint")]

    def open_position(self, mint: str) -> Position | None:
        rows = self._all(f"SELECT {quoted(POSITION_COLUMNS)} FROM positions WHERE mint = ? AND is_open = 1 "
                         "ORDER BY opened_at DESC", (mint,))
        return codec.position_from_row(rows[0]) if rows else None

    # ---------------------------------------------------------------------------------------------- batch
    def record_batch(self, orders: Iterable[Order] = (), fills: Iterable[Fill] = (),
                     positions: Iterable[Position] = ()) -> BatchResult:
        """All of it or none of it, in one commit: orders (in the given order), then fills, then positions.

        The paper executor records `confirmed` + its fill + the position together, so after a crash either
        all three are there or none is (and the order is reconciled as never filled).
        """
        with self._tx() as db:
            stored = tuple(self._record_order(db, o) for o in orders)
            new = sum(self._record_fill(db, f) for f in fills)
            for p in positions:
                self._upsert_position(db, p)
        return BatchResult(stored, new)

    # ----------------------------------------------------------------------------------------- risk state
    def save_risk_counters(self, counters: dict[str, Any], now: float = 0.0) -> None:
        """Store each key's value as JSON (replacing that key's previous value)."""
        refuse_secrets(counters, "risk_counters")
        rows = [(str(k), json.dumps(v, sort_keys=True), now) for k, v in counters.items()]
        with self._tx(durable=False) as db:     # a snapshot, re-saved on every change
            db.executemany("INSERT OR REPLACE INTO risk_counters (key, value, updated_at) VALUES (?, ?, ?)", rows)

    def load_risk_counters(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._all("SELECT key, value FROM risk_counters ORDER BY key")}

    def add_daily_pnl(self, day: str, lamports: int, win: bool, key: str = "") -> bool:
        """Add one closed trade's realised P&L to `day`. With a `key` (e.g. the closing order id) a repeat of
        the same call is a no-op; without one every call counts. Returns True if it was counted."""
        with self._tx() as db:
            if key and db.execute("INSERT OR IGNORE INTO daily_pnl_keys (key, day) VALUES (?, ?)",
                                  (key, day)).rowcount == 0:
                return False
            db.execute(
                "INSERT INTO daily_pnl (day, realized_lamports, trades, wins, losses) VALUES (?, ?, 1, ?, ?) "
                "ON CONFLICT(day) DO UPDATE SET realized_lamports = realized_lamports + excluded.realized_lamports, "
                "trades = trades + 1, wins = wins + excluded.wins, losses = losses + excluded.losses",
                (day, int(lamports), int(bool(win)), int(not win)))
            return True

    def daily_pnl(self, day: str) -> DailyPnl:
        rows = self._all("SELECT day, realized_lamports, trades, wins, losses FROM daily_pnl WHERE day = ?", (day,))
        return DailyPnl(*rows[0]) if rows else DailyPnl(day)

    def record_config_change(self, ts: float, who: str, diff: dict[str, Any]) -> None:
        """Audit a runtime config change. Refuses (SecretRefused) a diff holding anything key-shaped."""
        refuse_secrets(diff, "config diff")
        refuse_secrets(who, "config change author")
        with self._tx() as db:
            db.execute("INSERT INTO config_changes (ts, who, diff) VALUES (?, ?, ?)",
                       (ts, who, json.dumps(diff, sort_keys=True, default=str)))

    def config_changes(self) -> list[tuple[float, str, dict]]:
        return [(ts, who, json.loads(d)) for ts, who, d in
                self._all("SELECT ts, who, diff FROM config_changes ORDER BY id")]

    # --------------------------------------------------------------------------------------- reservations
    def save_reservation(self, r: Reservation) -> None:
        with self._tx() as db:
            db.execute(_ins("reservations", RESERVATION_COLUMNS, "INSERT OR IGNORE"), codec.to_row(r))

    def release_reservation(self, reservation_id: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE reservations SET released_at = ? WHERE id = ? AND released_at = 0",
                       (now, reservation_id))

    def reservations(self, active_at: float | None = None) -> list[Reservation]:
        """Reservations not released; with `active_at`, only those not yet expired at that time."""
        sql = f"SELECT {quoted(RESERVATION_COLUMNS)} FROM reservations WHERE released_at = 0"
        args: tuple = ()
        if active_at is not None:
            sql, args = sql + " AND expires_at > ?", (active_at,)
        return [codec.reservation_from_row(r) for r in self._all(sql + " ORDER BY created_at, id", args)]

    # ------------------------------------------------------------------------------------------ tx costs
    def record_tx_cost(self, order_id: str, signature: str, lamports: int, slot: int, ts: float, day: str) -> bool:
        """The fee a landed-but-failed transaction of `order_id` paid; booked once into `day`'s realised P&L
        (not counted as a trade). Returns False when it was recorded already."""
        with self._tx() as db:
            if db.execute("INSERT OR IGNORE INTO tx_costs (order_id, signature, lamports, slot, ts) "
                          "VALUES (?, ?, ?, ?, ?)", (order_id, signature, int(lamports), int(slot), float(ts))
                          ).rowcount == 0:
                return False
            db.execute("INSERT INTO daily_pnl (day, realized_lamports, trades, wins, losses) VALUES (?, ?, 0, 0, 0) "
                       "ON CONFLICT(day) DO UPDATE SET realized_lamports = realized_lamports + excluded.realized_lamports",
                       (day, -int(lamports)))
            return True

    def tx_costs_total(self) -> int:
        (n,), = self._all("SELECT coalesce(sum(lamports), 0) FROM tx_costs")
        return n

    # ------------------------------------------------------------------------------------------- launches
    def record_launches(self, launches: Iterable[tuple[str, str, int, str]], seen_at: float) -> int:
        """(mint, venue, slot, signature) of detected launches; a mint already recorded is ignored.
        Returns how many were new."""
        rows = [(str(m), str(v), int(sl), str(sig), float(seen_at)) for m, v, sl, sig in launches]
        with self._tx(durable=False) as db:     # observations: never ahead of an intent's fsync
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO launches (mint, venue, slot, signature, seen_at) "
                           "VALUES (?, ?, ?, ?, ?)", rows)
            return db.total_changes - before

    def launch_count(self) -> int:
        (n,), = self._all("SELECT count(*) FROM launches")
        return n

    def launch_mints(self) -> list[str]:
        return [m for (m,) in self._all("SELECT mint FROM launches ORDER BY slot, mint")]

    # -------------------------------------------------------------------------------------------- summary
    def activity_since(self, ts: float) -> dict[str, Any]:
        """Fills at or after `ts` by side, and the time of the latest fill (the control API's "trades today")."""
        by_side = dict(self._all("SELECT side, count(*) FROM fills WHERE ts >= ? GROUP BY side", (ts,)))
        (last,), = self._all("SELECT max(ts) FROM fills")
        return {"fills": sum(by_side.values()), "buys": by_side.get("buy", 0), "sells": by_side.get("sell", 0),
                "last_fill_ts": last or 0.0}

    def fills_after(self, rowid: int, since_ts: float = 0.0, limit: int = 500) -> list[tuple[int, Fill, str]]:
        """Fills recorded after `rowid` (insertion order) with ts >= since_ts, each as (rowid, fill, its order's
        reason): the alert feed's cursor, so a fill booked late with an early ts is never skipped."""
        cols = ", ".join(f'f."{c}"' for c in FILL_COLUMNS)
        rows = self._all(f"SELECT f.rowid, {cols}, o.reason FROM fills f JOIN orders o ON o.id = f.order_id "
                         "WHERE f.rowid > ? AND f.ts >= ? ORDER BY f.rowid LIMIT ?", (rowid, since_ts, limit))
        return [(r[0], codec.fill_from_row(r[1:-1]), r[-1]) for r in rows]

    def closed_since(self, ts: float) -> list[Position]:
        """Positions closed at or after `ts`."""
        return [codec.position_from_row(r) for r in self._all(
            f"SELECT {quoted(POSITION_COLUMNS)} FROM positions WHERE is_open = 0 AND closed_at >= ? "
            "ORDER BY closed_at, mint", (ts,))]

    def summary(self) -> dict[str, Any]:
        """Counts for `--summary-json`. duplicate_orders must always be 0."""
        by_state = dict(self._all("SELECT state, count(*) FROM orders GROUP BY state ORDER BY state"))
        sent = tuple(s.value for s in SENT_STATES)
        (dupes,), = self._all(
            "SELECT count(*) FROM (SELECT o.opportunity_id FROM orders o WHERE o.side = 'buy' "
            "AND o.opportunity_id != '' AND EXISTS (SELECT 1 FROM order_transitions t "
            "WHERE t.order_id = o.id AND t.state IN (?, ?)) GROUP BY o.opportunity_id HAVING count(*) > 1)", sent)
        (opened, closed), = self._all("SELECT count(*), coalesce(sum(is_open = 0), 0) FROM positions")
        (realized, trades, wins, losses), = self._all(
            "SELECT coalesce(sum(realized_lamports), 0), coalesce(sum(trades), 0), coalesce(sum(wins), 0), "
            "coalesce(sum(losses), 0) FROM daily_pnl")
        (fills,), = self._all("SELECT count(*) FROM fills")
        return {
            "schema_version": SCHEMA_VERSION,
            "orders": sum(by_state.values()),
            "orders_by_state": by_state,
            "open_orders": sum(by_state.get(s.value, 0) for s in OPEN_STATES),
            # landed, but the fill or the fee is not booked yet (getTransaction null): the wallet moved already
            "unbooked_orders": len(self.confirmed_without_fill("live")) + len(self.failed_without_cost(
                "live", time.time() - UNBOOKED_FEE_WINDOW_S)),
            "fills": fills,
            "positions_opened": opened,
            "positions_closed": closed,
            "positions_open": opened - closed,
            "realized_pnl_lamports": realized,
            "trades": trades,
            "wins": wins,
            "losses": losses,
            "duplicate_orders": dupes,
            "launches_seen": self.launch_count(),
            "failed_tx_fees_lamports": self.tx_costs_total(),
        }
