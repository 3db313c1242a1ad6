"""Run alone in its own process (one ray.init per process; the test session may have its Ray up): a 3-node
ray.cluster_utils.Cluster on loopback, the whole trading system started on it, and where each actor landed
printed as JSON on the last line: {"head": node_id, "state_worker": node_id, "actors": {name: node_id}}.

argv[1]: a scratch directory; argv[2]: "head" (no node declares launchray_state: the head holds the state) or
"resource" (worker 1 declares it: that worker holds the state)."""
from __future__ import annotations

import json
import os
import sys
import uuid


def main(scratch: str, mode: str) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray.cluster_utils import Cluster

    from actors.system import TradingSystem
    from pipelines.config import config_with, load_config
    from pipelines.placement import STATE_RESOURCE

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    state_worker = cluster.add_node(num_cpus=1, resources={STATE_RESOURCE: 1} if mode == "resource" else {})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    head_id, state_id = cluster.head_node.node_id, state_worker.node_id     # gone after cluster.shutdown()
    ns = f"lr-place-{uuid.uuid4().hex[:6]}"
    ray.init(address=cluster.address, namespace=ns, log_to_driver=False, configure_logging=False)
    cfg = config_with(load_config("sim", env={}), {
        "ray": {"namespace": ns}, "ledger": {"path": f"{scratch}/ledger.sqlite"}, "logging": {"dir": f"{scratch}/logs"},
        "api": {"enabled": True, "port": 0}, "telemetry": {"trace_file": f"{scratch}/traces.jsonl"}})
    system = TradingSystem(cfg, n_shards=3)
    try:
        system.start(start_market=False)
        # the GCS's actor table (this cluster runs no dashboard for the state API; this private cluster holds
        # nothing but this system)
        actors = {a["Name"]: a["Address"]["NodeID"] for a in ray._private.state.actors().values()
                  if a["Name"] and a["State"] == "ALIVE"}
    finally:
        system.teardown()
        ray.shutdown()
        cluster.shutdown()
    print(json.dumps({"head": head_id, "state_worker": state_id, "actors": actors}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
