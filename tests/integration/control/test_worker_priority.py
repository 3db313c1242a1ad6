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
