"""The stage functions against the actor code they mirror."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.analysis.routing import shard_for
from pipelines.analysis.shard import ShardCore
from pipelines.chain.programs import WSOL_MINT
from pipelines import stages as S
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


def test_route_sends_each_event_to_the_shard_that_owns_its_token():
    coin = Coin(key(1), key(2))
    launch = coin.launch(1)
    trade = coin.buy(1, SOL, key(3))
    created, migration = coin.migrate(2, key(9), 10, 10, key(2))
    seen: set[str] = set()
    by_shard, launches, lifecycle = S.route([launch, trade, created, migration, launch], 4, seen)
    assert launches == [launch] and seen == {coin.mint}          # a launch goes to the sniper once ...
    assert lifecycle == [created, migration]
    shard = shard_for(coin.mint, 4)
    assert by_shard == {shard: [launch, trade, created, migration]}   # ... and a repeated one nowhere
    assert S.route([trade], 1, set())[0] == {0: [trade]}
    # a pool listed quote-first (WSOL as mint_a, as Raydium migrations do) belongs to its token's shard, the
    # shard ShardCore files it under, not to the shard of WSOL
    flipped = replace(created, mint_a=created.mint_b, mint_b=created.mint_a)
    assert shard_for(WSOL_MINT, 4) != shard
    assert S.route([flipped], 4, set()) == ({shard: [flipped]}, [], [flipped])


def test_trades_routed_from_their_wire_columns_go_where_the_trades_would():
    from pipelines.analysis.shard import _trade_values
    coins = [Coin(key(10 + i), key(20 + i)) for i in range(6)]
    trades = [c.buy(1, SOL * (k + 1), key(3)) for k in range(2) for c in coins]
    columns = tuple(zip(*map(_trade_values, trades)))
    by_columns = S.route_trade_columns(columns, 3)
    by_events, _, _ = S.route(trades, 3, set())
    assert len(by_events) > 1                                    # the six coins do not all hash to one shard
    # each shard's columns are its trades' values, in their order, every field kept
    assert {i: list(zip(*cols)) for i, cols in by_columns.items()} == \
        {i: [_trade_values(t) for t in part] for i, part in by_events.items()}
    assert S.route_trade_columns(columns, 1) == {0: columns}
    one = tuple(zip(*map(_trade_values, trades[:1])))           # a shard given one trade still gets columns
    assert S.route_trade_columns(one, 3) == {shard_for(trades[0].mint, 3): one}
    assert S.route_trade_columns((), 3) == {}
    # a garbage mint (a broken decoder's) goes to shard 0, which counts it as bad, instead of failing the batch
    bad = tuple(col + (None,) if k == 3 else col + (col[0],) for k, col in enumerate(columns))
    routed = S.route_trade_columns(bad, 3)
    assert routed[0][3][-1] is None and sum(len(c[0]) for c in routed.values()) == len(trades) + 1


def test_marks_carry_what_the_exits_need():
    cfg = load_config("sim", env={})
    rec = load_recording(SAMPLE)
    features = ShardCore(cfg.analysis).ingest(rec.events[:400], rec.t0)
    marks = S.marks_from(features)
    assert [m.mint for m in marks] == [f.mint for f in features]
    for m, f in zip(marks, features):
        assert m.price == f.price and m.complete == f.complete and m.migrated == f.migrated
        assert set(m.rug_signals) <= {"dev_dump", "liquidity_pulled", "rugged"}
        assert ("rugged" in m.rug_signals) == f.rugged
        assert {r for r in m.rug_signals if r != "rugged"} == {r for r in f.safety.reasons
                                                                if r in ("dev_dump", "liquidity_pulled")}


def test_momentum_ranking_scores_every_feature_and_makes_the_same_opportunities():
    cfg = load_config("sim", env={})
    rec = load_recording(SAMPLE)
    features = ShardCore(cfg.analysis).ingest(rec.events[:600], rec.t0 + 30)
    model, capital = MomentumModel(cfg.scoring), S.momentum_capital(cfg)
    ranked: dict[str, float] = {}
    with_ranking = S.momentum_opportunities(model, features, cfg, rec.t0 + 30, capital,
                                            scored=lambda f, score: ranked.__setitem__(f.mint, score))
    assert with_ranking == S.momentum_opportunities(model, features, cfg, rec.t0 + 30, capital)
    assert ranked == {f.mint: model.score(f).score for f in features}
    assert any(not f.safety.safe for f in features)          # the unsafe ones are ranked too
