"""MomentumEngine actor: scores every changed token, keeps the ranking, turns the best into Opportunities.

Also the PositionTracker's price feed: each batch of features becomes a batch of marks (price, completion,
migration, rug signals), so exits are checked on every price update.
"""
from __future__ import annotations

import time
from collections import OrderedDict

import ray

from actors import names
from pipelines.config import Config
from pipelines.messages import TokenFeatures
from pipelines.scoring.momentum import MomentumModel
from pipelines.scoring.opportunities import opportunity_from

LAMPORTS = 1_000_000_000
MAX_TRACKED = 20_000
RUG_REASONS = ("dev_dump", "liquidity_pulled")


def marks_from(features: list[TokenFeatures]) -> dict:
    return {f.mint: (f.price, {"complete": f.complete, "migrated": f.migrated,
                               "rug_signals": tuple(r for r in f.safety.reasons if r in RUG_REASONS)
                               + (("rugged",) if getattr(f, "rugged", False) else ())})
            for f in features}


@ray.remote(num_cpus=0)
class MomentumEngine:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.model = MomentumModel(cfg.scoring)
        self.latest: OrderedDict[str, tuple[float, TokenFeatures]] = OrderedDict()
        self.counts = {"features": 0, "opportunities": 0, "batches": 0}

    def on_features(self, features: list[TokenFeatures]) -> int:
        now = time.time()
        capital = int(self.cfg.risk.max_position_sol * LAMPORTS)
        opps = []
        for f in features:
            b = self.model.score(f)
            self.latest[f.mint] = (b.score, f)
            self.latest.move_to_end(f.mint)
            opp = opportunity_from(f, b, self.cfg.scoring, now, capital, exits=self.cfg.exits)
            if opp is not None:
                opps.append(opp)
        while len(self.latest) > MAX_TRACKED:
            self.latest.popitem(last=False)
        self.counts["features"] += len(features)
        self.counts["batches"] += 1
        if opps:
            self.counts["opportunities"] += len(opps)
            self.peers(names.ORCHESTRATOR).on_opportunities.remote(opps)
        self.peers(names.POSITIONS).on_marks.remote(marks_from(features))
        return len(opps)

    def top(self, n: int = 10) -> list[dict]:
        ranked = sorted(self.latest.items(), key=lambda kv: (-kv[1][0], kv[0]))[:n]
        return [{"mint": m, "score": round(s, 4), "symbol": f.symbol, "price": f.price,
                 "curve_progress": round(f.curve_progress, 4), "unique_buyers": f.unique_buyers,
                 "rug_probability": round(f.rug_probability, 3), "safe": f.safety.safe,
                 "reasons": list(f.safety.reasons)} for m, (s, f) in ranked]

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
