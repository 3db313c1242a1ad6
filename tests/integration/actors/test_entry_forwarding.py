"""An entry's way Orchestrator -> RiskSupervisor -> Executor (RiskSupervisor.approve_and_execute), with the real
RiskSupervisor, LedgerActor and Orchestrator in the session's Ray, and the Executor either real or a stand-in
that records what it is handed and answers when told.

What must hold: a refusal never reaches the Executor; an approved entry reaches it with its reservation and the
caller gets the Executor's outcome; the RiskSupervisor keeps deciding while an execution runs; the capital comes
back when the Executor refuses (shutting_down, no quote) or cannot be called (dead, absent), and is left alone
when the Executor answered or raised on its own; concurrent entries never exceed a limit; the Orchestrator's cap
on concurrent executions and its in-flight count hold.
"""
from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
import ray

from actors import names
from actors.executor import Executor
from actors.ledger import LedgerActor
from actors.orchestrator import Orchestrator
from actors.risk import RiskSupervisor
from pipelines.config import config_with, load_config
from pipelines.messages import Opportunity, stable_id
from pipelines.risk.handoff import EntryRequest, pack, unpack

pytestmark = pytest.mark.ray

SOL = 1_000_000_000


@ray.remote(num_cpus=0)
class StubExecutor:
    """Stands in for the Executor: records every entry handed to it; "hold" answers once open() is called,
    "raise" raises (as the Executor would after its intent is written)."""

    def __init__(self, mode: str = "fill") -> None:
        self.mode = mode
        self.calls: list[tuple] = []
        self.gate = asyncio.Event()
        self.running = 0
        self.most_running = 0

    async def execute_entry(self, entry: bytes, reservation) -> dict:
        request = unpack(entry)
        opp = request.opportunity
        self.calls.append((opp.id, reservation, request.detected_at, request.launch, request.creator_trade))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.mode == "hold":
                await self.gate.wait()
            if self.mode == "raise":
                raise RuntimeError("failed after the intent")
            return {"status": "filled", "order_id": f"o-{opp.id}", "reservation_id": reservation.id}
        finally:
            self.running -= 1

    def open(self) -> None:
        self.gate.set()

    def seen(self) -> list[tuple]:
        return list(self.calls)

    def peak(self) -> int:
        return self.most_running

    def ping(self) -> str:
        return "ok"


@ray.remote(num_cpus=0)
class DeadRpc:
    """An RpcPool whose every account read fails (the chain unreachable)."""

    async def get_accounts(self, keys, commitment="confirmed", fresh=True):
        raise ConnectionError("no chain")

    def ping(self) -> str:
        return "ok"


def _cfg(tmp_path, **risk):
    ns = f"lr-fwd-{uuid.uuid4().hex[:8]}"
    return config_with(load_config("sim", env={}), {
        "ray": {"namespace": ns}, "ledger": {"path": str(tmp_path / "ledger.sqlite")},
        "logging": {"dir": str(tmp_path / "logs")}, "telemetry": {"trace_file": ""}, "api": {"enabled": False},
        "risk": {"starting_capital_sol": 10.0, "max_position_sol": 1.0, "blacklist": ["BADMINT"], **risk}})


def _opp(mint: str, sol: float = 1.0, strategy: str = "sniper") -> Opportunity:
    now = time.time()
    return Opportunity(id=f"opp-{mint}-{uuid.uuid4().hex[:6]}", mint=mint, strategy=strategy, score=0.9,
                       expected_profit=0.5, risk=0.1, capital_lamports=int(sol * SOL), created_at=now,
                       expires_at=now + 60)


def _wait(pred, what: str, timeout: float = 15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = pred()
        if out:
            return out
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class System:
    """The named actors of one test, killed at its end."""

    def __init__(self, cfg) -> None:
        self.cfg, self.ns, self.actors = cfg, cfg.ray.namespace, []
        self.ledger = self.add(LedgerActor, names.LEDGER, cfg.ledger.path)
        self.risk = None

    def add(self, cls, name: str, *args):
        handle = cls.options(name=name, namespace=self.ns, num_cpus=0).remote(*args)
        self.actors.append(handle)
        ray.get(handle.ping.remote())
        return handle

    def start_risk(self):
        self.risk = self.add(RiskSupervisor, names.RISK, self.cfg)
        return self.risk

    def reserved(self) -> tuple[int, int]:
        st = ray.get(self.risk.status.remote())
        return st["reservations"], st["reserved"]

    def close(self) -> None:
        for h in self.actors:
            ray.kill(h, no_restart=True)


@pytest.fixture
def system(ray_session, tmp_path):
    made: list[System] = []

    def make(**risk) -> System:
        s = System(_cfg(tmp_path / str(len(made)), **risk))
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


# --- the RiskSupervisor's side --------------------------------------------------------------------------------
def _ask(risk, opp: Opportunity, detected_at: float = 0.0, launch=None, creator_trade=None):
    return risk.approve_and_execute.remote(pack(EntryRequest(opp, detected_at, launch, creator_trade)))


def test_a_refusal_answers_the_caller_and_never_reaches_the_executor(system):
    s = system()
    stub = s.add(StubExecutor, names.EXECUTOR)
    risk = s.start_risk()
    approval = ray.get(_ask(risk, _opp("BADMINT")))
    assert not approval.decision.approved and approval.decision.reason == "blacklisted"
    assert approval.outcome is None and approval.decided_at > 0
    assert ray.get(stub.seen.remote()) == []
    assert s.reserved() == (0, 0)


def test_an_approved_entry_reaches_the_executor_and_risk_keeps_deciding_while_it_runs(system):
    s = system()
    stub = s.add(StubExecutor, names.EXECUTOR, "hold")
    risk = s.start_risk()
    first = _opp("MINT1")
    pending = _ask(risk, first, 123.5, "launch-event", "creator-trade")
    calls = _wait(lambda: ray.get(stub.seen.remote()), "the entry at the executor")
    rid = stable_id("reservation", first.id)
    assert [(c[0], c[1].id, c[1].lamports, *c[2:]) for c in calls] == [
        (first.id, rid, SOL, 123.5, "launch-event", "creator-trade")]
    # the execution is held open: the first call has not answered, and the RiskSupervisor decides the next ones
    assert ray.wait([pending], timeout=0.3)[1] == [pending]
    refused = ray.get(_ask(risk, _opp("BADMINT")), timeout=10)
    assert refused.decision.reason == "blacklisted"
    second = _ask(risk, _opp("MINT2"))
    _wait(lambda: len(ray.get(stub.seen.remote())) == 2, "the second entry at the executor")
    assert ray.get(risk.available.remote(), timeout=10) == 8 * SOL
    ray.get(stub.open.remote())
    approval = ray.get(pending, timeout=10)
    assert approval.decision.approved and approval.decision.reservation.id == rid
    assert approval.outcome == {"status": "filled", "order_id": f"o-{first.id}", "reservation_id": rid}
    assert ray.get(second, timeout=10).outcome["status"] == "filled"
    # an answered execution leaves its reservation to the fill's booking: nothing was released
    assert s.reserved() == (2, 2 * SOL)


def test_an_executor_that_died_gives_the_reservation_back(system):
    s = system()
    stub = s.add(StubExecutor, names.EXECUTOR)
    risk = s.start_risk()
    assert ray.get(_ask(risk, _opp("MINT1"))).outcome["status"] == "filled"   # the risk actor holds the handle
    ray.kill(stub, no_restart=True)
    approval = ray.get(_ask(risk, _opp("MINT2")), timeout=30)
    assert approval.decision.approved and approval.outcome is None and approval.error == "ActorDiedError"
    assert s.reserved() == (1, SOL)      # only the first entry's: the dead executor's came back before the answer


def test_no_executor_to_hand_it_to_gives_the_reservation_back(system):
    s = system()
    risk = s.start_risk()
    approval = ray.get(_ask(risk, _opp("MINT1")), timeout=10)
    assert approval.decision.approved and approval.outcome is None and approval.error == "ValueError"   # no actor
    assert s.reserved() == (0, 0)


def test_an_exception_inside_the_executor_is_left_to_the_executor(system):
    # The Executor releases on its own before its intent; after it, the order owns the reservation
    # (reconciliation), so the RiskSupervisor must not free capital an order may still be using.
    s = system()
    s.add(StubExecutor, names.EXECUTOR, "raise")
    risk = s.start_risk()
    approval = ray.get(_ask(risk, _opp("MINT1")), timeout=10)
    assert approval.decision.approved and approval.outcome is None and approval.error == "RuntimeError"
    assert s.reserved() == (1, SOL)


@pytest.mark.parametrize("limits, allowed", [
    ({"max_open_positions": 3}, 3),          # 3 reservations + 1 > 3
    ({"max_portfolio_heat": 0.25}, 2),       # 3 x 1 SOL > 0.25 x 10 SOL; 2 x 1 SOL fits
])
def test_concurrent_entries_never_exceed_a_limit(system, limits, allowed):
    s = system(**limits)
    stub = s.add(StubExecutor, names.EXECUTOR, "hold")
    risk = s.start_risk()
    opps = [_opp(f"MINT{i}") for i in range(12)]
    refs: list = []

    def caller(batch):       # three callers, each with all of its calls in flight at once
        refs.extend(_ask(risk, o) for o in batch)
    threads = [threading.Thread(target=caller, args=(opps[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the refusals answer while the approved entries are still held at the executor
    ready, held = ray.wait(refs, num_returns=12 - allowed, timeout=30)
    assert len(ready) == 12 - allowed and ray.wait(held, timeout=0.3)[0] == []
    assert all(not a.decision.approved and a.outcome is None for a in ray.get(ready))
    assert s.reserved() == (allowed, allowed * SOL)
    calls = _wait(lambda: (c := ray.get(stub.seen.remote())) and len(c) >= allowed and c, "the approved entries")
    ray.get(stub.open.remote())
    approved = ray.get(held, timeout=10)
    assert all(a.decision.approved and a.outcome["status"] == "filled" for a in approved)
    assert sorted(c[0] for c in calls) == sorted(a.decision.reservation.opportunity_id for a in approved)
    assert ray.get(stub.peak.remote()) == allowed


# --- with the real Executor ----------------------------------------------------------------------------------
def _real_executor(s: System):
    s.add(DeadRpc, names.RPC_POOL)
    risk = s.start_risk()
    exe = s.add(Executor, names.EXECUTOR, s.cfg, {})
    return risk, exe


def test_a_drained_executor_refuses_the_entry_and_its_capital_comes_back(system):
    s = system()
    risk, exe = _real_executor(s)
    ray.get(exe.drain.remote(0.0), timeout=30)          # graceful shutdown: the Executor is closed
    approval = ray.get(_ask(risk, _opp("MINT1")), timeout=30)
    assert approval.decision.approved
    assert approval.outcome == {"status": "refused", "reason": "shutting_down"}
    assert s.reserved() == (0, 0)       # released before the Executor answered
    assert ray.get(s.ledger.orders.remote()) == []        # and nothing was written


def test_an_entry_the_executor_cannot_quote_is_refused_and_released(system):
    s = system()
    risk, _ = _real_executor(s)
    approval = ray.get(_ask(risk, _opp("MINT1", strategy="momentum")), timeout=30)
    assert approval.decision.approved
    out = approval.outcome
    assert out["status"] == "refused" and out["reason"].startswith("state unavailable")
    assert s.reserved() == (0, 0)
    assert ray.get(s.ledger.orders.remote()) == []


# --- the Orchestrator's side ---------------------------------------------------------------------------------
def test_the_orchestrator_caps_concurrent_executions_and_gets_each_outcome(system):
    s = system()
    s.cfg = config_with(s.cfg, {"orchestrator": {"max_concurrent_executions": 2}})
    stub = s.add(StubExecutor, names.EXECUTOR, "hold")
    s.start_risk()
    s.add(StubExecutor, names.POSITIONS)          # only pinged (peer warm-up)
    orch = s.add(Orchestrator, names.ORCHESTRATOR, s.cfg)
    entries = [_opp(f"MINT{i}", strategy="manual") for i in range(4)]
    refused = _opp("BADMINT", strategy="manual")
    assert ray.get(orch.on_manual.remote(refused))["queued"]
    assert _wait(lambda: ray.get(orch.result.remote(refused.id)), "the refusal's outcome") == {
        "status": "rejected", "reason": "blacklisted"}
    for o in entries:
        assert ray.get(orch.on_manual.remote(o))["queued"]
    _wait(lambda: len(ray.get(stub.seen.remote())) == 2, "two entries at the executor")
    time.sleep(0.3)                           # 30 loop ticks: none may start a third execution
    assert len(ray.get(stub.seen.remote())) == 2
    assert ray.get(orch.status.remote())["in_flight"] == 2
    ray.get(stub.open.remote())
    _wait(lambda: all(ray.get(orch.result.remote(o.id)) for o in entries), "every entry's outcome")
    assert [ray.get(orch.result.remote(o.id))["status"] for o in entries] == ["filled"] * 4
    st = ray.get(orch.status.remote())
    assert st["in_flight"] == 0 and st["rejections"] == {"blacklisted": 1}
    assert st["counts"]["approved"] == 4 and st["counts"]["entry_filled"] == 4
    assert ray.get(stub.peak.remote()) == 2
    assert "BADMINT" not in {c[0].split("-")[1] for c in ray.get(stub.seen.remote())}


def test_the_orchestrator_counts_a_failed_execution_and_frees_its_slot(system):
    s = system()
    s.add(StubExecutor, names.EXECUTOR, "raise")
    risk = s.start_risk()
    s.add(StubExecutor, names.POSITIONS)
    orch = s.add(Orchestrator, names.ORCHESTRATOR, s.cfg)
    entry = _opp("MINT1", strategy="manual")
    assert ray.get(orch.on_manual.remote(entry))["queued"]
    assert _wait(lambda: ray.get(orch.result.remote(entry.id)), "the entry's outcome") == {
        "status": "error", "reason": "RuntimeError"}
    st = ray.get(orch.status.remote())
    assert st["in_flight"] == 0 and st["counts"]["approved"] == 1 and st["counts"]["error_RuntimeError"] == 1
    assert st["queue"]["in_flight"] == 0          # the queue's mark for the mint is gone (finish ran)
    # raised inside the Executor (after its intent, as the stand-in says): the reservation is the order's to settle
    assert ray.get(risk.status.remote())["reservations"] == 1
