"""Payload decoders for PumpSwap (pump_amm) Anchor events: CreatePoolEvent, BuyEvent, SellEvent.

Buy/SellEvent report pool reserves *before* the swap; Trade carries reserves *after* it, so they are adjusted
(buy: base - base_out, quote + quote_in_with_lp_fee; sell: base + base_in, quote - quote_out_without_lp_fee), in
the virtual_* fields (Trade's convention for AMMs). Trade.fee = LP fee + protocol fee (both paid by the trader),
creator_fee = coin creator fee. The pool's base and quote mints are not in the event: they come from the owning
buy/sell instruction's accounts (3 and 4, pump_amm IDL) when the caller has them (full transactions), else mint
and quote_mint are "" (logs only). The March 2025 layouts are the mandatory prefix; later fields are optional.
"""
from __future__ import annotations

import struct
from typing import Callable

from . import programs as P
from .borsh import b58
from .errors import DecodeError
from .event_fields import NO_CONTEXT, EventContext, Run, check_bools, key_or_empty, make_trade, read_run, read_string
from .events import Event, PoolCreated, Trade

# timestamp, index, creator, base_mint, quote_mint, decimals x2, base/quote in, pool base/quote, min liq, init liq,
# lp out, pool_bump, pool, lp_mint, user base/quote token accounts  (the March 2025 layout ends here)
_POOL_HEAD = struct.Struct("<qH32s32s32sBBQQQQQQQB32s32s32s32s")
_POOL_TAIL = Run("32s", "B", "Q", "B")                     # coin_creator, is_mayhem_mode, creator_fee_bps, can_edit


def decode_create_pool_event(buf: bytes, signature: str, slot: int, seq: int,
                             ctx: EventContext = NO_CONTEXT) -> PoolCreated:
    what = "CreatePoolEvent"
    if len(buf) < 8 + _POOL_HEAD.size:
        raise DecodeError(f"{what} too short: {len(buf)} bytes (need {8 + _POOL_HEAD.size})")
    (_ts, index, creator, base_mint, quote_mint, base_dec, quote_dec, base_in, quote_in, *_amounts, _bump,
     pool, lp_mint, _ub, _uq) = _POOL_HEAD.unpack_from(buf, 8)
    params: list[tuple[str, int | str]] = [("base_mint_decimals", base_dec), ("index", index),
                                           ("quote_mint_decimals", quote_dec)]
    tail, _ = read_run(buf, 8 + _POOL_HEAD.size, _POOL_TAIL, what)
    check_bools(what, *(tail[i] for i in (1, 3) if i < len(tail)))
    if tail:
        params.append(("coin_creator", b58(tail[0])))
    accounts = ctx.accounts
    return PoolCreated(venue="pumpswap", signature=signature, slot=slot, pool=b58(pool), mint_a=b58(base_mint),
                       mint_b=b58(quote_mint), creator=b58(creator), lp_mint=b58(lp_mint),
                       vault_a=key_or_empty(accounts, 9), vault_b=key_or_empty(accounts, 10),
                       amount_a=base_in, amount_b=quote_in, migration=ctx.parent_program == P.PUMP,
                       params=tuple(sorted(params)), seq=seq)


# timestamp, 13 u64 (amounts, reserves, fees), pool, user, user base/quote ta, fee recipient and its ta (2025-03)
_AMM_TRADE_HEAD = struct.Struct("<q13Q32s32s32s32s32s32s")
_AMM_CREATOR = Run("32s", "Q", "Q")                        # coin_creator, its fee bps, its fee
_AMM_BUY_VOLUME = Run("B", "Q", "Q", "Q", "q", "Q")         # track_volume, 4 volume fields, min_base_amount_out


def _amm_trade(buf: bytes, signature: str, slot: int, seq: int, ctx: EventContext, is_buy: bool) -> Trade:
    what = "BuyEvent" if is_buy else "SellEvent"
    n = len(buf)
    if n < 8 + _AMM_TRADE_HEAD.size:
        raise DecodeError(f"{what} too short: {n} bytes (need {8 + _AMM_TRADE_HEAD.size})")
    (ts, base_amt, _limit, _ub, _uq, pool_base, pool_quote, quote_amt, lp_bps, lp_fee, proto_bps, proto_fee,
     quote_lp, _user_q, pool, user, *_keys) = _AMM_TRADE_HEAD.unpack_from(buf, 8)
    creator, creator_bps, creator_fee, ix_name = "", 0, 0, ""
    v, off = read_run(buf, 8 + _AMM_TRADE_HEAD.size, _AMM_CREATOR, what)
    if v:
        creator = b58(v[0])
        creator_bps, creator_fee = (v[1:] + (0, 0))[:2]
    if is_buy and len(v) == 3 and off < n:
        v, off = read_run(buf, off, _AMM_BUY_VOLUME, what)
        if v:
            check_bools(what, v[0])
        if len(v) == 6 and off < n:
            ix_name, off = read_string(buf, off, what + " ix_name")
    if is_buy:
        base_after, quote_after = pool_base - base_amt, pool_quote + quote_lp
    else:
        base_after, quote_after = pool_base + base_amt, pool_quote - quote_lp
    if base_after < 0 or quote_after < 0:
        raise DecodeError(f"{what}: amounts exceed the pool reserves they were taken from")
    accounts = ctx.accounts
    mint, quote_mint = key_or_empty(accounts, 3), key_or_empty(accounts, 4)
    # AMM reserves go in the virtual_* fields (Trade's convention); the real_* ones stay 0
    return make_trade("pumpswap", signature, slot, mint, "buy" if is_buy else "sell",
                      quote_amt if quote_mint == P.WSOL_MINT else 0, base_amt, b58(user), quote_mint, quote_amt, ts,
                      quote_after, base_after, 0, 0, lp_fee + proto_fee, lp_bps + proto_bps, creator, creator_fee,
                      creator_bps, b58(pool), ix_name or ctx.ix_name, seq)


def decode_buy_event(buf: bytes, signature: str, slot: int, seq: int, ctx: EventContext = NO_CONTEXT) -> Trade:
    return _amm_trade(buf, signature, slot, seq, ctx, True)


def decode_sell_event(buf: bytes, signature: str, slot: int, seq: int, ctx: EventContext = NO_CONTEXT) -> Trade:
    return _amm_trade(buf, signature, slot, seq, ctx, False)


AMM_EVENTS: dict[bytes, Callable[..., Event]] = {
    P.AMM_EV_CREATE_POOL: decode_create_pool_event,
    P.AMM_EV_BUY: decode_buy_event,
    P.AMM_EV_SELL: decode_sell_event,
}
