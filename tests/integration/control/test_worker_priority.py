"""A Ray that launchray starts passes its system config: workers at `ray.worker_niceness` (Ray's own default is
nice 15) and calls up to `ray.inline_object_bytes` inline. Each Ray here is its own subprocess (a system config
is fixed when Ray starts, so the session's Ray cannot show it); one Ray checks both settings, a second one the
inline limit lowered."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# argv: worker niceness, inline bytes ("default" keeps the profile's). Prints the Probe worker's niceness and the
# number of objects in the shared-memory store after a 1 MiB result (the size of a 3,000-event shard batch).
PROBE = """
import os, sys, ray
from ray._private.internal_api import memory_summary
from actors.priority import ray_system_config
from pipelines.config import config_with, load_config
changes = {"worker_niceness": int(sys.argv[1])}
if sys.argv[2] != "default":
    changes["inline_object_bytes"] = int(sys.argv[2])
cfg = config_with(load_config("sim", env={}), {"ray": changes})
ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
         _system_config=ray_system_config(cfg))
@ray.remote(num_cpus=0)
class Probe:
    def nice(self):
        return os.nice(0)
    def blob(self, n):
        return b"x" * n
probe = Probe.remote()
nice = ray.get(probe.nice.remote())
ref = probe.blob.remote(1 << 20)
assert len(ray.get(ref)) == 1 << 20
stored = memory_summary(address=ray.get_runtime_context().gcs_address, stats_only=True)
print(nice, stored.split("Plasma memory usage")[1].split(",")[1].split()[0])
ray.shutdown()
"""


def started_ray(niceness: int, inline_bytes: str) -> tuple[int, int]:
    """(the worker's niceness, objects in the object store) in a Ray started with launchray's system config."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(niceness), inline_bytes], capture_output=True,
                         text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    nice, stored = out.stdout.split()[-2:]
    return int(nice), int(stored)


def test_ray_started_with_the_system_config_runs_workers_niced_and_passes_large_calls_inline():
    nice, stored = started_ray(3, "default")
    assert stored == 0       # the profile's ray.inline_object_bytes (4 MiB) keeps a 1 MiB result out of the store
    if os.nice(0) == 0:      # an already niced test process: worker niceness is relative to it
        assert nice == 3
    nice, stored = started_ray(0, str(100 * 1024))
    assert stored == 1       # at Ray's own 100 KiB it goes through the store
    if os.nice(0) == 0:
        assert nice == 0
