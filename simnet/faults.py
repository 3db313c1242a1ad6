"""Faults on demand: the failures a real RPC provider shows, injected deterministically (seeded RNG).

Settings come from `SimnetConfig.faults` at start and from `POST /admin/faults` (which replaces them all:
`{}` clears). `GET /admin/faults` shows the settings and how often each fault fired.

  latency_ms              extra delay before every HTTP API response (RPC, Jupiter, Jito)
  http_429_rate           share of HTTP API requests answered 429 Too Many Requests
  http_5xx_rate           share answered 503 Service Unavailable
  drop_notifications      share of WebSocket notifications silently dropped (per subscription)
  delay_notifications_ms  delay before each WebSocket notification is sent
  ws_disconnect_rate      chance, per notification batch written to a connection, that it is cut instead
  stale_slots             account reads served as of N slots ago (a lagging node)
  ws_refuse_connections   refuse every new WebSocket connection (HTTP 503 to the upgrade): an outage of the
                          pubsub endpoint, which lasts until cleared (combine with ws_disconnect_now)
  seed                    RNG seed (default: the simnet seed)
  ws_disconnect_now       action, not a setting: cut every WebSocket connection now
"""
from __future__ import annotations

import random
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(0.0, ge=0, le=60_000)
    http_429_rate: float = Field(0.0, ge=0, le=1)
    http_5xx_rate: float = Field(0.0, ge=0, le=1)
    drop_notifications: float = Field(0.0, ge=0, le=1)
    delay_notifications_ms: float = Field(0.0, ge=0, le=60_000)
    ws_disconnect_rate: float = Field(0.0, ge=0, le=1)
    stale_slots: int = Field(0, ge=0, le=10_000)
    ws_refuse_connections: bool = False
    seed: int | None = None


class FaultError(ValueError):
    """Settings that cannot be applied; the message names the key."""


_COUNTERS = ("latency", "http_429", "http_5xx", "dropped_notifications", "delayed_notifications",
             "ws_disconnects", "stale_reads", "ws_refused")


class Faults:
    def __init__(self, settings: dict | None = None, *, seed: int = 7) -> None:
        self._default_seed = seed
        self._disconnect_all: list[Callable[[], int]] = []
        self._on_change: list[Callable[[FaultSettings], None]] = []
        self.fired = dict.fromkeys(_COUNTERS, 0)
        self.settings = FaultSettings()
        self.rng = random.Random(seed)
        self.configure(settings or {})

    def configure(self, changes: dict) -> FaultSettings:
        """Replace every setting (missing keys go back to 0). `ws_disconnect_now` cuts connections at once."""
        if not isinstance(changes, dict):
            raise FaultError("faults must be a JSON object")
        changes = dict(changes)
        disconnect_now = bool(changes.pop("ws_disconnect_now", False))
        if "seed" in changes and changes["seed"] is not None:
            changes["seed"] = int(changes["seed"])
        if "stale_slots" in changes:
            stale = changes["stale_slots"]
            if isinstance(stale, float) and not stale.is_integer():
                raise FaultError("stale_slots must be a whole number of slots")
            changes["stale_slots"] = int(stale) if isinstance(stale, (int, float)) else stale
        try:
            settings = FaultSettings(**changes)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "faults"
            raise FaultError(f"{key}: {first['msg']}") from None
        self.settings = settings
        self.rng = random.Random(settings.seed if settings.seed is not None else self._default_seed)
        for hook in self._on_change:
            hook(settings)
        if disconnect_now:
            self.disconnect_now()
        return settings

    def snapshot(self) -> dict:
        return {"settings": self.settings.model_dump(), "fired": dict(self.fired)}

    @property
    def active(self) -> bool:
        s = self.settings
        return bool(s.latency_ms or s.http_429_rate or s.http_5xx_rate or s.drop_notifications
                    or s.delay_notifications_ms or s.ws_disconnect_rate or s.stale_slots or s.ws_refuse_connections)

    # --- HTTP ---
    def http_status(self) -> int | None:
        """429 or 503 when this request should fail, else None."""
        s = self.settings
        if s.http_429_rate and self.rng.random() < s.http_429_rate:
            self.fired["http_429"] += 1
            return 429
        if s.http_5xx_rate and self.rng.random() < s.http_5xx_rate:
            self.fired["http_5xx"] += 1
            return 503
        return None

    def latency_s(self) -> float:
        if self.settings.latency_ms:
            self.fired["latency"] += 1
        return self.settings.latency_ms / 1000.0

    # --- notifications ---
    def drop_notification(self) -> bool:
        rate = self.settings.drop_notifications
        if rate and self.rng.random() < rate:
            self.fired["dropped_notifications"] += 1
            return True
        return False

    def notification_delay_s(self) -> float:
        return self.settings.delay_notifications_ms / 1000.0

    def note_delayed(self, n: int) -> None:
        self.fired["delayed_notifications"] += n

    def cut_connection(self) -> bool:
        rate = self.settings.ws_disconnect_rate
        if rate and self.rng.random() < rate:
            self.fired["ws_disconnects"] += 1
            return True
        return False

    def refuse_connection(self) -> bool:
        """Should this WebSocket upgrade be refused (the pubsub endpoint is down)?"""
        if self.settings.ws_refuse_connections:
            self.fired["ws_refused"] += 1
            return True
        return False

    def on_change(self, hook: Callable[[FaultSettings], None]) -> None:
        """Call hook(settings) now and whenever the settings change."""
        self._on_change.append(hook)
        hook(self.settings)

    def on_disconnect_now(self, cut_all: Callable[[], int]) -> None:
        """Register the pubsub server's `cut every connection` hook (returns how many were cut)."""
        self._disconnect_all.append(cut_all)

    def disconnect_now(self) -> int:
        n = sum(cut() for cut in self._disconnect_all)
        self.fired["ws_disconnects"] += n
        return n

    # --- reads ---
    @property
    def stale_slots(self) -> int:
        return self.settings.stale_slots

    def note_stale_read(self) -> None:
        self.fired["stale_reads"] += 1
