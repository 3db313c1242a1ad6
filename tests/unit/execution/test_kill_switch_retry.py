"""The kill switch keeps covering a position whose kill exit failed: the next sweep sells it again, until nothing
is held."""
from __future__ import annotations

import time
import uuid

import pytest
import ray

from actors import names
from actors.ledger import LedgerActor
from actors.positions import PositionTracker
from actors.risk import RiskSupervisor
from pipelines.config import config_with, load_config
from pipelines.messages import Fill, Order, OrderState, Side
from pipelines.orders import transition

pytestmark = [pytest.mark.ray]
MINT = "Mint1111111111111111111111111111111111111111"
BOUGHT = 1_000_000_000


@ray.remote(num_cpus=0)
class ExitRecorder:
    """Stands in for the Orchestrator: records the exits the tracker pushes."""

    def __init__(self):
        self.signals = []

    def push_exits(self, signals, now=None):
        self.signals.extend((s.mint, s.reason, s.tokens) for s in signals)
        return len(signals)

    def on_closed(self, strategy, pnl_lamports):
        pass

    def seen(self):
        return list(self.signals)


def confirmed(oid: str, side: Side, amount: int) -> list[Order]:
    intent = Order(id=oid, mint=MINT, side=side, venue="pumpfun", amount=amount, limit=0, mode="paper",
                   reason="momentum" if side is Side.BUY else "kill", created_at=100.0, updated_at=100.0)
    submitted = transition(intent, OrderState.SUBMITTED, 100.5)
    return [intent, submitted, transition(submitted, OrderState.CONFIRMED, 101.0)]


def wait_for(fn, n: int, timeout: float = 10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if len(got) >= n:
            return got
        time.sleep(0.05)
    return fn()


def test_a_failed_kill_exit_is_fired_again_until_the_position_is_gone(ray_session, tmp_path):
    ns = f"lr-kill-{uuid.uuid4().hex[:6]}"
    cfg = config_with(load_config("sim", env={}), {"ray": {"namespace": ns, "realtime_priority": 0},
                                                   "ledger": {"path": str(tmp_path / "ledger.sqlite")},
                                                   "logging": {"dir": str(tmp_path / "logs")},
                                                   "exits": {"max_hold_s": 3600.0}})
    opts = {"namespace": ns, "num_cpus": 0}
    ledger = LedgerActor.options(name=names.LEDGER, **opts).remote(cfg.ledger.path)
    risk = RiskSupervisor.options(name=names.RISK, **opts).remote(cfg)
    recorder = ExitRecorder.options(name=names.ORCHESTRATOR, **opts).remote()
    tracker = PositionTracker.options(name=names.POSITIONS, **opts).remote(cfg)
    try:
        ray.get([tracker.ping.remote(), risk.ping.remote()])
        buy = confirmed("buy-1", Side.BUY, 500_000_000)
        buy_fill = Fill(order_id="buy-1", mint=MINT, side=Side.BUY, lamports=500_000_000, tokens=BOUGHT,
                        fee_lamports=0, price=0.5, slot=5, ts=time.time())
        ray.get(ledger.record_batch.remote(orders=buy, fills=[buy_fill]))
        assert ray.get(tracker.on_fill.remote(buy_fill, buy[-1]))["opened"]
        assert ray.get(tracker.flatten_all.remote("kill")) == 1
        assert wait_for(lambda: ray.get(recorder.seen.remote()), 1) == [(MINT, "kill", BOUGHT)]
        ray.get(tracker.sweep.remote())          # its sell is in flight: nothing fires twice
        time.sleep(0.3)
        assert len(ray.get(recorder.seen.remote())) == 1
        ray.get(tracker.exit_failed.remote(MINT))         # the kill sell failed (429, expired, ...)
        ray.get(tracker.sweep.remote())
        seen = wait_for(lambda: ray.get(recorder.seen.remote()), 2)
        assert seen == [(MINT, "kill", BOUGHT)] * 2        # fired again, not left to the normal exit rules
        sell = confirmed("sell-1", Side.SELL, BOUGHT)
        sell_fill = Fill(order_id="sell-1", mint=MINT, side=Side.SELL, lamports=400_000_000, tokens=BOUGHT,
                         fee_lamports=0, price=0.4, slot=6, ts=time.time())
        ray.get(ledger.record_batch.remote(orders=sell, fills=[sell_fill]))
        assert ray.get(tracker.on_fill.remote(sell_fill, sell[-1]))["closed"]
        ray.get(tracker.sweep.remote())
        time.sleep(1.2)                                    # a housekeeping sweep too: nothing left to sell
        assert len(ray.get(recorder.seen.remote())) == 2
    finally:
        for h in (ledger, risk, recorder, tracker):
            ray.kill(h)
