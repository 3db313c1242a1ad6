"""`ray job submit -- launchray run` on a real `ray start --head` (loopback), stopped with `ray job stop`: the run
joins that cluster (its actors are in the cluster's state API, not in a private local Ray) and shuts down in
order within the grace period (summary printed, ledger flushed, no open order)."""
from __future__ import annotations

import glob
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from pipelines.ledger import LedgerStore
from tests.integration.cluster.ray_head import RAY, head_env, ray_head

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


def _ray(temp_dir: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([RAY, *args], env=head_env(temp_dir), capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def _wait_for_orders(data_dir: Path, within_s: float) -> tuple[str, dict]:
    deadline = time.time() + within_s
    last: dict = {}
    while time.time() < deadline:
        for path in glob.glob(str(data_dir / "var" / "sim" / "*" / "ledger.sqlite")):
            try:
                last = LedgerStore(path, readonly=True).summary()
            except Exception:        # created but not migrated yet
                continue
            if last.get("orders", 0) > 0:
                return path, last
        time.sleep(1)
    raise AssertionError(f"no order in the ledger within {within_s} s: {last}")


def test_ray_job_submit_joins_the_cluster_and_ray_job_stop_shuts_down_in_order(tmp_path):
    data_dir = tmp_path / "data"
    runtime_env = {"env_vars": {
        "RAY_JOB_STOP_WAIT_TIME_S": "60",               # the grace cluster.yaml's launcher submits with
        "LAUNCHRAY__DATA_DIR": str(data_dir),           # the ledger: <data_dir>/var/sim/<run_id>/ledger.sqlite
        "LAUNCHRAY__API__ENABLED": "false",
        "LAUNCHRAY__RAY__NAMESPACE": "lr-job-test",
        "LAUNCHRAY__SIMNET__SPEED": "4.0",
        "LAUNCHRAY__SIMNET__LAUNCHES_PER_MINUTE": "40.0",
        "LAUNCHRAY__ORCHESTRATOR__STRATEGIES": '["sniper"]',
    }}
    with ray_head() as (gcs, url, temp):
        sub = _ray(temp, "job", "submit", "--address", url, "--no-wait", "--submission-id", "lr-job",
                   "--runtime-env-json", json.dumps(runtime_env), "--",
                   "launchray", "run", "--profile", "sim", "--shards", "1", "--quiet")
        assert sub.returncode == 0, sub.stdout + sub.stderr
        # the same run with its data directory inside this cluster's --temp-dir (not /tmp/ray: only the joined
        # Ray knows it) is refused once it has joined, before it starts anything
        in_temp = {"env_vars": {**runtime_env["env_vars"], "LAUNCHRAY__DATA_DIR": f"{temp}/launchray",
                                "LAUNCHRAY__RAY__NAMESPACE": "lr-job-refused"}}
        bad = _ray(temp, "job", "submit", "--address", url, "--no-wait", "--submission-id", "lr-job-in-temp",
                   "--runtime-env-json", json.dumps(in_temp), "--", "launchray", "run", "--profile", "sim")
        assert bad.returncode == 0, bad.stdout + bad.stderr
        try:
            ledger_path, _ = _wait_for_orders(data_dir, within_s=90)
        except AssertionError:
            print(_ray(temp, "job", "logs", "--address", url, "lr-job").stdout[-4000:])
            raise
        stopped = _ray(temp, "job", "stop", "--address", url, "lr-job", timeout=120)   # waits until it has stopped
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        logs = _ray(temp, "job", "logs", "--address", url, "lr-job").stdout
        status = _ray(temp, "job", "status", "--address", url, "lr-job").stdout
        refused = _ray(temp, "job", "logs", "--address", url, "lr-job-in-temp").stdout
        refused_status = _ray(temp, "job", "status", "--address", url, "lr-job-in-temp").stdout

        # Ray's JobSupervisor says whether SIGTERM was enough or it had to SIGKILL after the grace period
        supervisor_log = "".join(f.read_text(errors="replace")
                                 for f in Path(temp).glob("session_latest/logs/*") if f.is_file())
        listed = _ray(temp, "list", "actors", "--address", gcs, "--filter", "ray_namespace=lr-job-test",
                      "--limit", "1000", "--format", "json")
        assert listed.returncode == 0, listed.stderr[-2000:]
        actors = {a.get("name") for a in json.loads(listed.stdout)}

    assert "was stopped" in status, status
    assert "failed" in refused_status.lower(), refused_status
    assert f"data_dir = {temp}/launchray is inside Ray's temp/session directory {temp}" in refused, refused[-2000:]
    assert "launchray: joining the Ray job's cluster" in refused and "actors up" not in refused
    # joined the job's cluster (RAY_ADDRESS set by the job supervisor), not a private local Ray
    # (the address the job supervisor hands down names the node's IP, whatever the head was started with)
    assert re.search(rf"launchray: joining the Ray job's cluster at [\d.]+:{gcs.rsplit(':', 1)[1]}\n", logs), logs
    assert {"supervisor", "ledger", "executor", "orchestrator", "position_tracker", "simnet",
            "analyzer_shard_0"} <= actors, actors
    # orderly: the shutdown ran to its end (the summary is printed after it returns) before the SIGKILL
    assert "launchray: shutting down" in logs
    assert "Job lr-job has been terminated gracefully with SIGTERM" in supervisor_log
    assert "force-killed with SIGKILL" not in supervisor_log
    summary = json.loads(logs[logs.index("{", logs.index("launchray: shutting down")):logs.rindex("}") + 1])
    assert summary["ledger_path"] == ledger_path and summary["orders"] > 0 and summary["duplicate_orders"] == 0
    store = LedgerStore(ledger_path, readonly=True)
    assert store.open_orders() == []
    assert store.summary()["orders"] == summary["orders"]
