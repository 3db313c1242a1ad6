"""Replay mode: a recorded event stream through the live actor system, on the recording's simulated clock.

With chain.source = "replay" and chain.replay_path = a recording directory (pipelines/recording.py, as
`launchray record` writes it), TradingSystem starts no chain and no RpcPool, and the Supervisor starts this
ReplayFeed beside the usual actors. It feeds the stream the way BacktestEngine does at zero latency (the
engine's docstring is the contract), one slot at a time:

  1. the slot's events are applied to a ReplayMarket (pipelines/backtest/market.py): the curve and pool state
     the Executor plans and fills orders against, served through ReplayReader (ChainReader's interface);
  2. the slot's simulated time, now = backtest/latency.recording_clock(path).at(slot), goes with every call
     below, and each actor passes it on with the calls it makes (actors/clock.py);
  3. the periodic work due at now (pipelines/housekeeping.Housekeeping, the backtester's schedule): capital to
     the Orchestrator's queue, shard refresh and eviction, the PositionTracker's sweep + mark-to-market;
  4. Ingest.replay_batch: routing, sniper, lifecycle exits, each shard -> MomentumEngine -> opportunities and
     marks -> exits;
  5. Orchestrator.tick.
Each call is awaited before the next one starts (the barrier), and in replay mode every actor awaits what it
sends downstream and runs the actions a tick starts one after the other, so when a slot's step is over,
everything it caused (approvals, orders, fills, bookings, ledger writes) is done: the decisions are made in the
backtester's order, on the same state, at the same simulated times, and the trades are the same.

A replay is not resumable: the feed is not restarted by Ray (run a failed replay again on a fresh ledger).
"""
from __future__ import annotations

import asyncio
import logging
import time

import ray

from actors import names, observe
from pipelines.backtest.engine import slot_batches
from pipelines.backtest.latency import recording_clock
from pipelines.backtest.market import ChainFees, ReplayMarket
from pipelines.config import Config
from pipelines.housekeeping import Housekeeping
from pipelines.market_views import CurveView, PoolView
from pipelines.recording import load_recording

log = logging.getLogger("launchray.replay")


class ReplayReader:
    """ChainReader's interface over the replay's market: the state as of the slot being replayed."""

    def __init__(self, feed) -> None:
        self.feed = feed                     # ReplayFeed actor handle

    async def curve(self, mint: str, fresh: bool = True) -> CurveView | None:
        return await self.feed.curve_view.remote(mint)

    async def pool(self, mint: str, fresh: bool = True) -> PoolView | None:
        return await self.feed.pool_view.remote(mint)

    async def curve_fees(self, state=None):
        return await self.feed.curve_fees.remote()


@ray.remote(num_cpus=0)
class ReplayFeed:
    def __init__(self, cfg: Config, n_shards: int) -> None:
        observe.init_observability(cfg, "replay_feed")
        if cfg.chain.source != "replay":
            raise ValueError("ReplayFeed needs chain.source = 'replay'")
        self.cfg = cfg
        self.n_shards = n_shards
        self.peers = names.Peers(cfg.ray.namespace)
        rec = load_recording(cfg.chain.replay_path)
        if not rec.events:
            raise ValueError(f"{cfg.chain.replay_path}: the recording holds no events")
        self.events = rec.events
        self.fees = ChainFees.from_meta(rec.meta, rec.events)
        self.market = ReplayMarket(self.fees)
        self.clock = recording_clock(cfg.chain.replay_path)     # what every actor's ActorClock starts at
        self.schedule = Housekeeping(self.clock.t0)
        self.state = "ready"
        self.error = ""
        self.slots = self.fed = 0
        self.slot, self.now = 0, self.clock.t0
        self.phase_s = {"housekeeping": 0.0, "batch": 0.0, "tick": 0.0}   # wall time spent in each step
        self._stopping = False
        self._task: asyncio.Task | None = None

    # --- driving ---------------------------------------------------------------------------------------------
    async def start(self) -> dict:
        """Start feeding (once); returns at once. `wait` returns when the whole stream has been processed."""
        if self._task is None:
            self.state = "running"
            self._task = asyncio.get_event_loop().create_task(self._run())
        return self.status()

    async def wait(self) -> dict:
        if self._task is None:
            raise RuntimeError("the replay was not started")
        await asyncio.shield(self._task)
        if self.error:
            raise RuntimeError(f"replay failed: {self.error}")
        return self.status()

    async def stop(self) -> dict:
        """Stop after the slot in progress (shutdown); the actors keep what it did."""
        self._stopping = True
        if self._task is not None:
            await asyncio.wait([self._task])
        return self.status()

    async def _run(self) -> None:
        p = self.peers
        ingest, orch, positions = p(names.INGEST), p(names.ORCHESTRATOR), p(names.POSITIONS)
        shards = [p(names.shard_name(i)) for i in range(self.n_shards)]
        try:
            await positions.load_fees.remote()        # the exits' sell fee, from this replay's fee parameters
            for slot, batch in slot_batches(self.events):
                if self._stopping:
                    break
                now = self.clock.at(slot)
                self.market.apply_batch(batch)
                t1 = time.perf_counter()
                due = self.schedule.due(now)
                if due.capital:
                    await orch.refresh_capital.remote(now)
                if due.refresh or due.evict:
                    for shard in shards:
                        await shard.maintain.remote(due.refresh, due.evict, now)
                if due.sweep:
                    await positions.sweep.remote(now)
                t2 = time.perf_counter()
                await ingest.replay_batch.remote(batch, now, due.refresh)
                t3 = time.perf_counter()
                await orch.tick.remote(now)
                t4 = time.perf_counter()
                ph = self.phase_s
                ph["housekeeping"] += t2 - t1
                ph["batch"] += t3 - t2
                ph["tick"] += t4 - t3
                self.slots += 1
                self.fed += len(batch)
                self.slot, self.now = slot, now
            self.state = "stopped" if self._stopping else "done"
        except Exception as exc:         # an actor failed mid-replay: reported by status() and wait()
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
            log.error("replay failed at slot %d: %s", self.slot, exc)

    # --- the market, for ReplayReader ----------------------------------------------------------------------------
    def curve_view(self, mint: str) -> CurveView | None:
        return self.market.curve_view(mint)

    def pool_view(self, mint: str) -> PoolView | None:
        return self.market.pool_view(mint)

    def curve_fees(self):
        """A new curve's fee rates (what ChainReader.curve_fees() reads from Global + the fee config)."""
        return self.fees.curve_fees(None, None)

    # --- status ----------------------------------------------------------------------------------------------
    def status(self) -> dict:
        return {"state": self.state, "error": self.error, "path": self.cfg.chain.replay_path,
                "events": len(self.events), "fed": self.fed, "slots": self.slots, "slot": self.slot,
                "now": self.now, "t0": self.clock.t0,
                "phase_s": {k: round(v, 3) for k, v in self.phase_s.items()}, "fees": "recorded" if self.fees.recorded else "trade events"}

    def ping(self) -> str:
        return names.incarnation()
