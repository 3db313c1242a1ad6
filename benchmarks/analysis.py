"""Analysis benchmark: ShardCore throughput, memory per token, and the cost of one features() call.

Events are a synthetic but curve-exact pump.fun market: each token launches with the real Global constants,
then wallets (a pool shared across tokens) buy log-uniform 0.02-3 SOL and sell parts of what they hold, every
trade priced by pipelines.chain.curve with 0.95% + 0.30% fees, reserves after each trade in the event.

    python benchmarks/analysis.py [--tokens 2000] [--trades 100] [--batch 256]

Prints one JSON object: {"name": "analysis", "metrics": {"events_per_s", "bytes_per_token", "features_us", ...}}.
- events_per_s: ShardCore.ingest throughput in batches, features of the touched tokens included (wall clock);
  events_per_cpu_s the same over process CPU time (stable on a shared machine);
- apply_events_per_cpu_s: ShardCore.apply alone in the same batches (what an AnalyzerShard does per batch; it
  reads features once per 20 ms flush instead);
- apply_us: TokenState.apply alone per event (CPU);
- features_us: one features() call at the end of the stream (most windows partly or fully expired, as a
  refresh reads them); features_at_trade_us: one call at the token's last trade (as the backtester and a flush
  right after a trade read them). CPU time; the best of a few rounds.
- bytes_per_token: tracemalloc, everything the shard keeps after the events are dropped (token buffers, their
  strings, the shard's dict) divided by the number of tokens.
"""
from __future__ import annotations

import argparse
import gc
import json
import pickle
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.analysis.layout import LAST_TRADE  # noqa: E402
from pipelines.analysis.shard import ShardCore  # noqa: E402
from pipelines.chain import curve  # noqa: E402
from pipelines.chain.events import Launch, Trade  # noqa: E402
from pipelines.chain.programs import TOKEN, WSOL_MINT  # noqa: E402
from pipelines.config import AnalysisConfig  # noqa: E402

FEES = curve.CurveFees(95, 30)
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _key(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(44))


def token_events(rng: random.Random, wallets: list[str], n_trades: int, t0: float, slot0: int):
    """(time, event) pairs for one token: a launch and n_trades trades over ~5 minutes."""
    mint, creator, bc = _key(rng), rng.choice(wallets), _key(rng)
    st = curve.CurveState(1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000, 0, 10**15)
    out = [(t0, Launch(venue="pumpfun", signature=f"{mint}-create", slot=slot0, mint=mint, bonding_curve=bc,
                       creator=creator, name="Bench Coin", symbol="BENCH", uri="https://ipfs.io/ipfs/Qm" + mint[:20],
                       token_program=TOKEN, quote_mint=WSOL_MINT, user=creator,
                       virtual_token_reserves=st.virtual_token_reserves, virtual_sol_reserves=st.virtual_sol_reserves,
                       real_token_reserves=st.real_token_reserves, token_total_supply=st.token_total_supply))]
    held: dict[str, int] = {}
    t, slot = t0, slot0
    for i in range(n_trades):
        t += rng.expovariate(1 / 2.0)
        slot += 1 + int(rng.random() * 5)
        user = creator if i == 0 else rng.choice(wallets)
        if i > 3 and held and rng.random() < 0.35:
            user = rng.choice(list(held))
            amount = max(1, held[user] // rng.choice((1, 2, 3)))
            q = curve.sell(st, amount, FEES)
            if q.sol_out_gross <= 0:
                continue
            st = curve.apply_sell(st, q)
            held[user] -= amount
            if held[user] <= 0:
                del held[user]
            side, sol, tok = "sell", q.net_sol, amount
        else:
            spend = int(10 ** rng.uniform(7.3, 9.5))
            q = curve.buy_exact_sol(st, spend, FEES)
            if q.tokens <= 0:
                break
            st = curve.apply_buy(st, q)
            held[user] = held.get(user, 0) + q.tokens
            side, sol, tok = "buy", q.total_sol, q.tokens
        out.append((t, Trade(venue="pumpfun", signature=f"{mint}-{i}", slot=slot, mint=mint, side=side,
                             sol_amount=sol, token_amount=tok, user=user, quote_mint=WSOL_MINT, quote_amount=sol,
                             virtual_sol_reserves=st.virtual_sol_reserves,
                             virtual_token_reserves=st.virtual_token_reserves,
                             real_sol_reserves=st.real_sol_reserves, real_token_reserves=st.real_token_reserves,
                             creator=creator)))
        if st.complete:
            break
    return out


def market(n_tokens: int, n_trades: int, seed: int = 7):
    rng = random.Random(seed)
    wallets = [_key(rng) for _ in range(5000)]
    stream = []
    for k in range(n_tokens):
        stream.extend(token_events(rng, wallets, n_trades, t0=1_750_000_000.0 + k * 0.5, slot0=300_000_000 + k))
    stream.sort(key=lambda te: te[0])
    return stream


def run(n_tokens: int, n_trades: int, batch: int) -> dict:
    stream = market(n_tokens, n_trades)
    cfg = AnalysisConfig(max_tracked_tokens=max(n_tokens, 1), evict_after_idle_s=1e9)

    # throughput: batches as an AnalyzerShard receives them (features of touched tokens returned per batch).
    # Wall and CPU time both: on a shared machine the CPU figure is the one that compares across runs.
    shard = ShardCore(cfg)
    batches = [([e for _, e in stream[i:i + batch]], stream[min(i + batch, len(stream)) - 1][0])
               for i in range(0, len(stream), batch)]
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    n_features = 0
    for evs, t in batches:
        n_features += len(shard.ingest(evs, t))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    now = stream[-1][0]

    # ShardCore.apply alone, in the same batches
    apply_shard = ShardCore(cfg)
    gc.collect()
    cpu_apply = time.process_time()
    for evs, t in batches:
        apply_shard.apply(evs, t)
    cpu_apply = time.process_time() - cpu_apply

    # apply() alone: the same events straight into token states (no dedupe, no features)
    apply_shard = ShardCore(cfg)
    states = {e.mint: apply_shard._state_for(e.mint, t) for t, e in stream if not isinstance(e, str)}
    start = time.process_time()
    for t, e in stream:
        states[e.mint].apply(e, t)
    apply_cpu = time.process_time() - start

    # features() alone, at the end of the stream and at each token's last trade
    sample = list(shard.tokens.values())[:500]

    def features_cost(at_trade: bool) -> float:
        best = float("inf")
        for _ in range(3):
            start, reps = time.process_time(), 0
            while time.process_time() - start < 0.4:
                for st in sample:
                    st.features(st.reals[LAST_TRADE] if at_trade else now)
                reps += len(sample)
            best = min(best, (time.process_time() - start) / reps * 1e6)
        return best
    features_us, features_at_trade_us = features_cost(False), features_cost(True)

    # memory: a fresh shard fed from events decoded under tracemalloc (as the actor gets them from Ray), then
    # the events dropped: what remains is what the shard keeps (its token states, their strings, its dict)
    blob = pickle.dumps([e for _, e in stream])
    times = [t for t, _ in stream]
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    shard2 = ShardCore(cfg)
    events = pickle.loads(blob)
    big = 8192          # larger batches here: fewer transient features objects for tracemalloc to trace
    for i in range(0, len(events), big):
        shard2.ingest(events[i:i + big], times[min(i + big, len(times)) - 1])
    del events
    shard2._seen.clear()            # the dedupe memory is per shard (bounded), not per token
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    n_tok = len(shard2.tokens)
    trades = [st.trades for st in shard2.tokens.values()]
    return {
        "name": "analysis",
        "metrics": {
            "events_per_s": round(len(stream) / wall),
            "bytes_per_token": round(used / n_tok),
            "features_us": round(features_us, 2),
            "events_per_cpu_s": round(len(stream) / cpu),
            "apply_us": round(apply_cpu / len(stream) * 1e6, 2),
            "apply_events_per_cpu_s": round(len(stream) / cpu_apply),
            "features_at_trade_us": round(features_at_trade_us, 2),
            "stats_bytes_per_token": shard2.stats()["bytes_per_token"],
        },
        "params": {"tokens": n_tok, "events": len(stream), "batch": batch, "features_returned": n_features,
                   "mean_trades_per_token": round(sum(trades) / len(trades), 1),
                   "python": sys.version.split()[0]},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=2000)
    ap.add_argument("--trades", type=int, default=100)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    print(json.dumps(run(args.tokens, args.trades, args.batch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
