"""cluster.yaml against the project: the image's Python and Ray are the ones pyproject and this environment use,
the project is installed from the checkout (no repository URL), the head declares the placement resource the
code asks for, and the job launcher it writes submits what docs/cluster.md says with a grace that fits our
shutdown."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from pipelines.cluster import MIN_ORDERLY_S, RECOMMENDED_STOP_WAIT_S, STOP_MARGIN_S, STOP_WAIT_ENV
from pipelines.placement import STATE_RESOURCE

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cluster() -> dict:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def _image_versions(cluster) -> tuple[str, str]:
    m = re.fullmatch(r"rayproject/ray:(\d+\.\d+\.\d+)-py(\d)(\d+)", cluster["docker"]["image"])
    assert m, cluster["docker"]["image"]
    return m[1], f"{m[2]}.{m[3]}"


def test_the_image_names_the_ray_and_python_versions_of_the_project(cluster):
    import ray

    ray_version, py = _image_versions(cluster)
    assert ray_version == ray.__version__                  # the Ray jobs are submitted with
    pinned = re.search(r'"ray\[default\]==([\d.]+)"', " ".join(cluster["setup_commands"]))
    assert pinned and pinned[1] == ray_version             # pip may not move the image's Ray
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floor = re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"])
    assert tuple(map(int, py.split("."))) >= (int(floor[1]), int(floor[2]))
    ray_floor = re.search(r'"ray\[default\]>=([\d.]+)"', json.dumps(project["dependencies"]).replace('\\"', '"'))
    assert tuple(map(int, ray_version.split("."))) >= tuple(map(int, ray_floor[1].split(".")))


def test_the_project_is_installed_from_the_checkout_not_a_repository_url(cluster):
    mounts = cluster["file_mounts"]
    setup = " ".join(cluster["setup_commands"])
    (remote,) = [r for r, local in mounts.items() if (ROOT / local).resolve() == ROOT]   # "." = the checkout
    assert f"-e {remote}" in setup
    assert (ROOT / mounts[remote] / "pyproject.toml").exists()
    text = (ROOT / "cluster.yaml").read_text() + (ROOT / "docs" / "cluster.md").read_text()
    assert "git clone" not in text and "your-org" not in text


def test_only_the_head_declares_the_state_resource_the_placement_code_asks_for(cluster):
    types = cluster["available_node_types"]
    head = types[cluster["head_node_type"]]
    assert head["resources"][STATE_RESOURCE] == 1
    assert all(STATE_RESOURCE not in t.get("resources", {}) for n, t in types.items()
               if n != cluster["head_node_type"])
    workers = [t for n, t in types.items() if n != cluster["head_node_type"]]
    assert all(0 <= t["min_workers"] <= t["max_workers"] <= cluster["max_workers"] for t in workers)
    assert any(t["max_workers"] > t["min_workers"] for t in workers)          # it can autoscale


def test_the_heads_data_directory_is_on_the_host(cluster):
    # ~/.launchray (the default data_dir) in the container must be a host directory, or `ray up` loses the ledger
    assert any(o.endswith(":/home/ray/.launchray") for o in cluster["docker"]["head_run_options"])


def test_the_launcher_submits_launchray_run_with_a_stop_grace_that_fits_the_shutdown(cluster, tmp_path):
    """Runs the head setup command that writes ~/launchray-job.sh, then the launcher, with a `ray` that prints
    the arguments it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ray").write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    (bin_dir / "ray").chmod(0o755)
    env = {**os.environ, "HOME": str(tmp_path), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    (writer,) = [c for c in cluster["head_setup_commands"] if "launchray-job.sh" in c]
    subprocess.run(["sh", "-c", writer], env=env, check=True)
    out = subprocess.run(["sh", str(tmp_path / "launchray-job.sh"), "paper", "--duration", "5"], env=env,
                         check=True, capture_output=True, text=True).stdout
    argv = json.loads(out)
    assert argv[:4] == ["job", "submit", "--address", "http://127.0.0.1:8265"]
    assert argv[argv.index("--") + 1:] == ["launchray", "run", "--profile", "paper", "--duration", "5"]
    env_vars = json.loads(argv[argv.index("--runtime-env-json") + 1])["env_vars"]
    grace = int(env_vars[STOP_WAIT_ENV])
    assert grace == RECOMMENDED_STOP_WAIT_S and grace - STOP_MARGIN_S >= MIN_ORDERLY_S
    assert "--working-dir" not in argv        # the job's cwd would be inside Ray's session directory
    docs = (ROOT / "docs" / "cluster.md").read_text()
    assert STOP_WAIT_ENV in docs and "launchray run --profile paper" in docs
