"""Recorder: buffers decoded events with their receive time and writes them as hour-partitioned Parquet.

    rec = Recorder("data/run1", meta={...})
    rec.add(events, recv_ts)          # a decoded batch (each event carries its slot)
    rec.maybe_flush()                 # flushes when max_rows are buffered or the oldest row is max_age_s old
    rec.close()                       # flushes the rest

Files: DIR/date=YYYY-MM-DD/hour=HH/part-N.parquet by the UTC hour of each row's receive time (schema:
pipelines/recording.py), written to a temporary name and renamed, so a reader never sees half a part and a
crash loses at most the unflushed buffer. Part numbers continue after the parts already in a directory, so a
second session into the same DIR adds to it. Events that do not fit the schema are skipped and counted.
A plain class: the `launchray record` command drives one, and the Ingest actor hosts one when the profile's
`recording.dir` is set (`launchray run --record DIR`). `recording_meta` and `fee_accounts` build DIR/meta.json
the same way for both, so a recording made by `run` backtests exactly like one made by `record`.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pipelines.recording import META_FILE, RecordingError, event_to_row, next_part_path, part_dir, rows_frame

DEFAULT_MAX_ROWS = 50_000
DEFAULT_MAX_AGE_S = 30.0
RECORD_FORMAT = 1


async def fee_accounts(rpc) -> dict:
    """The accounts fees are computed from, as {name: {"address", "data": base64, "owner"}} (absent ones left
    out). `rpc` is anything with `async call(method, params)` (the record command's client, the RpcPool)."""
    from pipelines.chain import pda
    from pipelines.chain import programs as P
    names = {"pump_global": P.PUMP_GLOBAL, "pump_fee_config": str(pda.fee_config(P.PUMP)),
             "pumpswap_fee_config": str(pda.fee_config(P.PUMP_AMM))}
    result = await rpc.call("getMultipleAccounts", [list(names.values()), {"encoding": "base64"}])
    out = {}
    values = (result or {}).get("value") or []
    for (name, address), acct in zip(names.items(), values):
        if isinstance(acct, dict) and isinstance(acct.get("data"), list) and acct["data"]:
            out[name] = {"address": address, "data": acct["data"][0], "owner": acct.get("owner", "")}
    return out


def recording_meta(cfg, accounts: dict, started_at: float) -> dict:
    """DIR/meta.json: where the stream came from and the fee accounts read when recording started."""
    meta = {"format": RECORD_FORMAT, "source": cfg.chain.source, "profile": cfg.profile,
            "slot_ms": cfg.simnet.slot_ms if cfg.chain.source == "simnet" else 400,
            "commitment": cfg.chain.commitment, "started_at": started_at, "accounts": accounts}
    if cfg.chain.source == "simnet":
        meta["simnet"] = {"seed": cfg.simnet.seed, "speed": cfg.simnet.speed,
                          "launches_per_minute": cfg.simnet.launches_per_minute}
    return meta


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
