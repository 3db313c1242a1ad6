"""PumpSwap (pump_amm): create_pool, buy, buy_exact_quote_in, sell as constant-product swaps on the pool's
token vaults, with the quote math of pipelines/chain/amm.py, the fee program's tiers for canonical pump pools
(flat fees otherwise), IDL error codes and Create/Buy/SellEvent (log + event CPI).

Not modelled: deposit/withdraw, volume accumulators, cashback, buyback, boost (virtual quote reserves), mayhem.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from pipelines.chain import amm, pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import (POOL_LEN, FeeConfig, Fees, Pool, decode_fee_config, decode_pumpswap_pool,
                                       encode_pumpswap_pool, pool_market_cap)
from pipelines.chain.borsh import Reader, Writer
from pipelines.chain.errors import DecodeError

from ..accounts import SYSTEM_ID, rent_exempt_minimum
from . import associated_token, system, token
from . import pump_events as ev
from .anchor import CONSTRAINT_ADDRESS, INSTRUCTION_DID_NOT_DESERIALIZE, INSTRUCTION_FALLBACK_NOT_FOUND, AnchorProgram
from .runtime import Frame, Program

AMM_ID = Pubkey.from_string(P.PUMP_AMM)
GLOBAL_CONFIG_KEY = pda.pumpswap_global_config()
EVENT_AUTHORITY = pda.event_authority(P.PUMP_AMM)
FEE_CONFIG_KEY = pda.fee_config(P.PUMP_AMM)
FEE_PROGRAM_ID = Pubkey.from_string(P.PUMP_FEES)
ATA_ID = associated_token.ATA_ID
GLOBAL_CONFIG_DISC = bytes([149, 8, 156, 202, 160, 252, 176, 217])
GLOBAL_CONFIG_LEN = 949
LP_DECIMALS = 9
MINIMUM_LIQUIDITY = 100

ERRORS = {
    6001: ("ZeroBaseAmount", ""), 6002: ("ZeroQuoteAmount", ""),
    6003: ("TooLittlePoolTokenLiquidity", ""), 6004: ("ExceededSlippage", ""),
    6008: ("InvalidBaseMint", ""), 6009: ("InvalidQuoteMint", ""), 6010: ("InvalidLpMint", ""),
    6013: ("InvalidProtocolFeeRecipient", ""), 6014: ("InvalidPoolBaseTokenAccount", ""),
    6015: ("InvalidPoolQuoteTokenAccount", ""), 6016: ("BuyMoreBaseAmountThanPoolReserves", ""),
    6017: ("DisabledCreatePool", ""), 6020: ("DisabledBuy", ""), 6021: ("DisabledSell", ""),
    6022: ("SameMint", ""), 6023: ("Overflow", ""),
    6040: ("BuySlippageBelowMinBaseAmountOut", ""),
}
ZERO_BASE, ZERO_QUOTE, TOO_LITTLE_LIQUIDITY, EXCEEDED_SLIPPAGE = 6001, 6002, 6003, 6004
INVALID_BASE_MINT, INVALID_QUOTE_MINT, INVALID_PROTOCOL_FEE_RECIPIENT = 6008, 6009, 6013
INVALID_POOL_BASE_TA, INVALID_POOL_QUOTE_TA, BUY_MORE_THAN_RESERVES = 6014, 6015, 6016
DISABLED_CREATE_POOL, DISABLED_BUY, DISABLED_SELL, SAME_MINT, OVERFLOW = 6017, 6020, 6021, 6022, 6023
BUY_SLIPPAGE_BELOW_MIN_BASE_OUT = 6040
A = AnchorProgram(ERRORS)
COST_SWAP, COST_CREATE_POOL = 30_000, 45_000


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    admin: str
    lp_fee_basis_points: int
    protocol_fee_basis_points: int
    disable_flags: int
    protocol_fee_recipients: tuple[str, ...]
    coin_creator_fee_basis_points: int

    def fees(self) -> Fees:
        return Fees(self.lp_fee_basis_points, self.protocol_fee_basis_points, self.coin_creator_fee_basis_points)


def encode_global_config(cfg: GlobalConfig) -> bytes:
    w = Writer().raw(GLOBAL_CONFIG_DISC).pubkey(cfg.admin).u64(cfg.lp_fee_basis_points)
    w.u64(cfg.protocol_fee_basis_points).u8(cfg.disable_flags)
    for r in cfg.protocol_fee_recipients:
        w.pubkey(r)
    w.u64(cfg.coin_creator_fee_basis_points).pubkey(cfg.admin)   # admin_set_coin_creator_authority
    out = w.bytes()
    return out + bytes(GLOBAL_CONFIG_LEN - len(out))


def decode_global_config(data: bytes) -> GlobalConfig:
    if data[:8] != GLOBAL_CONFIG_DISC or len(data) < 321:
        raise DecodeError("not a PumpSwap GlobalConfig account")
    r = Reader(data, 8)
    admin, lp, protocol, flags = r.pubkey(), r.u64(), r.u64(), r.u8()
    recipients = tuple(r.pubkey() for _ in range(8))
    return GlobalConfig(admin, lp, protocol, flags, recipients, r.u64())


_CONFIGS: dict[bytes, object] = {}


def _cached(data: bytes, decode):
    v = _CONFIGS.get(data)
    if v is None:
        if len(_CONFIGS) > 32:
            _CONFIGS.clear()
        v = _CONFIGS[data] = decode(data)
    return v


def _global_config(ctx: Frame, i: int) -> GlobalConfig:
    A.expect_key(ctx, i, GLOBAL_CONFIG_KEY, "global_config")
    return _cached(A.load(ctx, i, GLOBAL_CONFIG_DISC, "global_config"), decode_global_config)


def _pool(ctx: Frame, i: int = 0) -> Pool:
    return decode_pumpswap_pool(A.load(ctx, i, P.AMM_ACC_POOL, "pool"))


def _amount(ctx: Frame, i: int) -> int:
    data = ctx.acc(i).data
    if not token.is_token_account_data(data):
        raise A.error(ctx, 3012, account="token_account")
    return token.token_amount(data)


def swap_fees(ctx: Frame, fee_config_i: int, gc: GlobalConfig, pool: Pool, base_reserve: int,
              quote_reserve: int, base_supply: int) -> Fees:
    """Canonical pump pools pay the fee program's market-cap tier, other pools its flat fees; without a
    FeeConfig, the GlobalConfig's rates."""
    A.expect_key(ctx, fee_config_i, FEE_CONFIG_KEY, "fee_config")
    rec = ctx.acc(fee_config_i)
    if rec.owner != FEE_PROGRAM_ID or rec.data[:8] != P.PUMP_ACC_FEE_CONFIG:
        return gc.fees()
    cfg: FeeConfig = _cached(rec.data, decode_fee_config)
    canonical = pool.creator == str(pda.pool_authority(pool.base_mint))
    mcap = pool_market_cap(base_supply, base_reserve, quote_reserve)
    return cfg.fees_for(mcap, is_pump_pool=canonical, quote_mint=pool.quote_mint)


# --- create_pool ---------------------------------------------------------------------------------------------

def create_pool_rent(base_token_program: Pubkey) -> int:
    """Lamports the pool creator pays in rent: pool, LP mint, the two vaults and its LP token account."""
    base_ta = token.ACCOUNT_LEN if base_token_program == token.TOKEN_ID else token.IMMUTABLE_OWNER_ACCOUNT_LEN
    return (rent_exempt_minimum(POOL_LEN) + rent_exempt_minimum(token.MINT_LEN) + rent_exempt_minimum(base_ta)
            + rent_exempt_minimum(token.ACCOUNT_LEN) + rent_exempt_minimum(token.IMMUTABLE_OWNER_ACCOUNT_LEN))


def create_pool_data(index: int, base_amount_in: int, quote_amount_in: int, coin_creator: Pubkey,
                     is_mayhem_mode: bool = False) -> bytes:
    return (Writer().raw(P.AMM_IX_CREATE_POOL).u16(index).u64(base_amount_in).u64(quote_amount_in)
            .pubkey(coin_creator).bool(is_mayhem_mode).bytes())


def _create_pool(ctx: Frame) -> None:
    ctx.log_fixed("Instruction: CreatePool")
    ctx.consume(COST_CREATE_POOL)
    A.need(ctx, 18)
    try:
        r = Reader(ctx.data, 8)
        index, base_in, quote_in, coin_creator = r.u16(), r.u64(), r.u64(), Pubkey.from_string(r.pubkey())
    except DecodeError:
        raise A.error(ctx, INSTRUCTION_DID_NOT_DESERIALIZE) from None
    keys = ctx.keys
    pool_key, creator, base_mint, quote_mint, lp_mint = keys[0], keys[2], keys[3], keys[4], keys[5]
    base_tp, quote_tp = keys[13], keys[14]
    gc = _global_config(ctx, 1)
    A.expect_signer(ctx, 2, "creator")
    expected_pool, pool_bump = Pubkey.find_program_address(
        [b"pool", struct.pack("<H", index), bytes(creator), bytes(base_mint), bytes(quote_mint)], AMM_ID)
    A.expect_key(ctx, 0, expected_pool, "pool")
    A.expect_key(ctx, 5, pda.pumpswap_lp_mint(pool_key), "lp_mint")
    A.expect_key(ctx, 8, pda.associated_token(creator, lp_mint, token.TOKEN_2022_ID), "user_pool_token_account")
    A.expect_key(ctx, 9, pda.associated_token(pool_key, base_mint, base_tp), "pool_base_token_account")
    A.expect_key(ctx, 10, pda.associated_token(pool_key, quote_mint, quote_tp), "pool_quote_token_account")
    A.expect_key(ctx, 11, SYSTEM_ID, "system_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, 12, token.TOKEN_2022_ID, "token_2022_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, 15, ATA_ID, "associated_token_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, 16, EVENT_AUTHORITY, "event_authority")
    A.expect_key(ctx, 17, AMM_ID, "program", CONSTRAINT_ADDRESS)
    if gc.disable_flags & 1:
        raise A.error(ctx, DISABLED_CREATE_POOL)
    if base_mint == quote_mint:
        raise A.error(ctx, SAME_MINT)
    for i, tp in ((3, base_tp), (4, quote_tp)):
        if not token.is_token_program(tp) or ctx.acc(i).owner != tp:
            raise A.error(ctx, 2014, account="mint")
    if base_in == 0:
        raise A.error(ctx, ZERO_BASE)
    if quote_in == 0:
        raise A.error(ctx, ZERO_QUOTE)
    initial_liquidity = math.isqrt(base_in * quote_in)
    if initial_liquidity <= MINIMUM_LIQUIDITY:
        raise A.error(ctx, TOO_LITTLE_LIQUIDITY)
    lp_out = initial_liquidity - MINIMUM_LIQUIDITY

    ctx.invoke(SYSTEM_ID, [(creator, True, True), (pool_key, True, True)],
               system.create_account_data(rent_exempt_minimum(POOL_LEN), POOL_LEN, AMM_ID), pda_signers=(pool_key,))
    ctx.invoke(SYSTEM_ID, [(creator, True, True), (lp_mint, True, True)],
               system.create_account_data(rent_exempt_minimum(token.MINT_LEN), token.MINT_LEN, token.TOKEN_2022_ID),
               pda_signers=(lp_mint,))
    ctx.invoke(token.TOKEN_2022_ID, [(lp_mint, False, True)], token.initialize_mint2_data(LP_DECIMALS, pool_key))
    for ata_i, wallet, mint, tp in ((9, pool_key, base_mint, base_tp), (10, pool_key, quote_mint, quote_tp),
                                    (8, creator, lp_mint, token.TOKEN_2022_ID)):
        ctx.invoke(ATA_ID, associated_token.create_metas(creator, keys[ata_i], wallet, mint, tp), b"\x01")
    base_dec, quote_dec = token.mint_decimals(ctx.acc(3).data), token.mint_decimals(ctx.acc(4).data)
    ctx.invoke(base_tp, [(keys[6], False, True), (base_mint, False, False), (keys[9], False, True),
                         (creator, True, False)], token.transfer_checked_data(base_in, base_dec))
    ctx.invoke(quote_tp, [(keys[7], False, True), (quote_mint, False, False), (keys[10], False, True),
                          (creator, True, False)], token.transfer_checked_data(quote_in, quote_dec))
    ctx.invoke(token.TOKEN_2022_ID, [(lp_mint, False, True), (keys[8], False, True), (pool_key, True, False)],
               token.mint_to_data(lp_out), pda_signers=(pool_key,))
    pool = Pool(pool_bump=pool_bump, index=index, creator=str(creator), base_mint=str(base_mint),
                quote_mint=str(quote_mint), lp_mint=str(lp_mint), pool_base_token_account=str(keys[9]),
                pool_quote_token_account=str(keys[10]), lp_supply=lp_out, coin_creator=str(coin_creator))
    ctx.set_data(0, encode_pumpswap_pool(pool, POOL_LEN))
    A.emit(ctx, ev.create_pool_event(
        timestamp=ctx.unix_timestamp, index=index, creator=creator, base_mint=base_mint, quote_mint=quote_mint,
        base_mint_decimals=base_dec, quote_mint_decimals=quote_dec, base_amount_in=base_in,
        quote_amount_in=quote_in, pool_base_amount=base_in, pool_quote_amount=quote_in,
        minimum_liquidity=MINIMUM_LIQUIDITY, initial_liquidity=initial_liquidity, lp_token_amount_out=lp_out,
        pool_bump=pool_bump, pool=pool_key, lp_mint=lp_mint, user_base_token_account=keys[6],
        user_quote_token_account=keys[7], coin_creator=coin_creator), 16)


# --- swaps -------------------------------------------------------------------------------------------------------

class _Swap:
    """The validated accounts of a buy / sell."""
    __slots__ = ("pool", "gc", "base_reserve", "quote_reserve", "fees", "base_tp", "quote_tp", "base_dec",
                 "quote_dec", "base_supply")


def _swap_accounts(ctx: Frame, *, is_buy: bool) -> _Swap:
    fc_i = 21 if is_buy else 19
    A.need(ctx, fc_i + 2)
    keys = ctx.keys
    s = _Swap()
    s.pool = pool = _pool(ctx, 0)
    A.expect_signer(ctx, 1, "user")
    s.gc = gc = _global_config(ctx, 2)
    if str(keys[3]) != pool.base_mint:
        raise A.error(ctx, INVALID_BASE_MINT)
    if str(keys[4]) != pool.quote_mint:
        raise A.error(ctx, INVALID_QUOTE_MINT)
    if str(keys[7]) != pool.pool_base_token_account:
        raise A.error(ctx, INVALID_POOL_BASE_TA)
    if str(keys[8]) != pool.pool_quote_token_account:
        raise A.error(ctx, INVALID_POOL_QUOTE_TA)
    if str(keys[9]) not in gc.protocol_fee_recipients:
        raise A.error(ctx, INVALID_PROTOCOL_FEE_RECIPIENT)
    s.base_tp, s.quote_tp = keys[11], keys[12]
    quote_mint = keys[4]
    A.expect_key(ctx, 10, pda.associated_token(keys[9], quote_mint, s.quote_tp),
                 "protocol_fee_recipient_token_account")
    A.expect_key(ctx, 13, SYSTEM_ID, "system_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, 14, ATA_ID, "associated_token_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, 15, EVENT_AUTHORITY, "event_authority")
    A.expect_key(ctx, 16, AMM_ID, "program", CONSTRAINT_ADDRESS)
    vault_auth = pda.pumpswap_creator_vault_authority(pool.coin_creator)
    A.expect_key(ctx, 18, vault_auth, "coin_creator_vault_authority")
    A.expect_key(ctx, 17, pda.associated_token(vault_auth, quote_mint, s.quote_tp), "coin_creator_vault_ata")
    if is_buy:
        A.expect_key(ctx, 19, pda.global_volume_accumulator(P.PUMP_AMM), "global_volume_accumulator")
        A.expect_key(ctx, 20, pda.user_volume_accumulator(keys[1], P.PUMP_AMM), "user_volume_accumulator")
    A.expect_key(ctx, fc_i + 1, FEE_PROGRAM_ID, "fee_program", CONSTRAINT_ADDRESS)
    for i, tp in ((3, s.base_tp), (4, s.quote_tp)):
        if not token.is_token_program(tp) or ctx.acc(i).owner != tp:
            raise A.error(ctx, 2014, account="mint")
    s.base_reserve, s.quote_reserve = _amount(ctx, 7), _amount(ctx, 8)
    base_data = ctx.acc(3).data
    s.base_dec, s.quote_dec = token.mint_decimals(base_data), token.mint_decimals(ctx.acc(4).data)
    s.base_supply = token.mint_supply(base_data)
    s.fees = swap_fees(ctx, fc_i, gc, pool, s.base_reserve, s.quote_reserve, s.base_supply)
    return s


def _ensure_fee_accounts(ctx: Frame, s: _Swap, creator_fee: int) -> None:
    """The protocol fee recipient's and coin creator vault's quote accounts, created on first use."""
    keys = ctx.keys
    wanted = [(10, keys[9])]
    if creator_fee:
        wanted.append((17, keys[18]))
    for i, wallet in wanted:
        if not ctx.acc(i).lamports:
            ctx.invoke(ATA_ID, associated_token.create_metas(keys[1], keys[i], wallet, keys[4], s.quote_tp), b"\x01")


def _swap_event(ctx: Frame, s: _Swap, *, base_amount: int, limit: int, quote_amount: int, lp_fee: int,
                protocol_fee: int, with_lp: int, user_quote: int, creator_fee: int, user_base_pre: int,
                user_quote_pre: int, **extra) -> ev.SwapFields:
    keys = ctx.keys
    return ev.SwapFields(
        timestamp=ctx.unix_timestamp, base_amount=base_amount, limit_quote=limit,
        user_base_token_reserves=user_base_pre, user_quote_token_reserves=user_quote_pre,
        pool_base_token_reserves=s.base_reserve, pool_quote_token_reserves=s.quote_reserve,
        quote_amount=quote_amount, lp_fee_basis_points=s.fees.lp_fee_bps, lp_fee=lp_fee,
        protocol_fee_basis_points=s.fees.protocol_fee_bps, protocol_fee=protocol_fee, quote_with_lp_fee=with_lp,
        user_quote_amount=user_quote, pool=keys[0], user=keys[1], user_base_token_account=keys[5],
        user_quote_token_account=keys[6], protocol_fee_recipient=keys[9],
        protocol_fee_recipient_token_account=keys[10], coin_creator=s.pool.coin_creator,
        coin_creator_fee_basis_points=s.fees.creator_fee_bps if s.pool.has_coin_creator else 0,
        coin_creator_fee=creator_fee, base_supply=s.base_supply, **extra)


def _token_balance(ctx: Frame, i: int) -> int:
    data = ctx.acc(i).data
    return token.token_amount(data) if token.is_token_account_data(data) else 0


def _buy(ctx: Frame, exact_quote: bool) -> None:
    ctx.log_fixed("Instruction: BuyExactQuoteIn" if exact_quote else "Instruction: Buy")
    ctx.consume(COST_SWAP)
    s = _swap_accounts(ctx, is_buy=True)
    data = ctx.data
    if len(data) < 24:
        raise A.error(ctx, INSTRUCTION_DID_NOT_DESERIALIZE)
    first, second = struct.unpack_from("<QQ", data, 8)
    track_volume = len(data) > 24 and data[24] == 1
    if s.gc.disable_flags & 8:
        raise A.error(ctx, DISABLED_BUY)
    f, has_creator = s.fees, s.pool.has_coin_creator
    try:
        if exact_quote:
            q = amm.pumpswap_buy_exact_quote_in(first, s.base_reserve, s.quote_reserve, f.lp_fee_bps,
                                                f.protocol_fee_bps, f.creator_fee_bps, has_creator=has_creator)
            if q.base_out == 0:
                raise A.error(ctx, ZERO_BASE)
            if q.base_out < second:
                raise A.error(ctx, BUY_SLIPPAGE_BELOW_MIN_BASE_OUT)
            max_quote, min_base = first, second
        else:
            if first == 0:
                raise A.error(ctx, ZERO_BASE)
            if first >= s.base_reserve:
                raise A.error(ctx, BUY_MORE_THAN_RESERVES)
            q = amm.pumpswap_buy(first, s.base_reserve, s.quote_reserve, f.lp_fee_bps, f.protocol_fee_bps,
                                 f.creator_fee_bps, has_creator=has_creator)
            max_quote, min_base = second, 0
    except ValueError:
        raise A.error(ctx, OVERFLOW) from None
    if q.total_quote > max_quote:
        raise A.error(ctx, EXCEEDED_SLIPPAGE)
    keys = ctx.keys
    user_base_pre, user_quote_pre = _token_balance(ctx, 5), _token_balance(ctx, 6)
    _ensure_fee_accounts(ctx, s, q.creator_fee)
    user, quote_mint = keys[1], keys[4]
    for dest_i, amount in ((8, q.quote_in + q.lp_fee), (10, q.protocol_fee), (17, q.creator_fee)):
        if amount:
            ctx.invoke(s.quote_tp, [(keys[6], False, True), (quote_mint, False, False), (keys[dest_i], False, True),
                                    (user, True, False)], token.transfer_checked_data(amount, s.quote_dec))
    ctx.invoke(s.base_tp, [(keys[7], False, True), (keys[3], False, False), (keys[5], False, True),
                           (keys[0], True, False)], token.transfer_checked_data(q.base_out, s.base_dec),
               pda_signers=(keys[0],))
    A.emit(ctx, ev.buy_event(_swap_event(
        ctx, s, base_amount=q.base_out, limit=max_quote, quote_amount=q.quote_in, lp_fee=q.lp_fee,
        protocol_fee=q.protocol_fee, with_lp=q.quote_in + q.lp_fee, user_quote=q.total_quote,
        creator_fee=q.creator_fee, user_base_pre=user_base_pre, user_quote_pre=user_quote_pre,
        track_volume=track_volume, min_base_amount_out=min_base,
        ix_name="buy_exact_quote_in" if exact_quote else "buy")), 15)


def _sell(ctx: Frame) -> None:
    ctx.log_fixed("Instruction: Sell")
    ctx.consume(COST_SWAP)
    s = _swap_accounts(ctx, is_buy=False)
    data = ctx.data
    if len(data) < 24:
        raise A.error(ctx, INSTRUCTION_DID_NOT_DESERIALIZE)
    base_in, min_quote = struct.unpack_from("<QQ", data, 8)
    if s.gc.disable_flags & 16:
        raise A.error(ctx, DISABLED_SELL)
    if base_in == 0:
        raise A.error(ctx, ZERO_BASE)
    f = s.fees
    try:
        q = amm.pumpswap_sell(base_in, s.base_reserve, s.quote_reserve, f.lp_fee_bps, f.protocol_fee_bps,
                              f.creator_fee_bps, has_creator=s.pool.has_coin_creator)
    except ValueError:
        raise A.error(ctx, EXCEEDED_SLIPPAGE) from None
    if q.net_quote < min_quote:
        raise A.error(ctx, EXCEEDED_SLIPPAGE)
    keys = ctx.keys
    user_base_pre, user_quote_pre = _token_balance(ctx, 5), _token_balance(ctx, 6)
    _ensure_fee_accounts(ctx, s, q.creator_fee)
    ctx.invoke(s.base_tp, [(keys[5], False, True), (keys[3], False, False), (keys[7], False, True),
                           (keys[1], True, False)], token.transfer_checked_data(base_in, s.base_dec))
    pool_key, quote_mint = keys[0], keys[4]
    for dest_i, amount in ((6, q.net_quote), (10, q.protocol_fee), (17, q.creator_fee)):
        if amount:
            ctx.invoke(s.quote_tp, [(keys[8], False, True), (quote_mint, False, False), (keys[dest_i], False, True),
                                    (pool_key, True, False)], token.transfer_checked_data(amount, s.quote_dec),
                       pda_signers=(pool_key,))
    A.emit(ctx, ev.sell_event(_swap_event(
        ctx, s, base_amount=base_in, limit=min_quote, quote_amount=q.quote_out_gross, lp_fee=q.lp_fee,
        protocol_fee=q.protocol_fee, with_lp=q.quote_out_gross - q.lp_fee, user_quote=q.net_quote,
        creator_fee=q.creator_fee, user_base_pre=user_base_pre, user_quote_pre=user_quote_pre)), 15)


def process(ctx: Frame) -> None:
    disc = ctx.data[:8]
    if disc == P.AMM_IX_BUY:
        _buy(ctx, False)
    elif disc == P.AMM_IX_SELL:
        _sell(ctx)
    elif disc == P.AMM_IX_BUY_EXACT_QUOTE_IN:
        _buy(ctx, True)
    elif disc == P.EVENT_CPI_PREFIX:
        A.event_cpi(ctx, EVENT_AUTHORITY)
    elif disc == P.AMM_IX_CREATE_POOL:
        _create_pool(ctx)
    else:
        raise A.error(ctx, INSTRUCTION_FALLBACK_NOT_FOUND)


PROGRAM = Program("pump_amm", process)
