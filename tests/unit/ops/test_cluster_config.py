"""cluster.yaml and the docs' local-provider example, checked offline the way `ray up` checks them."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def schema():
    import ray.autoscaler

    return json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())


@pytest.fixture(scope="module")
def cluster():
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def docs_local_example() -> dict:
    text = (ROOT / "docs" / "cluster.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    (local,) = [b for b in blocks if "type: local" in b]
    return yaml.safe_load(local)


def test_cluster_yaml_matches_rays_schema(cluster, schema):
    jsonschema.validate(cluster, schema)


def test_cluster_yaml_survives_rays_own_preparation_and_validation(cluster):
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(cluster)      # what `ray up` does: merge provider defaults, fill node-type limits
    validate_config(prepared)
    assert prepared["provider"]["type"] == "aws"
    assert prepared["available_node_types"]["analyzer"]["max_workers"] == 4


def test_worker_limits_are_explicit_and_consistent(cluster):
    # Ray's default top-level max_workers (2) would silently cap the node types: it must be set
    assert "max_workers" in cluster
    types = cluster["available_node_types"]
    assert cluster["head_node_type"] in types
    workers = {k: v for k, v in types.items() if k != cluster["head_node_type"]}
    assert workers
    for name, t in workers.items():
        assert t.get("max_workers", 0) <= cluster["max_workers"], name
    assert sum(t.get("min_workers", 0) for t in types.values()) <= cluster["max_workers"]


def test_nodes_install_the_project_and_start_ray_with_auth_and_metrics(cluster):
    setup = " ".join(cluster["setup_commands"])
    assert "pip install" in setup and "-e ~/launchray" in setup      # the checkout file_mounts copies
    assert "ray[default]==2.60.0" in setup
    head = " ".join(cluster["head_start_ray_commands"])
    worker = " ".join(cluster["worker_start_ray_commands"])
    for cmd in (head, worker):
        assert "RAY_AUTH_MODE=token" in cmd and "--metrics-export-port=8080" in cmd
    assert "--head" in head and "--dashboard-host=127.0.0.1" in head
    assert "$RAY_HEAD_IP:6379" in worker
    assert cluster["file_mounts"] == {"~/.ray/auth_token": "~/.ray/auth_token", "~/launchray": "."}
    # the job launcher written on the head submits `launchray run` as a Ray job
    launcher = " ".join(cluster["head_setup_commands"])
    assert "ray job submit" in launcher and "launchray run" in launcher and "launchray-job.sh" in launcher


def test_docs_local_provider_example_is_valid(schema):
    from ray.autoscaler._private.util import prepare_config, validate_config

    local = docs_local_example()
    jsonschema.validate(local, schema)
    assert local["provider"]["type"] == "local"
    assert local["max_workers"] == len(local["provider"]["worker_ips"])
    prepared = prepare_config(local)
    validate_config(prepared)
    # the local provider builds one node type from the IP lists: both listed workers, no more, no fewer
    (node_type,) = prepared["available_node_types"].values()
    assert (node_type["min_workers"], node_type["max_workers"]) == (2, 2)


def test_docs_cover_job_submit_and_notebook_attach():
    text = (ROOT / "docs" / "cluster.md").read_text()
    assert "ray job submit" in text
    assert 'ray.init(address="auto", namespace="launchray-live")' in text      # the live profile's namespace
    assert "auth_token" in text and "RAY_AUTH_TOKEN_PATH" in text


def test_docs_list_every_exported_series():
    from actors.metrics import METRIC_NAMES, exported_names

    text = (ROOT / "docs" / "cluster.md").read_text()
    for name in METRIC_NAMES:
        assert f"`{exported_names(name)[0]}" in text, name


def test_the_head_starts_ray_with_the_system_config_launchray_gives_its_own_ray(cluster):
    import shlex

    from actors.priority import ray_system_config
    from pipelines.config import load_config
    words = shlex.split(" ".join(cluster["head_start_ray_commands"]))
    (arg,) = [w for w in words if w.startswith("--system-config=")]
    assert json.loads(arg.split("=", 1)[1]) == ray_system_config(load_config("sim", env={}))
