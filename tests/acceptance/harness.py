"""Running the real actor system on simnet inside the session's Ray, for acceptance tests."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

from actors.system import TradingSystem
from pipelines.config import Config, config_with, load_config
from pipelines.ledger import LedgerStore


def system_config(tmp_path, **changes) -> Config:
    """The default profile, isolated: its own namespace, ledger and logs; a fast simnet (100 ms slots) with
    frequent launches so a short test sees real activity; no control API unless asked for."""
    cfg = load_config("sim", env={})
    base = {
        "ray": {"namespace": f"lr-test-{uuid.uuid4().hex[:8]}"},
        "ledger": {"path": str(tmp_path / "ledger.sqlite")},
        "logging": {"dir": str(tmp_path / "logs")},
        "api": {"enabled": False},
        "simnet": {"speed": 4.0, "launches_per_minute": 40.0},
    }
    cfg = config_with(cfg, base)
    return config_with(cfg, changes) if changes else cfg


@contextmanager
def running_system(cfg: Config, n_shards: int = 2, start_market: bool = True, live: bool = False):
    """live=True: started as `launchray run --confirm-live` starts it (the Executor gets the live opt-in proof)."""
    proof = None
    if live:
        from actors.commands.run import live_opt_in
        proof = live_opt_in(cfg, True, {})
        assert not isinstance(proof, str), proof
    system = TradingSystem(cfg, n_shards, live_opt_in=proof)
    try:
        system.start(start_market=start_market)
        yield system
    finally:
        system.teardown()


def run_for(system: TradingSystem, seconds: float, hooks: dict[float, object] | None = None) -> None:
    """Let the system trade for `seconds`, calling hooks[t](system) once when t seconds have passed."""
    hooks = dict(sorted((hooks or {}).items()))
    start = time.time()
    while time.time() - start < seconds:
        elapsed = time.time() - start
        for t in [t for t in hooks if t <= elapsed]:
            hooks.pop(t)(system)
        time.sleep(0.2)


def open_ledger(path: str) -> LedgerStore:
    return LedgerStore(path, readonly=True)
