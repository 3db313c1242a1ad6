"""TokenState.features against a from-scratch recomputation of the same definitions, on a long random stream.

The analyzer keeps running sums, counts and caches so that a trade and a features() read are cheap; this test
keeps none of that. For each token it stores the raw history (every trade, clamped in time as TokenState
clamps it) and recomputes each feature from its definition whenever the shard reports features:
  windows       a record at t counts at `now` while floor(now / w) - floor(t / w) < B (w = span / B), read at
                no earlier than the newest record (windows.py);
  unique buyers the 2-probe Bloom filter's set bits, n = -(m / 2) ln(1 - X / m) (sketches.py);
  holders       the top-K table as documented: credit a tracked owner, else take the first smallest slot when
                the amount is larger; sells debit a tracked owner;
  entropy       log2 n - sum(c log2 c) / n over the last `max_trades_per_token` half-octave size bins;
  velocity      the shared Kalman filter fed ln(vSOL / vTOK) after every trade;
  verdict, rug  safety.assess and rug_probability_of given the recomputed inputs.
Streams are batched at random, with repeated and backwards times and gaps longer than every window, and
features are also read later than the newest trade (partly expired windows, as a refresh reads them).
"""
from __future__ import annotations

import math
import random
import zlib
from collections import Counter

import pytest

from pipelines.analysis import safety
from pipelines.analysis.shard import ShardCore
from pipelines.chain.events import Launch
from pipelines.config import AnalysisConfig
from pipelines.scoring.filters import LevelVelocityFilter
from pipelines.scoring.rug_model import rug_probability_of

from .market import R_TOK0, SOL, SUPPLY, V_SOL0, Curve

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class Reference:
    """One token, recomputed from its raw history."""

    def __init__(self, cfg: AnalysisConfig, params, launch: Launch, t: float) -> None:
        self.cfg, self.params = cfg, params
        self.creator, self.first_seen = launch.creator, t
        self.records: list[tuple[float, bool, int, bool]] = []    # (time, sell, lamports, first-time buyer)
        self.bits: set[int] = set()
        self.table = [[0, 0] for _ in range(cfg.holder_slots)]    # [owner hash, balance]
        self.dev_bought = self.dev_sold = self.dev_sold_lamports = 0
        self.sizes: list[int] = []
        self.kalman = LevelVelocityFilter()
        self.vsol, self.vtok, self.rsol, self.rtok = V_SOL0, launch.virtual_token_reserves, 0, R_TOK0
        self.peak_price, self.peak_liq, self.rugged = 0.0, 0, False
        self.trades, self.slot, self.last_active = 0, launch.slot, t

    def trade(self, e, t: float) -> None:
        if self.records and t < self.records[-1][0]:
            t = self.records[-1][0]
        h = zlib.crc32(e.user.encode())
        sell = e.side == "sell"
        new_buyer = False
        if not sell:
            m = self.cfg.buyer_sketch_bits
            probes = {h & (m - 1), (h >> 16) & (m - 1)}
            new_buyer = not probes <= self.bits
            self.bits |= probes
        self.records.append((t, sell, e.sol_amount, new_buyer))
        owners = [o for o, _ in self.table]
        if not sell:
            if h in owners:
                self.table[owners.index(h)][1] += e.token_amount
            else:
                balances = [b for _, b in self.table]
                j = balances.index(min(balances))
                if e.token_amount > balances[j]:
                    self.table[j] = [h, e.token_amount]
        elif h in owners:
            row = self.table[owners.index(h)]
            row[1] = max(0, row[1] - e.token_amount)
        if e.user == self.creator:
            if sell:
                self.dev_sold += e.token_amount
                self.dev_sold_lamports += e.sol_amount
            else:
                self.dev_bought += e.token_amount
        self.sizes.append(1 + int(2 * math.log2(e.sol_amount)) if e.sol_amount > 0 else 0)
        self.vsol, self.vtok = e.virtual_sol_reserves, e.virtual_token_reserves
        self.rsol, self.rtok = e.real_sol_reserves, e.real_token_reserves
        price = self.vsol / self.vtok
        self.kalman.update(self.params.kalman, t, math.log(price))
        self.peak_price = max(self.peak_price, price)
        if self.rsol > self.peak_liq:
            self.peak_liq = self.rsol
        elif self.peak_liq >= self.cfg.rug_min_peak_liquidity_sol * SOL and \
                self.rsol <= self.peak_liq * (1 - self.cfg.rug_liquidity_drop):
            self.rugged = True
        self.trades += 1
        self.slot = max(self.slot, e.slot)
        self.last_active = max(self.last_active, t)

    def windows(self, now: float) -> dict[int, tuple[int, int, int, int, int]]:
        out = {}
        b = self.cfg.window_buckets
        for span in self.cfg.window_s:
            w = span / b
            if not self.records:
                out[span] = (0, 0, 0, 0, 0)
                continue
            newest = math.floor(max(now, self.records[-1][0]) / w)
            live = [r for r in self.records if newest - math.floor(r[0] / w) < b]
            out[span] = (sum(r[2] for r in live if not r[1]), sum(r[2] for r in live if r[1]),
                         sum(1 for r in live if not r[1]), sum(1 for r in live if r[1]),
                         sum(1 for r in live if r[3]))
        return out

    def check(self, f, now: float) -> None:
        win = self.windows(now)
        spans = sorted(win)
        mid, longest = win[spans[len(spans) // 2]], win[spans[-1]]
        assert f.volume_lamports == {s: v[0] + v[1] for s, v in win.items()}
        assert f.buy_volume_lamports == {s: v[0] for s, v in win.items()}
        assert f.buys == {s: v[2] for s, v in win.items()} and f.sells == {s: v[3] for s, v in win.items()}
        assert f.new_buyers == {s: v[4] for s, v in win.items()}
        assert f.net_flow_lamports == longest[0] - longest[1]

        m = self.cfg.buyer_sketch_bits
        assert f.unique_buyers == round(-(m / 2) * math.log1p(-len(self.bits) / m))
        top5 = min(1.0, sum(sorted(b for _, b in self.table)[-5:]) / SUPPLY)
        assert f.top5_share == top5
        dev_sell_share = 0.0 if not self.dev_sold else min(1.0, self.dev_sold / self.dev_bought)
        assert f.dev_sell_share == dev_sell_share and f.dev_sold_lamports == self.dev_sold_lamports
        assert f.dev_share == max(0, self.dev_bought - self.dev_sold) / SUPPLY

        ring = self.sizes[-self.cfg.max_trades_per_token:]
        n = len(ring)
        entropy = math.log2(n) - sum(c * math.log2(c) for c in Counter(ring).values()) / n if n > 1 else 0.0
        assert f.trade_size_entropy == pytest.approx(max(0.0, entropy), abs=1e-9)

        assert f.price == self.vsol / self.vtok and f.peak_price == self.peak_price
        assert f.market_cap_lamports == self.vsol * SUPPLY // self.vtok
        assert f.curve_progress == max(0.0, min(1.0, (R_TOK0 - self.rtok) / R_TOK0))
        assert f.liquidity_lamports == self.rsol
        assert f.price_velocity == self.kalman.velocity
        assert (f.trades, f.slot, f.rugged) == (self.trades, self.slot, self.rugged)
        assert f.age_s == max(0.0, now - self.first_seen)

        rules = safety.SafetyRules.from_config(self.cfg)
        assert f.safety == safety.assess(rules, flags=0, trusted_launch=True, top5_share=top5,
                                         initial_liquidity_lamports=V_SOL0, creator=self.creator,
                                         dev_sell_share=dev_sell_share, rugged=self.rugged)
        mid_volume = mid[0] + mid[1]
        assert f.rug_probability == rug_probability_of(dev_sell_share, top5, mid[1] / mid_volume if mid_volume
                                                       else None, self.rsol, False, False, False)


def random_market(rng: random.Random, n_tokens: int, n_trades: int):
    """(time offset, event) pairs: launches, then buys and sells by a shared pool of wallets (a few whales,
    the creators trading their own coins), at times that repeat, jump back and leave gaps past every window."""
    wallets = ["".join(rng.choice(ALPHABET) for _ in range(44)) for _ in range(60)]
    curves = [Curve(creator=rng.choice(wallets)) for _ in range(n_tokens)]
    held: dict[tuple[int, str], int] = {}
    out, t = [], 0.0
    for c in curves:
        out.append((t, c.launch()))
    for _ in range(n_trades):
        t += rng.choice((0.0, 0.0, 0.3, 1.1, 2.5, 7.0, -1.5, 45.0, 400.0))
        k = rng.randrange(n_tokens)
        c = curves[k]
        mine = [w for (i, w), v in held.items() if i == k and v > 0]
        if mine and rng.random() < 0.35:
            user = rng.choice(mine)
            amount = max(1, held[(k, user)] // rng.choice((1, 2, 4)))
            held[(k, user)] -= amount
            out.append((t, c.sell(user, amount)))
        else:
            user = c.creator if rng.random() < 0.1 else rng.choice(wallets[:8] if rng.random() < 0.3 else wallets)
            ev = c.buy_sol(user, int(10 ** rng.uniform(6.5, 9.7)))
            held[(k, user)] = held.get((k, user), 0) + ev.token_amount
            out.append((t, ev))
    return out


@pytest.mark.parametrize("seed,cfg", [
    (1, AnalysisConfig()),
    (2, AnalysisConfig(window_s=(5, 30, 120, 600), window_buckets=5, holder_slots=6, buyer_sketch_bits=128,
                       max_trades_per_token=16)),
])
def test_features_match_a_recomputation_from_the_raw_history(seed, cfg):
    rng = random.Random(seed)
    stream = random_market(rng, n_tokens=4, n_trades=1500)
    shard = ShardCore(cfg)
    refs: dict[str, Reference] = {}
    t0, i, checked, partial = 1_750_000_000.0, 0, 0, 0
    shortest, longest = min(cfg.window_s), max(cfg.window_s)
    while i < len(stream):
        batch = stream[i:i + rng.choice((1, 1, 3, 20))]
        i += len(batch)
        now = t0 + batch[-1][0]
        for _, e in batch:
            if isinstance(e, Launch):
                refs[e.mint] = Reference(cfg, shard.params, e, now)
            else:
                refs[e.mint].trade(e, now)
        out = shard.ingest([e for _, e in batch], now)
        assert [f.mint for f in out] == list(dict.fromkeys(e.mint for _, e in batch))
        for f in out:
            refs[f.mint].check(f, now)
            checked += 1
        if rng.random() < 0.2:            # read later, as a refresh does: windows partly or fully expired
            later = now + rng.choice((0.01, 1.3, 9.0, 61.0, 299.0, 1000.0))
            for f in shard.refresh(later):
                refs[f.mint].check(f, later)
                checked += 1
                partial += 0 < f.buys[longest] and f.buys[shortest] < f.buys[longest]
    assert checked > 400 and partial > 10
