"""Faults on demand: the failures a real RPC provider shows, injected deterministically (seeded RNG).

Settings come from `SimnetConfig.faults` at start and from `POST /admin/faults` (which replaces them all:
`{}` clears). `GET /admin/faults` shows the settings, how often each fault fired, and the stranger the Jupiter
tamper pays.

  latency_ms              extra delay before every HTTP API response (RPC, Jupiter, Jito)
  http_429_rate           share of HTTP API requests answered 429 Too Many Requests
  http_429_methods        JSON-RPC method names the 429 rate applies to (empty: every request); Jupiter's routes
                          are named "jupiter/quote" and "jupiter/swap"
  http_5xx_rate           share answered 503 Service Unavailable
  timeout_rate            share of HTTP API requests that hang for timeout_s and only then are served (a
                          provider timing out: the client has given up, but a sendTransaction still lands)
  timeout_s               how long such a request hangs (default 10 s)
  timeout_methods         method names the timeout rate applies to (empty: every request), named as above
  drop_notifications      share of WebSocket notifications silently dropped (per subscription)
  malformed_notifications share of WebSocket notifications replaced by a hostile variant (per subscription);
                          each subscription cycles through the kinds in order (simnet/hostile.py): logs_not_strings
                          ("logs": [1,2,3]), signature_list, null_value, null_logs, garbage_text (not JSON),
                          unknown_subscription, deep_nesting, huge_frame (multi-megabyte), binary_frame
  malformed_kinds         restrict the cycle to these kinds (empty: all)
  delay_notifications_ms  delay before each WebSocket notification is sent
  ws_disconnect_rate      chance, per notification batch written to a connection, that it is cut instead
  stale_slots             account reads served as of N slots ago (a lagging node)
  ws_refuse_connections   refuse every new WebSocket connection (HTTP 503 to the upgrade): an outage of the
                          pubsub endpoint, which lasts until cleared (combine with ws_disconnect_now)
  null_transaction_after_confirm_s
                          getTransaction answers null for a transaction until N seconds after it was confirmed,
                          while getSignatureStatuses already shows it confirmed (real providers' indexes lag)
  land_delay_slots        sendTransaction (after its preflight) answers the signature at once but the
                          transaction lands only N slots later (past a client's confirm timeout; past the
                          blockhash's 150 blocks it never lands)
  drop_transactions       share of sent transactions that are accepted and never land (their blockhash expires);
                          decided once per signature, so rebroadcasting a dropped transaction does not land it
  jupiter_tamper          share of Jupiter /swap transactions given an extra instruction that transfers
                          jupiter_tamper_lamports from the user to a stranger (a compromised API); the stranger's
                          address is in GET /admin/faults, so its balance shows whether anyone signed one
  jupiter_tamper_lamports lamports the tampered instruction steals (default 0.01 SOL)
  seed                    RNG seed (default: the simnet seed)
  ws_disconnect_now       action, not a setting: cut every WebSocket connection now
"""
from __future__ import annotations

import hashlib
import random
from collections import OrderedDict
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .hostile import KINDS as MALFORMED_KINDS

MAX_DROPPED_SIGNATURES = 100_000      # dropped signatures remembered (so a rebroadcast stays dropped)


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(0.0, ge=0, le=60_000)
    http_429_rate: float = Field(0.0, ge=0, le=1)
    http_429_methods: tuple[str, ...] = ()
    http_5xx_rate: float = Field(0.0, ge=0, le=1)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    timeout_s: float = Field(10.0, gt=0, le=600)
    timeout_methods: tuple[str, ...] = ()
    drop_notifications: float = Field(0.0, ge=0, le=1)
    malformed_notifications: float = Field(0.0, ge=0, le=1)
    malformed_kinds: tuple[str, ...] = ()
    delay_notifications_ms: float = Field(0.0, ge=0, le=60_000)
    ws_disconnect_rate: float = Field(0.0, ge=0, le=1)
    stale_slots: int = Field(0, ge=0, le=10_000)
    ws_refuse_connections: bool = False
    null_transaction_after_confirm_s: float = Field(0.0, ge=0, le=3_600)
    land_delay_slots: int = Field(0, ge=0, le=10_000)
    drop_transactions: float = Field(0.0, ge=0, le=1)
    jupiter_tamper: float = Field(0.0, ge=0, le=1)
    jupiter_tamper_lamports: int = Field(10_000_000, gt=0, le=10**15)
    seed: int | None = None


class FaultError(ValueError):
    """Settings that cannot be applied; the message names the key."""


_COUNTERS = ("latency", "http_429", "http_5xx", "timeouts", "dropped_notifications", "malformed_notifications",
             "delayed_notifications", "ws_disconnects", "stale_reads", "ws_refused", "null_transactions",
             "delayed_transactions", "dropped_transactions", "tampered_swaps")
_WHOLE = ("stale_slots", "land_delay_slots", "jupiter_tamper_lamports")


def stranger_address(seed: int) -> str:
    """The tampered swap's beneficiary: a fixed, seed-derived address nobody else uses."""
    from solders.keypair import Keypair
    return str(Keypair.from_seed(hashlib.sha256(f"simnet-stranger:{seed}".encode()).digest()).pubkey())


class Faults:
    def __init__(self, settings: dict | None = None, *, seed: int = 7) -> None:
        self._default_seed = seed
        self._disconnect_all: list[Callable[[], int]] = []
        self._on_change: list[Callable[[FaultSettings], None]] = []
        self.fired = dict.fromkeys(_COUNTERS, 0)
        self.fired_kinds: dict[str, int] = {}
        self.settings = FaultSettings()
        self.rng = random.Random(seed)
        self.stranger = stranger_address(seed)
        self._malformed_next: dict[int, int] = {}        # subscription id -> its next kind in the cycle
        self._dropped: OrderedDict[str, None] = OrderedDict()
        self._kinds: tuple[str, ...] = MALFORMED_KINDS
        self.configure(settings or {})

    def configure(self, changes: dict) -> FaultSettings:
        """Replace every setting (missing keys go back to 0). `ws_disconnect_now` cuts connections at once."""
        if not isinstance(changes, dict):
            raise FaultError("faults must be a JSON object")
        changes = dict(changes)
        disconnect_now = bool(changes.pop("ws_disconnect_now", False))
        if "seed" in changes and changes["seed"] is not None:
            changes["seed"] = int(changes["seed"])
        for key in _WHOLE:
            if key in changes:
                v = changes[key]
                if isinstance(v, float) and not v.is_integer():
                    raise FaultError(f"{key} must be a whole number")
                changes[key] = int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if isinstance(changes.get("jupiter_tamper"), bool):
            changes["jupiter_tamper"] = 1.0 if changes["jupiter_tamper"] else 0.0
        try:
            settings = FaultSettings(**changes)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "faults"
            raise FaultError(f"{key}: {first['msg']}") from None
        unknown = set(settings.malformed_kinds) - set(MALFORMED_KINDS)
        if unknown:
            raise FaultError(f"malformed_kinds: unknown kind(s) {sorted(unknown)}; known: {list(MALFORMED_KINDS)}")
        self.settings = settings
        self.rng = random.Random(settings.seed if settings.seed is not None else self._default_seed)
        self._kinds = settings.malformed_kinds or MALFORMED_KINDS
        self._malformed_next.clear()
        for hook in self._on_change:
            hook(settings)
        if disconnect_now:
            self.disconnect_now()
        return settings

    def snapshot(self) -> dict:
        return {"settings": self.settings.model_dump(), "fired": dict(self.fired),
                "malformed_by_kind": dict(self.fired_kinds), "stranger": self.stranger}

    @property
    def active(self) -> bool:
        """Does any fault act on HTTP requests (the gate in front of every API handler)?"""
        s = self.settings
        return bool(s.latency_ms or s.http_429_rate or s.http_5xx_rate or s.timeout_rate or s.drop_notifications
                    or s.delay_notifications_ms or s.ws_disconnect_rate or s.stale_slots or s.ws_refuse_connections)

    @property
    def needs_method(self) -> bool:
        """Must the HTTP gate read the JSON-RPC method name (a fault limited to some methods)?"""
        s = self.settings
        return bool((s.http_429_rate and s.http_429_methods) or (s.timeout_rate and s.timeout_methods))

    # --- HTTP ---
    def http_status(self, methods: frozenset[str] = frozenset()) -> int | None:
        """429 or 503 when this request (calling `methods`) should fail, else None."""
        s = self.settings
        if s.http_429_rate and _applies(s.http_429_methods, methods) and self.rng.random() < s.http_429_rate:
            self.fired["http_429"] += 1
            return 429
        if s.http_5xx_rate and self.rng.random() < s.http_5xx_rate:
            self.fired["http_5xx"] += 1
            return 503
        return None

    def timeout_hang_s(self, methods: frozenset[str] = frozenset()) -> float:
        """Seconds this request hangs before it is served (0: it does not)."""
        s = self.settings
        if s.timeout_rate and _applies(s.timeout_methods, methods) and self.rng.random() < s.timeout_rate:
            self.fired["timeouts"] += 1
            return s.timeout_s
        return 0.0

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

    def malformed_kind(self, sub_id: int) -> str | None:
        """The hostile variant to send this subscription instead of its notification, or None."""
        rate = self.settings.malformed_notifications
        if not rate or self.rng.random() >= rate:
            return None
        i = self._malformed_next.get(sub_id, 0)
        self._malformed_next[sub_id] = i + 1
        kind = self._kinds[i % len(self._kinds)]
        self.fired["malformed_notifications"] += 1
        self.fired_kinds[kind] = self.fired_kinds.get(kind, 0) + 1
        return kind

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

    def hide_transaction(self, confirmed_at: float | None, now: float) -> bool:
        """Should getTransaction answer null for a transaction confirmed at `confirmed_at` (None: not known)?"""
        window = self.settings.null_transaction_after_confirm_s
        if not window or (confirmed_at is not None and now - confirmed_at >= window):
            return False
        self.fired["null_transactions"] += 1
        return True

    # --- sends ---
    def transaction_fate(self, signature: str) -> int | None:
        """What happens to an accepted transaction: None lands now, -1 never lands, n > 0 lands n slots later."""
        s = self.settings
        if signature in self._dropped:
            return -1
        if s.drop_transactions and self.rng.random() < s.drop_transactions:
            self._dropped[signature] = None
            if len(self._dropped) > MAX_DROPPED_SIGNATURES:
                self._dropped.popitem(last=False)
            self.fired["dropped_transactions"] += 1
            return -1
        if s.land_delay_slots:
            self.fired["delayed_transactions"] += 1
            return s.land_delay_slots
        return None

    # --- Jupiter ---
    def tamper_swap(self) -> int:
        """Lamports to steal in this /swap transaction (0: leave it alone)."""
        s = self.settings
        if s.jupiter_tamper and self.rng.random() < s.jupiter_tamper:
            self.fired["tampered_swaps"] += 1
            return s.jupiter_tamper_lamports
        return 0


def _applies(only: tuple[str, ...], methods: frozenset[str]) -> bool:
    """A fault limited to `only` methods applies when the request calls one of them (unlimited: always)."""
    return not only or bool(methods.intersection(only))
