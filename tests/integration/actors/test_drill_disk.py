"""The drill's full disk is real: SQLite's writes to a ledger on it fail with 'database or disk is full' while it
is full, and succeed again once it is freed. Both mechanisms: a filled tmpfs (where root may mount) and
RLIMIT_FSIZE = 0 on the processes holding the ledger open."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from actors.drill_rig import LedgerDisk


def _write(db: sqlite3.Connection, n: int) -> None:
    db.execute("INSERT INTO t VALUES (?)", (b"x" * n,))


def test_a_filled_tmpfs_makes_sqlite_full_and_freeing_it_recovers(tmp_path):
    disk = LedgerDisk(tmp_path / "ledger")
    if not disk.mounted:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        db = sqlite3.connect(disk.path / "ledger.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (v BLOB)")
        _write(db, 1000)
        assert "tmpfs" in disk.fill()
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for _ in range(100):            # the WAL's free pages absorb the first small writes
                _write(db, 100_000)
        disk.free()
        _write(db, 100_000)
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] >= 2
        db.close()
    finally:
        disk.release()
    assert not disk.mounted


WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS t (v BLOB)")
print("ready", flush=True)
for line in sys.stdin:
    try:
        for _ in range(50):
            db.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
        print("ok", flush=True)
    except sqlite3.Error as exc:
        print("error", exc, flush=True)
"""


def test_without_a_mount_the_ledgers_writers_get_a_zero_file_size_limit(tmp_path):
    disk = LedgerDisk.__new__(LedgerDisk)        # the fallback, as where mounting is refused
    disk.path, disk.mounted, disk._limited = tmp_path, False, []
    disk._filler = tmp_path / ".drill-filler"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "ledger.sqlite")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.1)
        assert "1 process" in disk.fill()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().startswith("error")
        disk.free()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok"
    finally:
        proc.kill()
        proc.wait()
