"""Hand-built event streams for the backtest tests, and the PROTOCOL.md curve formulas written out by hand.

The stream builder moves a curve the way trades would (constant product on the virtual reserves) only to give
each Trade plausible "reserves after"; the backtester never re-derives them, it reads them from the events.
The expected fills in the tests come from the `hand_*` functions below, which spell out PROTOCOL.md's quote
math (independently of pipelines/chain/curve.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.chain.programs import TOKEN, WSOL_MINT
from pipelines.config import Config, config_with, load_config

SOL = 1_000_000_000
V_TOK0 = 1_073_000_000_000_000          # real Global: initial virtual token reserves
V_SOL0 = 30_000_000_000                 # initial virtual SOL
R_TOK0 = 793_100_000_000_000            # initial real token reserves
SUPPLY = 10**15
P_BPS, C_BPS = 95, 30                   # what the hand-built trade events carry (fee_basis_points, creator_...)
T0 = 1_800_000_000.0                    # simulated clock anchor (2027-01-15 08:00 UTC)
SLOT_S = 0.4


def key(i: int) -> str:
    """A deterministic base58 pubkey."""
    return str(Pubkey(bytes([i % 256]) * 31 + bytes([i // 256 + 1])))


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --- PROTOCOL.md, by hand --------------------------------------------------------------------------------------
def hand_buy_exact_sol(vtok: int, vsol: int, rtok: int, spendable: int, p_bps: int, c_bps: int) -> tuple[int, int, int]:
    """buy with S lamports: in = (S-1)*10000/(10000+total_bps); tokens = min(in*vTok/(vSol+in), realTok);
    charged: cost = n*vSol/(vTok-n) + 1 plus ceil(cost*bps/10000) per fee. Returns (tokens, total paid, fees)."""
    sol_in = (spendable - 1) * 10_000 // (10_000 + p_bps + c_bps)
    n = min(sol_in * vtok // (vsol + sol_in), rtok)
    cost = n * vsol // (vtok - n) + 1
    fees = ceil_div(cost * p_bps, 10_000) + ceil_div(cost * c_bps, 10_000)
    assert cost + fees <= spendable, "this hand example must fit the budget (no tie-break case)"
    return n, cost + fees, fees


def hand_sell(vtok: int, vsol: int, rsol: int, n: int, p_bps: int, c_bps: int) -> tuple[int, int]:
    """sell n tokens: out = n*vSol/(vTok+n) (at most the real SOL), minus ceil fees. Returns (net, fees)."""
    out = min(n * vsol // (vtok + n), rsol)
    fees = ceil_div(out * p_bps, 10_000) + ceil_div(out * c_bps, 10_000)
    return out - fees, fees


def hand_pool_sell(base: int, quote: int, n: int, lp: int, proto: int, creator: int) -> tuple[int, int]:
    """PumpSwap sell (exact base in): gross = Q*n // (B+n); lp, protocol, creator fees ceil each, taken out."""
    gross = quote * n // (base + n)
    fees = ceil_div(gross * lp, 10_000) + ceil_div(gross * proto, 10_000) + ceil_div(gross * creator, 10_000)
    return gross - fees, fees


def tx_fee(cfg: Config) -> int:
    """5000 lamports per signature + the priority fee ceil(cu_limit * cu_price / 1e6) (no Jito tip)."""
    ex = cfg.execution
    return 5_000 + ceil_div(ex.compute_unit_limit * ex.priority_fee_micro_lamports, 1_000_000)


def config(**sections) -> Config:
    """The sim profile, sniper strategy only, 1 SOL snipes; `sections` are nested overrides."""
    base = load_config("sim", env={})
    changes = {"orchestrator": {"strategies": ["sniper"]}, "execution": {"sniper_buy_sol": 1.0}}
    for name, values in sections.items():
        changes[name] = {**changes.get(name, {}), **values}
    return config_with(base, changes)


# --- the stream builder ----------------------------------------------------------------------------------------
@dataclass
class Coin:
    mint: str
    creator: str
    vtok: int = V_TOK0
    vsol: int = V_SOL0
    rtok: int = R_TOK0
    rsol: int = 0
    events: list = field(default_factory=list)
    _n: int = 0

    def _sig(self) -> str:
        self._n += 1
        return f"{self.mint[:20]}sig{self._n:04d}"

    def launch(self, slot: int) -> Launch:
        ev = Launch(venue="pumpfun", signature=self._sig(), slot=slot, mint=self.mint, bonding_curve=key(250),
                    creator=self.creator, name="Hand Coin", symbol="HAND", uri="https://ipfs.io/ipfs/QmHandCoin",
                    token_program=TOKEN, quote_mint=WSOL_MINT, user=self.creator, timestamp=int(T0),
                    virtual_token_reserves=self.vtok, virtual_sol_reserves=self.vsol, real_token_reserves=self.rtok,
                    token_total_supply=SUPPLY, seq=100)
        self.events.append(ev)
        return ev

    def _trade(self, slot: int, side: str, sol: int, tokens: int, user: str) -> Trade:
        ev = Trade(venue="pumpfun", signature=self._sig(), slot=slot, mint=self.mint, side=side, sol_amount=sol,
                   token_amount=tokens, user=user, quote_mint=WSOL_MINT, quote_amount=sol, timestamp=int(T0),
                   virtual_sol_reserves=self.vsol, virtual_token_reserves=self.vtok, real_sol_reserves=self.rsol,
                   real_token_reserves=self.rtok, fee=ceil_div(sol * P_BPS, 10_000), fee_basis_points=P_BPS,
                   creator=self.creator, creator_fee=ceil_div(sol * C_BPS, 10_000), creator_fee_basis_points=C_BPS,
                   ix_name="buy" if side == "buy" else "sell", seq=200)
        self.events.append(ev)
        return ev

    def buy(self, slot: int, sol_in: int, user: str) -> Trade:
        n = min(sol_in * self.vtok // (self.vsol + sol_in), self.rtok)
        self.vtok -= n
        self.vsol += sol_in
        self.rtok -= n
        self.rsol += sol_in
        return self._trade(slot, "buy", sol_in, n, user)

    def buy_rest(self, slot: int, user: str) -> Trade:
        """The buy that takes every real token left (completes the curve)."""
        n = self.rtok
        sol_in = n * self.vsol // (self.vtok - n) + 1
        self.vtok -= n
        self.vsol += sol_in
        self.rtok = 0
        self.rsol += sol_in
        return self._trade(slot, "buy", sol_in, n, user)

    def buy_to_vsol(self, slot: int, target_vsol: int, user: str) -> Trade:
        return self.buy(slot, target_vsol - self.vsol, user)

    def sell(self, slot: int, n: int, user: str) -> Trade:
        out = n * self.vsol // (self.vtok + n)
        self.vtok += n
        self.vsol -= out
        self.rtok += n
        self.rsol -= out
        return self._trade(slot, "sell", out, n, user)

    def complete(self, slot: int) -> Complete:
        ev = Complete(venue="pumpfun", signature=self.events[-1].signature, slot=slot, mint=self.mint,
                      bonding_curve=key(250), user=key(251), timestamp=int(T0), quote_mint=WSOL_MINT, seq=300)
        self.events.append(ev)
        return ev

    def migrate(self, slot: int, pool: str, base: int, quote: int, coin_creator: str) -> tuple[PoolCreated, Migration]:
        sig = self._sig()
        created = PoolCreated(venue="pumpswap", signature=sig, slot=slot, pool=pool, mint_a=self.mint,
                              mint_b=WSOL_MINT, creator=key(252), lp_mint=key(253), amount_a=base, amount_b=quote,
                              migration=True, params=(("coin_creator", coin_creator), ("index", 0)), seq=103_501)
        migration = Migration(venue="pumpfun", signature=sig, slot=slot, mint=self.mint, bonding_curve=key(250),
                              pool=pool, user=key(254), mint_amount=base, sol_amount=quote,
                              pool_migration_fee=15_000_001, timestamp=int(T0), quote_mint=WSOL_MINT, seq=103_601)
        self.events += [created, migration]
        return created, migration


def state(coin: Coin) -> tuple[int, int, int, int]:
    return coin.vtok, coin.vsol, coin.rtok, coin.rsol
