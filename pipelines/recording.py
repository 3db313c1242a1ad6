"""Recordings: decoded chain events as Parquet rows, and back.

One row per event, one wide schema for every kind (columns a kind does not have are null):
    n         int64    receive order within the recording session (ties in recv_ts keep their order)
    recv_ts   float64  when the event was received (seconds since the epoch, receiver's clock)
    slot      int64    the slot of the transaction
    kind      str      Launch.kind, Trade.kind, ... (chain/events.py)
    <field>   every field of every event dataclass; integers are UInt64 (raw on-chain amounts) except the
              signed ones (timestamp, open_time, seq); PoolCreated.params is a JSON object string
A row round-trips through chain/events.py event_to_dict / event_from_dict: events -> rows -> events is the
identity. Files are partitioned by the UTC hour of recv_ts: DIR/date=YYYY-MM-DD/hour=HH/part-N.parquet, with
meta.json beside them (where and how it was recorded, and the fee accounts: see backtest/market.ChainFees).

Reading sorts by (slot, recv_ts, n) and drops repeated events (same signature, kind, seq): a stream that goes
back in slot (a backfill, two overlapping sessions) replays in chain order.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable

import polars as pl

from pipelines.chain.events import EVENT_TYPES, Event, PoolCreated, event_from_dict, event_to_dict

META_FILE = "meta.json"
SIGNED_INTS = frozenset({"timestamp", "open_time", "seq", "slot"})
BASE_COLUMNS = {"n": pl.Int64, "recv_ts": pl.Float64, "slot": pl.Int64, "kind": pl.Utf8}
_PART = re.compile(r"part-(\d+)\.parquet$")


def _dtype(name: str, annotation: str):
    if name == "params":
        return pl.Utf8
    if annotation == "bool":
        return pl.Boolean
    if annotation == "int":
        return pl.Int64 if name in SIGNED_INTS else pl.UInt64
    return pl.Utf8


def _build_schema() -> tuple[dict, dict[str, tuple[str, ...]]]:
    schema = dict(BASE_COLUMNS)
    by_kind: dict[str, tuple[str, ...]] = {}
    for kind, cls in EVENT_TYPES.items():
        names = []
        for f in fields(cls):
            names.append(f.name)
            dt = _dtype(f.name, str(f.type))
            if f.name in schema and schema[f.name] != dt:
                raise TypeError(f"event field {f.name} has two types across kinds")
            schema[f.name] = dt
        by_kind[kind] = tuple(names)
    return schema, by_kind


SCHEMA, FIELDS_BY_KIND = _build_schema()


class RecordingError(ValueError):
    """An event that does not fit the schema, or a directory that is not a recording."""


def event_to_row(event: Event, recv_ts: float, n: int = 0) -> dict:
    """One Parquet row (a dict over SCHEMA's columns present for this kind)."""
    d = event_to_dict(event)
    if isinstance(event, PoolCreated):
        d["params"] = json.dumps(d["params"], sort_keys=True)
    for name, v in d.items():
        dt = SCHEMA.get(name)
        if dt is pl.UInt64 and not (isinstance(v, int) and 0 <= v < 2**64):
            raise RecordingError(f"{event.kind}.{name} = {v!r} is not a u64")
        if dt is pl.Int64 and not (isinstance(v, int) and -2**63 <= v < 2**63):
            raise RecordingError(f"{event.kind}.{name} = {v!r} is not an i64")
    d["n"] = int(n)
    d["recv_ts"] = float(recv_ts)
    return d


def row_to_event(row: dict) -> Event:
    """Inverse of event_to_row (extra columns, e.g. n / recv_ts / other kinds' nulls, are ignored)."""
    kind = row.get("kind")
    names = FIELDS_BY_KIND.get(kind)
    if names is None:
        raise RecordingError(f"unknown event kind {kind!r}")
    d = {"kind": kind}
    for name in names:
        v = row.get(name)
        if v is None:
            continue          # the dataclass default (a row written by an older schema)
        d[name] = json.loads(v) if name == "params" else v
    return event_from_dict(d)


def rows_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows as a DataFrame with the full schema (every column, in SCHEMA order)."""
    cols = {name: [r.get(name) for r in rows] for name in SCHEMA}
    return pl.DataFrame(cols, schema=SCHEMA)


def frame_events(df: pl.DataFrame) -> list[Event]:
    """The events of a frame in its row order; built per kind from row tuples (fast for large frames)."""
    out: list = [None] * df.height
    if not df.height:
        return []
    idx = pl.Series("_i", range(df.height))
    df = df.with_columns(idx)
    for kind, part in df.partition_by("kind", as_dict=True).items():
        kind = kind[0] if isinstance(kind, tuple) else kind
        names = FIELDS_BY_KIND.get(kind)
        if names is None:
            raise RecordingError(f"unknown event kind {kind!r}")
        cls = EVENT_TYPES[kind]
        present = [n for n in names if n in part.columns]
        cols = part.select(["_i", *present])
        nullable = [n for n in present if cols[n].null_count()]
        if nullable or len(present) != len(names) or kind == PoolCreated.kind:
            for row in cols.iter_rows(named=True):
                out[row["_i"]] = row_to_event({**row, "kind": kind})
        else:
            for row in cols.iter_rows():
                out[row[0]] = cls(*row[1:])
    return out


def partition_of(recv_ts: float) -> tuple[str, str]:
    """('YYYY-MM-DD', 'HH') of a receive time, UTC."""
    import datetime as _dt
    t = _dt.datetime.fromtimestamp(recv_ts, tz=_dt.timezone.utc)
    return t.strftime("%Y-%m-%d"), t.strftime("%H")


def part_dir(root: Path, recv_ts: float) -> Path:
    date, hour = partition_of(recv_ts)
    return Path(root) / f"date={date}" / f"hour={hour}"


def next_part_path(directory: Path) -> Path:
    """part-N.parquet with N one past the highest part already in `directory` (never overwrites)."""
    n = -1
    if directory.exists():
        for p in directory.iterdir():
            m = _PART.search(p.name)
            if m:
                n = max(n, int(m.group(1)))
    return directory / f"part-{n + 1}.parquet"


def part_files(root: Path) -> list[Path]:
    """Every part of a recording, in (date, hour, part number) order."""
    root = Path(root)

    def key(p: Path):
        m = _PART.search(p.name)
        return (p.parent.parent.name, p.parent.name, int(m.group(1)) if m else -1)
    return sorted((p for p in root.glob("date=*/hour=*/part-*.parquet")), key=key)


@dataclass(slots=True)
class Recording:
    events: list[Event]
    recv_ts: list[float]
    meta: dict = field(default_factory=dict)

    @property
    def t0(self) -> float | None:
        return self.recv_ts[0] if self.recv_ts else None


def read_frame(root: Path) -> pl.DataFrame:
    files = part_files(root)
    if not files:
        raise RecordingError(f"{root}: no part files (expected date=YYYY-MM-DD/hour=HH/part-N.parquet)")
    frames = []
    for p in files:
        try:
            df = pl.read_parquet(p, hive_partitioning=False)
        except Exception as exc:       # a truncated part (a crash mid-write) is reported by name
            raise RecordingError(f"{p}: unreadable parquet: {exc}") from None
        missing = [c for c in BASE_COLUMNS if c not in df.columns]
        if missing:
            raise RecordingError(f"{p}: missing columns {missing}")
        frames.append(df)
    df = pl.concat(frames, how="diagonal_relaxed")
    df = df.sort(["slot", "recv_ts", "n"], maintain_order=True)
    return df.unique(subset=["signature", "kind", "seq"], keep="first", maintain_order=True)


def stream_start(root: Path | str) -> tuple[int, float]:
    """(slot, recv_ts) of the first event in replay order, reading only the ordering columns of each part."""
    files = part_files(Path(root))
    if not files:
        raise RecordingError(f"{root}: no part files (expected date=YYYY-MM-DD/hour=HH/part-N.parquet)")
    try:
        first = (pl.concat([pl.scan_parquet(p, hive_partitioning=False).select(["slot", "recv_ts", "n"])
                            for p in files]).sort(["slot", "recv_ts", "n"]).head(1).collect())
    except Exception as exc:
        raise RecordingError(f"{root}: unreadable recording: {exc}") from None
    if not first.height:
        raise RecordingError(f"{root}: the recording holds no events")
    return int(first["slot"][0]), float(first["recv_ts"][0])


def read_meta(root: Path) -> dict:
    path = Path(root) / META_FILE
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: not JSON: {exc}") from None
    return meta if isinstance(meta, dict) else {}


def load_recording(root: Path | str) -> Recording:
    """Every event of a recording directory in replay order, their receive times, and meta.json."""
    root = Path(root)
    if not root.is_dir():
        raise RecordingError(f"{root}: not a directory")
    df = read_frame(root)
    return Recording(frame_events(df), df["recv_ts"].to_list(), read_meta(root))


def write_events(root: Path | str, events: Iterable[tuple[float, Event]], meta: dict | None = None) -> list[Path]:
    """Write (recv_ts, event) pairs as a recording (one part per hour partition); for tests and tools."""
    root = Path(root)
    groups: dict[Path, list[dict]] = {}
    for n, (ts, ev) in enumerate(events):
        groups.setdefault(part_dir(root, ts), []).append(event_to_row(ev, ts, n))
    written = []
    for d, rows in groups.items():
        d.mkdir(parents=True, exist_ok=True)
        path = next_part_path(d)
        rows_frame(rows).write_parquet(path)
        written.append(path)
    if meta is not None:
        root.mkdir(parents=True, exist_ok=True)
        (root / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return written
