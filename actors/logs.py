"""Structured JSON-lines logs in four files (trades, signals, errors, system), rotated daily, pruned by age,
with every record scrubbed of anything that looks like a secret before any handler writes it.

Routing: records from `launchray.trades` go to trades.jsonl and from `launchray.signals` to signals.jsonl;
every record at WARNING or above also goes to errors.jsonl; everything else (and errors, for context) to
system.jsonl. Retention is by file age (mtime), checked at start-up and at every daily rollover, so days on
which the process was down do not stretch it.

Many processes (every actor) append to the same four files. The first of them to write after midnight renames
the day's file (under a lock beside it); the others find it renamed and only reopen: a rollover never deletes
or overwrites a rotated file (the stock TimedRotatingFileHandler removes an existing `<file>.<day>` before
renaming, so the second process to roll over deleted the day the first had just rotated).

Use `log_event(TRADES, "fill", order_id=..., lamports=...)` for structured fields; plain `logging` calls work too
(their `extra=` keys become JSON fields).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path

from pipelines.config import LoggingConfig
from pipelines.redaction import REDACTED, Redactor

TRADES = "launchray.trades"
SIGNALS = "launchray.signals"
CATEGORIES = ("trades", "signals", "errors", "system")
DEFAULT_RETENTION_DAYS = {"trades": 90, "signals": 30, "errors": 30, "system": 14}

# Process-wide secrets: the wallet loader, the API and the alert sender register theirs here.
SECRETS = Redactor()

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                                   "taskName"}
_JSON_SCALARS = (str, int, float, bool, type(None))
_CORE_KEYS = frozenset({"ts", "level", "logger", "msg", "exc", "stack"})


def register_secret(*secrets: str) -> None:
    """Never write these strings to any log handled here (exact match, on top of the pattern rules)."""
    SECRETS.add(*secrets)


def log_event(logger: str | logging.Logger, msg: str, level: int = logging.INFO, /, **fields) -> None:
    """One structured record; `fields` become top-level JSON keys (any name, even ones LogRecord reserves;
    ts/level/logger/msg are written as field_ts... so they never shadow the record's own)."""
    lg = logging.getLogger(logger) if isinstance(logger, str) else logger
    if lg.isEnabledFor(level):
        lg.log(level, msg, extra={"fields": fields}, stacklevel=2)


class RedactingFilter(logging.Filter):
    """Rewrites the record in place (message, args, exception, stack, extra fields) with secrets removed."""

    def __init__(self, redactor: Redactor = SECRETS):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_launchray_redacted", False):
            return True
        r = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} (args could not be formatted)"
        record.msg, record.args = r(message), ()
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = r(record.exc_text)
        if record.stack_info:
            record.stack_info = r(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _scrub(value, r))
        record._launchray_redacted = True
        return True


def _scrub(value, r: Redactor):
    if isinstance(value, _JSON_SCALARS):
        return r(value) if isinstance(value, str) else value
    if isinstance(value, (bytes, bytearray)):
        return r.value(value)
    if isinstance(value, (list, tuple)):
        if len(value) == 64 and all(isinstance(x, int) and 0 <= x < 256 for x in value):
            return REDACTED  # a keypair as a list of bytes
        return [_scrub(v, r) for v in value]
    if isinstance(value, dict):
        return {str(k): _scrub(v, r) for k, v in value.items()}
    # Anything else is written as its str(); str() of some objects IS the secret (solders Keypair), so redact it.
    return r(str(value))


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key == "fields" and isinstance(value, dict):
                for k, v in value.items():
                    out[f"field_{k}" if k in _CORE_KEYS else k] = v   # never shadow ts/level/logger/msg
            elif key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, default=lambda o: SECRETS(str(o)), ensure_ascii=False)


class RetentionFileHandler(TimedRotatingFileHandler):
    """Daily rotation at UTC midnight, safe with many writer processes; rotated files older than
    `retention_days` (by mtime) are deleted. `clock`: the time source (tests simulate a midnight with it)."""

    def __init__(self, path: str | os.PathLike, retention_days: int, clock: Callable[[], float] = time.time):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # backupCount=0: the base class would prune by count, we prune by age in sweep().
        super().__init__(path, when="midnight", backupCount=0, encoding="utf-8", delay=True, utc=True)
        self.retention_days = retention_days
        self.clock = clock
        try:   # an existing file rolls over at the midnight after its last write (a restart after midnight)
            since = os.stat(self.baseFilename).st_mtime
        except OSError:
            since = clock()
        self.rolloverAt = self.computeRollover(int(since))

    def rotated_files(self) -> list[Path]:
        base = Path(self.baseFilename)
        prefix = base.name + "."
        return [p for p in base.parent.iterdir()
                if p.name.startswith(prefix) and self.extMatch.match(p.name[len(prefix):])]

    def sweep(self, now: float | None = None) -> list[Path]:
        """Delete rotated files past retention; returns what was deleted."""
        horizon = (self.clock() if now is None else now) - self.retention_days * 86400
        deleted = []
        for p in self.rotated_files():
            try:
                if p.stat().st_mtime < horizon:
                    p.unlink()
                    deleted.append(p)
            except FileNotFoundError:     # another process swept it first
                pass
        return deleted

    def shouldRollover(self, record) -> bool:
        return self.clock() >= self.rolloverAt

    def doRollover(self) -> None:
        if self.stream:
            self.stream.close()
            self.stream = None
        now = self.clock()
        held = self.rotation_filename(
            self.baseFilename + "." + time.strftime(self.suffix, time.gmtime(self.rolloverAt - self.interval)))
        with self._rotation_lock():
            self._rotate_once(held, now)
        self.rolloverAt = self.computeRollover(int(now))
        while self.rolloverAt <= now:
            self.rolloverAt += self.interval
        self.sweep(now)

    def _rotate_once(self, dated: str, now: float) -> None:
        """Rename the file to `dated` unless another process has already rotated it (the day's file exists)
        or the file holds today's records (this process slept through more than one midnight: the day it
        last knew of is not what the file holds now)."""
        base = self.baseFilename
        if os.path.exists(dated) or not os.path.isfile(base):
            return
        if now - self.rolloverAt >= self.interval:
            today = self.computeRollover(int(now)) - self.interval
            if os.stat(base).st_mtime >= today:
                return
        os.rename(base, dated)

    @contextmanager
    def _rotation_lock(self):
        """One rollover at a time across processes (an advisory lock on a file beside the log)."""
        base = Path(self.baseFilename)
        with open(base.parent / f".{base.name}.rotate-lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


class _Route(logging.Filter):
    def __init__(self, category: str):
        super().__init__()
        self.category = category

    def filter(self, record: logging.LogRecord) -> bool:
        if self.category == "errors":
            return record.levelno >= logging.WARNING
        trades, signals = _under(record.name, TRADES), _under(record.name, SIGNALS)
        if self.category == "trades":
            return trades
        if self.category == "signals":
            return signals
        return not (trades or signals) or record.levelno >= logging.ERROR


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + ".")


@dataclass
class LogSetup:
    """What setup_logging installed, so it can be removed again (tests, reconfiguration)."""
    logger: logging.Logger
    handlers: dict[str, RetentionFileHandler]
    redactor_filter: RedactingFilter
    patched_handlers: list[logging.Handler] = field(default_factory=list)
    previous_level: int = logging.NOTSET

    def paths(self) -> dict[str, Path]:
        return {k: Path(h.baseFilename) for k, h in self.handlers.items()}

    def close(self) -> None:
        for h in self.handlers.values():
            self.logger.removeHandler(h)
            h.close()
        for h in self.patched_handlers:
            h.removeFilter(self.redactor_filter)
        self.logger.setLevel(self.previous_level)


def setup_logging(cfg: LoggingConfig, *, secrets: Iterable[str] = (), logger_name: str = "",
                  redact_existing_handlers: bool = True) -> LogSetup:
    """Install the four JSON-lines files on `logger_name` (root by default, so library warnings are kept too).

    `secrets` (API token, bot token...) are registered process-wide. With `redact_existing_handlers`, handlers
    already on that logger (Ray's worker log, the console) get the redacting filter as well.
    """
    register_secret(*secrets)
    retention = {**DEFAULT_RETENTION_DAYS, **cfg.retention_days}
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.getLevelName(cfg.level.upper()) if isinstance(cfg.level, str) else cfg.level)
    redacting = RedactingFilter(SECRETS)
    patched = []
    if redact_existing_handlers:
        for h in logger.handlers:
            h.addFilter(redacting)
            patched.append(h)
    formatter = JsonLinesFormatter()
    handlers: dict[str, RetentionFileHandler] = {}
    for category in CATEGORIES:
        h = RetentionFileHandler(Path(cfg.dir) / f"{category}.jsonl", int(retention[category]))
        h.addFilter(redacting)          # first: nothing below sees an unredacted record
        h.addFilter(_Route(category))
        h.setFormatter(formatter)
        h.sweep()
        logger.addHandler(h)
        handlers[category] = h
    return LogSetup(logger, handlers, redacting, patched, previous)
