"""Recorder: buffers decoded events with their receive time and writes them as hour-partitioned Parquet.

    rec = Recorder("data/run1", meta={...})
    rec.add(events, recv_ts)          # a decoded batch (each event carries its slot)
    rec.maybe_flush()                 # flushes when max_rows are buffered or the oldest row is max_age_s old
    rec.close()                       # flushes the rest

Files: DIR/date=YYYY-MM-DD/hour=HH/part-N.parquet by the UTC hour of each row's receive time (schema:
pipelines/recording.py), written to a temporary name and renamed, so a reader never sees half a part and a
crash loses at most the unflushed buffer. Part numbers continue after the parts already in a directory, so a
second session into the same DIR adds to it. Events that do not fit the schema are skipped and counted.
A plain class (the `launchray record` command drives it); an actor can host one as is.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pipelines.recording import META_FILE, RecordingError, event_to_row, next_part_path, part_dir, rows_frame

DEFAULT_MAX_ROWS = 50_000
DEFAULT_MAX_AGE_S = 30.0


class Recorder:
    def __init__(self, root: str | Path, *, max_rows: int = DEFAULT_MAX_ROWS, max_age_s: float = DEFAULT_MAX_AGE_S,
                 meta: dict | None = None, clock=time.time) -> None:
        if max_rows <= 0 or max_age_s <= 0:
            raise ValueError("max_rows and max_age_s must be positive")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_rows, self.max_age_s = max_rows, max_age_s
        self.clock = clock
        self._rows: list[dict] = []
        self._oldest = 0.0
        self._n = 0
        self.closed = False
        self.stats = {"events": 0, "skipped": 0, "rows_written": 0, "files": 0, "bytes": 0, "flushes": 0}
        self.by_kind: dict[str, int] = {}
        self.files: list[Path] = []
        if meta is not None:
            self.write_meta(meta)

    def write_meta(self, meta: dict) -> None:
        path = self.root / META_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
        os.replace(tmp, path)

    def add(self, events, recv_ts: float | None = None) -> int:
        """Buffer a batch of events received at recv_ts (default: now); returns how many were kept."""
        if self.closed:
            raise RuntimeError("recorder is closed")
        ts = self.clock() if recv_ts is None else float(recv_ts)
        kept = 0
        for ev in events:
            try:
                row = event_to_row(ev, ts, self._n)
            except (RecordingError, TypeError, AttributeError):
                self.stats["skipped"] += 1
                continue
            if not self._rows:
                self._oldest = self.clock()
            self._rows.append(row)
            self._n += 1
            kept += 1
            self.by_kind[row["kind"]] = self.by_kind.get(row["kind"], 0) + 1
        self.stats["events"] += kept
        if len(self._rows) >= self.max_rows:
            self.flush()
        return kept

    @property
    def buffered(self) -> int:
        return len(self._rows)

    def maybe_flush(self, now: float | None = None) -> list[Path]:
        now = self.clock() if now is None else now
        if self._rows and (len(self._rows) >= self.max_rows or now - self._oldest >= self.max_age_s):
            return self.flush()
        return []

    def flush(self) -> list[Path]:
        """Write the buffer: one new part per hour partition it spans."""
        rows, self._rows = self._rows, []
        if not rows:
            return []
        groups: dict[Path, list[dict]] = {}
        for r in rows:
            groups.setdefault(part_dir(self.root, r["recv_ts"]), []).append(r)
        written = []
        for d, part in groups.items():
            d.mkdir(parents=True, exist_ok=True)
            path = next_part_path(d)
            tmp = path.with_name(path.name + ".tmp")
            rows_frame(part).write_parquet(tmp)
            os.replace(tmp, path)
            written.append(path)
            self.stats["rows_written"] += len(part)
            self.stats["files"] += 1
            self.stats["bytes"] += path.stat().st_size
        self.files.extend(written)
        self.stats["flushes"] += 1
        return written

    def close(self) -> list[Path]:
        if self.closed:
            return []
        written = self.flush()
        self.closed = True
        return written

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
