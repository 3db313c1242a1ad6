"""Hand-built pump.fun events for analysis and scoring tests.

Reserves after each trade come from the curve math in pipelines.chain.curve with the real Global constants
(initial virtual tokens 1,073,000,000,000,000, virtual SOL 30,000,000,000, real tokens 793,100,000,000,000,
supply 10^15), so prices and progress in the tests follow from the protocol, not from the analyzer.
"""
from __future__ import annotations

import itertools

from solders.keypair import Keypair

from pipelines.chain import curve
from pipelines.chain.events import Complete, Launch, Migration, PoolCreated, Trade
from pipelines.chain.programs import TOKEN, WSOL_MINT

V_TOK0 = 1_073_000_000_000_000
V_SOL0 = 30_000_000_000
R_TOK0 = 793_100_000_000_000
SUPPLY = 1_000_000_000_000_000
SOL = 1_000_000_000
FEES = curve.CurveFees(95, 30)

_sig = itertools.count(1)


def key() -> str:
    """A fresh, real-looking base58 address."""
    return str(Keypair().pubkey())


def sig() -> str:
    return f"sig{next(_sig):060d}"


class Curve:
    """One token's curve: builds Launch/Trade events whose reserves follow the real curve math."""

    def __init__(self, mint: str | None = None, creator: str | None = None, *, name="Pepe Coin", symbol="PEPE",
                 uri="https://ipfs.io/ipfs/QmPepe", token_program=TOKEN, slot=1000) -> None:
        self.mint = mint or key()
        self.creator = creator or key()
        self.bonding_curve = key()
        self.state = curve.CurveState(V_TOK0, V_SOL0, R_TOK0, 0, SUPPLY)
        self.slot = slot
        self.meta = (name, symbol, uri, token_program)

    def launch(self, **over) -> Launch:
        name, symbol, uri, program = self.meta
        fields = dict(venue="pumpfun", signature=sig(), slot=self.slot, mint=self.mint,
                      bonding_curve=self.bonding_curve, creator=self.creator, name=name, symbol=symbol, uri=uri,
                      token_program=program, quote_mint=WSOL_MINT, user=self.creator,
                      virtual_token_reserves=V_TOK0, virtual_sol_reserves=V_SOL0, real_token_reserves=R_TOK0,
                      token_total_supply=SUPPLY)
        fields.update(over)
        return Launch(**fields)

    def _trade(self, side, user, sol, tokens) -> Trade:
        self.slot += 1
        s = self.state
        return Trade(venue="pumpfun", signature=sig(), slot=self.slot, mint=self.mint, side=side,
                     sol_amount=sol, token_amount=tokens, user=user, quote_mint=WSOL_MINT, quote_amount=sol,
                     virtual_sol_reserves=s.virtual_sol_reserves, virtual_token_reserves=s.virtual_token_reserves,
                     real_sol_reserves=s.real_sol_reserves, real_token_reserves=s.real_token_reserves,
                     creator=self.creator)

    def buy_tokens(self, user: str, tokens: int) -> Trade:
        q = curve.buy_exact_tokens(self.state, tokens, FEES)
        self.state = curve.apply_buy(self.state, q)
        return self._trade("buy", user, q.sol_cost, q.tokens)

    def buy_sol(self, user: str, lamports: int) -> Trade:
        q = curve.buy_exact_sol(self.state, lamports, FEES)
        self.state = curve.apply_buy(self.state, q)
        return self._trade("buy", user, q.sol_cost, q.tokens)

    def sell(self, user: str, tokens: int) -> Trade:
        q = curve.sell(self.state, tokens, FEES)
        self.state = curve.apply_sell(self.state, q)
        return self._trade("sell", user, q.sol_out_gross, q.tokens)

    def complete(self) -> Complete:
        return Complete(venue="pumpfun", signature=sig(), slot=self.slot, mint=self.mint,
                        bonding_curve=self.bonding_curve, user=key())

    def migration(self, pool: str, sol: int, tokens: int) -> Migration:
        return Migration(venue="pumpfun", signature=sig(), slot=self.slot, mint=self.mint,
                         bonding_curve=self.bonding_curve, pool=pool, user=key(), mint_amount=tokens,
                         sol_amount=sol, target_venue="pumpswap")


def pool_created(mint: str, sol: int, tokens: int, *, venue="raydium_amm_v4", wsol_first=True,
                 migration=False) -> PoolCreated:
    a, b = (WSOL_MINT, mint) if wsol_first else (mint, WSOL_MINT)
    amount_a, amount_b = (sol, tokens) if wsol_first else (tokens, sol)
    return PoolCreated(venue=venue, signature=sig(), slot=5000, pool=key(), mint_a=a, mint_b=b, creator=key(),
                       amount_a=amount_a, amount_b=amount_b, migration=migration)


def trade(mint: str, side: str, user: str, sol: int, tokens: int, *, vsol=0, vtok=0, rsol=0, rtok=0,
          venue="pumpfun", quote_mint=WSOL_MINT, slot=2000, creator="") -> Trade:
    """A trade with reserves given directly (for hand-picked numbers)."""
    return Trade(venue=venue, signature=sig(), slot=slot, mint=mint, side=side, sol_amount=sol,
                 token_amount=tokens, user=user, quote_mint=quote_mint, quote_amount=sol,
                 virtual_sol_reserves=vsol, virtual_token_reserves=vtok, real_sol_reserves=rsol,
                 real_token_reserves=rtok, creator=creator)
