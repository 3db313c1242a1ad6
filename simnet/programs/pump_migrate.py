"""pump `migrate`: a completed curve's tokens and SOL (less the pool migration fee) become the canonical
PumpSwap pool (index 0, creator = the ["pool-authority", mint] PDA), created through PumpSwap's create_pool.

simnet requires the migration to be signed by the Global's withdraw_authority (pump's migration bot).
The LP tokens stay with the pool-authority PDA (nobody can move them). Also builds the instruction.
"""
from __future__ import annotations

from dataclasses import replace

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.pump_state import decode_bonding_curve

from ..accounts import SYSTEM_ID
from . import associated_token, pumpswap, system, token
from . import pump_events as ev
from .anchor import CONSTRAINT_ADDRESS, CONSTRAINT_HAS_ONE
from .pump import (A, BONDING_CURVE_ALREADY_MIGRATED, BONDING_CURVE_NOT_COMPLETE, COST_MIGRATE, EVENT_AUTHORITY,
                   NOT_AUTHORIZED, POOL_MIGRATION_FEE_TOO_HIGH, PUMP_ID, load_global, store_curve)
from .runtime import Frame

WSOL_MINT = token.NATIVE_MINT
RENT_SYSVAR = Pubkey.from_string(P.RENT_SYSVAR)
AMM_ID = pumpswap.AMM_ID
N_ACCOUNTS = 25


def migrate_accounts(mint: Pubkey, withdraw_authority: Pubkey, user: Pubkey | None = None,
                     token_program: Pubkey = token.TOKEN_ID) -> list[AccountMeta]:
    """The 25 accounts of pump 2.0.0 `migrate`, in IDL order."""
    user = user or withdraw_authority
    curve = pda.bonding_curve(mint)
    pool_authority = pda.pool_authority(mint)
    pool = pda.canonical_pumpswap_pool(mint)
    lp_mint = pda.pumpswap_lp_mint(pool)
    spec = [
        (pda.pump_global(), False, False), (withdraw_authority, False, True), (mint, False, False),
        (curve, False, True), (pda.associated_bonding_curve(mint, token_program), False, True), (user, True, True),
        (SYSTEM_ID, False, False), (token_program, False, False), (AMM_ID, False, False), (pool, False, True),
        (pool_authority, False, True), (pda.associated_token(pool_authority, mint, token_program), False, True),
        (pda.associated_token(pool_authority, WSOL_MINT, token.TOKEN_ID), False, True),
        (pumpswap.GLOBAL_CONFIG_KEY, False, False), (WSOL_MINT, False, False), (lp_mint, False, True),
        (pda.associated_token(pool_authority, lp_mint, token.TOKEN_2022_ID), False, True),
        (pda.associated_token(pool, mint, token_program), False, True),
        (pda.associated_token(pool, WSOL_MINT, token.TOKEN_ID), False, True),
        (token.TOKEN_2022_ID, False, False), (associated_token.ATA_ID, False, False),
        (pumpswap.EVENT_AUTHORITY, False, False), (EVENT_AUTHORITY, False, False), (PUMP_ID, False, False),
        (RENT_SYSVAR, False, False),
    ]
    return [AccountMeta(k, s, w) for k, s, w in spec]


def migrate_instruction(mint: Pubkey, withdraw_authority: Pubkey, user: Pubkey | None = None,
                        token_program: Pubkey = token.TOKEN_ID) -> Instruction:
    return Instruction(PUMP_ID, P.PUMP_IX_MIGRATE, migrate_accounts(mint, withdraw_authority, user, token_program))


def migrate(ctx: Frame) -> None:
    ctx.log_fixed("Instruction: Migrate")
    ctx.consume(COST_MIGRATE)
    A.need(ctx, N_ACCOUNTS - 1)     # rent is optional
    keys = ctx.keys
    g = load_global(ctx, 0)
    withdraw_authority, mint, curve_key, user = keys[1], keys[2], keys[3], keys[5]
    if str(withdraw_authority) != g.withdraw_authority:
        raise A.error(ctx, CONSTRAINT_HAS_ONE, account="withdraw_authority")
    A.expect_signer(ctx, 5, "user")
    if user != withdraw_authority:
        raise A.error(ctx, NOT_AUTHORIZED, account="user")
    A.expect_key(ctx, 3, pda.bonding_curve(mint), "bonding_curve")
    data = A.load(ctx, 3, P.PUMP_ACC_BONDING_CURVE, "bonding_curve")
    bc, size = decode_bonding_curve(data), len(data)
    token_program = keys[7]
    if not token.is_token_program(token_program) or ctx.acc(2).owner != token_program:
        raise A.error(ctx, 2014, account="mint")
    pool_authority, pool = keys[10], keys[9]
    checks = [
        (4, pda.associated_bonding_curve(mint, token_program), "associated_bonding_curve"),
        (6, SYSTEM_ID, "system_program"), (8, AMM_ID, "pump_amm"),
        (9, pda.canonical_pumpswap_pool(mint), "pool"), (10, pda.pool_authority(mint), "pool_authority"),
        (11, pda.associated_token(pool_authority, mint, token_program), "pool_authority_mint_account"),
        (12, pda.associated_token(pool_authority, WSOL_MINT, token.TOKEN_ID), "pool_authority_wsol_account"),
        (13, pumpswap.GLOBAL_CONFIG_KEY, "amm_global_config"), (14, WSOL_MINT, "wsol_mint"),
        (15, pda.pumpswap_lp_mint(pool), "lp_mint"), (19, token.TOKEN_2022_ID, "token_2022_program"),
        (20, associated_token.ATA_ID, "associated_token_program"),
        (21, pumpswap.EVENT_AUTHORITY, "pump_amm_event_authority"), (22, EVENT_AUTHORITY, "event_authority"),
        (23, PUMP_ID, "program"),
    ]
    for i, expected, name in checks:
        A.expect_key(ctx, i, expected, name, CONSTRAINT_ADDRESS if name.endswith("program") else 2006)
    if not bc.complete:
        raise A.error(ctx, BONDING_CURVE_NOT_COMPLETE)
    if ctx.acc(9).lamports or bc.real_sol_reserves == 0:
        raise A.error(ctx, BONDING_CURVE_ALREADY_MIGRATED)
    fee = g.pool_migration_fee
    if bc.real_sol_reserves <= fee:
        raise A.error(ctx, POOL_MIGRATION_FEE_TOO_HIGH)
    sol_amount = bc.real_sol_reserves - fee
    abc_data = ctx.acc(4).data
    mint_amount = token.token_amount(abc_data) if token.is_token_account_data(abc_data) else 0
    decimals = token.mint_decimals(ctx.acc(2).data)
    pa_mint_account, pa_wsol_account = keys[11], keys[12]

    ctx.invoke(associated_token.ATA_ID, associated_token.create_metas(user, pa_mint_account, pool_authority, mint,
                                                                      token_program), b"\x01")
    ctx.invoke(associated_token.ATA_ID, associated_token.create_metas(user, pa_wsol_account, pool_authority,
                                                                      WSOL_MINT, token.TOKEN_ID), b"\x01")
    ctx.invoke(token_program, [(keys[4], False, True), (mint, False, False), (pa_mint_account, False, True),
                               (curve_key, True, False)],
               token.transfer_checked_data(mint_amount, decimals), pda_signers=(curve_key,))
    # the curve's SOL leaves pump's own account directly: the pool's quote, then the migration fee
    ctx.debit(3, sol_amount + fee)
    ctx.credit(12, sol_amount)
    ctx.credit(1, fee)
    ctx.invoke(token.TOKEN_ID, [(pa_wsol_account, False, True)], bytes((token.SYNC_NATIVE,)))
    # the pool authority pays the new accounts' rent, funded by the migrator
    ctx.invoke(SYSTEM_ID, system.transfer_metas(user, pool_authority),
               system.transfer_data(pumpswap.create_pool_rent(token_program)))
    creator = Pubkey.from_string(bc.creator)
    ctx.invoke(AMM_ID, [
        (pool, False, True), (keys[13], False, False), (pool_authority, True, True), (mint, False, False),
        (WSOL_MINT, False, False), (keys[15], False, True), (pa_mint_account, False, True),
        (pa_wsol_account, False, True), (keys[16], False, True), (keys[17], False, True), (keys[18], False, True),
        (SYSTEM_ID, False, False), (token.TOKEN_2022_ID, False, False), (token_program, False, False),
        (token.TOKEN_ID, False, False), (associated_token.ATA_ID, False, False), (keys[21], False, False),
        (AMM_ID, False, False)],
        pumpswap.create_pool_data(0, mint_amount, sol_amount, creator), pda_signers=(pool_authority,))
    store_curve(ctx, 3, replace(bc, real_sol_reserves=0, real_token_reserves=0), size)
    A.emit(ctx, ev.complete_amm_migration_event(
        user=user, mint=mint, mint_amount=mint_amount, sol_amount=sol_amount, pool_migration_fee=fee,
        bonding_curve=curve_key, timestamp=ctx.unix_timestamp, pool=pool), 22)
