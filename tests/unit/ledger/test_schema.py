import sqlite3

import pytest

from pipelines.ledger import MIGRATIONS, SCHEMA_VERSION, LedgerError, LedgerStore
from pipelines.ledger.schema import migrate
from pipelines.messages import Order, Side


def _version(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "ledger.sqlite"
    LedgerStore(path).close()
    assert _version(path) == SCHEMA_VERSION == len(MIGRATIONS)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"   # persistent in the file
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"orders", "order_transitions", "fills", "positions", "risk_counters", "daily_pnl",
            "config_changes", "reservations"} <= tables


def test_an_older_file_is_migrated_forward_keeping_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, MIGRATIONS[:1])
    db.execute("INSERT INTO risk_counters (key, value, updated_at) VALUES ('losses', '2', 1.0)")
    step2 = "ALTER TABLE risk_counters ADD COLUMN note TEXT NOT NULL DEFAULT '';\n" \
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
    assert migrate(db, (*MIGRATIONS[:1], step2)) == 2
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert db.execute("SELECT key, value, note FROM risk_counters").fetchall() == [("losses", "2", "")]
    db.execute("INSERT INTO notes (body) VALUES ('ok')")
    db.close()


def test_a_failing_migration_step_leaves_the_file_at_its_old_version(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, MIGRATIONS[:1])
    broken = "CREATE TABLE fine (x INTEGER);\nCREATE TABLE orders (x INTEGER);"   # orders already exists
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, (*MIGRATIONS[:1], broken))
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'fine'").fetchone()[0] == 0
    db.close()


def test_an_empty_sqlite_file_from_before_versioning_is_initialised(tmp_path):
    path = tmp_path / "v0.sqlite"
    sqlite3.connect(path).close()
    with LedgerStore(path) as s:
        s.record_order(Order(id="a", mint="M", side=Side.BUY, venue="pumpfun", amount=1, limit=1, mode="paper"))
    assert _version(path) == SCHEMA_VERSION


def test_a_file_from_a_newer_launchray_is_refused(tmp_path):
    path = tmp_path / "future.sqlite"
    LedgerStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="newer launchray"):
        LedgerStore(path)
    with pytest.raises(LedgerError, match="newer"):
        LedgerStore(path, readonly=True)
    assert _version(path) == SCHEMA_VERSION + 1        # untouched


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"definitely not sqlite " * 200)
    with pytest.raises(LedgerError, match="not a usable SQLite ledger"):
        LedgerStore(path)
    assert path.read_bytes().startswith(b"definitely not sqlite")


def test_readonly_needs_an_existing_ledger(tmp_path):
    with pytest.raises(LedgerError, match="no ledger"):
        LedgerStore(tmp_path / "missing.sqlite", readonly=True)
