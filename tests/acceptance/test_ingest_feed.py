"""Ingest's feed of decoded events (recorded streams, the pipeline benchmark): through the real Ingest actor to the
real AnalyzerShards, as columns or as objects, each trade applied once by the shard that owns its mint."""
from __future__ import annotations

import pickle

import pytest
import ray
from solders.pubkey import Pubkey

from actors import names
from pipelines.analysis.routing import shard_for
from pipelines.chain.events import Trade
from pipelines.chain.programs import WSOL_MINT
from pipelines.wire import EventBatch
from tests.acceptance.harness import running_system, system_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]
VSOL, VTOK = 30_000_000_000, 1_073_000_000_000_000


def trades(mints: list[str], per_mint: int, tag: str) -> list[Trade]:
    out = []
    for k in range(per_mint):
        for j, mint in enumerate(mints):
            sol = 10_000_000 * (1 + (j + k) % 7)
            tok = sol * VTOK // VSOL
            out.append(Trade(venue="pumpfun", signature=f"{tag}-{k}-{j}", slot=100 + k, mint=mint,
                             side="buy" if (j + k) % 3 else "sell", sol_amount=sol, token_amount=tok,
                             user=str(Pubkey.new_unique()), quote_mint=WSOL_MINT, quote_amount=sol,
                             timestamp=1_700_000_000 + k, virtual_sol_reserves=VSOL + sol,
                             virtual_token_reserves=VTOK - tok, real_sol_reserves=sol,
                             real_token_reserves=793_100_000_000_000 - tok))
    return out


def test_a_fed_stream_reaches_the_owning_shard_once_as_columns_or_objects(ray_session, tmp_path):
    mints = [str(Pubkey.new_unique()) for _ in range(12)]
    feed = trades(mints, 9, "feed")                    # 108 trades, 9 per mint
    first, middle, last = feed[:40], feed[40:70], feed[70:]
    with running_system(system_config(tmp_path), n_shards=2, start_market=False) as system:
        ingest = system.actor(names.INGEST)
        # columns (an EventBatch as Ray delivers it), then plain objects (the decoder's path), then columns again
        sent = [EventBatch(first), middle, ray.put(EventBatch(last))]
        assert [ray.get(ingest.ingest_events.remote(b)) for b in sent] == [40, 30, 38]
        ray.get(ingest.drain.remote())
        shards = [system.actor(names.shard_name(i)) for i in range(2)]
        owners = {m: shard_for(m, 2) for m in mints}
        assert len(set(owners.values())) == 2            # twelve mints do not all hash to one shard
        for mint, owner in owners.items():
            mine = ray.get(shards[owner].features.remote(mint))
            assert mine is not None and mine.trades == 9, mint
            assert ray.get(shards[1 - owner].features.remote(mint)) is None
            want_sol = sum(t.sol_amount for t in feed if t.mint == mint and t.side == "buy")
            assert mine.buy_volume_lamports[max(mine.buy_volume_lamports)] == want_sol
        stats = [ray.get(s.stats.remote()) for s in shards]
        per_shard = [sum(1 for t in feed if owners[t.mint] == i) for i in range(2)]
        assert [s["events"] for s in stats] == per_shard and sum(s["duplicates"] for s in stats) == 0
        # a re-delivered batch (a retry after a restart) changes nothing: each shard drops what it has seen
        ray.get(ingest.ingest_events.remote(pickle.loads(pickle.dumps(EventBatch(first)))))
        ray.get(ingest.drain.remote())
        again = [ray.get(s.stats.remote()) for s in shards]
        assert sum(s["duplicates"] for s in again) == 40
        assert all(ray.get(shards[o].features.remote(m)).trades == 9 for m, o in owners.items())
        assert ray.get(ingest.status.remote())["shard_backlog"] == 0
