"""Run alone in its own process (one ray.init per process; the test session may have its Ray up): a 3-node
ray.cluster_utils.Cluster on loopback, the whole trading system started on it twice, and where each actor landed
printed as JSON on the last line.

First with no node declaring launchray_state (the head holds the state); then a fourth node declaring it joins
and a second system starts (that node holds the state). Each phase: {"state": node id expected to hold the state,
"actors": {name: node id}, "restarted": {name: node id after a kill and Ray's restart}}.
argv[1]: a scratch directory."""
from __future__ import annotations

import json
import os
import sys
import uuid

RESTARTED = ("ledger", "executor", "position_tracker")


def alive_nodes() -> dict[str, str]:
    """name -> node id of every live named actor (the GCS's actor table: this cluster runs no dashboard for the
    state API; it holds nothing but the system of the phase)."""
    import ray
    return {a["Name"]: a["Address"]["NodeID"] for a in ray._private.state.actors().values()
            if a["Name"] and a["State"] == "ALIVE"}


def phase(scratch: str, ns: str) -> dict:
    import ray

    from actors.system import TradingSystem
    from pipelines.config import config_with, load_config

    cfg = config_with(load_config("sim", env={}), {
        "ray": {"namespace": ns}, "ledger": {"path": f"{scratch}/{ns}/ledger.sqlite"},
        "logging": {"dir": f"{scratch}/{ns}/logs"}, "api": {"enabled": True, "port": 0},
        "telemetry": {"trace_file": f"{scratch}/{ns}/traces.jsonl"}})
    system = TradingSystem(cfg, n_shards=3)
    try:
        system.start(start_market=False)
        actors = alive_nodes()
        for name in RESTARTED:          # a crash: each comes back (Ray restarts it) where its state is
            ray.kill(system.actor(name), no_restart=False)
        for name in RESTARTED:
            ray.get(system.actor(name).ping.remote(), timeout=120)
        after = alive_nodes()
    finally:
        system.teardown()
    return {"actors": actors, "restarted": {n: after.get(n) for n in RESTARTED}}


def main(scratch: str) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray.cluster_utils import Cluster

    from pipelines.placement import STATE_RESOURCE

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    head_id = cluster.head_node.node_id
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    out = {}
    try:
        out["head"] = {"state": head_id, **phase(scratch, f"lr-place-{uuid.uuid4().hex[:6]}")}
        state_node = cluster.add_node(num_cpus=1, resources={STATE_RESOURCE: 1})
        cluster.wait_for_nodes()
        out["resource"] = {"state": state_node.node_id, **phase(scratch, f"lr-place-{uuid.uuid4().hex[:6]}")}
    finally:
        ray.shutdown()
        cluster.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
