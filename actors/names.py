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


def shard_name(i: int) -> str:
    return f"{SHARD_PREFIX}{i}"


# Restart forever; retry in-flight calls on the restarted actor (methods are idempotent for this reason).
RESTARTABLE = {"max_restarts": -1, "max_task_retries": -1, "lifetime": "detached"}
