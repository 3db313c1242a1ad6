"""Orchestrator (live mode) without a Ray cluster: the class Ray would host, with a stand-in RiskSupervisor handle.

What must hold: a sniper launch's risk call is made inside `on_launches`, before it returns to Ingest (a task
would make it only after the reply), carrying the detection; the answer then settles the entry (counts, in-flight,
the queue's mark); a RiskSupervisor that cannot be called costs the entry, never the loop.
"""
from __future__ import annotations

import asyncio
import uuid

from actors import names
from actors.orchestrator import Orchestrator
from actors.risk import Approval
from pipelines.config import config_with, load_config
from pipelines.messages import Decision
from pipelines.risk.handoff import unpack
from tests.unit.analysis.market import Curve


class _Method:
    def __init__(self, risk: "StandInRisk") -> None:
        self.risk = risk

    def remote(self, packed: bytes) -> asyncio.Future:
        if self.risk.broken:
            raise ConnectionError("no RiskSupervisor")
        self.risk.calls.append(unpack(packed))
        answer = asyncio.get_running_loop().create_future()
        self.risk.answers.append(answer)
        return answer


class StandInRisk:
    """Records each approve_and_execute call the moment it is made; each answer is set by the test."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.calls: list = []
        self.answers: list[asyncio.Future] = []
        self.approve_and_execute = _Method(self)


async def _orchestrator(tmp_path, risk: StandInRisk):
    cfg = config_with(load_config("sim", env={}), {
        "ray": {"namespace": f"lr-orch-{uuid.uuid4().hex[:8]}"}, "logging": {"dir": str(tmp_path / "logs")},
        "telemetry": {"trace_file": ""}, "api": {"enabled": False}, "orchestrator": {"strategies": ["sniper"]}})
    orch = Orchestrator.__ray_metadata__.modified_class(cfg)          # the class Ray would host
    for task in (orch._loop, orch._capital, orch._warm, orch._slot):    # no ticks, no peers: the test drives it
        task.cancel()
    orch.peers._handles[names.RISK] = risk
    return orch


async def _settled(orch) -> None:
    for _ in range(100):
        if not orch._tasks:
            return
        await asyncio.sleep(0)
    raise AssertionError("the entry's task did not finish")


async def test_a_launch_s_risk_call_is_made_before_on_launches_returns(tmp_path):
    risk = StandInRisk()
    orch = await _orchestrator(tmp_path, risk)
    launch = Curve(slot=777).launch()
    assert await orch.on_launches([launch], received_at=1000.0, now=1000.5, sent_at=1000.001) == 1
    # no await in between: the call left inside on_launches
    assert [(c.opportunity.mint, c.opportunity.strategy) for c in risk.calls] == [(launch.mint, "sniper")]
    assert (risk.calls[0].detected_at, risk.calls[0].launch) == (1000.0, launch)
    assert orch.in_flight == 1 and orch.queue.stats()["in_flight"] == 1
    risk.answers[0].set_result(Approval(Decision(False, "max_open_positions"), None, 1000.6))
    await _settled(orch)
    assert orch.in_flight == 0 and orch.queue.stats()["in_flight"] == 0
    assert orch.rejections == {"max_open_positions": 1}


async def test_a_risk_supervisor_that_cannot_be_called_costs_the_entry_not_the_loop(tmp_path):
    orch = await _orchestrator(tmp_path, StandInRisk(broken=True))
    launch = Curve(slot=778).launch()
    assert await orch.on_launches([launch], received_at=1000.0, now=1000.5) == 1
    await _settled(orch)
    assert orch.counts["error_ConnectionError"] == 1
    assert orch.in_flight == 0 and orch.queue.stats()["in_flight"] == 0
    orch._tick(1001.0)             # the tick that made the call still ticks
    assert orch.counts.get("sniper_opportunities") == 1


def test_restoring_the_config_outside_an_actor_starts_no_ray():
    # Asking Ray whether this actor was restarted must not start a local Ray where there is none (a subprocess: the
    # test session may have started its own).
    import subprocess
    import sys
    from pathlib import Path
    code = ("import ray\nfrom actors import runtime_config\nfrom pipelines.config import load_config\n"
            "cfg = load_config('sim', env={})\nassert runtime_config.restore(cfg, 'orchestrator') is cfg\n"
            "print(ray.is_initialized())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "False"
