"""The PositionTracker's fills, with the real LedgerActor, RiskSupervisor and PositionTracker in the session's Ray.

A tracker that restarts after a fill reached the ledger but before the tracker booked it (the Executor records
the fill, then calls on_fill; the tracker dies in between) replays that fill from the ledger on start and writes
the position row it changes; the on_fill that Ray then retries is a duplicate and writes nothing, so the row must
already be right. A fill that opens a position tells the MomentumEngine at once (its marks start then), and no
other fill does."""
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

pytestmark = pytest.mark.ray

MINT = "Mint1111111111111111111111111111111111111111"
BOUGHT, SOLD = 1_000_000_000, 400_000_000


def order(oid: str, side: Side, amount: int, strategy: str = "momentum") -> list[Order]:
    """Its records as the Executor writes them: intent, submitted, confirmed."""
    intent = Order(id=oid, mint=MINT, side=side, venue="pumpfun", amount=amount, limit=0, mode="paper",
                   reason=strategy if side is Side.BUY else "take_profit", created_at=100.0)
    submitted = transition(intent, OrderState.SUBMITTED, 100.5)
    return [intent, submitted, transition(submitted, OrderState.CONFIRMED, 101.0)]


def fill(oid: str, side: Side, lamports: int, tokens: int, ts: float) -> Fill:
    return Fill(order_id=oid, mint=MINT, side=side, lamports=lamports, tokens=tokens, fee_lamports=0,
                price=lamports / tokens, slot=5, ts=ts)


def books(tmp_path, prefix: str):
    """A fresh namespace with its config, actor options, and the LedgerActor and RiskSupervisor the tracker calls."""
    ns = f"{prefix}-{uuid.uuid4().hex[:6]}"
    cfg = config_with(load_config("sim", env={}), {"ray": {"namespace": ns, "realtime_priority": 0},
                                                   "ledger": {"path": str(tmp_path / "ledger.sqlite")},
                                                   "logging": {"dir": str(tmp_path / "logs")}})
    opts = {"namespace": ns, "num_cpus": 0}
    ledger = LedgerActor.options(name=names.LEDGER, **opts).remote(cfg.ledger.path)
    risk = RiskSupervisor.options(name=names.RISK, **opts).remote(cfg)
    return cfg, opts, ledger, risk


def test_a_fill_the_tracker_missed_is_replayed_into_its_position_row(ray_session, tmp_path):
    cfg, opts, ledger, risk = books(tmp_path, "lr-replay")
    tracker = PositionTracker.options(name=names.POSITIONS, **opts).remote(cfg)
    try:
        ray.get([tracker.ping.remote(), risk.ping.remote()])       # up (its start-up replay done) before the buy
        buy_order, buy_fill = order("buy-1", Side.BUY, 500_000_000), fill("buy-1", Side.BUY, 500_000_000, BOUGHT, 101.0)
        ray.get(ledger.record_batch.remote(orders=buy_order, fills=[buy_fill]))
        assert ray.get(tracker.on_fill.remote(buy_fill, buy_order[-1]))["opened"]
        # the sell reaches the ledger; the tracker dies before its on_fill
        sell_order, sell_fill = order("sell-1", Side.SELL, SOLD), fill("sell-1", Side.SELL, 300_000_000, SOLD, 102.0)
        ray.get(ledger.record_batch.remote(orders=sell_order, fills=[sell_fill]))
        ray.kill(tracker)
        restarted = PositionTracker.options(name=f"{names.POSITIONS}-2", **opts).remote(cfg)
        ray.get(restarted.ping.remote())                           # started: its replay is done
        [row] = ray.get(ledger.positions.remote())
        assert (row.initial_tokens, row.tokens) == (BOUGHT, BOUGHT - SOLD)      # written by the replay
        retried = ray.get(restarted.on_fill.remote(sell_fill, sell_order[-1]))         # Ray's retry: a duplicate
        assert retried["duplicate"] and retried["tokens"] == BOUGHT - SOLD
        [row] = ray.get(ledger.positions.remote())
        assert row.tokens == BOUGHT - SOLD
    finally:
        for h in (ledger, risk):
            ray.kill(h)


@ray.remote(num_cpus=0)
class HoldRecorder:
    """Stands in for the MomentumEngine: records each mint the tracker says it just opened."""

    def __init__(self):
        self.held = []

    def hold(self, mint):
        self.held.append(mint)

    def seen(self):
        return list(self.held)


def test_the_tracker_pushes_a_mint_when_its_position_opens_and_only_then(ray_session, tmp_path):
    cfg, opts, ledger, risk = books(tmp_path, "lr-held")
    recorder = HoldRecorder.options(name=names.MOMENTUM, **opts).remote()
    tracker = PositionTracker.options(name=names.POSITIONS, **opts).remote(cfg)

    def book(oid: str, side: Side, lamports: int, tokens: int, strategy: str = "momentum") -> tuple[Fill, Order]:
        """The order's records and its fill in the ledger, as the Executor leaves them before on_fill."""
        orders = order(oid, side, lamports if side is Side.BUY else tokens, strategy)
        done = fill(oid, side, lamports, tokens, 101.0)
        ray.get(ledger.record_batch.remote(orders=orders, fills=[done]))
        return done, orders[-1]

    try:
        ray.get([tracker.ping.remote(), risk.ping.remote()])
        buy = book("buy-1", Side.BUY, 500_000_000, BOUGHT)
        assert ray.get(tracker.on_fill.remote(*buy))["opened"]
        assert ray.get(tracker.on_fill.remote(*buy))["duplicate"]                     # Ray's retry: no second push
        more = book("buy-2", Side.BUY, 100_000_000, BOUGHT // 5, "sniper")   # adds to it (one buy per strategy)
        assert ray.get(tracker.on_fill.remote(*more))["opened"] is False
        assert ray.get(tracker.on_fill.remote(*book("sell-1", Side.SELL, 300_000_000, SOLD)))["opened"] is False
        deadline = time.time() + 10
        while not ray.get(recorder.seen.remote()) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)                                  # anything else on its way arrives meanwhile
        assert ray.get(recorder.seen.remote()) == [MINT]
    finally:
        for h in (ledger, risk, recorder, tracker):
            ray.kill(h)
