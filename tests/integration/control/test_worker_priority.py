"""A Ray that launchray starts runs its workers at `ray.worker_niceness` (Ray's own default is nice 15)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(os.nice(0) != 0, reason="the test process is already niced: worker niceness is relative to it")
def test_ray_started_with_the_system_config_runs_workers_at_the_configured_niceness():
    code = """
import os, ray
from actors.priority import ray_system_config
from pipelines.config import config_with, load_config
cfg = config_with(load_config("sim", env={}), {"ray": {"worker_niceness": 3}})
ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
         _system_config=ray_system_config(cfg))
@ray.remote(num_cpus=0)
class Probe:
    def nice(self):
        return os.nice(0)
print(ray.get(Probe.remote().nice.remote()))
ray.shutdown()
"""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "3"


def test_ray_started_with_the_system_config_passes_large_calls_inline():
    # A 1 MiB result (the size of a 3,000-event shard batch) stays out of the object store with the default
    # ray.inline_object_bytes (4 MiB); at Ray's own 100 KiB it goes through it.
    code = """
import sys, ray
from ray._private.internal_api import memory_summary
from actors.priority import ray_system_config
from pipelines.config import config_with, load_config
cfg = load_config("sim", env={})
if sys.argv[1] == "small":
    cfg = config_with(cfg, {"ray": {"inline_object_bytes": 100 * 1024}})
ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
         _system_config=ray_system_config(cfg))
@ray.remote(num_cpus=0)
class Probe:
    def blob(self, n):
        return b"x" * n
ref = Probe.remote().blob.remote(1 << 20)
assert len(ray.get(ref)) == 1 << 20
print(memory_summary(address=ray.get_runtime_context().gcs_address, stats_only=True).split("Plasma memory usage")[1].split(",")[1].split()[0])
ray.shutdown()
"""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    stored = {}
    for size in ("default", "small"):
        out = subprocess.run([sys.executable, "-c", code, size], capture_output=True, text=True, timeout=120,
                             cwd=ROOT, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        stored[size] = int(out.stdout.split()[-1])       # objects in the shared-memory store
    assert stored == {"default": 0, "small": 1}
