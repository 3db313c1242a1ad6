"""Where a run keeps what must outlive it: the ledger (and the analyzer checkpoints and the API token beside it),
the logs, the trace file and a recording, all under one absolute data directory. Pure: the setting, the
environment, the user's working directory and home directory in, absolute paths (or a refusal) out.

Resolved once, by the CLI, before anything is handed to Ray: a relative path inside an actor would resolve against
that worker's working directory (on a cluster: a Ray job's working_dir copy under Ray's session directory, a
different one on every node and gone with the session).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Mapping

DEFAULT_DATA_DIR = "~/.launchray"
_SESSION = re.compile(r"^session_(latest|\d{4}-\d{2}-\d{2}_.+)$")     # Ray's per-session directories


class DataDirError(ValueError):
    """A data directory that would not survive the run; the message says where it is and what to set."""


@dataclass(frozen=True)
class DurablePaths:
    data_dir: str
    ledger_path: str
    logs_dir: str
    trace_file: str
    recording_dir: str          # "" = not recording


def _expand(p: str, home: str) -> str:
    if p == "~" or p.startswith("~/"):
        return home + p[1:]
    return p


def _absolute(p: str, base: str) -> str:
    path = PurePosixPath(p)
    return os.path.normpath(str(path if path.is_absolute() else PurePosixPath(base) / path))


def resolve_data_dir(setting: str, cwd: str, home: str) -> str:
    """`data_dir` as configured ("" = ~/.launchray), "~" expanded, relative to the user's working directory."""
    return _absolute(_expand((setting or "").strip() or DEFAULT_DATA_DIR, home), cwd)


def durable_paths(setting: str, ledger_path: str, logs_dir: str, trace_file: str, recording_dir: str,
                  cwd: str, home: str) -> DurablePaths:
    """Every durable path made absolute: relative ones under the data directory, "~/..." in the home directory,
    absolute ones as configured."""
    base = resolve_data_dir(setting, cwd, home)

    def under(p: str, root: str = base) -> str:
        return _absolute(_expand(p, home), root) if p else ""
    ledger = under(ledger_path)
    # a relative trace file lives beside the ledger (actors/observe.trace_path), as every reader of it expects
    trace = under(trace_file, str(PurePosixPath(ledger).parent)) if ledger else under(trace_file)
    return DurablePaths(base, ledger, under(logs_dir), trace, under(recording_dir))


def ray_temp_dirs(env: Mapping[str, str]) -> tuple[str, ...]:
    """Ray's temp root as Ray picks it on Linux (RAY_TMPDIR, else TMPDIR, else /tmp, plus "/ray"), and the
    default /tmp/ray."""
    root = env.get("RAY_TMPDIR") or env.get("TMPDIR") or "/tmp"
    return tuple(dict.fromkeys((_absolute("ray", root), "/tmp/ray")))


def inside_ray_dirs(path: str, ray_dirs: tuple[str, ...]) -> str:
    """The Ray directory `path` lies in ("" if none): one of ray_dirs, or any Ray session directory."""
    p = PurePosixPath(os.path.normpath(path))
    for d in ray_dirs:
        if d and (p == PurePosixPath(d) or PurePosixPath(d) in p.parents):
            return d
    for i, part in enumerate(p.parts):
        if _SESSION.match(part):
            return str(PurePosixPath(*p.parts[:i + 1]))
    return ""


def check_outside_ray(paths: DurablePaths, ray_dirs: tuple[str, ...]) -> None:
    """Refuse paths Ray deletes or never shares between sessions."""
    for what, p in (("data_dir", paths.data_dir), ("ledger.path", paths.ledger_path),
                    ("logging.dir", paths.logs_dir), ("telemetry.trace_file", paths.trace_file),
                    ("recording.dir", paths.recording_dir)):
        hit = inside_ray_dirs(p, ray_dirs) if p else ""
        if hit:
            raise DataDirError(
                f"{what} = {p} is inside Ray's temp/session directory {hit}, which Ray deletes or replaces: the "
                "ledger and checkpoints would be lost. Set data_dir (LAUNCHRAY__DATA_DIR) to a durable absolute "
                f"directory, e.g. {DEFAULT_DATA_DIR}")


def with_durable_paths(cfg, env: Mapping[str, str], cwd: str, home: str):
    """The Config with every durable path absolute under its data directory (and data_dir itself absolute);
    DataDirError when one is inside Ray's directories. The shell passes os.getcwd() and the home directory."""
    from pipelines.config import config_with
    paths = durable_paths(cfg.data_dir, cfg.ledger.path, cfg.logging.dir, cfg.telemetry.trace_file,
                          cfg.recording.dir, cwd=cwd, home=home)
    check_outside_ray(paths, ray_temp_dirs(env))
    return config_with(cfg, {"data_dir": paths.data_dir, "ledger": {"path": paths.ledger_path},
                             "logging": {"dir": paths.logs_dir}, "telemetry": {"trace_file": paths.trace_file},
                             "recording": {"dir": paths.recording_dir}})
