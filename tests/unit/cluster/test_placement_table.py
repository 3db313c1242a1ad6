"""The placement table (pipelines/placement.py): which node holds the state, what spreads."""
import pytest

from actors import names
from pipelines.placement import (HEAD_RESOURCE, STATE_RESOURCE, Node, Placement, Restart, StateNode, component,
                                 state_node)

HEAD = Node("h", True, {"CPU": 2.0, HEAD_RESOURCE: 1.0, "node:10.0.0.1": 1.0})
W1 = Node("w1", True, {"CPU": 2.0, "node:10.0.0.2": 1.0})
W2 = Node("w2", True, {"CPU": 2.0, STATE_RESOURCE: 1.0})


def test_every_stateful_component_of_the_issue_is_placed_on_the_state_node():
    for name in (names.LEDGER, names.EXECUTOR, names.RISK, names.ORCHESTRATOR, names.POSITIONS, names.SUPERVISOR,
                 names.CONTROL, names.SIMNET, names.REPLAY):
        assert component(name).placement is Placement.STATE, name


def test_shards_spread_and_restart_forever_the_replay_never():
    assert component(names.shard_name(0)) == component(names.shard_name(17))
    assert component(names.shard_name(3)).placement is Placement.SPREAD
    assert component(names.shard_name(3)).restart is Restart.FOREVER
    assert component(names.REPLAY).restart is Restart.NEVER


def test_every_actor_name_has_a_row():
    for n in (names.SUPERVISOR, names.SIMNET, names.LEDGER, names.RPC_POOL, names.INGEST, names.MOMENTUM,
              names.ORCHESTRATOR, names.RISK, names.EXECUTOR, names.POSITIONS, names.CONTROL, names.REPLAY):
        component(n)
    with pytest.raises(KeyError, match="placement table"):
        component("mystery")


def test_state_node_is_the_custom_resource_when_declared_else_the_head():
    assert state_node([HEAD, W1]) == StateNode(node_id="h")
    assert state_node([W1, HEAD, W2]) == StateNode(resource=STATE_RESOURCE)
    dead_w2 = Node("w2", False, W2.resources)
    assert state_node([HEAD, dead_w2]) == StateNode(node_id="h")      # a dead node declares nothing
    with pytest.raises(ValueError, match="nowhere to put the ledger"):
        state_node([W1])
