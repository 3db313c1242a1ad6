"""AnalyzerShard (live mode) without a Ray cluster: batches are applied on arrival and each touched token's
features are read once per flush, at the flush's time, replacing refreshed ones; eviction reports first."""
from __future__ import annotations

import pickle
import time

import pytest

from actors.analyzer import AnalyzerShard
from pipelines.config import config_with, load_config
from pipelines.wire import EventBatch, events_of

from .market import SOL, Curve, key


class Momentum:
    """Stands in for the MomentumEngine handle: records each batch it is sent, as the engine reads it after Ray
    pickled it (the shard sends an EventBatch: columns on the wire)."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.sent: list = []
        self.on_features = self

    def remote(self, batch, now=None):
        self.sent.append(batch)
        self.batches.append(events_of(pickle.loads(pickle.dumps(batch, 5))))


@pytest.fixture
async def host(tmp_path):
    cfg = config_with(load_config("sim", env={}), {"ledger": {"path": str(tmp_path / "ledger.sqlite")}})
    shard = AnalyzerShard.__ray_metadata__.modified_class(cfg, 0, 1)       # the class Ray would host
    for task in shard._tasks:              # drive flushes and maintenance by hand
        task.cancel()
    momentum = Momentum()
    shard.peers = lambda name: momentum
    shard.momentum = momentum
    yield shard


async def test_features_are_read_once_per_flush_not_once_per_batch(host, monkeypatch):
    reads = []
    real = host.core.features_of
    monkeypatch.setattr(host.core, "features_of", lambda mints, now: reads.append(list(mints)) or real(mints, now))
    hot, cold = Curve(), Curve()
    await host.ingest([hot.launch(), cold.launch()])
    for _ in range(5):
        await host.ingest([hot.buy_sol(key(), SOL // 10)])
    assert reads == [] and host.momentum.batches == []           # nothing read or sent between flushes
    t = time.time()
    assert await host.flush() == 2
    assert reads == [[hot.mint, cold.mint]]                      # one read, each touched token once
    [batch] = host.momentum.batches
    assert [f.mint for f in batch] == [hot.mint, cold.mint] and batch[0].trades == 5 and batch[0].ts >= t
    assert type(host.momentum.sent[0]) is EventBatch                # columns on the wire, equal objects back
    assert await host.flush() == 0                               # nothing new: nothing sent


async def test_a_tokens_batch_features_replace_its_refreshed_ones(host):
    a, b = Curve(), Curve()
    await host.ingest([a.launch(), b.launch()])
    await host.flush()
    assert host.maintain(refresh=True, evict=False) == 2          # both pending from the refresh
    await host.ingest([a.buy_sol(key(), SOL)])
    await host.flush()
    batch = {f.mint: f for f in host.momentum.batches[-1]}
    assert len(host.momentum.batches[-1]) == 2 and batch[a.mint].trades == 1 and batch[b.mint].trades == 0


async def test_a_token_evicted_for_a_rug_reports_it_before_it_goes(host):
    c = Curve()
    await host.ingest([c.launch(), c.buy_tokens(c.creator, 300_000_000_000_000)])
    await host.flush()
    sold = c.sell(c.creator, 300_000_000_000_000)        # the creator dumps: liquidity collapses
    await host.ingest([sold])
    host.maintain(refresh=False, evict=True)
    assert host.core.get(c.mint) is None                 # evicted ...
    await host.flush()
    [f] = host.momentum.batches[-1]
    assert f.mint == c.mint and f.rugged                 # ... after its last features were taken


async def test_a_burst_is_read_a_capped_number_of_tokens_per_flush_longest_waiting_first(host):
    host.cfg = config_with(host.cfg, {"analysis": {"max_features_per_flush": 3}})
    curves = [Curve() for _ in range(5)]
    await host.ingest([c.launch() for c in curves])
    assert await host.flush() == 3                              # the first three touched
    assert [f.mint for f in host.momentum.batches[-1]] == [c.mint for c in curves[:3]]
    await host.ingest([curves[0].buy_sol(key(), SOL)])          # traded again while two still wait
    assert await host.flush() == 3                              # the two waiting, then the one traded since
    batch = host.momentum.batches[-1]
    assert [f.mint for f in batch] == [curves[3].mint, curves[4].mint, curves[0].mint] and batch[2].trades == 1
    assert await host.flush() == 0
    # eviction reads what it evicts first (test_a_token_evicted_for_a_rug_...); the rest keep waiting, capped
    await host.ingest([c.buy_sol(key(), SOL) for c in curves])
    host.maintain(refresh=False, evict=True)
    assert await host.flush() == 3 and await host.flush() == 2


async def test_the_live_refresh_waits_for_the_capped_flush_behind_the_traded_tokens(host):
    host.cfg = config_with(host.cfg, {"analysis": {"max_features_per_flush": 3}})
    curves = [Curve() for _ in range(5)]
    await host.ingest([c.launch() for c in curves])
    assert await host.flush() == 3 and await host.flush() == 2 and await host.flush() == 0
    await host.ingest([curves[4].buy_sol(key(), SOL)])          # traded: waiting before the refresh comes
    assert host.queue_refresh() == 4                            # the other four join behind it, nothing is read
    assert host.momentum.batches[-1][0].mint == curves[3].mint  # (the last batch is still the launches')
    assert await host.flush() == 3
    assert [f.mint for f in host.momentum.batches[-1]] == [curves[4].mint, curves[3].mint, curves[2].mint]
    assert await host.flush() == 2                              # most recently active first, all read in the end
    assert [f.mint for f in host.momentum.batches[-1]] == [curves[1].mint, curves[0].mint]
    assert await host.flush() == 0


async def test_eviction_reads_only_the_waiting_tokens_it_evicts(host):
    host.cfg = config_with(host.cfg, {"analysis": {"max_features_per_flush": 1}})
    dead, live = Curve(), [Curve() for _ in range(3)]
    await host.ingest([dead.launch()] + [c.launch() for c in live])
    while await host.flush():
        pass
    await host.ingest([dead.buy_tokens(dead.creator, 300_000_000_000_000)] + [c.buy_sol(key(), SOL) for c in live])
    await host.ingest([dead.sell(dead.creator, 300_000_000_000_000)])     # rugged: evicted next
    host.maintain(refresh=False, evict=True)
    assert host.core.get(dead.mint) is None and all(host.core.get(c.mint) is not None for c in live)
    assert await host.flush() == 2                              # the evicted one's features, then one waiting
    assert [f.mint for f in host.momentum.batches[-1]] == [dead.mint, live[0].mint]
    assert host.momentum.batches[-1][0].rugged
    assert await host.flush() == 1 and await host.flush() == 1 and await host.flush() == 0


async def test_a_held_mint_goes_out_in_every_flush_it_changed_in_whatever_the_cap(host):
    host.cfg = config_with(host.cfg, {"analysis": {"max_features_per_flush": 2}})
    curves = [Curve() for _ in range(6)]
    held = curves[5]
    await host.ingest([c.launch() for c in curves])
    host.held.mints = (held.mint,)                               # what the PositionTracker's held_mints said
    assert await host.flush() == 3                              # the held one, then the two waiting longest
    assert [f.mint for f in host.momentum.batches[-1]] == [held.mint, curves[0].mint, curves[1].mint]
    await host.ingest([held.buy_sol(key(), SOL)])               # it trades again while three still wait
    assert await host.flush() == 3
    batch = host.momentum.batches[-1]
    assert [f.mint for f in batch] == [held.mint, curves[2].mint, curves[3].mint] and batch[0].trades == 1
    assert await host.flush() == 1 and host.momentum.batches[-1][0].mint == curves[4].mint   # not held: waits


async def test_mint_reads_take_what_the_chain_has_and_wait_on_what_it_does_not(host):
    from actors import names
    from pipelines.chain.mint import MintInfo, encode_mint
    from pipelines.chain.programs import TOKEN

    curves = [Curve() for _ in range(3)]
    read, missing, garbage = (c.mint for c in curves)
    await host.ingest([c.launch() for c in curves])
    asked: list[list[str]] = []

    class Rpc:
        """Stands in for the RpcPool: a real mint account, no account, and bytes that are not a mint."""

        class get_accounts:
            @staticmethod
            async def remote(mints):
                asked.append(list(mints))
                return {read: {"data": encode_mint(MintInfo(None, 10**15, 6, True, None)), "owner": TOKEN},
                        missing: None, garbage: {"data": b"\x01" * 20, "owner": TOKEN}}

    rpc, momentum = Rpc(), host.momentum
    host.peers = lambda name: rpc if name == names.RPC_POOL else momentum
    assert all(host.core.tokens[m].flags == 0 for m in (read, missing, garbage))     # nothing read yet
    await host._read_mints()
    assert sorted(asked[0]) == sorted([read, missing, garbage])
    assert host.reads["mint"] == 1 and host.reads["errors"] == 1
    assert host.core.tokens[read].flags != 0 and host.core.tokens[missing].flags == 0
    await host._read_mints()                              # the other two wait (0.5 s): nothing is asked
    assert len(asked) == 1
    t = time.time()
    assert sorted(host.core.pending_mint_reads(100, t + 0.6)) == sorted([missing, garbage])   # due again
