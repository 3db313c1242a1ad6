"""Actor names and the options every actor is created with (one namespace; notebooks attach by name)."""
from __future__ import annotations

SUPERVISOR = "supervisor"
SIMNET = "simnet"
LEDGER = "ledger"
RPC_POOL = "rpc_pool"
INGEST = "ingest"
SHARD_PREFIX = "analyzer_shard_"
MOMENTUM = "momentum_engine"
ORCHESTRATOR = "orchestrator"
RISK = "risk_supervisor"
EXECUTOR = "executor"
POSITIONS = "position_tracker"
CONTROL = "control_plane"
REPLAY = "replay_feed"      # replay mode only: feeds a recording through the system (actors/replay.py)


def shard_name(i: int) -> str:
    return f"{SHARD_PREFIX}{i}"


# Restart forever; retry in-flight calls on the restarted actor (methods are idempotent for this reason).
RESTARTABLE = {"max_restarts": -1, "max_task_retries": -1, "lifetime": "detached"}


class Peers:
    """Handles of the other actors in this system's namespace, each looked up once.

    The namespace must be explicit: inside an actor, ray.get_actor defaults to the namespace of the driver that
    started Ray, which is not the system's when tests or notebooks share a cluster. A handle stays valid across
    its actor's restarts, so caching it is safe (and spares a GCS round trip per call).
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._handles: dict = {}

    def __call__(self, name: str):
        handle = self._handles.get(name)
        if handle is None:
            import ray
            handle = self._handles[name] = ray.get_actor(name, namespace=self.namespace)
        return handle

    async def warm(self, *names: str, within_s: float = 30.0) -> set[str]:
        """Look up and ping each peer once, in the background of an actor's start, so the first real call on the
        decision path (the first snipe) pays no name lookup or connection setup. A peer not started yet is
        retried for `within_s`; returns the names reached."""
        import asyncio
        import time
        deadline, left = time.monotonic() + within_s, set(names)
        while left and time.monotonic() < deadline:
            for name in sorted(left):
                try:
                    await self(name).ping.remote()
                    left.discard(name)
                except Exception:        # not created yet (or restarting): next round
                    self._handles.pop(name, None)
            if left:
                await asyncio.sleep(0.5)
        return set(names) - left


def incarnation() -> str:
    """Which worker process this actor runs in: it changes when the actor is restarted (what ping returns)."""
    import ray
    return ray.get_runtime_context().get_worker_id()
