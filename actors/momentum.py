"""MomentumEngine actor: scores every changed token, keeps the ranking, turns the best into Opportunities.

Also the PositionTracker's price feed: each batch of features becomes a batch of marks (price, completion,
migration, rug signals) of the held tokens, so exits are checked on every price update. The held mints are
polled from the tracker each second and pushed by it when a position opens (actors/held_mints.py); until the
first answer, every token's mark is sent (the tracker skips the others). Scoring and marks are
pipelines/stages.momentum_opportunities / marks_from, the functions the backtester runs. In replay mode both
calls are awaited (the batch's opportunities are queued and its exits have run when on_features returns).
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict

import ray

from actors import names, observe, runtime_config
from actors.clock import ActorClock
from actors.held_mints import HeldMints
from pipelines import stages
from pipelines.config import Config
from pipelines.messages import TokenFeatures
from pipelines.scoring.momentum import MomentumModel
from pipelines.wire import EventBatch, events_of

MAX_TRACKED = 20_000
HELD_POLL_S = 1.0


@ray.remote(num_cpus=0)
class MomentumEngine:
    def __init__(self, cfg: Config) -> None:
        observe.init_observability(cfg, "momentum_engine")
        cfg = runtime_config.restore(cfg, "momentum_engine")   # this run's PATCHed scoring before the first score
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.clock = ActorClock.for_config(cfg)
        self.model = MomentumModel(cfg.scoring)
        self.latest: OrderedDict[str, tuple[float, TokenFeatures]] = OrderedDict()
        self.counts = {"features": 0, "opportunities": 0, "batches": 0, "marks": 0, "not_warm": 0}
        # replay: every mark, awaited (what is held is decided by the replay's own order of calls)
        self.held = None if self.clock.replay else HeldMints(
            lambda: self.peers(names.POSITIONS).held_mints.remote(), "momentum_engine")
        self._task = None if self.clock.replay else asyncio.get_event_loop().create_task(self._poll_held())

    async def _poll_held(self) -> None:
        while True:
            self.held.poll()
            await asyncio.sleep(HELD_POLL_S)

    def hold(self, mint: str) -> None:
        """A position in `mint` just opened (the PositionTracker): its marks go out from the next batch."""
        if self.held is not None:
            self.held.add(mint)

    async def on_features(self, features: list[TokenFeatures] | EventBatch, now: float | None = None) -> int:
        """A shard's features (a list, or an EventBatch: columns on the wire)."""
        features = events_of(features)
        now = self.clock.at(now)
        latest = self.latest

        def ranked(f: TokenFeatures, score: float) -> None:
            latest[f.mint] = (score, f)
            latest.move_to_end(f.mint)

        opps = stages.momentum_opportunities(self.model, features, self.cfg, now,
                                             stages.momentum_capital(self.cfg), scored=ranked)
        while len(latest) > MAX_TRACKED:
            latest.popitem(last=False)
        self.counts["features"] += len(features)
        self.counts["not_warm"] += sum(1 for f in features if not f.warm)   # no entry until warm (restart gap)
        self.counts["batches"] += 1
        replay = self.clock.replay
        if opps:
            self.counts["opportunities"] += len(opps)
            queued = self.peers(names.ORCHESTRATOR).on_opportunities.remote(opps, self.clock.sent())
            if replay:                   # queued before the exits below can tick
                await queued
        held = self.held.set if self.held is not None and self.held.known else None
        marks = stages.marks_from(features, held)
        if marks:
            self.counts["marks"] += len(marks)
            marked = self.peers(names.POSITIONS).on_marks.remote(marks, self.clock.sent())
            if replay:
                await marked
        return len(opps)

    def top(self, n: int = 10) -> list[dict]:
        ranked = sorted(self.latest.items(), key=lambda kv: (-kv[1][0], kv[0]))[:n]
        return [{"mint": m, "score": round(s, 4), "symbol": f.symbol, "price": f.price,
                 "curve_progress": round(f.curve_progress, 4), "unique_buyers": f.unique_buyers,
                 "rug_probability": round(f.rug_probability, 3), "safe": f.safety.safe, "warm": f.warm,
                 # not warm: no entry until the shard has watched it for analysis.warmup_s (a restart's gap)
                 "reasons": list(f.safety.reasons) + ([] if f.warm else ["warming_up"])} for m, (s, f) in ranked]

    def score_features(self, features: TokenFeatures) -> dict:
        """Score one token's fresh features with the current model (manual targeting), without ranking them."""
        b = self.model.score(features)
        return {"score": b.score, "gate": b.gate, "components": dict(b.components), "top": b.top(3)}

    def update_config(self, cfg: Config) -> None:
        self.cfg = cfg
        self.model = MomentumModel(cfg.scoring)

    def status(self) -> dict:
        return {**self.counts, "tracked": len(self.latest)}

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()
