"""Orchestrator.on_launches ages each launch against the chain slot it holds (a getSlot it read, the launches'
own slots): the user's case of issue 14, a restart 20 s after a SIGKILL whose gap backfill brought two launches
made while it was down, must not snipe them. No call is made on the sniper path for this: the slot is one the
actor already holds."""
from __future__ import annotations

from tests.unit.analysis.market import Curve
from tests.unit.trading.test_orchestrator_host import StandInRisk, _orchestrator


async def test_launches_learned_20_s_late_are_counted_and_not_sniped(tmp_path):
    risk = StandInRisk()
    orch = await _orchestrator(tmp_path, risk)
    assert orch.note_slot(10_050)                  # the getSlot read after the restart: 50 slots after them
    down1, down2 = Curve(slot=10_000).launch(), Curve(slot=10_012).launch()
    assert await orch.on_launches([down1, down2], received_at=1000.0, now=1000.0) == 0
    assert risk.calls == []                         # nothing reached the RiskSupervisor
    assert orch.counts["stale_launch"] == 2
    assert orch.status()["chain_slot"] == 10_050
    # a launch made now is sniped as before (10 slots is the window)
    fresh = Curve(slot=10_045).launch()
    assert await orch.on_launches([fresh], received_at=1000.5, now=1000.5) == 1
    assert [c.opportunity.mint for c in risk.calls] == [fresh.mint]


async def test_without_a_get_slot_the_batch_s_newest_launch_ages_the_others(tmp_path):
    risk = StandInRisk()
    orch = await _orchestrator(tmp_path, risk)      # no getSlot answered yet (chain slot 0)
    old, new = Curve(slot=7_000).launch(), Curve(slot=7_050).launch()
    assert await orch.on_launches([old, new], received_at=5.0, now=5.0) == 1
    assert [c.opportunity.mint for c in risk.calls] == [new.mint]
    assert orch.counts["stale_launch"] == 1


async def test_a_garbage_launch_slot_ages_only_its_own_batch(tmp_path):
    risk = StandInRisk()
    orch = await _orchestrator(tmp_path, risk)
    odd = Curve(slot=1 << 40).launch()               # before any getSlot: nothing to check it against
    assert await orch.on_launches([odd], received_at=5.0, now=5.0) == 1
    fresh = Curve(slot=7_060).launch()
    assert await orch.on_launches([fresh], received_at=5.1, now=5.1) == 1       # not stale against 2^40
    assert orch.chain_slot == 0
    assert orch.note_slot(7_062)
    far = Curve(slot=7_062 + 20_000).launch()         # far past what the chain said: not kept either
    assert await orch.on_launches([far], received_at=5.2, now=5.2) == 1
    assert orch.chain_slot == 7_062
    near = Curve(slot=7_070).launch()                 # a live launch a little past the last getSlot: kept
    assert await orch.on_launches([near], received_at=5.3, now=5.3) == 1
    assert orch.chain_slot == 7_070


async def test_a_garbage_get_slot_answer_is_not_taken(tmp_path):
    orch = await _orchestrator(tmp_path, StandInRisk())
    assert orch.note_slot(500)
    for bad in ("600", None, -1, 1 << 62, 3.5e9, True):
        assert not orch.note_slot(bad)
    assert not orch.note_slot(True) and orch.chain_slot == 500
    assert orch.note_slot(400) and orch.chain_slot == 500      # an endpoint behind the others: the highest wins
