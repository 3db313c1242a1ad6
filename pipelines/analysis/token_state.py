"""TokenState: everything the analyzer knows about one mint, in bounded memory (~2 KB with a full history).

Fed by chain events (`apply(event, now)`) and account reads (`apply_mint_info`, `apply_holders`,
`apply_lp_burn`); read through `features(now)`. Time is the caller's: `now` when the event was handled
(wall clock live, simulated clock in backtests), never a clock of its own.

What it keeps, and how it stays bounded:
- reserves after the last trade (price = virtual SOL / virtual tokens, the curve's marginal price; for AMM
  venues the decoders put the pool reserves in the virtual fields), curve progress from the real token
  reserves against the initial 793,100,000,000,000 (pump.fun Global), liquidity (curve real SOL; pool SOL);
- rolling windows of bought/sold lamports, buy/sell counts and first-time buyers (windows.py, fixed size);
- unique buyers (a 1 Kbit Bloom filter), the K largest holders (sketches.py), the creator's buys and sells;
- the half-octave sizes of the last N trades (one byte each) for the trade-size entropy;
- a Kalman filter on ln(price) (velocity = smoothed relative change per second), peak price and liquidity.
Storage is five flat buffers per token instead of one Python object per number (layout.py); properties give
the scalars names. Snapshot records: records.py.

Creator dumps: the creator is known from the Launch (or the trade event's `creator` field when the launch was
missed). Its share sold = tokens sold / tokens bought, both counted from its own trades.

Quote mints other than SOL (USDC pairs) carry their amounts in quote_* fields: such trades count as trades
and buyers but add no lamports and do not move the price (a known limit: the system trades SOL pairs).
"""
from __future__ import annotations

import math
import sys
from collections import Counter

from pipelines.chain.curve import CurveState
from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.chain.programs import TOKEN, TOKEN_2022, WSOL_MINT
from pipelines.messages import TokenFeatures
from pipelines.scoring.filters import kalman_update
from pipelines.scoring.rug_model import rug_probability_of

from . import safety
from .layout import (AMOUNT_MAX, COMPLETE, CURSOR, CURVE_KEY, CURVE_VENUES, DEV_BOUGHT, DEV_SOLD,
                     DEV_SOLD_LAMPORTS, ENTROPY_S, FIRST_SEEN, INIT_LIQ, INIT_RTOK, KALMAN, LAST_ACTIVE, LAST_TRADE,
                     LAUNCHED, LP_BURNED, MIGRATED, MINT_FLAGS, N_REALS, PEAK_LIQ, PEAK_PRICE,
                     PUMP_INITIAL_REAL_TOKEN_RESERVES, PUMP_TOKEN_TOTAL_SUPPLY, RSOL, RTOK, RUGGED, SAMPLED, SLOT,
                     STATUS, SUPPLY, TRADES, VSOL, VTOK, AnalysisParams, clamp_amount, clean_key, clean_name,
                     size_bin)
from .metadata import check_metadata
from .sketches import bloom_add, bloom_estimate, wallet_hash
from .windows import NO_RECORD, zeros

# Owners whose token accounts are pool reserves, not holders (Raydium AMM v4 authority PDA).
POOL_AUTHORITIES = frozenset({"5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"})


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


class TokenState:
    __slots__ = ("p", "mint", "creator", "venue", "token_program", "symbol", "pool", "meta_problems",
                 "ints", "reals", "cnt", "owners", "buf")

    def __init__(self, params: AnalysisParams, mint: str, now: float) -> None:
        self.p = params
        self.mint = mint
        self.creator = ""
        self.venue = ""
        self.token_program = ""
        self.symbol = ""
        self.pool = ""
        self.meta_problems: tuple[str, ...] = ()
        ints = self.ints = zeros("q", params.n_ints)
        ints[INIT_RTOK] = PUMP_INITIAL_REAL_TOKEN_RESERVES
        ints[INIT_LIQ] = -1
        ints[CURVE_KEY] = -1
        reals = self.reals = zeros("d", N_REALS)
        reals[FIRST_SEEN] = reals[LAST_ACTIVE] = now if math.isfinite(now) else 0.0
        reals[LP_BURNED] = -1.0
        reals[LAST_TRADE] = NO_RECORD
        self.cnt = zeros("H", params.windows.n_cnt)
        self.owners = zeros("I", params.holders.slots)
        self.buf = bytearray(params.bloom_bytes + params.ring)   # Bloom bits, then trade i's size at i % ring

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

    @property
    def first_seen(self) -> float:
        return self.reals[FIRST_SEEN]

    @property
    def last_active(self) -> float:
        return self.reals[LAST_ACTIVE]

    # --- events -----------------------------------------------------------------------------------------------
    def apply(self, event, now: float) -> bool:
        """Fold one event in; False when it says nothing about this token. Bad values are clamped, not raised."""
        reals = self.reals
        t = now if math.isfinite(now) else reals[LAST_ACTIVE]
        if isinstance(event, Trade):
            if event.side != "buy" and event.side != "sell":
                return False                      # a side we cannot read: nothing learned
            self._trade(event, t)
        elif isinstance(event, Launch):
            self._launch(event, t)
        elif isinstance(event, Complete):
            self.complete = True
        elif isinstance(event, Migration):
            self._migration(event)
        elif isinstance(event, PoolCreated):
            if not self._pool(event):
                return False
        else:
            return False
        if t > reals[LAST_ACTIVE]:
            reals[LAST_ACTIVE] = t
        slot = event.slot
        if isinstance(slot, int) and slot > self.ints[SLOT]:
            self.ints[SLOT] = min(slot, AMOUNT_MAX)
        return True

    def _set_reserves(self, vsol: int, vtok: int, rsol: int, rtok: int) -> None:
        ints = self.ints
        ints[VSOL], ints[VTOK], ints[RSOL], ints[RTOK] = vsol, vtok, rsol, rtok

    def _launch(self, e: Launch, t: float) -> None:
        vsol, vtok = clamp_amount(e.virtual_sol_reserves), clamp_amount(e.virtual_token_reserves)
        rtok, supply = clamp_amount(e.real_token_reserves), clamp_amount(e.token_total_supply)
        check = check_metadata(e.name, e.symbol, e.uri)
        ints = self.ints
        self.launched = True
        if t < self.reals[FIRST_SEEN]:
            self.reals[FIRST_SEEN] = t
        self.creator = clean_key(e.creator) or self.creator
        if e.bonding_curve:
            ints[CURVE_KEY] = wallet_hash(clean_key(e.bonding_curve))
        if not self.migrated:
            self.venue = clean_name(e.venue) or self.venue
        self.token_program = clean_name(e.token_program)
        self.meta_problems = tuple(sys.intern(p) for p in check.problems)
        self.symbol = check.symbol
        if not ints[TRADES]:          # reserves from the create event unless trades already moved them
            self._set_reserves(vsol, vtok, 0, rtok)
        if rtok:
            ints[INIT_RTOK] = rtok
        if supply and not ints[MINT_FLAGS]:
            ints[SUPPLY] = supply
        if ints[INIT_LIQ] < 0:
            # A curve prices against its virtual SOL from the first trade: that is its initial depth.
            ints[INIT_LIQ] = vsol

    def _trade(self, e: Trade, t: float) -> None:
        # Read and check every field first: a malformed event raises here, before any state changes.
        buy = e.side == "buy"
        sol, tokens = clamp_amount(e.sol_amount), clamp_amount(e.token_amount)
        vsol, vtok = clamp_amount(e.virtual_sol_reserves), clamp_amount(e.virtual_token_reserves)
        rsol, rtok = clamp_amount(e.real_sol_reserves), clamp_amount(e.real_token_reserves)
        user = e.user if isinstance(e.user, str) else ""
        venue = e.venue if e.venue == self.venue else clean_name(e.venue)

        ints, reals, p = self.ints, self.reals, self.p
        if not self.venue:
            self.venue = venue
        elif venue != self.venue and venue and self.venue in CURVE_VENUES and venue not in CURVE_VENUES:
            # A pool trade for a curve token: the migration event was missed.
            ints[STATUS] |= COMPLETE | MIGRATED
            self.venue = venue
            self.pool = clean_key(e.pool) or self.pool
            ints[PEAK_LIQ] = 0
        if e.creator and not self.creator:
            self.creator = clean_key(e.creator)
        if vsol and vtok and venue == self.venue:
            ints[VSOL], ints[VTOK], ints[RSOL], ints[RTOK] = vsol, vtok, rsol, rtok

        h = wallet_hash(user)
        if buy:
            new_buyer = bool(user) and bloom_add(self.buf, p.bloom_bytes, h)
            reals[LAST_TRADE] = p.windows.add(ints, self.cnt, reals[LAST_TRADE], t, sol, 0, 1, 0,
                                              1 if new_buyer else 0)
            p.holders.credit(self.owners, ints, h, tokens)
        else:
            reals[LAST_TRADE] = p.windows.add(ints, self.cnt, reals[LAST_TRADE], t, 0, sol, 0, 1, 0)
            p.holders.debit(self.owners, ints, h, tokens)
        if user and user == self.creator:
            if buy:
                ints[DEV_BOUGHT] = min(ints[DEV_BOUGHT] + tokens, AMOUNT_MAX)
            else:
                ints[DEV_SOLD] = min(ints[DEV_SOLD] + tokens, AMOUNT_MAX)
                ints[DEV_SOLD_LAMPORTS] = min(ints[DEV_SOLD_LAMPORTS] + sol, AMOUNT_MAX)
        self._push_size(size_bin(sol))
        ints[TRADES] += 1

        vsol, vtok = ints[VSOL], ints[VTOK]
        if vsol and vtok:
            price = vsol / vtok
        else:
            price = sol / tokens if sol and tokens else 0.0   # no reserves: the trade's own execution price
        if price > 0:
            kalman_update(p.kalman, reals, KALMAN, t, math.log(price))
            if price > reals[PEAK_PRICE]:
                reals[PEAK_PRICE] = price
        self._watch_liquidity()

    def _push_size(self, b: int) -> None:
        """Write a size bin into the ring (valid entries: buf[off : off + sampled] until it is full, then all)
        and update ENTROPY_S by the change in the two affected bins' c log2 c."""
        p, ints, buf = self.p, self.ints, self.buf
        off, ring, xlx = p.bloom_bytes, p.ring, p.xlogx
        n, cur = ints[SAMPLED], ints[CURSOR]
        s = self.reals[ENTROPY_S]
        if n >= ring:
            old = buf[off + cur]
            c = buf.count(old, off, off + ring)
            s += xlx[c - 1] - xlx[c]
            cb = buf.count(b, off, off + ring) - (old == b)
        else:
            cb = buf.count(b, off, off + n)
            ints[SAMPLED] = n + 1
        s += xlx[cb + 1] - xlx[cb]
        buf[off + cur] = b
        ints[CURSOR] = (cur + 1) % ring
        self.reals[ENTROPY_S] = s

    def recompute_entropy_sum(self) -> None:
        """ENTROPY_S from the ring itself (after a restore changed the ring)."""
        off, n = self.p.bloom_bytes, min(self.ints[SAMPLED], self.p.ring)
        counts = Counter(self.buf[off:off + n])
        self.reals[ENTROPY_S] = sum(c * math.log2(c) for c in counts.values())

    def _watch_liquidity(self) -> None:
        ints = self.ints
        liq, peak = self.liquidity, ints[PEAK_LIQ]
        if liq > peak:
            ints[PEAK_LIQ] = liq
        elif peak > 0 and peak >= self.p.rug_floor_lamports and liq * 10_000 <= peak * self.p.rug_keep_bps:
            ints[STATUS] |= RUGGED

    def _migration(self, e: Migration) -> None:
        sol, tokens = clamp_amount(e.sol_amount), clamp_amount(e.mint_amount)
        ints = self.ints
        ints[STATUS] |= COMPLETE | MIGRATED
        self.pool = clean_key(e.pool) or self.pool
        self.venue = clean_name(e.target_venue) or self.venue
        if sol and tokens:
            self._set_reserves(sol, tokens, 0, 0)
        ints[PEAK_LIQ] = self.liquidity    # the curve's SOL moved to the pool: not a rug

    def _pool(self, e: PoolCreated) -> bool:
        if e.mint_a == self.mint:
            token_amount, quote_amount, quote = e.amount_a, e.amount_b, e.mint_b
        elif e.mint_b == self.mint:
            token_amount, quote_amount, quote = e.amount_b, e.amount_a, e.mint_a
        else:
            return False
        tokens, sol = clamp_amount(token_amount), clamp_amount(quote_amount)
        ints = self.ints
        self.pool = clean_key(e.pool) or self.pool
        if self.venue in CURVE_VENUES or e.migration:
            ints[STATUS] |= COMPLETE | MIGRATED
        self.venue = clean_name(e.venue) or self.venue
        if not self.creator and e.creator and not e.migration:
            self.creator = clean_key(e.creator)
        if quote == WSOL_MINT:
            if sol and tokens:
                self._set_reserves(sol, tokens, 0, 0)
            if ints[INIT_LIQ] < 0 or e.migration:
                ints[INIT_LIQ] = sol if sol else -1
        ints[PEAK_LIQ] = self.liquidity
        return True

    # --- account reads ----------------------------------------------------------------------------------------
    def apply_mint_info(self, info) -> None:
        """A mint account read (pipelines.chain.mint.MintInfo or anything shaped like it)."""
        self.ints[MINT_FLAGS] = safety.mint_flags(info)
        supply = getattr(info, "supply", 0)
        if isinstance(supply, int) and supply > 0:
            self.ints[SUPPLY] = clamp_amount(supply)
        program = getattr(info, "program", None)
        if isinstance(program, str) and program:
            self.token_program = clean_name(program)

    def apply_holders(self, holders) -> None:
        """Real largest holders [(owner, amount)] (getTokenLargestAccounts + owners); curve and pool excluded."""
        skip = {self.pool, ""} | POOL_AUTHORITIES
        curve_key = self.ints[CURVE_KEY]
        items = []
        for owner, amount in holders:
            if not isinstance(owner, str) or owner in skip or not isinstance(amount, int) or amount <= 0:
                continue
            h = wallet_hash(owner)
            if h != curve_key:
                items.append((h, clamp_amount(amount)))
        self.p.holders.replace(self.owners, self.ints, items)

    def apply_lp_burn(self, share: float) -> None:
        if isinstance(share, (int, float)) and math.isfinite(share):
            self.reals[LP_BURNED] = min(max(float(share), 0.0), 1.0)

    # --- reads ------------------------------------------------------------------------------------------------
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

    @property
    def peak_price(self) -> float:
        return self.reals[PEAK_PRICE]

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

    @property
    def dev_bought(self) -> int:
        return self.ints[DEV_BOUGHT]

    @property
    def dev_sold(self) -> int:
        return self.ints[DEV_SOLD]

    @property
    def dev_sold_lamports(self) -> int:
        return self.ints[DEV_SOLD_LAMPORTS]

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
        # Legacy (2024) create events do not name the token program: it was SPL Token then.
        return (self.launched and self.venue in self.p.trusted
                and self.token_program in ("", TOKEN, TOKEN_2022))

    def top5_share(self) -> float | None:
        supply = self.total_supply
        if not supply:
            return None
        return min(1.0, self.p.holders.top_sum(self.ints, 5) / supply)

    def holder_balance(self, owner: str) -> int:
        """Tracked balance of one wallet (0 when it is not among the largest holders)."""
        return self.p.holders.balance(self.owners, self.ints, wallet_hash(owner))

    def unique_buyers(self) -> int:
        return bloom_estimate(self.buf, self.p.bloom_bytes)

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
        ints, reals = self.ints, self.reals
        if not math.isfinite(now):
            now = reals[LAST_ACTIVE]
        totals = self.window_totals(now)
        longest, mid = totals[-1], totals[len(totals) // 2]
        top5 = self.top5_share()
        verdict = self.verdict(top5)
        flags = ints[MINT_FLAGS]
        # authorities: from the mint read; a trusted launchpad's create revoked them; otherwise unknown
        known = flags & safety.KNOWN or self.trusted_launch
        supply = self.total_supply
        liquidity = self.liquidity
        dev_sell_share = self.dev_sell_share
        mid_volume = mid.buy_lamports + mid.sell_lamports
        rug = rug_probability_of(
            dev_sell_share, top5, mid.sell_lamports / mid_volume if mid_volume else None, liquidity,
            bool(flags & safety.MINT_AUTHORITY) if known else None,
            bool(flags & safety.FREEZE_AUTHORITY) if known else None,
            bool(flags & safety.RISKY_MASK) if known else None)
        vsol, vtok = ints[VSOL], ints[VTOK]
        dev_balance = max(0, ints[DEV_BOUGHT] - ints[DEV_SOLD])
        status = ints[STATUS]
        return TokenFeatures(
            mint=self.mint, ts=now, slot=ints[SLOT], venue=self.venue,
            age_s=max(0.0, now - reals[FIRST_SEEN]),
            # price and market cap as curve.price_lamports_per_token / market_cap_lamports compute them
            price=vsol / vtok if vtok else 0.0, market_cap_lamports=vsol * supply // vtok if vtok else 0,
            curve_progress=self.curve_progress(), liquidity_lamports=liquidity,
            volume_lamports={w.span: w.buy_lamports + w.sell_lamports for w in totals},
            buys={w.span: w.buys for w in totals},
            sells={w.span: w.sells for w in totals},
            unique_buyers=self.unique_buyers(),
            net_flow_lamports=longest.buy_lamports - longest.sell_lamports,
            price_velocity=reals[KALMAN + 2] if reals[KALMAN] else 0.0,
            trade_size_entropy=self.trade_size_entropy(),
            top5_share=top5 if top5 is not None else 0.0,
            dev_share=min(1.0, dev_balance / supply) if supply else 0.0,
            dev_sold_lamports=ints[DEV_SOLD_LAMPORTS],
            rug_probability=rug, complete=bool(status & COMPLETE), migrated=bool(status & MIGRATED),
            safety=verdict, creator=self.creator, symbol=self.symbol,
            buy_volume_lamports={w.span: w.buy_lamports for w in totals},
            new_buyers={w.span: w.new_buyers for w in totals},
            dev_sell_share=dev_sell_share, peak_price=reals[PEAK_PRICE], trades=ints[TRADES],
            rugged=bool(status & RUGGED),
        )
