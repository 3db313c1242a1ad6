"""The pump.fun bonding-curve program: create, create_v2, buy, buy_exact_sol_in, sell (and migrate, in
pump_migrate.py), with the program's integer math (pipelines/chain/curve.py), its IDL error codes, the
fee-program tiers for fee rates, and its events as `Program data:` logs plus event-CPI inner instructions.

Not modelled: volume accumulators (never read or written; the TradeEvent volume fields are 0), cashback,
buyback, holder rewards, fee sharing, mayhem mode (create_v2 with is_mayhem_mode fails MayhemModeDisabled),
non-SOL quote mints, and the v2 trade instructions.
"""
from __future__ import annotations

import struct

from solders.pubkey import Pubkey

from pipelines.chain import curve, pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import FeeConfig, decode_fee_config
from pipelines.chain.fees import pump_curve_fees
from pipelines.chain.borsh import Reader
from pipelines.chain.errors import DecodeError
from pipelines.chain.pump_state import BONDING_CURVE_LEN, BondingCurve, Global, decode_global, encode_bonding_curve

from ..accounts import SYSTEM_ID, rent_exempt_minimum
from . import associated_token, metaplex, system, token
from . import pump_events as ev
from .anchor import (CONSTRAINT_ADDRESS, INSTRUCTION_DID_NOT_DESERIALIZE, INSTRUCTION_FALLBACK_NOT_FOUND,
                     AnchorProgram)
from .runtime import Frame, Program

PUMP_ID = Pubkey.from_string(P.PUMP)
GLOBAL_KEY = Pubkey.from_string(P.PUMP_GLOBAL)
EVENT_AUTHORITY = pda.event_authority()
MINT_AUTHORITY = pda.mint_authority()
FEE_CONFIG_KEY = pda.fee_config(P.PUMP)
FEE_PROGRAM_ID = Pubkey.from_string(P.PUMP_FEES)
GLOBAL_VOLUME = pda.global_volume_accumulator()
METAPLEX_ID = metaplex.METAPLEX_ID
ATA_ID = associated_token.ATA_ID
TOKEN_DECIMALS = curve.TOKEN_DECIMALS
MINT_LEN = token.MINT_LEN

# pump 2.0.0 IDL `errors` (the ones this program can raise)
NOT_AUTHORIZED, TOO_MUCH_SOL_REQUIRED, TOO_LITTLE_SOL_RECEIVED = 6000, 6002, 6003
BONDING_CURVE_COMPLETE, BONDING_CURVE_NOT_COMPLETE = 6005, 6006
POOL_MIGRATION_FEE_TOO_HIGH = 6015
BUY_ZERO_AMOUNT, NOT_ENOUGH_TOKENS_TO_BUY, SELL_ZERO_AMOUNT, OVERFLOW = 6020, 6021, 6022, 6024
CREATOR_SHOULD_NOT_BE_ZERO = 6030
BUY_SLIPPAGE_BELOW_MIN_TOKENS_OUT = 6042
NAME_TOO_LONG, SYMBOL_TOO_LONG, URI_TOO_LONG = 6043, 6044, 6045
MAYHEM_MODE_DISABLED = 6048
BONDING_CURVE_ALREADY_MIGRATED = 6081
ERRORS = {
    6000: ("NotAuthorized", "The given account is not authorized to execute this instruction."),
    6002: ("TooMuchSolRequired", "slippage: Too much SOL required to buy the given amount of tokens."),
    6003: ("TooLittleSolReceived", "slippage: Too little SOL received to sell the given amount of tokens."),
    6004: ("MintDoesNotMatchBondingCurve", "The mint does not match the bonding curve."),
    6005: ("BondingCurveComplete", "The bonding curve has completed and liquidity migrated to raydium."),
    6006: ("BondingCurveNotComplete", "The bonding curve has not completed."),
    6015: ("PoolMigrationFeeShouldBeLessThanFinalRealSolReserves",
           "pool_migration_fee should be less than final_real_sol_reserves"),
    6020: ("BuyZeroAmount", "Buy zero amount"),
    6021: ("NotEnoughTokensToBuy", "Not enough tokens to buy"),
    6022: ("SellZeroAmount", "Sell zero amount"),
    6023: ("NotEnoughTokensToSell", "Not enough tokens to sell"),
    6024: ("Overflow", "Overflow"),
    6030: ("CreatorShouldNotBeZero", "Creator should not be zero"),
    6042: ("BuySlippageBelowMinTokensOut", "Slippage: Would buy less tokens than expected min_tokens_out"),
    6043: ("NameTooLong", ""), 6044: ("SymbolTooLong", ""), 6045: ("UriTooLong", ""),
    6048: ("MayhemModeDisabled", ""),
    6081: ("BondingCurveAlreadyMigrated", "Bonding curve has already migrated"),
}
A = AnchorProgram(ERRORS)
MAX_NAME, MAX_SYMBOL, MAX_URI = 32, 10, 200

# Own compute per instruction (the CPIs add theirs), roughly mainnet's.
COST_TRADE, COST_CREATE, COST_MIGRATE = 22_000, 35_000, 60_000

_CURVE_HEAD = struct.Struct("<QQQQQB")   # reserves, supply, complete @8..49
_ZERO32 = bytes(32)
_GLOBALS: dict[bytes, Global] = {}
_FEE_CONFIGS: dict[bytes, FeeConfig] = {}


# --- shared account handling ---------------------------------------------------------------------------------

def load_global(ctx: Frame, i: int) -> Global:
    A.expect_key(ctx, i, GLOBAL_KEY, "global")
    data = A.load(ctx, i, P.PUMP_ACC_GLOBAL, "global")
    g = _GLOBALS.get(data)
    if g is None:    # Global rarely changes: decode each distinct content once
        g = decode_global(data)
        if len(_GLOBALS) > 16:
            _GLOBALS.clear()
        _GLOBALS[data] = g
    return g


class CurveAccount:
    """A BondingCurve account read for trading: the fields trades touch, unpacked straight from the bytes."""
    __slots__ = ("data", "state", "creator", "creator_raw", "is_mayhem_mode")

    def __init__(self, data: bytes) -> None:
        if len(data) < 81:     # 2024 curves (49 bytes) have no creator: simnet only serves current ones
            raise DecodeError(f"bonding curve account too short for trading: {len(data)} bytes")
        vtok, vsol, rtok, rsol, supply, complete = _CURVE_HEAD.unpack_from(data, 8)
        if complete > 1:
            raise DecodeError(f"invalid bool {complete} in bonding curve")
        self.data = data
        self.creator_raw = data[49:81]
        self.creator = Pubkey.from_bytes(self.creator_raw)
        self.is_mayhem_mode = len(data) > 81 and data[81] == 1
        self.state = curve.CurveState(vtok, vsol, rtok, rsol, supply, complete == 1,
                                      has_creator=self.creator_raw != _ZERO32)

    def packed(self, s: curve.CurveState) -> bytes:
        """The account data with the reserves and `complete` of `s`, every other byte kept."""
        d = self.data
        return d[:8] + _CURVE_HEAD.pack(s.virtual_token_reserves, s.virtual_sol_reserves, s.real_token_reserves,
                                        s.real_sol_reserves, s.token_total_supply, s.complete) + d[49:]


def load_curve(ctx: Frame, i: int, mint: Pubkey) -> CurveAccount:
    A.expect_key(ctx, i, pda.bonding_curve(mint), "bonding_curve")
    return CurveAccount(A.load(ctx, i, P.PUMP_ACC_BONDING_CURVE, "bonding_curve"))


def store_curve(ctx: Frame, i: int, bc: BondingCurve, size: int = BONDING_CURVE_LEN) -> None:
    ctx.set_data(i, encode_bonding_curve(bc, size))


def curve_fees(ctx: Frame, fee_config_i: int, g: Global, state: curve.CurveState) -> curve.CurveFees:
    """Fee rates as the program takes them: the fee program's tier for the curve's market cap (lamports),
    or Global's flat rates when there is no FeeConfig."""
    A.expect_key(ctx, fee_config_i, FEE_CONFIG_KEY, "fee_config")
    rec = ctx.acc(fee_config_i)
    if rec.owner != FEE_PROGRAM_ID or rec.data[:8] != P.PUMP_ACC_FEE_CONFIG:
        return g.fees()
    cfg = _FEE_CONFIGS.get(rec.data)
    if cfg is None:
        cfg = decode_fee_config(rec.data)
        if len(_FEE_CONFIGS) > 16:
            _FEE_CONFIGS.clear()
        _FEE_CONFIGS[rec.data] = cfg
    return pump_curve_fees(g, cfg, state)


def _token_program_of(ctx: Frame, mint_i: int, token_i: int) -> Pubkey:
    token_program = ctx.keys[token_i]
    if not token.is_token_program(token_program):
        raise A.error(ctx, CONSTRAINT_ADDRESS, account="token_program")
    if ctx.acc(mint_i).owner != token_program:
        raise A.error(ctx, 2014, account="mint")    # ConstraintTokenMint: the mint is not of this program
    return token_program


def _u64s(ctx: Frame, n: int) -> tuple[int, ...]:
    data = ctx.data
    if len(data) < 8 + 8 * n:
        raise A.error(ctx, INSTRUCTION_DID_NOT_DESERIALIZE)
    return struct.unpack_from("<" + "Q" * n, data, 8)


def _opt_bool(ctx: Frame, off: int) -> bool:
    return len(ctx.data) > off and ctx.data[off] == 1


# --- trades ----------------------------------------------------------------------------------------------------

def _trade_accounts(ctx: Frame, *, sell: bool) -> tuple[Global, CurveAccount, Pubkey]:
    """Anchor's account validation for buy / buy_exact_sol_in / sell; returns (global, curve, token program)."""
    if sell:
        A.need(ctx, 14)
        vault_i, token_i, ea_i, prog_i, fc_i, fp_i = 8, 9, 10, 11, 12, 13
    else:
        A.need(ctx, 16)
        token_i, vault_i, ea_i, prog_i, fc_i, fp_i = 8, 9, 10, 11, 14, 15
    g = load_global(ctx, 0)
    keys = ctx.keys
    if str(keys[1]) not in g.all_fee_recipients():
        raise A.error(ctx, NOT_AUTHORIZED, account="fee_recipient")
    A.expect_writable(ctx, 1, "fee_recipient")
    mint = keys[2]
    bc = load_curve(ctx, 3, mint)
    token_program = _token_program_of(ctx, 2, token_i)
    A.expect_key(ctx, 4, pda.associated_bonding_curve(mint, token_program), "associated_bonding_curve")
    A.expect_signer(ctx, 6, "user")
    A.expect_key(ctx, 7, SYSTEM_ID, "system_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, vault_i, pda.creator_vault(bc.creator), "creator_vault")
    A.expect_writable(ctx, vault_i, "creator_vault")
    A.expect_key(ctx, ea_i, EVENT_AUTHORITY, "event_authority")
    A.expect_key(ctx, prog_i, PUMP_ID, "program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, fp_i, FEE_PROGRAM_ID, "fee_program", CONSTRAINT_ADDRESS)
    if not sell:
        A.expect_key(ctx, 12, GLOBAL_VOLUME, "global_volume_accumulator")
        A.expect_key(ctx, 13, pda.user_volume_accumulator(keys[6]), "user_volume_accumulator")
    return g, bc, token_program


def _emit_trade(ctx: Frame, bc: CurveAccount, after: curve.CurveState, q, fees: curve.CurveFees, *,
                is_buy: bool, ix_name: str, track_volume: bool, ea_i: int) -> None:
    keys = ctx.keys
    A.emit(ctx, ev.trade_event(ev.TradeFields(
        mint=keys[2], sol_amount=q.sol_cost if is_buy else q.sol_out_gross, token_amount=q.tokens, is_buy=is_buy,
        user=keys[6], timestamp=ctx.unix_timestamp, virtual_sol_reserves=after.virtual_sol_reserves,
        virtual_token_reserves=after.virtual_token_reserves, real_sol_reserves=after.real_sol_reserves,
        real_token_reserves=after.real_token_reserves, fee_recipient=keys[1], fee_basis_points=fees.protocol_bps,
        fee=q.protocol_fee, creator=bc.creator,
        creator_fee_basis_points=fees.creator_bps if after.has_creator else 0, creator_fee=q.creator_fee,
        track_volume=track_volume, ix_name=ix_name, mayhem_mode=bc.is_mayhem_mode)), ea_i)


def _buy(ctx: Frame, exact_sol: bool) -> None:
    ctx.log_fixed("Instruction: BuyExactSolIn" if exact_sol else "Instruction: Buy")
    ctx.consume(COST_TRADE)
    g, bc, token_program = _trade_accounts(ctx, sell=False)
    first, second = _u64s(ctx, 2)
    track_volume = _opt_bool(ctx, 24)
    state = bc.state
    if state.complete:
        raise A.error(ctx, BONDING_CURVE_COMPLETE)
    fees = curve_fees(ctx, 14, g, state)
    if exact_sol:
        spendable, min_tokens_out = first, second
        q = curve.buy_exact_sol(state, spendable, fees)
        if q.tokens == 0:
            raise A.error(ctx, BUY_ZERO_AMOUNT)
        if q.tokens < min_tokens_out:
            raise A.error(ctx, BUY_SLIPPAGE_BELOW_MIN_TOKENS_OUT)
        max_cost = spendable
    else:
        amount, max_cost = first, second
        if amount == 0:
            raise A.error(ctx, BUY_ZERO_AMOUNT)
        q = curve.buy_exact_tokens(state, amount, fees)
        if q.tokens == 0:
            raise A.error(ctx, NOT_ENOUGH_TOKENS_TO_BUY)
    if q.total_sol > max_cost:
        ctx.log(f"Left: {q.total_sol}")
        ctx.log(f"Right: {max_cost}")
        raise A.error(ctx, TOO_MUCH_SOL_REQUIRED)
    keys = ctx.keys
    mint, curve_key, user = keys[2], keys[3], keys[6]
    decimals = token.mint_decimals(ctx.acc(2).data)
    ctx.invoke(token_program, [(keys[4], False, True), (mint, False, False), (keys[5], False, True),
                               (curve_key, True, False)],
               token.transfer_checked_data(q.tokens, decimals), pda_signers=(curve_key,))
    ctx.invoke(SYSTEM_ID, system.transfer_metas(user, curve_key), system.transfer_data(q.sol_cost))
    if q.protocol_fee:
        ctx.invoke(SYSTEM_ID, system.transfer_metas(user, keys[1]), system.transfer_data(q.protocol_fee))
    if q.creator_fee:
        ctx.invoke(SYSTEM_ID, system.transfer_metas(user, keys[9]), system.transfer_data(q.creator_fee))
    after = curve.apply_buy(state, q)
    ctx.set_data(3, bc.packed(after))
    _emit_trade(ctx, bc, after, q, fees, is_buy=True, ix_name="buy_exact_sol_in" if exact_sol else "buy",
                track_volume=track_volume, ea_i=10)
    if after.complete:
        A.emit(ctx, ev.complete_event(user=user, mint=mint, bonding_curve=curve_key,
                                      timestamp=ctx.unix_timestamp), 10)


def _sell(ctx: Frame) -> None:
    ctx.log_fixed("Instruction: Sell")
    ctx.consume(COST_TRADE)
    g, bc, token_program = _trade_accounts(ctx, sell=True)
    amount, min_sol_output = _u64s(ctx, 2)
    state = bc.state
    if state.complete:
        raise A.error(ctx, BONDING_CURVE_COMPLETE)
    if amount == 0:
        raise A.error(ctx, SELL_ZERO_AMOUNT)
    fees = curve_fees(ctx, 12, g, state)
    q = curve.sell(state, amount, fees)
    if q.net_sol < min_sol_output:
        ctx.log(f"Left: {q.net_sol}")
        ctx.log(f"Right: {min_sol_output}")
        raise A.error(ctx, TOO_LITTLE_SOL_RECEIVED)
    keys = ctx.keys
    mint, curve_key, user = keys[2], keys[3], keys[6]
    decimals = token.mint_decimals(ctx.acc(2).data)
    ctx.invoke(token_program, [(keys[5], False, True), (mint, False, False), (keys[4], False, True),
                               (user, True, False)],
               token.transfer_checked_data(amount, decimals))
    # the curve is pump's own account: lamports leave it directly, no system CPI
    ctx.debit(3, q.sol_out_gross)
    ctx.credit(6, q.net_sol)
    ctx.credit(1, q.protocol_fee)
    ctx.credit(8, q.creator_fee)
    after = curve.apply_sell(state, q)
    ctx.set_data(3, bc.packed(after))
    _emit_trade(ctx, bc, after, q, fees, is_buy=False, ix_name="sell", track_volume=False, ea_i=10)


# --- create ----------------------------------------------------------------------------------------------------

def _create_args(ctx: Frame) -> tuple[str, str, str, Pubkey, Reader]:
    try:
        r = Reader(ctx.data, 8)
        name, symbol, uri = r.string(), r.string(), r.string()
        creator = Pubkey.from_string(r.pubkey())
    except DecodeError:
        raise A.error(ctx, INSTRUCTION_DID_NOT_DESERIALIZE) from None
    if len(name.encode()) > MAX_NAME:
        raise A.error(ctx, NAME_TOO_LONG)
    if len(symbol.encode()) > MAX_SYMBOL:
        raise A.error(ctx, SYMBOL_TOO_LONG)
    if len(uri.encode()) > MAX_URI:
        raise A.error(ctx, URI_TOO_LONG)
    if creator == SYSTEM_ID:
        raise A.error(ctx, CREATOR_SHOULD_NOT_BE_ZERO)
    return name, symbol, uri, creator, r


def _launch_curve(ctx: Frame, g: Global, *, mint: Pubkey, curve_i: int, abc_i: int, user: Pubkey,
                  token_program: Pubkey, creator: Pubkey, name: str, symbol: str, uri: str, ea_i: int) -> None:
    """What create and create_v2 share once the mint exists: the curve account, its token account holding the
    whole supply, the revoked mint authority, and the CreateEvent."""
    curve_key, abc = ctx.keys[curve_i], ctx.keys[abc_i]
    ctx.invoke(SYSTEM_ID, [(user, True, True), (curve_key, True, True)],
               system.create_account_data(rent_exempt_minimum(BONDING_CURVE_LEN), BONDING_CURVE_LEN, PUMP_ID),
               pda_signers=(curve_key,))
    ctx.invoke(ATA_ID, associated_token.create_metas(user, abc, curve_key, mint, token_program), b"\x00")
    ctx.invoke(token_program, [(mint, False, True), (abc, False, True), (MINT_AUTHORITY, True, False)],
               token.mint_to_data(g.token_total_supply), pda_signers=(MINT_AUTHORITY,))
    ctx.invoke(token_program, [(mint, False, True), (MINT_AUTHORITY, True, False)],
               token.set_authority_data(0, None), pda_signers=(MINT_AUTHORITY,))
    bc = BondingCurve(
        virtual_token_reserves=g.initial_virtual_token_reserves, virtual_sol_reserves=g.initial_virtual_sol_reserves,
        real_token_reserves=g.initial_real_token_reserves, real_sol_reserves=0,
        token_total_supply=g.token_total_supply, complete=False, creator=str(creator))
    store_curve(ctx, curve_i, bc, BONDING_CURVE_LEN)
    A.emit(ctx, ev.create_event(
        name=name, symbol=symbol, uri=uri, mint=mint, bonding_curve=curve_key, user=user, creator=creator,
        timestamp=ctx.unix_timestamp, virtual_token_reserves=bc.virtual_token_reserves,
        virtual_sol_reserves=bc.virtual_sol_reserves, real_token_reserves=bc.real_token_reserves,
        token_total_supply=bc.token_total_supply, token_program=token_program), ea_i)


def _create_common_checks(ctx: Frame, *, mint_i: int, mint_auth_i: int, curve_i: int, abc_i: int, global_i: int,
                          user_i: int, system_i: int, token_i: int, ata_i: int, ea_i: int, prog_i: int,
                          token_program: Pubkey) -> Global:
    keys = ctx.keys
    A.expect_signer(ctx, mint_i, "mint")
    A.expect_key(ctx, mint_auth_i, MINT_AUTHORITY, "mint_authority")
    mint = keys[mint_i]
    A.expect_key(ctx, curve_i, pda.bonding_curve(mint), "bonding_curve")
    A.expect_key(ctx, abc_i, pda.associated_bonding_curve(mint, token_program), "associated_bonding_curve")
    g = load_global(ctx, global_i)
    A.expect_signer(ctx, user_i, "user")
    A.expect_key(ctx, system_i, SYSTEM_ID, "system_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, token_i, token_program, "token_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, ata_i, ATA_ID, "associated_token_program", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, ea_i, EVENT_AUTHORITY, "event_authority")
    A.expect_key(ctx, prog_i, PUMP_ID, "program", CONSTRAINT_ADDRESS)
    return g


def _create(ctx: Frame) -> None:
    ctx.log_fixed("Instruction: Create")
    ctx.consume(COST_CREATE)
    A.need(ctx, 14)
    name, symbol, uri, creator, _ = _create_args(ctx)
    g = _create_common_checks(ctx, mint_i=0, mint_auth_i=1, curve_i=2, abc_i=3, global_i=4, user_i=7, system_i=8,
                              token_i=9, ata_i=10, ea_i=12, prog_i=13, token_program=token.TOKEN_ID)
    keys = ctx.keys
    mint, user = keys[0], keys[7]
    A.expect_key(ctx, 5, METAPLEX_ID, "mpl_token_metadata", CONSTRAINT_ADDRESS)
    A.expect_key(ctx, 6, pda.metadata(mint), "metadata")
    ctx.invoke(SYSTEM_ID, [(user, True, True), (mint, True, True)],
               system.create_account_data(rent_exempt_minimum(MINT_LEN), MINT_LEN, token.TOKEN_ID))
    ctx.invoke(token.TOKEN_ID, [(mint, False, True)], token.initialize_mint2_data(TOKEN_DECIMALS, MINT_AUTHORITY))
    ctx.invoke(METAPLEX_ID, [(keys[6], False, True), (mint, False, False), (MINT_AUTHORITY, True, False),
                             (user, True, True), (MINT_AUTHORITY, False, False), (SYSTEM_ID, False, False),
                             (keys[11], False, False)],
               metaplex.create_metadata_v3_data(name, symbol, uri), pda_signers=(MINT_AUTHORITY,))
    _launch_curve(ctx, g, mint=mint, curve_i=2, abc_i=3, user=user, token_program=token.TOKEN_ID, creator=creator,
                  name=name, symbol=symbol, uri=uri, ea_i=12)


def _create_v2(ctx: Frame) -> None:
    ctx.log_fixed("Instruction: CreateV2")
    ctx.consume(COST_CREATE)
    A.need(ctx, 16)
    name, symbol, uri, creator, r = _create_args(ctx)
    if r.remaining() < 1:
        raise A.error(ctx, INSTRUCTION_DID_NOT_DESERIALIZE)
    if r.u8() == 1:
        raise A.error(ctx, MAYHEM_MODE_DISABLED)
    g = _create_common_checks(ctx, mint_i=0, mint_auth_i=1, curve_i=2, abc_i=3, global_i=4, user_i=5, system_i=6,
                              token_i=7, ata_i=8, ea_i=14, prog_i=15, token_program=token.TOKEN_2022_ID)
    keys = ctx.keys
    mint, user = keys[0], keys[5]
    # Token-2022 mint carrying its own metadata: MetadataPointer -> itself, then the TokenMetadata entry
    meta_len = 4 + 64 + 12 + len(name.encode()) + len(symbol.encode()) + len(uri.encode()) + 4
    final_len = token.METADATA_POINTER_MINT_LEN + meta_len
    ctx.invoke(SYSTEM_ID, [(user, True, True), (mint, True, True)],
               system.create_account_data(rent_exempt_minimum(final_len), token.METADATA_POINTER_MINT_LEN,
                                          token.TOKEN_2022_ID))
    ctx.invoke(token.TOKEN_2022_ID, [(mint, False, True)],
               token.metadata_pointer_initialize_data(MINT_AUTHORITY, mint))
    ctx.invoke(token.TOKEN_2022_ID, [(mint, False, True)], token.initialize_mint2_data(TOKEN_DECIMALS, MINT_AUTHORITY))
    ctx.invoke(token.TOKEN_2022_ID, [(mint, False, True), (MINT_AUTHORITY, False, False), (mint, False, False),
                                     (MINT_AUTHORITY, True, False)],
               token.token_metadata_initialize_data(name, symbol, uri), pda_signers=(MINT_AUTHORITY,))
    _launch_curve(ctx, g, mint=mint, curve_i=2, abc_i=3, user=user, token_program=token.TOKEN_2022_ID,
                  creator=creator, name=name, symbol=symbol, uri=uri, ea_i=14)


# --- dispatch --------------------------------------------------------------------------------------------------

def process(ctx: Frame) -> None:
    disc = ctx.data[:8]
    if disc == P.PUMP_IX_BUY:
        _buy(ctx, False)
    elif disc == P.PUMP_IX_SELL:
        _sell(ctx)
    elif disc == P.PUMP_IX_BUY_EXACT_SOL_IN:
        _buy(ctx, True)
    elif disc == P.EVENT_CPI_PREFIX:
        A.event_cpi(ctx, EVENT_AUTHORITY)
    elif disc == P.PUMP_IX_CREATE:
        _create(ctx)
    elif disc == P.PUMP_IX_CREATE_V2:
        _create_v2(ctx)
    elif disc == P.PUMP_IX_MIGRATE:
        from .pump_migrate import migrate
        migrate(ctx)
    else:
        raise A.error(ctx, INSTRUCTION_FALLBACK_NOT_FOUND)


PROGRAM = Program("pump", process)
