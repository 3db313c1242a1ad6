"""Event payloads the simnet programs emit, in the CURRENT IDL layouts (pump 2.0.0, pump_amm 1.20.0).

Each function returns discriminator + borsh fields: the `Program data:` bytes, and (behind EVENT_CPI_PREFIX)
the event-CPI instruction data. Field order is the IDL's; the decoders in pipelines/chain/pump_events.py read it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.borsh import Writer

Key = Pubkey | str


@dataclass(frozen=True, slots=True)
class TradeFields:
    """Everything pump's TradeEvent reports (reserves are after the trade)."""
    mint: Key
    sol_amount: int
    token_amount: int
    is_buy: bool
    user: Key
    timestamp: int
    virtual_sol_reserves: int
    virtual_token_reserves: int
    real_sol_reserves: int
    real_token_reserves: int
    fee_recipient: Key
    fee_basis_points: int
    fee: int
    creator: Key
    creator_fee_basis_points: int
    creator_fee: int
    track_volume: bool
    ix_name: str
    mayhem_mode: bool = False
    quote_mint: Key = P.WSOL_MINT


def create_event(*, name: str, symbol: str, uri: str, mint: Key, bonding_curve: Key, user: Key, creator: Key,
                 timestamp: int, virtual_token_reserves: int, virtual_sol_reserves: int, real_token_reserves: int,
                 token_total_supply: int, token_program: Key, is_mayhem_mode: bool = False,
                 is_cashback_enabled: bool = False, quote_mint: Key = P.WSOL_MINT, creator_fee_bps: int = 0,
                 is_holder_reward: bool = False) -> bytes:
    w = Writer().raw(P.PUMP_EV_CREATE)
    w.string(name).string(symbol).string(uri).pubkey(mint).pubkey(bonding_curve).pubkey(user).pubkey(creator)
    w.i64(timestamp).u64(virtual_token_reserves).u64(virtual_sol_reserves).u64(real_token_reserves)
    w.u64(token_total_supply).pubkey(token_program).bool(is_mayhem_mode).bool(is_cashback_enabled)
    w.pubkey(quote_mint).u64(virtual_sol_reserves).u64(creator_fee_bps).bool(is_holder_reward)
    return w.bytes()


# TradeEvent is emitted on every trade: packed with two precompiled structs around the ix_name string.
_TRADE_HEAD = struct.Struct("<8s32sQQB32sqQQQQ32sQQ32sQQBQQQq")   # mint .. last_update_timestamp
_TRADE_TAIL = struct.Struct("<BQQQQI32sQQQQQ")                     # mayhem_mode .. holder_rewards


def _raw(key: Key) -> bytes:
    return bytes(key) if isinstance(key, Pubkey) else bytes(Pubkey.from_string(key))


def trade_event(t: TradeFields) -> bytes:
    name = t.ix_name.encode()
    return b"".join((
        _TRADE_HEAD.pack(
            P.PUMP_EV_TRADE, _raw(t.mint), t.sol_amount, t.token_amount, t.is_buy, _raw(t.user), t.timestamp,
            t.virtual_sol_reserves, t.virtual_token_reserves, t.real_sol_reserves, t.real_token_reserves,
            _raw(t.fee_recipient), t.fee_basis_points, t.fee, _raw(t.creator), t.creator_fee_basis_points,
            t.creator_fee, t.track_volume,
            # volume accumulator fields: simnet keeps no volume accounts, so nothing is unclaimed or tracked
            0, 0, 0, 0),
        struct.pack("<I", len(name)), name,
        _TRADE_TAIL.pack(
            t.mayhem_mode, 0, 0,          # cashback_fee_basis_points, cashback
            0, 0,                         # buyback_fee_basis_points, buyback_fee
            0,                            # shareholders: empty vec
            _raw(t.quote_mint), t.sol_amount, t.virtual_sol_reserves, t.real_sol_reserves,
            0, 0),                        # holder_rewards_bps, holder_rewards
    ))


def complete_event(*, user: Key, mint: Key, bonding_curve: Key, timestamp: int,
                   quote_mint: Key = P.WSOL_MINT) -> bytes:
    return (Writer().raw(P.PUMP_EV_COMPLETE).pubkey(user).pubkey(mint).pubkey(bonding_curve).i64(timestamp)
            .pubkey(quote_mint).bytes())


def complete_amm_migration_event(*, user: Key, mint: Key, mint_amount: int, sol_amount: int,
                                 pool_migration_fee: int, bonding_curve: Key, timestamp: int, pool: Key,
                                 quote_mint: Key = P.WSOL_MINT) -> bytes:
    return (Writer().raw(P.PUMP_EV_COMPLETE_AMM_MIGRATION).pubkey(user).pubkey(mint).u64(mint_amount)
            .u64(sol_amount).u64(pool_migration_fee).pubkey(bonding_curve).i64(timestamp).pubkey(pool)
            .pubkey(quote_mint).bytes())


# --- PumpSwap ---

def create_pool_event(*, timestamp: int, index: int, creator: Key, base_mint: Key, quote_mint: Key,
                      base_mint_decimals: int, quote_mint_decimals: int, base_amount_in: int, quote_amount_in: int,
                      pool_base_amount: int, pool_quote_amount: int, minimum_liquidity: int,
                      initial_liquidity: int, lp_token_amount_out: int, pool_bump: int, pool: Key, lp_mint: Key,
                      user_base_token_account: Key, user_quote_token_account: Key, coin_creator: Key,
                      is_mayhem_mode: bool = False, creator_fee_bps: int = 0,
                      can_edit_creator_fee: bool = False) -> bytes:
    w = Writer().raw(P.AMM_EV_CREATE_POOL)
    w.i64(timestamp).u16(index).pubkey(creator).pubkey(base_mint).pubkey(quote_mint).u8(base_mint_decimals)
    w.u8(quote_mint_decimals).u64(base_amount_in).u64(quote_amount_in).u64(pool_base_amount)
    w.u64(pool_quote_amount).u64(minimum_liquidity).u64(initial_liquidity).u64(lp_token_amount_out)
    w.u8(pool_bump).pubkey(pool).pubkey(lp_mint).pubkey(user_base_token_account).pubkey(user_quote_token_account)
    w.pubkey(coin_creator).bool(is_mayhem_mode).u64(creator_fee_bps).bool(can_edit_creator_fee)
    return w.bytes()


@dataclass(frozen=True, slots=True)
class SwapFields:
    """What PumpSwap's Buy/SellEvent report (reserves are the pool's and the user's *before* the swap)."""
    timestamp: int
    base_amount: int                 # base_amount_out (buy) / base_amount_in (sell)
    limit_quote: int                 # max_quote_amount_in (buy) / min_quote_amount_out (sell)
    user_base_token_reserves: int
    user_quote_token_reserves: int
    pool_base_token_reserves: int
    pool_quote_token_reserves: int
    quote_amount: int                # quote_amount_in (buy) / quote_amount_out (sell), before fees
    lp_fee_basis_points: int
    lp_fee: int
    protocol_fee_basis_points: int
    protocol_fee: int
    quote_with_lp_fee: int           # quote_amount_in_with_lp_fee / quote_amount_out_without_lp_fee
    user_quote_amount: int           # user_quote_amount_in / user_quote_amount_out
    pool: Key
    user: Key
    user_base_token_account: Key
    user_quote_token_account: Key
    protocol_fee_recipient: Key
    protocol_fee_recipient_token_account: Key
    coin_creator: Key
    coin_creator_fee_basis_points: int
    coin_creator_fee: int
    base_supply: int
    track_volume: bool = False
    min_base_amount_out: int = 0
    ix_name: str = "buy"


def _swap_head(w: Writer, s: SwapFields) -> None:
    w.i64(s.timestamp).u64(s.base_amount).u64(s.limit_quote).u64(s.user_base_token_reserves)
    w.u64(s.user_quote_token_reserves).u64(s.pool_base_token_reserves).u64(s.pool_quote_token_reserves)
    w.u64(s.quote_amount).u64(s.lp_fee_basis_points).u64(s.lp_fee).u64(s.protocol_fee_basis_points)
    w.u64(s.protocol_fee).u64(s.quote_with_lp_fee).u64(s.user_quote_amount).pubkey(s.pool).pubkey(s.user)
    w.pubkey(s.user_base_token_account).pubkey(s.user_quote_token_account).pubkey(s.protocol_fee_recipient)
    w.pubkey(s.protocol_fee_recipient_token_account).pubkey(s.coin_creator).u64(s.coin_creator_fee_basis_points)
    w.u64(s.coin_creator_fee)


def _swap_tail(w: Writer, s: SwapFields) -> None:
    w.u64(0).u64(0)            # cashback_fee_basis_points, cashback
    w.u64(0).u64(0)            # buyback_fee_basis_points, buyback_fee
    w.raw(bytes(16))           # virtual_quote_reserves: i128, 0 for non-boost pools
    w.bool(False).u64(s.base_supply)   # can_boost, base_supply


def buy_event(s: SwapFields) -> bytes:
    w = Writer().raw(P.AMM_EV_BUY)
    _swap_head(w, s)
    w.bool(s.track_volume).u64(0).u64(0).u64(0).i64(0)   # volume accumulator fields (not kept by simnet)
    w.u64(s.min_base_amount_out).string(s.ix_name)
    _swap_tail(w, s)
    return w.bytes()


def sell_event(s: SwapFields) -> bytes:
    w = Writer().raw(P.AMM_EV_SELL)
    _swap_head(w, s)
    _swap_tail(w, s)
    return w.bytes()
