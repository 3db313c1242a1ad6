"""`launchray run` refuses a data directory inside Ray's temp directory before it starts anything."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_run_refuses_a_data_dir_inside_rays_temp_dir_with_a_clear_message(tmp_path):
    env = {**os.environ, "LAUNCHRAY__DATA_DIR": "/tmp/ray/session_latest/launchray", "RAY_ADDRESS": ""}
    env.pop("RAY_TMPDIR", None)
    env.pop("TMPDIR", None)
    done = subprocess.run([sys.executable, "-m", "actors.cli", "run", "--profile", "sim", "--duration", "1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert ("data_dir = /tmp/ray/session_latest/launchray is inside Ray's temp/session directory /tmp/ray"
            in done.stderr), done.stderr
    assert "LAUNCHRAY__DATA_DIR" in done.stderr
    assert "launchray: " not in done.stdout          # no Ray was joined or started
