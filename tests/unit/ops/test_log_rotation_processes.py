"""Log rotation with many writer processes (issue 14): every actor appends to the same four files, so at midnight
each of them rolls the same file over. Before: the second process to roll over deleted `<file>.<day>` (the day
the first had just rotated) and renamed the new day's file into its place. Now the first renames under a lock and
the others only reopen: nothing is lost, each record is in the file of its day.

Real processes (multiprocessing, spawn) share a simulated clock (a shared double set by the test): each writes
its day-1 records before midnight, the clock passes midnight, each writes its day-2 records.
"""
from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import time
from pathlib import Path

from actors.logs import JsonLinesFormatter, RetentionFileHandler, setup_logging
from pipelines.config import LoggingConfig

WRITERS, PER_DAY = 4, 40
DAY = 86_400


def _writer(path: str, index: int, clock_value, ready, midnight_passed, done) -> None:
    handler = RetentionFileHandler(path, 14, clock=lambda: clock_value.value)
    handler.setFormatter(JsonLinesFormatter())
    lg = logging.getLogger(f"launchray.rotation_test.{index}")
    lg.propagate = False
    lg.setLevel(logging.INFO)
    lg.addHandler(handler)
    for k in range(PER_DAY):
        lg.info("p%d day1 %d", index, k)
    ready.wait()                 # every writer has written day 1
    midnight_passed.wait()       # the clock is past midnight
    for k in range(PER_DAY):
        lg.info("p%d day2 %d", index, k)
    handler.close()
    done.wait()


def _messages(path: Path) -> list[str]:
    return [json.loads(line)["msg"] for line in path.read_text().splitlines()]


def test_many_processes_rolling_over_at_midnight_keep_every_record_in_its_day(tmp_path):
    now = time.time()
    today = now - now % DAY                     # UTC midnight that began today (real: file mtimes are real)
    if today + DAY - now < 120:                 # a few seconds before the real midnight the mtimes would straddle
        time.sleep(today + DAY - now + 1)
        now = time.time()
        today = now - now % DAY
    ctx = mp.get_context("spawn")
    clock = ctx.Value("d", today + DAY - 30)    # 23:59:30 of today, simulated
    ready, passed, done = (ctx.Barrier(WRITERS + 1) for _ in range(3))
    path = tmp_path / "system.jsonl"
    procs = [ctx.Process(target=_writer, args=(str(path), i, clock, ready, passed, done)) for i in range(WRITERS)]
    for p in procs:
        p.start()
    try:
        ready.wait(timeout=120)
        clock.value = today + DAY + 5           # 00:00:05 tomorrow
        passed.wait(timeout=60)
        done.wait(timeout=60)
    finally:
        for p in procs:
            p.join(timeout=30)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    day1 = tmp_path / ("system.jsonl." + time.strftime("%Y-%m-%d", time.gmtime(today)))
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["system.jsonl", day1.name]
    expected1 = {f"p{i} day1 {k}" for i in range(WRITERS) for k in range(PER_DAY)}
    expected2 = {f"p{i} day2 {k}" for i in range(WRITERS) for k in range(PER_DAY)}
    got1, got2 = _messages(day1), _messages(path)
    assert len(got1) == len(expected1) and set(got1) == expected1      # the day just rotated: all of it, once
    assert len(got2) == len(expected2) and set(got2) == expected2


def test_a_process_that_slept_through_midnights_does_not_rename_today_s_file(tmp_path):
    # Its last rollover time is 3 days old; meanwhile the other processes rotated and wrote today's file.
    path = tmp_path / "errors.jsonl"
    path.write_text(json.dumps({"msg": "written today by another process"}) + "\n")
    handler = RetentionFileHandler(path, 30)
    handler.setFormatter(JsonLinesFormatter())
    handler.rolloverAt = int(time.time()) - 3 * DAY
    handler.emit(logging.LogRecord("x", logging.ERROR, __file__, 1, "late", (), None))
    handler.close()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["errors.jsonl"]
    assert _messages(path) == ["written today by another process", "late"]
    assert handler.rolloverAt > time.time()


def test_errors_jsonl_keeps_warnings(tmp_path):
    setup = setup_logging(LoggingConfig(dir=str(tmp_path)), logger_name="launchray.test_warn_route",
                          redact_existing_handlers=False)
    try:
        lg = logging.getLogger("launchray.test_warn_route.x")
        lg.info("routine")
        lg.warning("stream stale for 150 slots")
        lg.error("ledger unwritable")
    finally:
        setup.close()
    assert _messages(tmp_path / "errors.jsonl") == ["stream stale for 150 slots", "ledger unwritable"]
    assert _messages(tmp_path / "system.jsonl") == ["routine", "stream stale for 150 slots", "ledger unwritable"]
    assert not os.path.exists(tmp_path / "trades.jsonl")
