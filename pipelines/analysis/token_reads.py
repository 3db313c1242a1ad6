"""The read side of a TokenState: named views of its buffers, the safety verdict, and `features(now)`.

`TokenReads` is TokenState's base class (token_state.py holds the writes); it owns no storage. `features()` runs
once per touched token per batch (the backtester) or per flush (AnalyzerShard), so it reads the buffers' running
sums and counts directly instead of going through the properties, looks its SafetyVerdict up by what the
verdict depends on, and builds the TokenFeatures through pipelines.wire.constructor. What it
returns is exactly what the properties and `verdict()` define (tests/unit/analysis/test_features_reference.py
checks it against a from-scratch recomputation).
"""
from __future__ import annotations

import math

from pipelines.chain.curve import CurveState
from pipelines.chain.programs import TOKEN, TOKEN_2022
from pipelines.messages import TokenFeatures
from pipelines.scoring.rug_model import rug_probability_of
from pipelines.wire import constructor

from . import safety
from .layout import (COMPLETE, CURVE_VENUES, DEV_BOUGHT, DEV_SOLD, DEV_SOLD_LAMPORTS, ENTROPY_S, FIRST_SEEN,
                     INIT_LIQ, INIT_RTOK, KALMAN, LAST_ACTIVE, LAST_TRADE, LAUNCHED, LP_BURNED, MIGRATED,
                     MINT_FLAGS, PEAK_PRICE, PUMP_TOKEN_TOTAL_SUPPLY, RSOL, RTOK, RUGGED, SAMPLED, SLOT, STATUS,
                     SUPPLY, TRADES, VSOL, VTOK)
from .sketches import estimate_from_ones, wallet_hash

VERDICT_CACHE = 4096               # distinct verdict keys kept per shard before the cache starts over
_KNOWN, _MINT_AUTH, _FREEZE_AUTH, _RISKY = (safety.KNOWN, safety.MINT_AUTHORITY, safety.FREEZE_AUTHORITY,
                                            safety.RISKY_MASK)
_TRUSTED_PROGRAMS = ("", TOKEN, TOKEN_2022)   # legacy (2024) create events do not name the program: SPL Token
_isfinite, _log2 = math.isfinite, math.log2


new_token_features = constructor(TokenFeatures)     # TokenFeatures(**kw) at about half the cost


def _status_property(bit: int, doc: str):
    def get(self) -> bool:
        return bool(self.ints[STATUS] & bit)

    def set_(self, value: bool) -> None:
        if value:
            self.ints[STATUS] |= bit
        else:
            self.ints[STATUS] &= ~bit
    return property(get, set_, doc=doc)


def _int_property(i: int):
    return property(lambda self: self.ints[i])


def _real_property(i: int):
    return property(lambda self: self.reals[i])


class TokenReads:
    """Reads over TokenState's slots (p, mint, creator, venue, token_program, symbol, pool, meta_problems,
    ints, reals, cnt, owners, buf)."""

    __slots__ = ()

    launched = _status_property(LAUNCHED, "a Launch event was seen")
    complete = _status_property(COMPLETE, "the curve completed (or the token migrated)")
    migrated = _status_property(MIGRATED, "the token trades in an AMM pool now")
    rugged = _status_property(RUGGED, "liquidity fell rug_liquidity_drop below its peak")
    trades = _int_property(TRADES)
    slot = _int_property(SLOT)
    flags = _int_property(MINT_FLAGS)     # safety.mint_flags of the last mint read (0 = not read)
    vsol = _int_property(VSOL)
    vtok = _int_property(VTOK)
    rsol = _int_property(RSOL)
    rtok = _int_property(RTOK)

    first_seen = _real_property(FIRST_SEEN)
    last_active = _real_property(LAST_ACTIVE)

    @property
    def price(self) -> float:
        ints = self.ints
        return ints[VSOL] / ints[VTOK] if ints[VTOK] and ints[VSOL] else 0.0

    @property
    def liquidity(self) -> int:
        return self.ints[RSOL] if self.venue in CURVE_VENUES else self.ints[VSOL]

    @property
    def initial_liquidity(self) -> int | None:
        v = self.ints[INIT_LIQ]
        return None if v < 0 else v

    peak_price = _real_property(PEAK_PRICE)

    @property
    def lp_burned(self) -> float | None:
        v = self.reals[LP_BURNED]
        return None if v < 0 else v

    @property
    def price_velocity(self) -> float:
        reals = self.reals
        return reals[KALMAN + 2] if reals[KALMAN] else 0.0

    @property
    def total_supply(self) -> int:
        if self.ints[SUPPLY]:
            return self.ints[SUPPLY]
        return PUMP_TOKEN_TOTAL_SUPPLY if self.venue in CURVE_VENUES else 0

    dev_bought = _int_property(DEV_BOUGHT)
    dev_sold = _int_property(DEV_SOLD)
    dev_sold_lamports = _int_property(DEV_SOLD_LAMPORTS)

    @property
    def dev_sell_share(self) -> float:
        sold, bought = self.ints[DEV_SOLD], self.ints[DEV_BOUGHT]
        if not sold:
            return 0.0
        if not bought:
            return 1.0                  # sells tokens it never bought here: pre-minted or transferred in
        return min(1.0, sold / bought)

    @property
    def trusted_launch(self) -> bool:
        return self.launched and self.venue in self.p.trusted and self.token_program in _TRUSTED_PROGRAMS

    def top5_share(self) -> float | None:
        supply = self.total_supply
        if not supply:
            return None
        return min(1.0, self.p.holders.top_sum(self.ints, 5) / supply)

    def holder_balance(self, owner: str) -> int:
        """Tracked balance of one wallet (0 when it is not among the largest holders)."""
        return self.p.holders.balance(self.owners, self.ints, wallet_hash(owner))

    def unique_buyers(self) -> int:
        return estimate_from_ones(self.ints[self.p.bloom_ones], self.p.bloom_bytes * 8)

    def window_totals(self, now: float):
        return self.p.windows.totals(self.ints, self.cnt, self.reals[LAST_TRADE], now)

    def trade_size_entropy(self) -> float:
        """Entropy (bits) of the half-octave sizes of the last `max_trades_per_token` trades."""
        n = self.ints[SAMPLED]
        if n <= 1:
            return 0.0
        return max(0.0, math.log2(n) - self.reals[ENTROPY_S] / n)

    def is_dead(self, now: float) -> bool:
        return self.rugged or now - self.reals[LAST_ACTIVE] > self.p.cfg.evict_after_idle_s

    def curve_state(self) -> CurveState:
        ints = self.ints
        return CurveState(ints[VTOK], ints[VSOL], ints[RTOK], ints[RSOL], self.total_supply,
                          complete=bool(ints[STATUS] & COMPLETE))

    def verdict(self, top5: float | None = None):
        return safety.assess(
            self.p.rules, flags=self.ints[MINT_FLAGS], trusted_launch=self.trusted_launch,
            top5_share=top5 if top5 is not None else self.top5_share(),
            initial_liquidity_lamports=self.initial_liquidity, creator=self.creator,
            dev_sell_share=self.dev_sell_share, metadata_problems=self.meta_problems,
            lp_burned_share=self.lp_burned, rugged=self.rugged)

    def _verdict(self, flags: int, trusted: bool, top5: float | None, dev_sell_share: float, rugged: bool):
        """verdict(top5), looked up by everything safety.assess reads from it (built once per distinct key)."""
        p = self.p
        rules, init_liq, lp, creator = p.rules, self.ints[INIT_LIQ], self.reals[LP_BURNED], self.creator
        key = (flags, trusted, self.meta_problems,
               (top5 is not None and top5 > rules.max_top5_holder_share)
               | (init_liq >= 0 and init_liq < rules.min_initial_liquidity_lamports) << 1
               | (lp >= 0 and lp < rules.min_lp_burned_share) << 2
               | (bool(creator) and creator in rules.creator_blacklist) << 3
               | (dev_sell_share > rules.max_dev_sell_share) << 4
               | rugged << 5)
        verdicts = p.verdicts
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = self.verdict(top5)
            if len(verdicts) >= VERDICT_CACHE:
                verdicts.clear()
            verdicts[key] = verdict
        return verdict

    def scorable(self) -> bool:
        """Whether this token's features can become a momentum opportunity: a safe verdict, and a curve neither
        complete, migrated nor rugged (what momentum scoring refuses before scoring, pipelines/stages.py).
        None of it depends on the time, so a host can skip reading features nobody will use."""
        ints = self.ints
        status = ints[STATUS]
        if status & (COMPLETE | MIGRATED | RUGGED):
            return False
        _, top5, dev_sell_share, trusted = self._verdict_inputs(ints, status, self.venue in CURVE_VENUES)
        return self._verdict(ints[MINT_FLAGS], trusted, top5, dev_sell_share, False).safe

    def _verdict_inputs(self, ints, status: int, on_curve: bool) -> tuple[int, float | None, float, bool]:
        """(supply, top-5 holder share, the dev's sold share, trusted launch): what the verdict reads, for
        features() and scorable() alike (called for every touched token: array reads, no properties)."""
        p = self.p
        supply = ints[SUPPLY] or (PUMP_TOKEN_TOTAL_SUPPLY if on_curve else 0)
        if supply:
            ho = p.holders.offset
            top5 = min(1.0, sum(sorted(ints[ho:ho + p.holders.slots])[-5:]) / supply)
        else:
            top5 = None
        sold, bought = ints[DEV_SOLD], ints[DEV_BOUGHT]
        dev_sell_share = 0.0 if not sold else 1.0 if not bought else min(1.0, sold / bought)
        trusted = bool(status & LAUNCHED) and self.venue in p.trusted and self.token_program in _TRUSTED_PROGRAMS
        return supply, top5, dev_sell_share, trusted

    def curve_progress(self) -> float:
        """curve.progress(): share of the initial real token reserves sold, 1 once complete."""
        ints = self.ints
        if ints[STATUS] & COMPLETE:
            return 1.0
        if self.venue not in CURVE_VENUES or ints[INIT_RTOK] <= 0:
            return 0.0
        sold = ints[INIT_RTOK] - ints[RTOK]
        return max(0.0, min(1.0, sold / ints[INIT_RTOK]))

    def features(self, now: float) -> TokenFeatures:
        """Everything the scorer needs, as seen at `now` (the same values the properties above give)."""
        ints, reals, p = self.ints, self.reals, self.p
        if not _isfinite(now):
            now = reals[LAST_ACTIVE]
        vs, cs = p.windows.sums(ints, self.cnt, reals[LAST_TRADE], now)
        venue = self.venue
        on_curve = venue in CURVE_VENUES
        status, flags = ints[STATUS], ints[MINT_FLAGS]
        supply, top5, dev_sell_share, trusted = self._verdict_inputs(ints, status, on_curve)
        sold, bought = ints[DEV_SOLD], ints[DEV_BOUGHT]
        rugged = bool(status & RUGGED)

        verdict = self._verdict(flags, trusted, top5, dev_sell_share, rugged)

        # authorities: from the mint read; a trusted launchpad's create revoked them; otherwise unknown
        known = flags & _KNOWN or trusted
        liquidity = ints[RSOL] if on_curve else ints[VSOL]
        mid = len(vs) // 4 * 2                     # the middle window's bought lamports (then sold)
        mid_volume = vs[mid] + vs[mid + 1]
        rug = rug_probability_of(
            dev_sell_share, top5, vs[mid + 1] / mid_volume if mid_volume else None, liquidity,
            bool(flags & _MINT_AUTH) if known else None,
            bool(flags & _FREEZE_AUTH) if known else None,
            bool(flags & _RISKY) if known else None)

        if status & COMPLETE:
            progress = 1.0
        elif not on_curve or ints[INIT_RTOK] <= 0:
            progress = 0.0
        else:
            progress = max(0.0, min(1.0, (ints[INIT_RTOK] - ints[RTOK]) / ints[INIT_RTOK]))
        n = ints[SAMPLED]
        entropy = max(0.0, _log2(n) - reals[ENTROPY_S] / n) if n > 1 else 0.0
        spans = p.windows.spans
        if len(spans) == 3:        # the default windows: dict displays beat five comprehensions
            w0, w1, w2 = spans
            b0, s0, b1, s1, b2, s2 = vs
            n0, m0, k0, n1, m1, k1, n2, m2, k2 = cs
            volume = {w0: b0 + s0, w1: b1 + s1, w2: b2 + s2}
            buys, sells = {w0: n0, w1: n1, w2: n2}, {w0: m0, w1: m1, w2: m2}
            bought_vol, new_buyers = {w0: b0, w1: b1, w2: b2}, {w0: k0, w1: k1, w2: k2}
        else:
            volume = {w: b + s for w, b, s in zip(spans, vs[::2], vs[1::2])}
            buys, sells, new_buyers = dict(zip(spans, cs[::3])), dict(zip(spans, cs[1::3])), dict(zip(spans, cs[2::3]))
            bought_vol = dict(zip(spans, vs[::2]))
        vsol, vtok = ints[VSOL], ints[VTOK]
        dev_balance = max(0, bought - sold)
        return new_token_features(
            mint=self.mint, ts=now, slot=ints[SLOT], venue=venue,
            age_s=max(0.0, now - reals[FIRST_SEEN]),
            # price and market cap as curve.price_lamports_per_token / market_cap_lamports compute them
            price=vsol / vtok if vtok else 0.0, market_cap_lamports=vsol * supply // vtok if vtok else 0,
            curve_progress=progress, liquidity_lamports=liquidity,
            volume_lamports=volume, buys=buys, sells=sells,
            unique_buyers=estimate_from_ones(ints[p.bloom_ones], p.bloom_bytes * 8),
            net_flow_lamports=vs[-2] - vs[-1],
            price_velocity=reals[KALMAN + 2] if reals[KALMAN] else 0.0,
            trade_size_entropy=entropy,
            top5_share=top5 if top5 is not None else 0.0,
            dev_share=min(1.0, dev_balance / supply) if supply else 0.0,
            dev_sold_lamports=ints[DEV_SOLD_LAMPORTS],
            rug_probability=rug, complete=bool(status & COMPLETE), migrated=bool(status & MIGRATED),
            safety=verdict, creator=self.creator, symbol=self.symbol,
            buy_volume_lamports=bought_vol, new_buyers=new_buyers,
            dev_sell_share=dev_sell_share, peak_price=reals[PEAK_PRICE], trades=ints[TRADES],
            rugged=rugged, warm=now - self.since >= p.warmup_s,
        )
