"""An Executor that died between its ledger write and the PositionTracker's on_fill (the tracker kept running):
the restarted Executor hands the tracker what the ledger holds, so the position is tracked (and exited)."""
from __future__ import annotations

import time

import pytest
import ray

from actors import names
from actors.executor import Executor
from actors.positions import PositionTracker
from actors.rpc_pool import RpcPool
from pipelines.messages import Fill, Order, OrderState, Side
from pipelines.orders import transition
from tests.integration.actors.test_position_replay import books

pytestmark = [pytest.mark.ray]
MINT = "Mint1111111111111111111111111111111111111111"
BOUGHT = 1_000_000_000


def test_a_fill_booked_before_an_executor_crash_reaches_the_running_tracker(ray_session, tmp_path):
    cfg, opts, ledger, risk = books(tmp_path, "lr-exec-restart")
    tracker = PositionTracker.options(name=names.POSITIONS, **opts).remote(cfg)
    rpc = RpcPool.options(name=names.RPC_POOL, **opts).remote(["http://127.0.0.1:9"], cfg.rpc)   # no chain asked
    handles = [ledger, risk, tracker, rpc]
    try:
        ray.get([tracker.ping.remote(), risk.ping.remote(), rpc.ping.remote()])
        # what the Executor wrote in one batch before it died: the buy confirmed, with its fill
        intent = Order(id="buy-1", mint=MINT, side=Side.BUY, venue="pumpfun", amount=500_000_000, limit=0,
                       mode="paper", reason="momentum", opportunity_id="opp-1", created_at=100.0, updated_at=100.0)
        submitted = transition(intent, OrderState.SUBMITTED, 100.5)
        fill = Fill(order_id="buy-1", mint=MINT, side=Side.BUY, lamports=500_000_000, tokens=BOUGHT,
                    fee_lamports=0, price=0.5, slot=5, ts=time.time())
        ray.get(ledger.record_batch.remote(orders=[intent, submitted, transition(submitted, OrderState.CONFIRMED,
                                                                                 101.0)], fills=[fill]))
        assert ray.get(tracker.get.remote(MINT)) is None             # the on_fill never came
        executor = Executor.options(name=names.EXECUTOR, **opts).remote(cfg, {})
        handles.append(executor)
        deadline = time.time() + 20
        pos = None
        while time.time() < deadline and pos is None:
            pos = ray.get(tracker.get.remote(MINT))
            time.sleep(0.1)
        assert pos is not None and pos.is_open and pos.tokens == BOUGHT and pos.entry_order_id == "buy-1"
        [row] = ray.get(ledger.positions.remote())
        assert row.tokens == BOUGHT
        assert ray.get(executor.status.remote())["counts"].get("fills_replayed_to_tracker") == 1
        # a second start replays nothing: the fill is settled once
        assert ray.get(tracker.replay_ledger.remote()) == 0
    finally:
        for h in handles:
            ray.kill(h)


def test_a_restarted_tracker_does_not_replay_fills_it_settled_and_forgot(ray_session, tmp_path):
    """The book remembers its latest 8192 settled order ids: an older buy replayed again would reopen a closed
    position. Here the book forgot the buy of a closed position (it remembers its sell): nothing reopens."""
    from actors.positions import SNAPSHOT_KEY
    from pipelines.positions import PositionBook

    cfg, opts, ledger, risk = books(tmp_path, "lr-forgot")
    handles = [ledger, risk]
    try:
        book = PositionBook()
        rows = []
        for oid, mint, side, tokens in (("a-buy", "MintA", Side.BUY, BOUGHT), ("a-sell", "MintA", Side.SELL, BOUGHT),
                                        ("b-buy", "MintB", Side.BUY, BOUGHT)):
            intent = Order(id=oid, mint=mint, side=side, venue="pumpfun", amount=tokens, limit=0, mode="paper",
                           reason="momentum" if side is Side.BUY else "stop_loss", opportunity_id=oid,
                           created_at=100.0, updated_at=100.0)
            sub = transition(intent, OrderState.SUBMITTED, 100.5)
            f = Fill(order_id=oid, mint=mint, side=side, lamports=500_000_000, tokens=tokens, fee_lamports=0,
                     price=0.5, slot=5, ts=101.0)
            rows.append((intent, sub, transition(sub, OrderState.CONFIRMED, 101.0), f))
            book.settle(f, 101.0, strategy="momentum" if side is Side.BUY else "", venue="pumpfun")
        for intent, sub, conf, f in rows:
            ray.get(ledger.record_batch.remote(orders=[intent, sub, conf], fills=[f]))
        snap = book.snapshot()
        snap["seen"] = ["a-sell", "b-buy"]               # "a-buy" fell out of its memory
        ray.get(ledger.save_counters.remote({SNAPSHOT_KEY: snap}, 102.0))
        tracker = PositionTracker.options(name=names.POSITIONS, **opts).remote(cfg)
        handles.append(tracker)
        assert ray.get(tracker.held_mints.remote()) == ["MintB"]          # MintA stays closed
        assert ray.get(tracker.status.remote())["replayed_fills"] == 0
    finally:
        for h in handles:
            ray.kill(h)
