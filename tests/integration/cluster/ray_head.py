"""A real `ray start --head` on loopback for one test: its own free ports and temp dir, and stopped by killing
only the processes of that temp dir (never `ray stop`, which stops every Ray on the machine)."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


RAY = str(Path(sys.executable).with_name("ray")) if Path(sys.executable).with_name("ray").exists() \
    else shutil.which("ray") or "ray"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line), read from /proc (no psutil in this environment)."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out[int(d.name)] = (ppid, cmd)
    return out


def _ours(temp_dir: str) -> set[int]:
    """Every process whose command line names our temp dir, and their descendants."""
    procs = _processes()
    pids = {pid for pid, (_, cmd) in procs.items() if temp_dir in cmd and pid != os.getpid()}
    grew = True
    while grew:
        more = {pid for pid, (ppid, _) in procs.items() if ppid in pids} - pids - {os.getpid()}
        pids |= more
        grew = bool(more)
    return pids


def _signal(pids: set[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_head(temp_dir: str) -> None:
    pids = _ours(temp_dir)
    _signal(pids, signal.SIGTERM)
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.2)
    _signal(pids | _ours(temp_dir), signal.SIGKILL)


def head_env(temp_dir: str) -> dict[str, str]:
    """The environment for the head and every client of it: token auth with a token of its own (as cluster.yaml
    runs it; Ray also turns token auth on by itself when ~/.ray/auth_token exists), no inherited RAY_ADDRESS."""
    token = Path(temp_dir) / "auth_token"
    if not token.exists():
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS" and not k.startswith("RAY_AUTH")}
    return env | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}


@contextmanager
def ray_head(num_cpus: int = 2):
    """Yields (gcs_address, dashboard_url, temp_dir)."""
    temp_dir = tempfile.mkdtemp(prefix="lrhead", dir="/tmp")     # short: Ray's socket paths must fit 107 bytes
    gcs, dash = free_port(), free_port()
    args = [RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={gcs}", f"--num-cpus={num_cpus}",
            "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
            f"--dashboard-agent-listen-port={free_port()}", f"--dashboard-agent-grpc-port={free_port()}",
            f"--metrics-export-port={free_port()}", f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}", f"--ray-client-server-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}", f"--temp-dir={temp_dir}", "--disable-usage-stats"]
    env = head_env(temp_dir)
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        url = f"http://127.0.0.1:{dash}"
        deadline = time.time() + 60
        while time.time() < deadline:       # the job API answers once the dashboard's head module is up
            r = subprocess.run([RAY, "job", "list", "--address", url], env=env, capture_output=True, text=True)
            if r.returncode == 0:
                break
            time.sleep(1)
        yield f"127.0.0.1:{gcs}", url, temp_dir
    finally:
        kill_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
