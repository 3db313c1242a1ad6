"""After a restart no momentum entry is made on a token until its analysis state is rebuilt (issue 14).

The user's case: right after a restart the momentum strategy bought three tokens in the same second. Why: a shard
restores its tokens from its last checkpoint (or starts empty), then the gap's backfill delivers every trade
missed while it was down at one `now`: the 10 s window holds minutes of buying, the velocity jumps, and the
score says "surging". The gate (TokenFeatures.warm, AnalysisConfig.warmup_s = the longest window, 300 s): a
token whose history has a gap (restored, first seen mid-life, or its launch learned late) is not warm until the
shard has watched it for warmup_s without a break, and momentum makes no opportunity on it. A token seen from its
launch is warm at once: neither the sniper nor momentum on fresh tokens waits.

Every scenario checks that the model itself would buy (score over min_score, an opportunity once warm): only the
gate stands in the way, so each fails on the code before it (no `warm`, the opportunity made).
"""
from __future__ import annotations

import dataclasses
import pickle
import random

import pytest

from pipelines.analysis.shard import ShardCore
from pipelines.chain.mint import MintInfo
from pipelines.config import AnalysisConfig, ConfigError, config_with, load_config
from pipelines.scoring.momentum import MomentumModel
from pipelines.scoring.opportunities import opportunity_from
from pipelines.scoring.sniper import Sniper
from pipelines.stages import momentum_opportunities
from tests.unit.analysis.market import SOL, Curve, key

CFG = load_config("sim", env={})
MODEL = MomentumModel(CFG.scoring)


def run_buys(c: Curve, n: int, seed: int) -> list:
    """n buys from distinct wallets, sizes spread over 0.05-2 SOL, a few small sells (a broad run)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append(c.buy_sol(key(), int(SOL * 10 ** rng.uniform(-1.3, 0.3))))
        if i % 6 == 5:
            out.append(c.sell(key(), 10**11))
    return out


def opportunities(features, now):
    return momentum_opportunities(MODEL, features, CFG, now, SOL)


def would_buy(f, now) -> bool:
    """What momentum would do with these features if the gate were not there."""
    return opportunity_from(dataclasses.replace(f, warm=True), MODEL.score(f), CFG.scoring, now, SOL,
                            exits=CFG.exits) is not None


def test_the_default_warm_up_is_the_longest_window_the_score_reads():
    assert AnalysisConfig().warmup_s is None
    assert ShardCore(AnalysisConfig()).params.warmup_s == 300.0 == max(AnalysisConfig().window_s)
    assert ShardCore(AnalysisConfig(warmup_s=42)).params.warmup_s == 42.0
    with pytest.raises(ConfigError, match="warmup_s"):
        config_with(CFG, {"analysis": {"warmup_s": -1}})
    with pytest.raises(ConfigError, match="late_launch_slots"):
        config_with(CFG, {"analysis": {"late_launch_slots": -1}})


def test_a_token_seen_from_its_launch_is_warm_at_once_and_momentum_buys_it():
    shard = ShardCore(CFG.analysis)
    c = Curve(slot=5_000)
    launch = c.launch()
    assert Sniper(CFG.scoring, CFG.analysis).on_launch(launch, 0.0, SOL) is not None   # the sniper: untouched
    [f] = shard.ingest([launch], 0.0)
    assert f.warm and f.age_s == 0.0
    t = 0.0
    for i, ev in enumerate(run_buys(c, 40, 5)):
        t += 3.0 if i < 25 else 0.8
        out = shard.ingest([ev], t)
    f = out[0]
    assert f.warm and t < 300                     # well inside the warm-up a mid-life token would need
    assert MODEL.score(f).score >= CFG.scoring.min_score
    assert [o.mint for o in opportunities([f], t)] == [c.mint]


def test_a_restored_token_flooded_by_the_backfill_makes_no_entry_until_watched_for_the_warm_up():
    c = Curve(slot=5_000)
    before = ShardCore(CFG.analysis)
    before.ingest([c.launch()], 0.0)
    for i, ev in enumerate(run_buys(c, 8, 7)):
        before.ingest([ev], 3.0 * (i + 1))
    blob = pickle.dumps(before.snapshot())          # the last checkpoint; then SIGKILL, restart 20 s later

    after = ShardCore(CFG.analysis)
    after.restore(pickle.loads(blob))
    backfill = run_buys(c, 40, 8)                   # what the token did while we were down, all at one `now`
    [f] = after.ingest(backfill, 60.0)
    assert not f.warm
    assert would_buy(f, 60.0)                       # the burst looks like a surge: today's code buys it
    assert opportunities([f], 60.0) == []
    # watched without a break from the first batch after the restore (60 s): warm at 360 s, not before
    assert not after.features_of([c.mint], 359.9)[0].warm
    assert after.features_of([c.mint], 360.0)[0].warm
    # and a run seen live after the warm-up is bought on its merits
    t = 360.0
    for ev in run_buys(c, 40, 9):
        t += 1.0
        out = after.ingest([ev], t)
    assert out[0].warm and [o.mint for o in opportunities(out, t)] == [c.mint]


def test_a_launch_learned_late_from_the_backfill_is_not_warm():
    shard = ShardCore(CFG.analysis)
    other = Curve(slot=10_050)
    shard.ingest([other.launch()], 100.0)          # the live stream is at slot 10,050
    late = Curve(slot=10_039)                       # launched 11 slots before: learned from the backfill
    events = [late.launch(), *run_buys(late, 40, 11)]
    out = shard.ingest(events, 100.0)
    f = next(x for x in out if x.mint == late.mint)
    assert not f.warm and shard.stats()["late_launches"] == 1
    assert would_buy(f, 100.0) and opportunities([f], 100.0) == []
    # a launch 10 slots behind the newest slot is still live (notifications of other programs run a little ahead)
    live = Curve(slot=10_040)
    [g] = shard.ingest([live.launch()], 100.5)
    assert g.warm and shard.stats()["late_launches"] == 1


def test_a_restored_shard_knows_its_newest_slot_so_an_older_backfilled_launch_is_late():
    shard = ShardCore(CFG.analysis)
    shard.ingest([Curve(slot=20_000).launch()], 10.0)
    restored = ShardCore(CFG.analysis)
    restored.restore(pickle.loads(pickle.dumps(shard.snapshot())))
    assert restored.max_slot == 20_000
    [f] = restored.ingest([Curve(slot=19_900).launch()], 30.0)    # created while the shard was down
    assert not f.warm


def test_a_token_first_seen_mid_life_needs_the_warm_up():
    shard = ShardCore(CFG.analysis)
    c = Curve(slot=3_000)
    c.launch()                                      # happened before we started: never delivered
    events = run_buys(c, 40, 13)
    out = shard.ingest(events[:1], 50.0)
    assert not out[0].warm
    shard.apply_mint_info(c.mint, MintInfo(None, 10**15, 6, True, None), 50.0)   # its mint read: authorities revoked
    out = shard.ingest(events[1:], 60.0)
    assert not out[0].warm and would_buy(out[0], 60.0) and opportunities(out, 60.0) == []
    assert shard.features_of([c.mint], 350.0)[0].warm      # 300 s after it was first seen


def test_the_compiled_and_python_paths_agree_on_warm():
    c = Curve(slot=1_000)
    events = [c.launch(), *run_buys(c, 20, 17)]
    fast, slow = ShardCore(CFG.analysis), ShardCore(CFG.analysis.model_copy(update={"compiled_trades": False}))
    assert [f.warm for f in fast.ingest(events, 1.0)] == [f.warm for f in slow.ingest(events, 1.0)] == [True]


def test_after_a_restart_the_gap_s_launches_are_late_even_before_any_live_event():
    # SIGKILL at t=100 (the last checkpoint: newest slot 20,000), restart 20 s later: the backfill of the gap comes
    # first. At the default 2 slots/s (nothing learned yet) the chain is at >= 20,040 by now.
    shard = ShardCore(CFG.analysis)
    shard.ingest([Curve(slot=20_000).launch()], 100.0)
    restored = ShardCore(CFG.analysis)
    restored.restore(pickle.loads(pickle.dumps(shard.snapshot())))
    made_while_down = Curve(slot=20_020)
    out = restored.ingest([made_while_down.launch(), *run_buys(made_while_down, 40, 21)], 120.0)
    assert restored.max_slot == 20_040
    f = next(x for x in out if x.mint == made_while_down.mint)
    assert not f.warm and would_buy(f, 120.0) and opportunities([f], 120.0) == []
    [g] = restored.ingest([Curve(slot=20_031).launch()], 120.1)     # within 10 slots of the estimate: live
    assert g.warm


def test_the_slot_rate_is_learned_and_kept_across_a_restart():
    shard = ShardCore(CFG.analysis)
    for i in range(11):                                  # 2.5 slots/s over 100 s (mainnet's pace)
        shard.ingest([Curve(slot=1_000 + 25 * i).launch()], 10.0 * i)
    assert shard.snapshot()["slots_per_s"] == 2.5
    restored = ShardCore(CFG.analysis)
    restored.restore(shard.snapshot())
    restored.ingest([Curve(slot=1_250).launch()], 140.0)   # 40 s down: the chain is 100 slots further
    assert restored.max_slot == 1_350


def test_a_fresh_shard_told_the_chain_s_slot_flags_a_backfill_that_comes_first():
    # The drill's SIGKILL + restart, no checkpoint yet: the shard starts empty and the gap's backfill is the first
    # thing it sees. The host read the chain's slot first (AnalyzerShard: getSlot before the backfill can come).
    shard = ShardCore(CFG.analysis)
    shard.note_chain_slot(205, 823.5)
    made_while_down = Curve(slot=107)
    out = shard.ingest([made_while_down.launch(), *run_buys(made_while_down, 40, 23)], 823.7)
    f = next(x for x in out if x.mint == made_while_down.mint)
    assert not f.warm and would_buy(f, 823.7) and opportunities([f], 823.7) == []
    [g] = shard.ingest([Curve(slot=200).launch()], 824.0)     # launched as the run came back: live
    assert g.warm
