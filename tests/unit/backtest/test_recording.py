"""Recorder -> hour-partitioned Parquet -> load_recording: the events come back equal, in order."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from actors.recorder import Recorder
from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.chain.programs import TOKEN_2022, WSOL_MINT
from pipelines.recording import (FIELDS_BY_KIND, RecordingError, event_to_row, load_recording, part_files,
                                 row_to_event, write_events)

from .streams import key

U64_MAX = 2**64 - 1
HOUR8 = dt.datetime(2027, 1, 15, 8, 59, 58, tzinfo=dt.timezone.utc).timestamp()


def every_kind(slot: int = 10) -> list:
    return [
        Launch(venue="pumpfun", signature="sigA" * 20, slot=slot, mint=key(1), bonding_curve=key(2), creator=key(3),
               name="Ünïcødé 🚀 coin", symbol="UNI", uri="https://ipfs.io/ipfs/Qm1", token_program=TOKEN_2022,
               quote_mint=WSOL_MINT, user=key(3), timestamp=-5, virtual_token_reserves=1_073 * 10**12,
               virtual_sol_reserves=30 * 10**9, real_token_reserves=793_100 * 10**9, token_total_supply=10**15,
               is_mayhem_mode=True, seq=101_201),
        Trade(venue="pumpfun", signature="sigA" * 20, slot=slot, mint=key(1), side="buy", sol_amount=U64_MAX,
              token_amount=0, user=key(4), quote_mint=WSOL_MINT, quote_amount=U64_MAX, timestamp=2**62,
              virtual_sol_reserves=U64_MAX, virtual_token_reserves=1, real_sol_reserves=2, real_token_reserves=3,
              fee=4, fee_basis_points=95, creator=key(3), creator_fee=5, creator_fee_basis_points=30, pool="",
              ix_name="buy_exact_sol_in", seq=300_401),
        Complete(venue="pumpfun", signature="sigB" * 20, slot=slot + 1, mint=key(1), bonding_curve=key(2),
                 user=key(5), timestamp=7, quote_mint=WSOL_MINT, seq=5),
        PoolCreated(venue="pumpswap", signature="sigC" * 20, slot=slot + 2, pool=key(6), mint_a=key(1),
                    mint_b=WSOL_MINT, creator=key(7), lp_mint=key(8), vault_a="", vault_b=key(9), amount_a=206_900,
                    amount_b=84_990, open_time=-1, migration=True,
                    params=(("base_mint_decimals", 6), ("coin_creator", key(3)), ("index", 0)), seq=103_501),
        Migration(venue="pumpfun", signature="sigC" * 20, slot=slot + 2, mint=key(1), bonding_curve=key(2),
                  pool=key(6), user=key(10), mint_amount=206_900, sol_amount=84_990, pool_migration_fee=15_000_001,
                  timestamp=9, quote_mint=WSOL_MINT, target_venue="pumpswap", seq=103_601),
        Trade(venue="pumpswap", signature="sigD" * 20, slot=slot + 3, mint="", side="sell", sol_amount=0,
              token_amount=11, user=key(11), quote_mint="", quote_amount=12, pool=key(6), seq=601_401),
    ]


def test_row_round_trip_for_every_kind():
    for ev in every_kind():
        row = event_to_row(ev, 1.5, 3)
        assert row["n"] == 3 and row["recv_ts"] == 1.5
        assert row_to_event(row) == ev
    assert set(FIELDS_BY_KIND) == {"launch", "trade", "complete", "migration", "pool_created"}


def test_values_that_do_not_fit_the_schema_are_refused():
    bad = Trade(venue="pumpfun", signature="s", slot=1, mint=key(1), side="buy", sol_amount=-1, token_amount=1,
                user=key(2), quote_mint=WSOL_MINT, quote_amount=1)
    with pytest.raises(RecordingError, match="sol_amount"):
        event_to_row(bad, 0.0)
    with pytest.raises(RecordingError, match="unknown event kind"):
        row_to_event({"kind": "swap"})


def test_recorder_parquet_round_trip_with_hour_partitions(tmp_path):
    clock = [HOUR8]
    rec = Recorder(tmp_path, max_rows=1000, max_age_s=5.0, meta={"source": "test"}, clock=lambda: clock[0])
    events = every_kind()
    rec.add(events[:3], recv_ts=HOUR8)             # 08:59:58 UTC
    rec.add(events[3:], recv_ts=HOUR8 + 3.0)       # 09:00:01 UTC: the next hour's partition
    assert rec.maybe_flush() == [] and rec.buffered == 6
    clock[0] += 5.0                                 # the oldest buffered row is now 5 s old: time to flush
    written = rec.maybe_flush()
    rel = sorted(str(p.relative_to(tmp_path)) for p in written)
    assert rel == ["date=2027-01-15/hour=08/part-0.parquet", "date=2027-01-15/hour=09/part-0.parquet"]
    assert rec.close() == [] and rec.stats["rows_written"] == 6
    loaded = load_recording(tmp_path)
    assert loaded.events == events
    assert loaded.recv_ts == [HOUR8] * 3 + [HOUR8 + 3.0] * 3
    assert loaded.meta == {"source": "test"}
    # the files are plain Parquet with the declared types
    df = pl.read_parquet(tmp_path / "date=2027-01-15/hour=08/part-0.parquet")
    assert df.schema["sol_amount"] == pl.UInt64 and df.schema["timestamp"] == pl.Int64
    assert df.filter(pl.col("kind") == "trade")["sol_amount"].to_list() == [U64_MAX]


def test_flush_on_size_close_and_parts_continue(tmp_path):
    events = every_kind()
    with Recorder(tmp_path, max_rows=4) as rec:
        rec.add(events, recv_ts=HOUR8)              # 6 rows, max 4: one part written on the way
        assert rec.stats["files"] == 1 and rec.buffered == 0
    # a second session into the same directory adds parts (never overwrites) with the same events again:
    # reading drops the repeats
    with Recorder(tmp_path) as rec:
        rec.add(events[:2], recv_ts=HOUR8 + 1)
    assert [p.name for p in part_files(tmp_path)] == ["part-0.parquet", "part-1.parquet"]
    assert load_recording(tmp_path).events == events


def test_bad_events_are_skipped_not_raised(tmp_path):
    bad = Trade(venue="pumpfun", signature="s", slot=1, mint=key(1), side="buy", sol_amount=2**64, token_amount=1,
                user=key(2), quote_mint=WSOL_MINT, quote_amount=1)
    with Recorder(tmp_path) as rec:
        assert rec.add([bad, every_kind()[0], object()], recv_ts=HOUR8) == 1
        assert rec.stats["skipped"] == 2


def test_reading_orders_by_slot_and_rejects_non_recordings(tmp_path):
    events = every_kind()
    # written in reverse slot order (a backfill arriving late): read back in chain order
    write_events(tmp_path / "r", [(HOUR8 + i, ev) for i, ev in enumerate(reversed(events))])
    assert [e.slot for e in load_recording(tmp_path / "r").events] == sorted(e.slot for e in events)
    with pytest.raises(RecordingError, match="no part files"):
        load_recording(tmp_path)
    (tmp_path / "x" / "date=2027-01-15" / "hour=08").mkdir(parents=True)
    (tmp_path / "x" / "date=2027-01-15" / "hour=08" / "part-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(RecordingError, match="unreadable"):
        load_recording(tmp_path / "x")
