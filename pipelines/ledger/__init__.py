"""The durable ledger (SQLite, WAL): see store.py for the durability and idempotency rules."""
from .keyguard import SecretRefused, looks_like_secret, refuse_secrets
from .schema import MIGRATIONS, SCHEMA_VERSION, LedgerError
from .store import BatchResult, DailyPnl, LedgerConflict, LedgerStore, Transition

__all__ = ["LedgerStore", "LedgerError", "LedgerConflict", "SecretRefused", "DailyPnl", "Transition",
           "BatchResult", "MIGRATIONS", "SCHEMA_VERSION", "looks_like_secret", "refuse_secrets"]
