"""What the PositionTracker holds, as the shards and the MomentumEngine know it (actors/held_mints.py): polled
once a second without ever waiting, pushed when a position opens; and the MomentumEngine's marks, sent for held
mints only once the list is known (the tracker skips the others anyway), for every token before that.

The tracker here is a stand-in Ray actor in the session's Ray: the polls are real calls, answered late or not
at all as the test says."""
from __future__ import annotations

import asyncio
import pickle

import pytest
import ray

from actors.held_mints import PUSH_KEPT_S, HeldMints
from actors.momentum import MomentumEngine
from pipelines.config import config_with, load_config
from pipelines.messages import SafetyVerdict, TokenFeatures
from pipelines.wire import EventBatch

pytestmark = pytest.mark.ray


@ray.remote(num_cpus=0)
class Tracker:
    def __init__(self):
        self.mints, self.delay = ["A", "B"], 0.0

    def set(self, mints, delay):
        self.mints, self.delay = mints, delay

    def held_mints(self):
        import time
        time.sleep(self.delay)
        return self.mints


async def _answered(held: HeldMints) -> None:
    await asyncio.wrap_future(held.answer().future())


async def _answer_after_this(held: HeldMints, now: float) -> None:
    """Take the answer to a call asked from now on (the one out was asked before)."""
    await _answered(held)
    held.poll(now=now)
    await _answered(held)
    held.poll(now=now)


async def test_the_held_mints_are_polled_without_ever_waiting_for_the_tracker(ray_session):
    tracker = Tracker.remote()
    ask = {"fn": lambda: tracker.held_mints.remote()}
    held = HeldMints(lambda: ask["fn"](), "test")
    held.poll()                                          # asks; the answer is taken on the next poll
    assert held.mints == () and not held.known
    await _answered(held)
    held.poll()
    assert held.mints == ("A", "B") and held.set == {"A", "B"} and held.known
    ray.get(tracker.set.remote(["C"], 3.0))
    await _answered(held)                                # the call asked with the old list
    held.poll()                                          # takes it and asks the slow tracker
    held.poll()                                          # no answer yet: the last list stands, nothing waits
    assert held.mints == ("A", "B")
    await _answered(held)
    held.poll()
    assert held.mints == ("C",)

    def gone():
        raise ValueError("Failed to look up actor")
    ask["fn"] = gone                                     # the tracker restarting: the list stays, no error
    await _answered(held)
    held.poll()                                          # takes the answer, then cannot ask
    assert held.mints == ("C",) and held.answer() is None
    held.poll()
    assert held.mints == ("C",) and held.answer() is None
    ray.kill(tracker)


async def test_a_pushed_mint_counts_at_once_and_outlives_an_answer_asked_before_it(ray_session):
    tracker = Tracker.remote()
    held = HeldMints(lambda: tracker.held_mints.remote(), "test")
    held.poll()
    await _answered(held)
    held.poll(now=100.0)                                 # ["A", "B"]; asks again (that answer says ["A", "B"] too)
    held.add("N", now=100.5)                             # a position opened after that question was asked
    assert held.mints == ("A", "B", "N") and "N" in held.set
    await _answered(held)
    held.poll(now=101.0)                                 # the older answer does not know N: N stays
    assert held.mints == ("A", "B", "N")
    ray.get(tracker.set.remote(["A", "N"], 0.0))         # the tracker lists it now; B was sold
    await _answer_after_this(held, now=102.0)
    assert held.mints == ("A", "N")
    ray.get(tracker.set.remote(["A"], 0.0))              # N sold: the push is old by now, the answer decides
    await _answer_after_this(held, now=100.5 + PUSH_KEPT_S)
    assert held.mints == ("A",)
    held.add("", now=200.0)                              # garbage is not a mint
    held.add(None, now=200.0)
    assert held.mints == ("A",)
    ray.kill(tracker)


# --- the MomentumEngine's marks ------------------------------------------------------------------------------------
def _features(mint: str) -> TokenFeatures:
    # unsafe: scored and ranked, never an opportunity (no Orchestrator is called)
    return TokenFeatures(
        mint=mint, ts=1000.0, slot=7, venue="pumpfun", age_s=5.0, price=3e-5, market_cap_lamports=30 * 10**9,
        curve_progress=0.05, liquidity_lamports=10**9, volume_lamports={60: 10**9}, buys={60: 3}, sells={60: 0},
        unique_buyers=3, net_flow_lamports=10**9, price_velocity=0.01, trade_size_entropy=1.0, top5_share=0.1,
        dev_share=0.05, dev_sold_lamports=0, rug_probability=0.2, complete=False, migrated=False,
        safety=SafetyVerdict(False, ("dev_dump",)))


class MarksSink:
    """Stands in for the PositionTracker's on_marks handle: records each batch as it arrives after pickling."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.on_marks = self

    def remote(self, marks, now=None):
        self.batches.append(pickle.loads(pickle.dumps(marks, 5)))


@pytest.fixture
async def engine(ray_session, tmp_path):
    cfg = config_with(load_config("sim", env={}), {"ledger": {"path": str(tmp_path / "ledger.sqlite")}})
    eng = MomentumEngine.__ray_metadata__.modified_class(cfg)         # the class Ray would host
    eng._task.cancel()                                                # polls driven by hand
    tracker = Tracker.remote()
    sink = MarksSink()
    eng.held = HeldMints(lambda: tracker.held_mints.remote(), "test")
    eng.peers = lambda name: sink
    yield eng, tracker, sink
    ray.kill(tracker)


async def test_marks_go_to_the_tracker_for_held_mints_once_the_list_is_known(engine):
    eng, tracker, sink = engine
    batch = [_features(m) for m in ("A", "X", "B", "Y")]
    await eng.on_features(EventBatch(batch))              # nothing known yet: every mark (the tracker skips)
    assert [m.mint for m in sink.batches[-1]] == ["A", "X", "B", "Y"]
    eng.held.poll()
    await _answered(eng.held)
    eng.held.poll()                                       # ["A", "B"]
    await eng.on_features(EventBatch(batch))
    assert [m.mint for m in sink.batches[-1]] == ["A", "B"]
    assert sink.batches[-1][0].price == 3e-5
    n = len(sink.batches)
    await eng.on_features(EventBatch([_features("X"), _features("Y")]))
    assert len(sink.batches) == n                         # nothing held in it: no call at all
    eng.hold("Y")                                         # the tracker's push when a position in Y opens
    await eng.on_features(EventBatch([_features("X"), _features("Y")]))
    assert [m.mint for m in sink.batches[-1]] == ["Y"]
    assert eng.status()["features"] == 12 and eng.status()["marks"] == 7
    assert {r["mint"] for r in eng.top(10)} == {"A", "B", "X", "Y"}       # every token ranked, held or not
