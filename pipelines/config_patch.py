"""Runtime configuration changes (`PATCH /api/v1/config`): validate a change, apply it, say what changed.

Pure: Config in, Config + diff out. The ControlPlane records the diff in the ledger and hands the new Config
to every actor that holds one; nothing here knows about actors.

What may change at runtime is listed in RUNTIME_KEYS: the risk limits and the blacklist, the scoring weights and
thresholds, the exit rules, the concurrency cap, and the analysis safety thresholds. Everything else either
shapes state that already exists (analysis windows and buffer layouts, the starting capital the risk book was
built on), or is wiring (endpoints, paths, mode, wallet), and needs a restart with a new profile.

A change is a JSON object, nested by section or with dotted keys, in any mix:
    {"risk": {"max_open_positions": 3}, "scoring.min_score": 0.6, "scoring.feature_weights.velocity": 0.2}
A dict-valued key (scoring.feature_weights) is merged key by key; every other value replaces the old one
(lists such as risk.blacklist are replaced whole). Values must have the JSON type of the key (no "5" for 5,
no true for 1). The first problem found is reported with the key it concerns.

`fold_recorded` rebuilds the runtime config from the ledger's audit rows: every holder calls it (through
actors/runtime_config.py) when it starts, so an actor restarted mid-run decides with the changes already made.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from pipelines.config import Config, ConfigError, config_with
from pipelines.ledger.keyguard import SecretRefused, refuse_secrets
from pipelines.scoring.momentum import MomentumModel

ALL = None  # every key of the section

RUNTIME_KEYS: dict[str, frozenset[str] | None] = {
    "risk": frozenset({
        "max_position_sol", "max_open_positions", "max_concentration", "max_portfolio_heat", "daily_loss_limit",
        "drawdown_halt", "consecutive_loss_pause", "consecutive_loss_pause_s", "token_cooldown_s",
        "reservation_ttl_s", "leverage_cap", "blacklist", "clamp_to_max_position"}),
    "scoring": ALL,
    "exits": ALL,
    "orchestrator": frozenset({"max_concurrent_executions"}),
    "analysis": frozenset({
        "max_top5_holder_share", "min_initial_liquidity_sol", "require_mint_authority_revoked",
        "require_freeze_authority_revoked", "creator_blacklist", "max_dev_sell_share", "rug_liquidity_drop",
        "rug_min_peak_liquidity_sol", "min_lp_burned_share"}),
}

_WHY_NOT: dict[str, str] = {
    "risk.starting_capital_sol": "the risk book's capital is set when it is created",
    "analysis": "it shapes the token state already held by the shards",
    "orchestrator": "the decision loop reads it once at start",
}


class PatchError(ValueError):
    """A change that cannot be applied; `key` names the offending key ("(body)" for the whole request)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True, slots=True)
class ConfigPatch:
    config: Config
    diff: dict[str, dict[str, Any]]     # "section.key" -> {"old": ..., "new": ...}; only keys whose value changed

    @property
    def changed(self) -> bool:
        return bool(self.diff)


def runtime_keys(cfg: Config) -> list[str]:
    """Every "section.key" that may change at runtime."""
    out = []
    for section, allowed in RUNTIME_KEYS.items():
        fields = type(getattr(cfg, section)).model_fields
        out += [f"{section}.{k}" for k in fields if allowed is ALL or k in allowed]
    return out


def runtime_view(cfg: Config) -> dict[str, dict[str, Any]]:
    """The current values of the runtime keys, nested by section, as JSON."""
    dumped = cfg.model_dump(mode="json")
    out: dict[str, dict[str, Any]] = {}
    for key in runtime_keys(cfg):
        section, name = key.split(".", 1)
        out.setdefault(section, {})[name] = dumped[section][name]
    return out


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null" if v is None else type(v).__name__


def _leaves(patch: dict) -> list[tuple[str, str, Any]]:
    """(section, key, value) for every change, whether written nested or dotted."""
    out: list[tuple[str, str, Any]] = []
    for raw_key, value in patch.items():
        if not isinstance(raw_key, str) or not raw_key:
            raise PatchError("(body)", "keys must be non-empty strings")
        parts = raw_key.split(".")
        if len(parts) == 1:
            if raw_key not in _SECTIONS:
                raise PatchError(raw_key, "unknown section")
            if not isinstance(value, dict):
                raise PatchError(raw_key, "a section takes an object of keys, e.g. {\"risk\": {\"max_open_positions\": 5}}")
            if not value:
                raise PatchError(raw_key, "no keys given")
            for k, v in value.items():
                out += _leaves({f"{raw_key}.{k}": v})
        elif len(parts) == 2:
            out.append((parts[0], parts[1], value))
        elif len(parts) == 3:          # one entry of a dict-valued key: scoring.feature_weights.velocity
            out.append((parts[0], parts[1], {parts[2]: value}))
        else:
            raise PatchError(raw_key, "unknown key")
    return out


_SECTIONS = frozenset(k for k, f in Config.model_fields.items() if hasattr(f.annotation, "model_fields"))
PUBKEY_LISTS = frozenset({"risk.blacklist", "analysis.creator_blacklist"})


def _check_key(cfg: Config, section: str, key: str) -> None:
    name = f"{section}.{key}"
    if section not in _SECTIONS:
        raise PatchError(section, "unknown section")
    fields = type(getattr(cfg, section)).model_fields
    if key not in fields:
        raise PatchError(name, "unknown key")
    allowed = RUNTIME_KEYS.get(section, frozenset())
    if allowed is not ALL and key not in allowed:
        why = _WHY_NOT.get(name) or _WHY_NOT.get(section) or "it is wiring, not a trading parameter"
        raise PatchError(name, f"cannot change at runtime ({why}); restart with a new profile")


def _check_pubkeys(name: str, values: list) -> None:
    for i, v in enumerate(values):
        try:
            Pubkey.from_string(v)
        except (ValueError, TypeError):
            raise PatchError(f"{name}[{i}]", "not a base58 public key") from None


def _first_error(exc: ConfigError) -> PatchError:
    # config_with reports "change: <section.key>: <message>" per problem (pipelines.config._describe).
    line = str(exc).splitlines()[0]
    parts = line.split(": ", 2)
    if len(parts) == 3:
        return PatchError(parts[1], parts[2])
    return PatchError("(body)", line)


def apply_patch(cfg: Config, patch: Any) -> ConfigPatch:
    """Validate `patch` against the runtime keys and the Config model; return the new Config and the diff.

    Raises PatchError naming the first offending key. The result is all or nothing: a patch with one bad key
    changes nothing.
    """
    if not isinstance(patch, dict) or not patch:
        raise PatchError("(body)", "expected a non-empty JSON object of changes, "
                                   "e.g. {\"risk\": {\"max_open_positions\": 5}}")
    current = cfg.model_dump(mode="json")
    nested: dict[str, dict[str, Any]] = {}
    for section, key, value in _leaves(patch):
        name = f"{section}.{key}"
        _check_key(cfg, section, key)
        old = current[section][key]
        if _kind(value) != _kind(old) and old is not None:
            raise PatchError(name, f"expected a {_kind(old)}, got a {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise PatchError(name, "must be a finite number")
        try:
            refuse_secrets(value, name)
        except SecretRefused:
            raise PatchError(name, "looks like a secret key; refusing to store it") from None
        if name in PUBKEY_LISTS:
            _check_pubkeys(name, value)
        if isinstance(value, dict):
            value = {**nested.get(section, {}).get(key, {}), **value}
        nested.setdefault(section, {})[key] = value
    weights = nested.get("scoring", {}).get("feature_weights")
    if weights is not None:
        bad = MomentumModel.check_weights({**cfg.scoring.feature_weights, **weights})
        if bad:
            raise PatchError("scoring.feature_weights", bad[0])
    try:
        new = config_with(cfg, nested)
    except ConfigError as exc:
        raise _first_error(exc) from None
    after = new.model_dump(mode="json")
    diff = {f"{s}.{k}": {"old": current[s][k], "new": after[s][k]}
            for s, keys in nested.items() for k in keys if current[s][k] != after[s][k]}
    return ConfigPatch(new, diff)


def replay(cfg: Config, diffs: list[dict[str, dict[str, Any]]]) -> tuple[Config, list[str]]:
    """Re-apply recorded diffs ({"section.key": {"old", "new"}}) in order, e.g. after a ControlPlane restart.

    A recorded change that no longer validates (the code changed underneath) is skipped and its key returned.
    """
    skipped: list[str] = []
    for diff in diffs:
        for key, change in diff.items():
            if not isinstance(change, dict) or "new" not in change or key.count(".") != 1:
                skipped.append(str(key))
                continue
            section, name = key.split(".")
            try:
                cfg = apply_patch(cfg, {section: {name: change["new"]}}).config
            except PatchError:
                skipped.append(key)
    return cfg, skipped


@dataclass(frozen=True, slots=True)
class RecordedConfig:
    """The profile's config with the runtime changes recorded during this run folded over it."""
    config: Config
    applied: int                 # recorded changes of this run folded in
    earlier: int                 # changes recorded by earlier runs: not folded (a new run starts from its profile)
    skipped: tuple[str, ...]     # keys of this run's changes that no longer validate

    @property
    def changed(self) -> bool:
        return self.applied > 0


def fold_recorded(profile: Config, changes: Iterable, run_started_at: float) -> RecordedConfig:
    """Fold the ledger's config changes ((ts, who, diff) rows, oldest first) recorded at or after
    `run_started_at` over `profile`, in order: the config every holder must run with during this run.

    What a restarted actor (or ControlPlane) calls before its first decision. Rows that are not
    (ts, who, dict) are skipped and named, never raised: a bad audit row must not keep an actor down.
    """
    this_run: list[dict] = []
    earlier = 0
    skipped: list[str] = []
    for row in changes:
        try:
            ts, _who, diff = row
            ts = float(ts)
        except (TypeError, ValueError):
            skipped.append("(row)")
            continue
        if not isinstance(diff, dict):
            skipped.append("(row)")
        elif ts >= run_started_at:
            this_run.append(diff)
        else:
            earlier += 1
    cfg, bad = replay(profile, this_run)
    return RecordedConfig(cfg, len(this_run), earlier, tuple(skipped + bad))


__all__ = ["ConfigPatch", "PatchError", "RUNTIME_KEYS", "RecordedConfig", "apply_patch", "fold_recorded", "replay",
           "runtime_keys", "runtime_view"]
