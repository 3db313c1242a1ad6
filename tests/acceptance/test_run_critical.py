"""`launchray run` (a real subprocess with its own Ray and embedded simnet) stops with exit code 3 and a one-line
reason when the error level goes CRITICAL: here every RPC request fails (simnet's `POST /admin/faults`,
http_5xx_rate = 1.0) for longer than errors.rpc_down_critical_s. With no control API (api.enabled = false) the
Supervisor sends the level's alerts itself: the urgent CRITICAL one (after the DEGRADED one) reaches a webhook on
127.0.0.1 before the process ends."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.integration.control.test_observability_live import Receiver

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _profile(tmp: Path, hook: str = "") -> Path:
    path = tmp / "critical.toml"
    path.write_text(f"""
extends = "sim"
[ray]
namespace = "lr-critical-{uuid.uuid4().hex[:8]}"
shards = 1
[ledger]
path = "{tmp / 'ledger.sqlite'}"
[logging]
dir = "{tmp / 'logs'}"
[api]
enabled = false
[alerts]
webhook_url = "{hook}"
min_interval_s = 0.0
[simnet]
speed = 4.0
launches_per_minute = 20.0
[rpc]
backoff_max_s = 0.5
[execution]
confirm_timeout_s = 5.0
[errors]
degrade_after_s = 1.0
rpc_down_critical_s = 3.0
on_critical = "report"
""")
    return path


def test_run_exits_non_zero_with_a_one_line_reason_on_critical(tmp_path):
    with Receiver() as hook:
        _run_until_critical(tmp_path, hook)
    kinds = [a["kind"] for a in hook.alerts]
    # DEGRADED comes first, unless a slow check (a loaded machine) saw the outage only once it was past the limit
    assert "critical" in kinds and kinds.index("degraded" if "degraded" in kinds else "critical") <= \
        kinds.index("critical"), kinds
    critical = next(a for a in hook.alerts if a["kind"] == "critical")
    assert critical["urgent"] is True and "rpc_down_too_long" in critical["fields"]
    assert critical["fields"]["action"].startswith("entries halted; positions: report")


def _run_until_critical(tmp_path: Path, hook) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "actors.cli", "run", "--profile", str(_profile(tmp_path, hook.url)),
                             "--duration", "120", "--summary-json", str(tmp_path / "summary.json")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not any(" actors up " in ln for ln in lines):
            assert proc.poll() is None, (lines, proc.stderr.read())
            time.sleep(0.2)
        http = next(re.match(r"simnet: (\S+) ", ln).group(1) for ln in lines if ln.startswith("simnet: "))
        started = time.time()
        req = urllib.request.Request(f"{http}/admin/faults", data=json.dumps({"http_5xx_rate": 1.0}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    stderr = proc.stderr.read()
    reader.join(5)
    assert code == 3, (code, stderr[-2000:], lines[-10:])
    assert time.time() - started >= 3.0                      # not before the outage lasted rpc_down_critical_s
    reason = [ln for ln in stderr.splitlines() if ln.startswith("launchray run: ")]
    assert len(reason) == 1, stderr[-2000:]
    assert reason[0].startswith("launchray run: critical: all 1 RPC endpoint(s) failing"), reason
    assert re.search(r"for \d+ s", reason[0]), reason
    assert any(ln.startswith("launchray: CRITICAL, stopping: critical: ") for ln in lines), lines[-10:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["health"]["level"] == "critical"
    assert summary["health"]["reasons"][0]["cause"] == "rpc_down_too_long"
