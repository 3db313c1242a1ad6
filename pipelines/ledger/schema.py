"""Ledger schema and its migrations, versioned with `PRAGMA user_version`.

MIGRATIONS[i] takes a file from version i to i+1. Append steps, never edit a released one: a ledger written by
an older launchray is migrated forward on open; a ledger from a newer launchray is refused (it may hold data
this code would misread or silently drop).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence


class LedgerError(RuntimeError):
    """The ledger cannot be used (newer schema, not a ledger, corrupt)."""


V1 = """
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    mint TEXT NOT NULL,
    side TEXT NOT NULL,
    venue TEXT NOT NULL,
    amount INTEGER NOT NULL,
    "limit" INTEGER NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    signature TEXT NOT NULL,
    error TEXT NOT NULL,
    last_valid_block_height INTEGER NOT NULL,
    trace_id TEXT NOT NULL
);
CREATE INDEX orders_state ON orders(state);
CREATE INDEX orders_mint ON orders(mint);
CREATE INDEX orders_opportunity ON orders(opportunity_id) WHERE opportunity_id != '';

CREATE TABLE order_transitions (
    order_id TEXT NOT NULL REFERENCES orders(id),
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    ts REAL NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);

CREATE TABLE fills (
    order_id TEXT NOT NULL REFERENCES orders(id),
    signature TEXT NOT NULL,
    mint TEXT NOT NULL,
    side TEXT NOT NULL,
    lamports INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    fee_lamports INTEGER NOT NULL,
    price REAL NOT NULL,
    slot INTEGER NOT NULL,
    ts REAL NOT NULL,
    quote_slot INTEGER NOT NULL,
    UNIQUE (order_id, signature)
);

CREATE TABLE positions (
    mint TEXT NOT NULL,
    opened_at REAL NOT NULL,
    tokens INTEGER NOT NULL,
    initial_tokens INTEGER NOT NULL,
    cost_lamports INTEGER NOT NULL,
    entry_price REAL NOT NULL,
    realized_lamports INTEGER NOT NULL,
    fees_lamports INTEGER NOT NULL,
    peak_price REAL NOT NULL,
    last_price REAL NOT NULL,
    tp_steps_done INTEGER NOT NULL,
    venue TEXT NOT NULL,
    strategy TEXT NOT NULL,
    closed_at REAL NOT NULL,
    exit_reason TEXT NOT NULL,
    entry_order_id TEXT NOT NULL,
    exit_order_ids TEXT NOT NULL,          -- JSON array
    is_open INTEGER NOT NULL,
    PRIMARY KEY (mint, opened_at)
);
CREATE INDEX positions_open ON positions(is_open);

CREATE TABLE risk_counters (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,                   -- JSON
    updated_at REAL NOT NULL
);

CREATE TABLE daily_pnl (
    day TEXT PRIMARY KEY,
    realized_lamports INTEGER NOT NULL,
    trades INTEGER NOT NULL,
    wins INTEGER NOT NULL,
    losses INTEGER NOT NULL
);
-- keys of applied add_daily_pnl calls, so a retried call is not counted twice
CREATE TABLE daily_pnl_keys (key TEXT PRIMARY KEY, day TEXT NOT NULL);

CREATE TABLE config_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    who TEXT NOT NULL,
    diff TEXT NOT NULL                     -- JSON
);

CREATE TABLE reservations (
    id TEXT PRIMARY KEY,
    opportunity_id TEXT NOT NULL,
    mint TEXT NOT NULL,
    lamports INTEGER NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    released_at REAL NOT NULL DEFAULT 0
);
"""

# v2: every launch the system detected, once per mint (the durable "launches_seen", across Ingest restarts)
V2 = """
CREATE TABLE launches (
    mint TEXT PRIMARY KEY,
    venue TEXT NOT NULL,
    slot INTEGER NOT NULL,
    signature TEXT NOT NULL,
    seen_at REAL NOT NULL
);
"""

# v3: fees paid by transactions that landed and failed (slippage races, a curve completing under an order):
# real money out of the wallet with no fill to carry it.
V3 = """
CREATE TABLE tx_costs (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    signature TEXT NOT NULL,
    lamports INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    ts REAL NOT NULL
);
"""

# v4: never two buys of one mint by one strategy at a time, enforced by the database whoever writes the order: a
# buy (its strategy is the order's `reason`) claims (strategy, mint) when inserted. The claim is given back when
# that buy failed or expired (nothing was bought), or once the position it filled is closed (a later re-entry,
# after the risk book's cooldown, is a new trade). A buy that was sent and is unresolved, or confirmed without its
# fill booked yet, keeps it: a second buy then could hold the mint twice. A ledger written before v4 keeps its
# history; its buys still in flight or holding an open position claim their rows.
V4 = """
CREATE TABLE entries (
    strategy TEXT NOT NULL,
    mint TEXT NOT NULL,
    order_id TEXT NOT NULL,
    PRIMARY KEY (strategy, mint)
);
INSERT OR IGNORE INTO entries (strategy, mint, order_id)
    SELECT o.reason, o.mint, o.id FROM orders o WHERE o.side = 'buy' AND o.state NOT IN ('failed', 'expired')
    AND (NOT EXISTS (SELECT 1 FROM fills f WHERE f.order_id = o.id)
         OR EXISTS (SELECT 1 FROM positions p WHERE p.mint = o.mint AND p.is_open = 1))
    ORDER BY o.created_at DESC, o.id;
CREATE TRIGGER entries_claim AFTER INSERT ON orders WHEN NEW.side = 'buy' AND NEW.state NOT IN ('failed', 'expired')
BEGIN
    INSERT INTO entries (strategy, mint, order_id) VALUES (NEW.reason, NEW.mint, NEW.id);
END;
CREATE TRIGGER entries_release AFTER UPDATE OF state ON orders
    WHEN NEW.side = 'buy' AND NEW.state IN ('failed', 'expired')
BEGIN
    DELETE FROM entries WHERE order_id = NEW.id;
END;
CREATE TRIGGER entries_release_closed AFTER INSERT ON positions WHEN NEW.is_open = 0
BEGIN
    DELETE FROM entries WHERE mint = NEW.mint
        AND EXISTS (SELECT 1 FROM fills f WHERE f.order_id = entries.order_id);
END;
"""

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS, name: str = "ledger") -> int:
    """Bring the file to len(migrations); each step and its version bump commit together. Returns the version."""
    try:
        version = user_version(conn)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{name}: not a usable SQLite ledger ({exc})") from None
    if version > len(migrations):
        raise LedgerError(
            f"{name}: schema version {version} was written by a newer launchray (this one knows up to "
            f"{len(migrations)}); refusing to open it. Upgrade launchray or point ledger.path elsewhere.")
    for target in range(version + 1, len(migrations) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _statements(migrations[target - 1]):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit behind our back)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return [s for s in out if s and not all(ln.strip().startswith("--") or not ln.strip() for ln in s.splitlines())]
