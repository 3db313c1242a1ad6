"""The config an actor starts with: the profile's, plus the runtime changes (`PATCH /api/v1/config`) the ledger
recorded during this run.

Every actor that holds runtime-changeable config calls `restore(cfg, component)` at the top of its constructor,
before it builds anything from `cfg`: Ray runs no method of an actor before its constructor returns, so a
restarted actor's first decision already uses the changed values (a lowered risk limit is in force at once,
not when the ControlPlane next re-pushes the config). The folding itself is pipelines.config_patch.fold_recorded.

Only a restarted actor reads anything: on its first start a holder starts before the ControlPlane (Supervisor.start
order), so no change can have been made yet in this run, and the start costs no extra calls. "This run" starts at
the Supervisor's `started_at` (kept across Supervisor restarts): changes recorded by earlier runs on the same
ledger are not folded (a new run starts from its profile), as in the ControlPlane. Without a Supervisor (an actor
built on its own, in a test) or when the reads fail, the actor starts with the profile's config and says so in
its log; the ControlPlane's re-push still reaches it.
"""
from __future__ import annotations

import logging

import ray

from actors import names
from pipelines.config import Config
from pipelines.config_patch import fold_recorded

log = logging.getLogger("launchray.runtime_config")

READ_TIMEOUT_S = 5.0


def restore(cfg: Config, component: str, timeout_s: float = READ_TIMEOUT_S) -> Config:
    """`cfg` with this run's recorded runtime changes folded over it (`cfg` itself when there are none)."""
    if not _restarted():
        return cfg     # a first start: every holder starts before the ControlPlane, so this run has no change yet
    ns = cfg.ray.namespace
    try:
        supervisor = ray.get_actor(names.SUPERVISOR, namespace=ns)
        ledger = ray.get_actor(names.LEDGER, namespace=ns)
    except ValueError:
        return cfg              # no running system around this actor: nothing was changed at runtime
    try:
        info, changes = ray.get([supervisor.info.remote(), ledger.config_changes.remote()], timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 - an actor starts on its profile rather than not at all
        log.warning("%s: recorded config changes not read (%s); starting on the profile's config until the "
                    "control plane re-sends it", component, type(exc).__name__)
        return cfg
    folded = fold_recorded(cfg, changes, float(info.get("started_at") or 0.0))
    if folded.skipped:
        log.warning("%s: recorded config changes no longer valid, skipped: %s", component, ", ".join(folded.skipped))
    if folded.changed:
        log.info("%s: started with %d runtime config changes recorded during this run", component, folded.applied)
    return folded.config


def _restarted() -> bool:
    """Is this actor a restart (Ray re-created it after its process died)? False outside an actor."""
    try:      # is_initialized first: get_runtime_context() would start a local Ray where there is none
        return ray.is_initialized() and bool(ray.get_runtime_context().was_current_actor_reconstructed)
    except Exception:  # noqa: BLE001 - not in an actor, or no Ray: nothing to restore
        return False


__all__ = ["restore"]
