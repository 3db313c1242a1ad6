"""The decoders, reading the executed transactions' logs, find exactly what the market's ground truth lists.

Ground truth is recorded by the market from what it sent and saw land, never from decoding, so agreement here is
a check of both the market and the decode path."""
from __future__ import annotations

from collections import Counter

from pipelines.chain import pda
from pipelines.chain.events import Complete, Launch, Migration, Trade


def test_every_launch_migration_and_completion_is_decoded(behaviour_run):
    truth = behaviour_run.market.ground_truth()
    events = behaviour_run.events()
    launches = [e for e in events if isinstance(e, Launch)]
    assert len(launches) == len(truth["launches"]) > 0
    assert {(e.mint, e.signature, e.creator, e.symbol, e.token_program) for e in launches} == {
        (t["mint"], t["signature"], t["creator"], t["symbol"], t["token_program"]) for t in truth["launches"]}

    migrations = [e for e in events if isinstance(e, Migration)]
    assert len(migrations) == len(truth["migrations"]) > 0
    assert {(e.mint, e.pool, e.signature, e.slot) for e in migrations} == {
        (t["mint"], t["pool"], t["signature"], t["slot"]) for t in truth["migrations"]}
    for m in truth["migrations"]:
        assert m["pool"] == str(pda.canonical_pumpswap_pool(m["mint"]))

    completes = [e for e in events if isinstance(e, Complete)]
    assert {(e.mint, e.signature) for e in completes} == {(t["mint"], t["signature"]) for t in truth["completes"]}


def test_trades_match_one_for_one(behaviour_run):
    m = behaviour_run.market
    truth = m.ground_truth()
    trades = [e for e in behaviour_run.events() if isinstance(e, Trade)]
    assert len(trades) == len(truth["trades"]) == m.stats()["trades"] > 0

    def key(venue, signature, side, user, sol, tokens, mint_or_pool):
        return venue, signature, side, user, sol, tokens, mint_or_pool

    # logs alone name a PumpSwap trade's pool but not its mint or quote mint (instruction accounts), so its
    # amount in SOL is the event's quote amount
    decoded = Counter(key(e.venue, e.signature, e.side, e.user,
                          e.quote_amount if e.venue == "pumpswap" else e.sol_amount, e.token_amount,
                          e.pool if e.venue == "pumpswap" else e.mint) for e in trades)
    recorded = Counter(key(t["venue"], t["signature"], t["side"], t["user"], t["sol_amount"], t["token_amount"],
                           t["pool"] if t["venue"] == "pumpswap" else t["mint"]) for t in truth["trades"])
    assert decoded == recorded
    assert {"pumpfun", "pumpswap"} <= {e.venue for e in trades}
