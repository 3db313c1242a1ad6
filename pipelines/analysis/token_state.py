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
Storage is five flat buffers per token instead of one Python object per number (layout.py); the read side
(properties naming the scalars, the verdict, `features`) is TokenReads (token_reads.py). Snapshot records:
records.py.

Creator dumps: the creator is known from the Launch (or the trade event's `creator` field when the launch was
missed). Its share sold = tokens sold / tokens bought, both counted from its own trades.

Quote mints other than SOL (USDC pairs) carry their amounts in quote_* fields: such trades count as trades
and buyers but add no lamports and do not move the price (a known limit: the system trades SOL pairs).
"""
from __future__ import annotations

import math
import sys
import zlib
from collections import Counter

from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.chain.programs import WSOL_MINT
from pipelines.scoring.filters import kalman_update

from .layout import (AMOUNT_MAX, COMPLETE, CURSOR, CURVE_KEY, CURVE_VENUES, DEV_BOUGHT, DEV_SOLD,
                     DEV_SOLD_LAMPORTS, ENTROPY_S, FIRST_SEEN, INIT_LIQ, INIT_RTOK, KALMAN, LAST_ACTIVE, LAST_TRADE,
                     LP_BURNED, MIGRATED, MINT_FLAGS, N_REALS, PEAK_LIQ, PEAK_PRICE,
                     PUMP_INITIAL_REAL_TOKEN_RESERVES, RSOL, RTOK, RUGGED, SAMPLED, SLOT, STATUS, SUPPLY, TRADES,
                     VSOL, VTOK, AnalysisParams, buffer_address, clamp_amount, clean_key, clean_name, size_bin)
from . import safety
from .metadata import check_metadata
from .sketches import bloom_ones, bloom_set, wallet_hash
from .token_reads import TokenReads
from .windows import NO_RECORD, zeros

# Owners whose token accounts are pool reserves, not holders (Raydium AMM v4 authority PDA).
POOL_AUTHORITIES = frozenset({"5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"})
_isfinite, _log, _crc32 = math.isfinite, math.log, zlib.crc32


class TokenState(TokenReads):
    __slots__ = ("p", "mint", "creator", "venue", "token_program", "symbol", "pool", "meta_problems",
                 "ints", "reals", "cnt", "owners", "buf", "since")

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
        self.cnt = zeros("H", params.n_cnt)
        self.owners = zeros("I", params.holders.slots)
        self.buf = bytearray(params.bloom_bytes + params.ring)   # Bloom bits, then trade i's size at i % ring
        # Since when the history is unbroken (features' `warm`): created now, the token is first seen mid-life
        # unless its first event is its launch (-inf: the whole history); +inf: restored, a gap (records.py).
        self.since = reals[FIRST_SEEN]
        self._write_addresses()

    def _write_addresses(self) -> None:
        """The other buffers' addresses into `ints` (layout.py), for the compiled trade kernel."""
        ints, a = self.ints, self.p.addresses
        ints[a], ints[a + 1], ints[a + 2], ints[a + 3] = (buffer_address(self.reals), buffer_address(self.cnt),
                                                          buffer_address(self.owners), buffer_address(self.buf))

    def __getstate__(self) -> dict:
        return {name: getattr(self, name) for name in TokenState.__slots__}

    def __setstate__(self, state: dict) -> None:
        """An unpickled (or copied) state has buffers of its own: their addresses are rewritten, never copied."""
        for name, value in state.items():
            setattr(self, name, value)
        self._write_addresses()

    # --- events -----------------------------------------------------------------------------------------------
    def apply(self, event, now: float) -> bool:
        """Fold one event in; False when it says nothing about this token. Bad values are clamped, not raised."""
        reals = self.reals
        t = now if _isfinite(now) else reals[LAST_ACTIVE]
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
        if not self.launched and not ints[TRADES] and self.since == self.reals[FIRST_SEEN]:
            self.since = -math.inf       # the first thing seen of it is its launch: its history is all here
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
        # The hot path (one call per trade): locals instead of properties and helpers, same results.
        # Read and check every field first: a malformed event raises here, before any state changes.
        buy = e.side == "buy"
        x = e.sol_amount
        sol = x if type(x) is int and 0 <= x < AMOUNT_MAX else clamp_amount(x)
        x = e.token_amount
        tokens = x if type(x) is int and 0 <= x < AMOUNT_MAX else clamp_amount(x)
        x = e.virtual_sol_reserves
        vsol = x if type(x) is int and 0 <= x < AMOUNT_MAX else clamp_amount(x)
        x = e.virtual_token_reserves
        vtok = x if type(x) is int and 0 <= x < AMOUNT_MAX else clamp_amount(x)
        x = e.real_sol_reserves
        rsol = x if type(x) is int and 0 <= x < AMOUNT_MAX else clamp_amount(x)
        x = e.real_token_reserves
        rtok = x if type(x) is int and 0 <= x < AMOUNT_MAX else clamp_amount(x)
        user = e.user if isinstance(e.user, str) else ""
        cur_venue = self.venue
        venue = e.venue if e.venue == cur_venue else clean_name(e.venue)

        ints, reals, p = self.ints, self.reals, self.p
        if not cur_venue:
            self.venue = cur_venue = venue
        elif venue != cur_venue and venue and cur_venue in CURVE_VENUES and venue not in CURVE_VENUES:
            # A pool trade for a curve token: the migration event was missed.
            ints[STATUS] |= COMPLETE | MIGRATED
            self.venue = cur_venue = venue
            self.pool = clean_key(e.pool) or self.pool
            ints[PEAK_LIQ] = 0
        if e.creator and not self.creator:
            self.creator = clean_key(e.creator)
        if vsol and vtok and venue == cur_venue:
            ints[VSOL], ints[VTOK], ints[RSOL], ints[RTOK] = vsol, vtok, rsol, rtok

        h = _crc32(user.encode("utf-8", "surrogatepass"))         # sketches.wallet_hash
        if buy:
            new_buyer = False
            if user:
                bits = bloom_set(self.buf, p.bloom_bytes, h)
                if bits:
                    ints[p.bloom_ones] += bits
                    new_buyer = True
            reals[LAST_TRADE] = p.windows.add_trade(ints, self.cnt, reals[LAST_TRADE], t, False, sol, new_buyer)
            p.holders.credit(self.owners, ints, h, tokens)
        else:
            reals[LAST_TRADE] = p.windows.add_trade(ints, self.cnt, reals[LAST_TRADE], t, True, sol, False)
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
            kalman_update(p.kalman, reals, KALMAN, t, _log(price))
            if price > reals[PEAK_PRICE]:
                reals[PEAK_PRICE] = price
        # rugged: liquidity at or under rug_keep_bps of its peak, once the peak passed the floor
        liq, peak = ints[RSOL] if cur_venue in CURVE_VENUES else vsol, ints[PEAK_LIQ]
        if liq > peak:
            ints[PEAK_LIQ] = liq
        elif peak > 0 and peak >= p.rug_floor_lamports and liq * 10_000 <= peak * p.rug_keep_bps:
            ints[STATUS] |= RUGGED

    def _push_size(self, b: int) -> None:
        """Write a size bin into the ring (valid entries: buf[off : off + sampled] until it is full, then all)
        and update ENTROPY_S by the change in the two affected bins' c log2 c."""
        p, ints, buf, reals = self.p, self.ints, self.buf, self.reals
        off, ring, xlx = p.bloom_bytes, p.ring, p.xlogx
        n, cur = ints[SAMPLED], ints[CURSOR]
        s = reals[ENTROPY_S]
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
        cur += 1
        ints[CURSOR] = cur if cur < ring else 0
        reals[ENTROPY_S] = s

    def recompute_entropy_sum(self) -> None:
        """ENTROPY_S from the ring itself (after a restore changed the ring)."""
        off, n = self.p.bloom_bytes, min(self.ints[SAMPLED], self.p.ring)
        counts = Counter(self.buf[off:off + n])
        self.reals[ENTROPY_S] = sum(c * math.log2(c) for c in counts.values())

    def rebuild_derived(self) -> None:
        """The values kept alongside the buffers (window sums, Bloom set-bit count) from the buffers themselves
        (after a restore wrote them)."""
        p = self.p
        p.windows.rebuild_sums(self.ints, self.cnt)
        self.ints[p.bloom_ones] = bloom_ones(self.buf, p.bloom_bytes)

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
