"""The stage functions against the actor code they mirror."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.analysis.routing import shard_for
from pipelines.analysis.shard import ShardCore
from pipelines.backtest import stages as S
from pipelines.config import load_config
from pipelines.recording import load_recording
from pipelines.scoring.momentum import MomentumModel
from pipelines.scoring.opportunities import opportunity_from

from .streams import SOL, Coin, key

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


def test_momentum_opportunities_equal_scoring_every_feature():
    """The unsafe/complete/migrated/rugged shortcut gives exactly what scoring everything gives."""
    if not SAMPLE.exists():
        pytest.skip("data/sample is missing")
    cfg = load_config("sim", env={})
    rec = load_recording(SAMPLE)
    core, model = ShardCore(cfg.analysis), MomentumModel(cfg.scoring)
    capital = S.momentum_capital(cfg)
    compared = made = 0
    t = rec.t0
    for i in range(0, len(rec.events), 16):
        t += 0.4
        features = core.ingest(rec.events[i:i + 16], t)
        full = [o for f in features
                if (o := opportunity_from(f, model.score(f), cfg.scoring, t, capital, exits=cfg.exits))]
        assert S.momentum_opportunities(model, features, cfg, t, capital) == full
        compared += len(features)
        made += len(full)
    assert compared > 1000 and made > 0


def test_route_mirrors_ingest():
    coin = Coin(key(1), key(2))
    launch = coin.launch(1)
    trade = coin.buy(1, SOL, key(3))
    created, migration = coin.migrate(2, key(9), 10, 10, key(2))
    seen: set[str] = set()
    by_shard, launches, lifecycle = S.route([launch, trade, created, migration, launch], 4, seen)
    assert launches == [launch] and seen == {coin.mint}          # a launch goes to the sniper once
    assert lifecycle == [created, migration]
    shard = shard_for(coin.mint, 4)
    assert by_shard == {shard: [launch, trade, created, migration, launch]}   # PoolCreated routes by mint_a
    assert S.route([trade], 1, set())[0] == {0: [trade]}
