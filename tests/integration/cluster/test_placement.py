"""On a multi-node Ray (ray.cluster_utils.Cluster, loopback) every stateful actor runs where the state is (the
head, or the node declaring the launchray_state resource), comes back there when Ray restarts it, and the analyzer
shards spread over the nodes. Runs in a subprocess with its own driver: one ray.init per process, and the
session's Ray may be up."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors import names

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
STATEFUL = {names.LEDGER, names.EXECUTOR, names.RISK, names.ORCHESTRATOR, names.POSITIONS, names.SUPERVISOR,
            names.CONTROL, names.SIMNET, names.INGEST}


@pytest.fixture(scope="module")
def placed(tmp_path_factory) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    scratch = tmp_path_factory.mktemp("placement")
    done = subprocess.run([sys.executable, "-m", "tests.integration.cluster.placement_run", str(scratch)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["head", "resource"])
def test_stateful_actors_run_on_the_state_node_and_shards_spread(placed, mode):
    out = placed[mode]
    state, actors = out["state"], out["actors"]
    assert STATEFUL <= set(actors), sorted(actors)
    assert {n: actors[n] for n in STATEFUL} == {n: state for n in STATEFUL}
    shards = {n: node for n, node in actors.items() if n.startswith(names.SHARD_PREFIX)}
    assert len(shards) == 3
    assert len(set(shards.values())) >= 2, shards        # SPREAD: not all three on one node
    # killed and restarted by Ray, the ledger, executor and position tracker come back to the state node
    assert out["restarted"] == {names.LEDGER: state, names.EXECUTOR: state, names.POSITIONS: state}
