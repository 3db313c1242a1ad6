"""Commits of observations (launches, snapshots) skip the fsync; everything else keeps FULL."""
from __future__ import annotations

import pytest

from pipelines.ledger import LedgerStore

FULL, NORMAL = 2, 1     # PRAGMA synchronous values


def sync_level(store: LedgerStore) -> int:
    return store._db.execute("PRAGMA synchronous").fetchone()[0]


def test_snapshot_writes_commit_with_normal_and_leave_the_connection_full(tmp_path, monkeypatch):
    store = LedgerStore(tmp_path / "l.sqlite")
    assert sync_level(store) == FULL
    seen = []
    real_tx = store._tx.__func__

    def spy(self, durable=True):
        cm = real_tx(self, durable)

        class Wrap:
            def __enter__(_):
                db = cm.__enter__()
                seen.append(db.execute("PRAGMA synchronous").fetchone()[0])
                return db

            def __exit__(_, *exc):
                return cm.__exit__(*exc)
        return Wrap()
    monkeypatch.setattr(LedgerStore, "_tx", spy)
    store.record_launches([("M", "pumpfun", 1, "s")], 1.0)
    store.save_risk_counters({"k": 1}, 1.0)
    store.add_daily_pnl("2026-11-21", 5, True, "o1")
    assert seen == [NORMAL, NORMAL, FULL]
    assert sync_level(store) == FULL
    assert store.launch_mints() == ["M"] and store.load_risk_counters() == {"k": 1}


def test_a_failed_snapshot_write_still_restores_full(tmp_path):
    store = LedgerStore(tmp_path / "l.sqlite")
    with pytest.raises(RuntimeError):
        with store._tx(durable=False) as db:
            db.execute("INSERT INTO launches (mint, venue, slot, signature, seen_at) VALUES ('M', 'pumpfun', 1, 's', 1)")
            raise RuntimeError("boom")
    assert sync_level(store) == FULL
    assert store.launch_mints() == []          # rolled back
