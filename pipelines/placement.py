"""Where each component runs on a Ray cluster, and how it restarts: one table, read by the Supervisor's spawn and
by TradingSystem (Supervisor, simnet). Pure: the cluster's nodes in, a placement decision out; actors/placement.py
turns it into Ray scheduling options.

Stateful components (the SQLite ledger and the analyzer checkpoints live on one node's disk; the decision path
talks to the ledger on every order) go to the state node: a node carrying the custom resource STATE_RESOURCE
(cluster.yaml declares it on the head), else the head node. They are pinned hard (a restarted actor comes back
where its state is, or not at all: the head going away is the cluster going away). Analyzer shards keep nothing
that cannot be rebuilt and spread over the nodes.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Mapping

STATE_RESOURCE = "launchray_state"      # the custom resource cluster.yaml gives the head node type
STATE_RESOURCE_SHARE = 0.001            # every stateful actor asks this much, so all of them fit on one node
HEAD_RESOURCE = "node:__internal_head__"   # Ray's built-in marker resource of the head node


class Placement(Enum):
    STATE = "state"        # on the state node, hard
    SPREAD = "spread"      # Ray's SPREAD strategy over the nodes
    ANY = "any"            # wherever Ray puts it (stateless, cheap to restart)


class Restart(Enum):
    FOREVER = "forever"    # max_restarts=-1, in-flight calls retried (methods are idempotent)
    NEVER = "never"        # a restart would redo work (the replay feed)


@dataclass(frozen=True)
class Component:
    placement: Placement
    restart: Restart


# by actor name (actors/names.py); analyzer shards by the "analyzer_shard_" prefix
COMPONENTS: Mapping[str, Component] = {
    "supervisor": Component(Placement.STATE, Restart.FOREVER),
    "simnet": Component(Placement.STATE, Restart.NEVER),          # embedded chain: its state is in memory
    "ledger": Component(Placement.STATE, Restart.FOREVER),
    "executor": Component(Placement.STATE, Restart.FOREVER),
    "risk_supervisor": Component(Placement.STATE, Restart.FOREVER),
    "orchestrator": Component(Placement.STATE, Restart.FOREVER),
    "position_tracker": Component(Placement.STATE, Restart.FOREVER),
    "control_plane": Component(Placement.STATE, Restart.FOREVER),  # serves the API token file from the data dir
    "replay_feed": Component(Placement.STATE, Restart.NEVER),
    "ingest": Component(Placement.STATE, Restart.FOREVER),         # writes the recording into the data dir
    "rpc_pool": Component(Placement.ANY, Restart.FOREVER),
    "momentum_engine": Component(Placement.ANY, Restart.FOREVER),
}
SHARD = Component(Placement.SPREAD, Restart.FOREVER)
SHARD_PREFIX = "analyzer_shard_"


def component(name: str) -> Component:
    if name.startswith(SHARD_PREFIX):
        return SHARD
    try:
        return COMPONENTS[name]
    except KeyError:
        raise KeyError(f"{name}: not in the placement table (pipelines/placement.py)") from None


@dataclass(frozen=True)
class Node:
    node_id: str
    alive: bool
    resources: Mapping[str, float]


@dataclass(frozen=True)
class StateNode:
    """How to reach the state node: by the custom resource (any node declaring it) or by the head's node id."""
    resource: str = ""
    node_id: str = ""


def state_node(nodes: Iterable[Node]) -> StateNode:
    """The custom resource when a live node declares it, else the live head node's id."""
    alive = [n for n in nodes if n.alive]
    if any(n.resources.get(STATE_RESOURCE, 0) > 0 for n in alive):
        return StateNode(resource=STATE_RESOURCE)
    heads = [n.node_id for n in alive if n.resources.get(HEAD_RESOURCE, 0) > 0]
    if not heads:
        raise ValueError("no live head node in the cluster and no node with the "
                         f"{STATE_RESOURCE!r} resource: nowhere to put the ledger")
    return StateNode(node_id=heads[0])
