"""ReplayMarket: the pump.fun curve and PumpSwap pool state at any point of a replayed event stream.

Rebuilt from the events alone, the way the chain reached it:
- Launch gives a curve's initial reserves (virtual/real token and SOL, supply), its creator and quote mint;
- every pump.fun Trade carries the reserves *after* it, so the state after trade k is exactly what trade k says
  (no drift from re-running the math); a curve whose real token reserves reach 0, or a Complete event, is complete;
- PumpSwap: the pool of a migrated coin comes from its PoolCreated (base/quote deposited) or, failing that, the
  Migration event (mint_amount / sol_amount); every pool Trade carries the vault reserves after it (the decoder
  adjusts the event's "before" reserves). Pool trades decoded from logs carry no mint: the pool address maps to it.

Fees come from chain parameters, never constants (ChainFees): a recorded fee config (the pump Global, the fee
program's FeeConfig for pump and for PumpSwap, as `launchray record` saves them in meta.json) gives the exact
rates and tiers, computed the way actors/chain_reader.py does on live state. Without a recorded config, the rates
the token's latest trade event carried (fee_basis_points, creator_fee_basis_points) are used, and for a token not
traded yet the first rates seen in the stream. Known approximation without a config: a PumpSwap trade event
only carries lp + protocol together, so the split is taken as lp 0 / protocol all (each fee is rounded up on its
own, so a pool fill can then differ by a lamport).

Views: curve_view(mint) / pool_view(mint) return what ChainReader.curve / ChainReader.pool return live (the
pipelines/market_views.py CurveView / PoolView: the decoded account, its fees, the slot the state is as of), so
the fill model is called with the same arguments.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

from pipelines.chain import programs as P
from pipelines.chain.amm_state import FeeConfig, Fees, Pool, decode_fee_config
from pipelines.chain.curve import CurveFees, CurveState
from pipelines.chain.errors import DecodeError
from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.chain.fees import pump_curve_fees
from pipelines.chain.pump_state import BondingCurve, Global, decode_global
from pipelines.market_views import CurveView, PoolView
from pipelines.stages import DEFAULT_SELL_FEE_BPS

PUMP_TOKEN_SUPPLY = 10**15          # ChainReader.pool: market cap of a pump coin uses 10^15 base units of supply
_QUOTE_MINTS = (P.WSOL_MINT, P.DEFAULT_PUBKEY, "")


class FeesUnknown(ValueError):
    """Neither a recorded fee config nor any trade event tells what fees the chain charges."""


@dataclass(frozen=True, slots=True)
class ChainFees:
    """Where fee rates come from during a replay (see the module docstring)."""
    global_state: Global | None = None
    pump_fee_config: FeeConfig | None = None
    pool_fee_config: FeeConfig | None = None
    default_curve: CurveFees | None = None     # first pump.fun rates in the stream (no recorded config)
    default_pool: Fees | None = None           # first PumpSwap rates in the stream

    @property
    def recorded(self) -> bool:
        return self.global_state is not None or self.pump_fee_config is not None

    @classmethod
    def from_meta(cls, meta: dict, events=()) -> ChainFees:
        """Decode the accounts a recording saved (meta["accounts"][name] = {"data": b64, "owner": str}) and
        take stream defaults from `events`. Undecodable accounts are ignored (the stream rates stand in)."""
        accounts = (meta or {}).get("accounts") or {}

        def data(name: str, owner: str | None = None) -> bytes | None:
            acct = accounts.get(name)
            if not isinstance(acct, dict) or not isinstance(acct.get("data"), str):
                return None
            if owner is not None and acct.get("owner") != owner:
                return None            # ChainReader.pump_fee_config: only an account the fee program owns
            try:
                return base64.b64decode(acct["data"], validate=True)
            except ValueError:
                return None

        def decoded(fn, raw):
            if raw is None:
                return None
            try:
                return fn(raw)
            except DecodeError:
                return None

        base = cls.infer(events)
        return cls(global_state=decoded(decode_global, data("pump_global")),
                   pump_fee_config=decoded(decode_fee_config, data("pump_fee_config", P.PUMP_FEES)),
                   pool_fee_config=decoded(decode_fee_config, data("pumpswap_fee_config")),
                   default_curve=base.default_curve, default_pool=base.default_pool)

    @classmethod
    def infer(cls, events) -> ChainFees:
        """Stream defaults only: the first pump.fun and the first PumpSwap trade's rates."""
        curve = pool = None
        for ev in events:
            if type(ev) is Trade:
                if curve is None and ev.venue == "pumpfun" and (ev.fee_basis_points or ev.creator_fee_basis_points):
                    curve = CurveFees(ev.fee_basis_points, ev.creator_fee_basis_points)
                elif pool is None and ev.venue == "pumpswap" and (ev.fee_basis_points or ev.creator_fee_basis_points):
                    pool = Fees(0, ev.fee_basis_points, ev.creator_fee_basis_points)
                if curve is not None and pool is not None:
                    break
        return cls(default_curve=curve, default_pool=pool)

    def curve_fees(self, state: CurveState | None, last: CurveFees | None) -> CurveFees:
        """Rates of a trade on `state` (None: a brand-new curve) given the token's latest trade rates."""
        if self.pump_fee_config is not None or self.global_state is not None:
            return pump_curve_fees(self.global_state, self.pump_fee_config, state)
        fees = last or self.default_curve
        if fees is None:
            raise FeesUnknown("no fee parameters: the stream has no pump.fun trade and no recorded fee config")
        return fees

    def pool_fees(self, base_reserve: int, quote_reserve: int, quote_mint: str, last: Fees | None) -> Fees:
        """What ChainReader.pool computes: the FeeConfig tier for quote * 10^15 // base."""
        if self.pool_fee_config is not None:
            mcap = quote_reserve * PUMP_TOKEN_SUPPLY // base_reserve if base_reserve else 0
            return self.pool_fee_config.fees_for(mcap, quote_mint=quote_mint)
        fees = last or self.default_pool
        if fees is None:
            raise FeesUnknown("no fee parameters: the stream has no PumpSwap trade and no recorded fee config")
        return fees

    def exit_sell_fee_bps(self) -> int:
        """The sell fee the exit rules judge prices net of (PositionTracker: curve fees of a new curve)."""
        try:
            f = self.curve_fees(None, None)
        except FeesUnknown:
            return DEFAULT_SELL_FEE_BPS
        return f.protocol_bps + f.creator_bps


# curve record: a list mutated in place (one per mint; cheaper than rebuilding a frozen object per trade)
VTOK, VSOL, RTOK, RSOL, SUPPLY, COMPLETE, CREATOR, QUOTE, MAYHEM, RATES, SLOT = range(11)
# pool record
P_MINT, P_BASE, P_QUOTE, P_CREATOR, P_RATES, P_SLOT = range(6)


class ReplayMarket:
    """Curve and pool state per mint, folded from events in stream order (see the module docstring)."""

    def __init__(self, fees: ChainFees) -> None:
        self.fees = fees
        self.curves: dict[str, list] = {}
        self.pools: dict[str, list] = {}          # pool address -> record
        self.pool_of: dict[str, str] = {}         # mint -> its PumpSwap pool address
        self.slot = 0                             # the newest slot applied
        self.skipped = 0                          # events about nothing we model (other venues, no reserves)

    # --- folding events ---------------------------------------------------------------------------------------
    def apply_batch(self, events) -> None:
        for ev in events:
            self.apply(ev)

    def apply(self, ev) -> None:
        t = type(ev)
        slot = ev.slot
        if slot > self.slot:
            self.slot = slot
        if t is Trade:
            if ev.venue == "pumpfun":
                self._curve_trade(ev)
            elif ev.venue == "pumpswap":
                self._pool_trade(ev)
            else:
                self.skipped += 1
        elif t is Launch:
            self._launch(ev)
        elif t is Complete:
            c = self.curves.get(ev.mint)
            if c is not None:
                c[COMPLETE] = True
                c[SLOT] = slot
        elif t is Migration:
            self._migration(ev)
        elif t is PoolCreated:
            self._pool_created(ev)
        else:
            self.skipped += 1

    def _launch(self, ev: Launch) -> None:
        if ev.venue != "pumpfun" or ev.mint in self.curves:
            return            # a curve already seen (a duplicate launch, or trades arrived first) keeps its state
        self.curves[ev.mint] = [ev.virtual_token_reserves, ev.virtual_sol_reserves, ev.real_token_reserves, 0,
                                ev.token_total_supply or PUMP_TOKEN_SUPPLY, False, ev.creator or P.DEFAULT_PUBKEY,
                                ev.quote_mint, ev.is_mayhem_mode, None, ev.slot]

    def _curve_trade(self, ev: Trade) -> None:
        c = self.curves.get(ev.mint)
        if c is None:
            if not ev.mint:
                self.skipped += 1
                return
            # the launch was before the recording started: the trade's reserves are the whole state
            c = self.curves[ev.mint] = [0, 0, 0, 0, PUMP_TOKEN_SUPPLY, False, ev.creator or P.DEFAULT_PUBKEY,
                                        ev.quote_mint, False, None, ev.slot]
        if ev.virtual_token_reserves and ev.virtual_sol_reserves:
            c[VTOK], c[VSOL] = ev.virtual_token_reserves, ev.virtual_sol_reserves
            c[RTOK], c[RSOL] = ev.real_token_reserves, ev.real_sol_reserves
            if ev.real_token_reserves == 0:
                c[COMPLETE] = True
        if ev.fee_basis_points or ev.creator_fee_basis_points:
            rates = c[RATES]
            if (rates is None or rates.protocol_bps != ev.fee_basis_points
                    or rates.creator_bps != ev.creator_fee_basis_points):
                c[RATES] = CurveFees(ev.fee_basis_points, ev.creator_fee_basis_points)
        if ev.creator and c[CREATOR] == P.DEFAULT_PUBKEY:
            c[CREATOR] = ev.creator
        if ev.quote_mint and not c[QUOTE]:
            c[QUOTE] = ev.quote_mint
        c[SLOT] = ev.slot

    def _new_pool(self, pool: str, mint: str, base: int, quote: int, creator: str, slot: int) -> None:
        self.pools[pool] = [mint, base, quote, creator or P.DEFAULT_PUBKEY, None, slot]
        self.pool_of[mint] = pool

    def _pool_created(self, ev: PoolCreated) -> None:
        if ev.venue != "pumpswap" or not ev.pool:
            self.skipped += 1
            return
        if ev.mint_b in _QUOTE_MINTS:
            mint, base, quote = ev.mint_a, ev.amount_a, ev.amount_b
        elif ev.mint_a in _QUOTE_MINTS:
            mint, base, quote = ev.mint_b, ev.amount_b, ev.amount_a
        else:
            self.skipped += 1     # not SOL-quoted: the system only trades SOL pairs
            return
        creator = dict(ev.params).get("coin_creator", "")
        if not creator:
            c = self.curves.get(mint)
            creator = c[CREATOR] if c is not None else ""
        self._new_pool(ev.pool, mint, base, quote, str(creator), ev.slot)

    def _migration(self, ev: Migration) -> None:
        c = self.curves.get(ev.mint)
        if c is not None:
            c[COMPLETE] = True
            c[SLOT] = ev.slot
        if ev.pool and ev.pool not in self.pools and ev.target_venue == "pumpswap" and ev.mint_amount and ev.sol_amount:
            creator = c[CREATOR] if c is not None else ""
            self._new_pool(ev.pool, ev.mint, ev.mint_amount, ev.sol_amount, creator, ev.slot)
        elif ev.pool in self.pools:
            self.pool_of[ev.mint] = ev.pool

    def _pool_trade(self, ev: Trade) -> None:
        p = self.pools.get(ev.pool)
        if p is None:
            if not ev.mint or not ev.pool:
                self.skipped += 1       # a pool we never saw created, and no mint to hang it on
                return
            self._new_pool(ev.pool, ev.mint, 0, 0, ev.creator, ev.slot)
            p = self.pools[ev.pool]
        if ev.virtual_token_reserves and ev.virtual_sol_reserves:
            p[P_BASE], p[P_QUOTE] = ev.virtual_token_reserves, ev.virtual_sol_reserves
        if ev.fee_basis_points or ev.creator_fee_basis_points:
            p[P_RATES] = Fees(0, ev.fee_basis_points, ev.creator_fee_basis_points)
        if ev.creator and p[P_CREATOR] == P.DEFAULT_PUBKEY:
            p[P_CREATOR] = ev.creator
        p[P_SLOT] = ev.slot

    # --- reading state ----------------------------------------------------------------------------------------
    def curve_view(self, mint: str, slot: int | None = None) -> CurveView | None:
        """The curve as ChainReader.curve returns it, as of `slot` (default: the newest slot applied)."""
        c = self.curves.get(mint)
        if c is None:
            return None
        quote = c[QUOTE] if c[QUOTE] not in ("", P.WSOL_MINT) else P.DEFAULT_PUBKEY
        bc = BondingCurve(virtual_token_reserves=c[VTOK], virtual_sol_reserves=c[VSOL], real_token_reserves=c[RTOK],
                          real_sol_reserves=c[RSOL], token_total_supply=c[SUPPLY], complete=c[COMPLETE],
                          creator=c[CREATOR], is_mayhem_mode=c[MAYHEM], quote_mint=quote)
        return CurveView(bc, self.fees.curve_fees(bc.state(), c[RATES]), self.slot if slot is None else slot)

    def pool_view(self, mint: str, slot: int | None = None) -> PoolView | None:
        """The canonical PumpSwap pool of a migrated mint with its reserves (ChainReader.pool), or None."""
        addr = self.pool_of.get(mint)
        if addr is None:
            return None
        p = self.pools[addr]
        if not p[P_BASE] or not p[P_QUOTE]:
            return None
        pool = Pool(pool_bump=0, index=0, creator="", base_mint=mint, quote_mint=P.WSOL_MINT, lp_mint="",
                    pool_base_token_account="", pool_quote_token_account="", lp_supply=0, coin_creator=p[P_CREATOR])
        fees = self.fees.pool_fees(p[P_BASE], p[P_QUOTE], pool.quote_mint, p[P_RATES])
        return PoolView(addr, pool, p[P_BASE], p[P_QUOTE], fees, self.slot if slot is None else slot)

    def price(self, mint: str) -> float:
        """Marginal price in lamports per base unit: the pool's once migrated, else the curve's (0: unknown)."""
        addr = self.pool_of.get(mint)
        if addr is not None:
            p = self.pools[addr]
            return p[P_QUOTE] / p[P_BASE] if p[P_BASE] else 0.0
        c = self.curves.get(mint)
        return c[VSOL] / c[VTOK] if c is not None and c[VTOK] else 0.0
