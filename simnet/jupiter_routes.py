"""The instructions of a Jupiter route on simnet's venues (the same sequences simnet's market agents send)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from spl.token.instructions import close_account, sync_native
from spl.token.models import CloseAccountParams, SyncNativeParams

from pipelines.chain import builders as B
from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.intents import PumpBuyExactSol, PumpSell

WSOL = Pubkey.from_string(P.WSOL_MINT)
TOKEN = Pubkey.from_string(P.TOKEN)


@dataclass(frozen=True, slots=True)
class Route:
    label: str            # "Pump.fun" (bonding curve) or "Pump.fun Amm" (PumpSwap)
    amm_key: str          # the bonding curve or the pool address
    mint: str             # the coin
    buy: bool             # SOL -> coin
    in_amount: int
    out_amount: int
    fee: int              # lamports of fees (protocol + creator [+ LP])
    price_impact: str
    creator: str = P.DEFAULT_PUBKEY
    token_program: str = P.TOKEN
    pool: Any = None      # market.execution.PoolState for PumpSwap routes


def compute_budget(cu_limit: int, cu_price: int) -> list[Instruction]:
    ixs = [B.set_compute_unit_limit(cu_limit)]
    if cu_price:
        ixs.append(B.set_compute_unit_price(cu_price))
    return ixs


def build_instructions(route: Route, user: Pubkey, threshold: int, view, *, wrap: bool) -> list[Instruction]:
    if route.label == "Pump.fun":
        return _curve(route, user, threshold, view)
    return _pumpswap(route, user, threshold, view, wrap)


def _curve(route: Route, user: Pubkey, threshold: int, view) -> list[Instruction]:
    fee_recipient = view.fee_recipients[0]
    u = str(user)
    if route.buy:
        return [B.create_ata_idempotent(user, user, route.mint, route.token_program),
                B.instruction_for(PumpBuyExactSol(route.mint, u, fee_recipient, route.in_amount, threshold,
                                                  creator=route.creator, token_program=route.token_program))]
    return [B.instruction_for(PumpSell(route.mint, u, fee_recipient, route.in_amount, threshold,
                                       creator=route.creator, token_program=route.token_program))]


def _pumpswap(route: Route, user: Pubkey, threshold: int, view, wrap: bool) -> list[Instruction]:
    ps = route.pool
    p = ps.pool
    accounts = dict(pool=ps.key, user=user, base_mint=p.base_mint, pool_base_token_account=p.pool_base_token_account,
                    pool_quote_token_account=p.pool_quote_token_account,
                    protocol_fee_recipient=view.amm_fee_recipients[0], coin_creator=p.coin_creator,
                    quote_mint=p.quote_mint, base_token_program=ps.base_token_program, quote_token_program=P.TOKEN)
    wsol = pda.associated_token(user, WSOL, TOKEN)
    ixs = [B.create_ata_idempotent(user, user, WSOL, TOKEN)]
    if route.buy:
        ixs.insert(0, B.create_ata_idempotent(user, user, p.base_mint, ps.base_token_program))
        if wrap:
            ixs += [transfer(TransferParams(from_pubkey=user, to_pubkey=wsol, lamports=route.in_amount)),
                    sync_native(SyncNativeParams(program_id=TOKEN, account=wsol))]
        ixs.append(B.pumpswap_buy_exact_quote_in(spendable_quote_in=route.in_amount, min_base_amount_out=threshold,
                                                 **accounts))
    else:
        ixs.append(B.pumpswap_sell(base_amount_in=route.in_amount, min_quote_amount_out=threshold, **accounts))
    if wrap:
        ixs.append(close_account(CloseAccountParams(program_id=TOKEN, account=wsol, dest=user, owner=user)))
    return ixs
