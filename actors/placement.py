"""Ray scheduling options from the placement table (pipelines/placement.py): the shell that asks the cluster for
its nodes and turns a component's Placement into `.options(...)` keywords."""
from __future__ import annotations

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from pipelines.placement import (STATE_RESOURCE_SHARE, Node, Placement, Restart, StateNode, component,
                                 state_node)


def cluster_nodes() -> list[Node]:
    return [Node(str(n.get("NodeID", "")), bool(n.get("Alive")), dict(n.get("Resources") or {}))
            for n in ray.nodes()]


def current_state_node() -> StateNode:
    return state_node(cluster_nodes())


def options_for(name: str, where: StateNode | None = None) -> dict:
    """Scheduling and restart options of the component `name` (`where`: the state node, looked up when None)."""
    c = component(name)
    out: dict = {}
    if c.placement is Placement.STATE:
        where = where or current_state_node()
        if where.resource:
            out["resources"] = {where.resource: STATE_RESOURCE_SHARE}
        else:       # hard: a restart comes back to this node (where the ledger file is) or not at all
            out["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=where.node_id, soft=False)
    elif c.placement is Placement.SPREAD:
        out["scheduling_strategy"] = "SPREAD"
    if c.restart is Restart.NEVER:
        out["max_restarts"] = 0
    return out
