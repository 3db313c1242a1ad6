"""A completed curve migrates to a PumpSwap pool (by the migration authority), which then trades as a
constant-product AMM with the fee program's tiers. Expected values come from the formulas, computed here."""
from __future__ import annotations

import base64
import math

import spl.token.instructions as T
from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from pipelines.chain import builders as B
from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import decode_fee_config, decode_pumpswap_pool
from pipelines.chain.intents import PumpBuy
from pipelines.chain.mint import decode_token_account
from pipelines.chain.pump_state import decode_bonding_curve
from simnet import genesis as G
from simnet.accounts import rent_exempt_minimum
from simnet.programs.pump_migrate import migrate_instruction

from .conftest import NOW, SOL, decode_idl_event, load_idl

VTOK0, VSOL0, RTOK0, SUPPLY = 1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000, 10**15
MIGRATION_FEE = 15_000_001
TOKEN = Pubkey.from_string(P.TOKEN)


def ceil_bps(amount: int, bps: int) -> int:
    return -(-amount * bps // 10_000)


def complete_curve(bank, wallet, launch):
    mint, creator, _ = launch()
    whale = wallet(100)
    intent = PumpBuy(str(mint.pubkey()), str(whale.pubkey()), G.PUMP_FEE_RECIPIENT, SUPPLY, 100 * SOL, None,
                     str(creator.pubkey()))
    assert bank.process_transaction(B.build_buy_tx(intent, whale, bank.latest_blockhash()[0])).err is None
    return mint, creator, whale


def migrate(bank, mint, signer: Keypair):
    authority = bank.genesis.migration_authority.pubkey()
    ixs = [set_compute_unit_limit(600_000), migrate_instruction(mint.pubkey(), authority, signer.pubkey())]
    return bank.process_transaction(B.build_transaction(signer, ixs, bank.latest_blockhash()[0]))


def amount_of(bank, address) -> int:
    return decode_token_account(bytes(bank.get_account(address).data), P.TOKEN).amount


def tokens_of(bank, address) -> int:
    acc = bank.get_account(address)
    return 0 if acc is None else decode_token_account(bytes(acc.data), P.TOKEN).amount


def test_migration_creates_the_canonical_pool(bank, wallet, launch):
    idl = load_idl("pump_sdk-2.0.0_pump.json")
    mint, creator, _ = complete_curve(bank, wallet, launch)
    real_sol = RTOK0 * VSOL0 // (VTOK0 - RTOK0) + 1
    authority = bank.genesis.migration_authority
    fee_receiver_before = bank.get_balance(authority.pubkey())

    outsider = wallet(10)
    assert migrate(bank, mint, outsider).err == {"InstructionError": [1, {"Custom": 6000}]}   # NotAuthorized

    res = migrate(bank, mint, authority)
    assert res.err is None, res.logs
    pool_key = pda.canonical_pumpswap_pool(mint.pubkey())
    pool = decode_pumpswap_pool(bytes(bank.get_account(pool_key).data))
    base_in, quote_in = SUPPLY - RTOK0, real_sol - MIGRATION_FEE
    assert (pool.index, pool.creator, pool.base_mint, pool.quote_mint, pool.coin_creator) == (
        0, str(pda.pool_authority(mint.pubkey())), str(mint.pubkey()), P.WSOL_MINT, str(creator.pubkey()))
    assert pool.lp_mint == str(pda.pumpswap_lp_mint(pool_key))
    assert pool.lp_supply == math.isqrt(base_in * quote_in) - 100
    assert amount_of(bank, Pubkey.from_string(pool.pool_base_token_account)) == base_in
    assert amount_of(bank, Pubkey.from_string(pool.pool_quote_token_account)) == quote_in
    assert bank.get_account(pool_key).lamports == rent_exempt_minimum(300)
    # the curve is emptied down to its rent; the migration fee went to the withdraw authority
    curve_key = pda.bonding_curve(mint.pubkey())
    assert bank.get_balance(curve_key) == rent_exempt_minimum(150)
    assert tokens_of(bank, pda.associated_bonding_curve(mint.pubkey())) == 0
    bc = decode_bonding_curve(bytes(bank.get_account(curve_key).data))
    assert bc.complete and bc.real_sol_reserves == 0
    spent = res.fee + 2 * 2_039_280 + sum(rent_exempt_minimum(n) for n in (300, 82, 165, 165, 170))
    assert bank.get_balance(authority.pubkey()) == fee_receiver_before + MIGRATION_FEE - spent

    payloads = [base64.b64decode(line[len("Program data: "):]) for line in res.logs
                if line.startswith("Program data: ")]
    pump_events = [decode_idl_event(idl, p) for p in payloads if p[:8] == P.PUMP_EV_COMPLETE_AMM_MIGRATION]
    assert pump_events == [("CompletePumpAmmMigrationEvent", {
        "user": str(authority.pubkey()), "mint": str(mint.pubkey()), "mint_amount": base_in,
        "sol_amount": quote_in, "pool_migration_fee": MIGRATION_FEE, "bonding_curve": str(curve_key),
        "timestamp": NOW, "pool": str(pool_key), "quote_mint": P.WSOL_MINT})]
    amm_idl = load_idl("pump_swap_sdk-1.20.0_pump_amm.json")
    [(name, ev)] = [decode_idl_event(amm_idl, p) for p in payloads if p[:8] == P.AMM_EV_CREATE_POOL]
    assert name == "CreatePoolEvent"
    assert (ev["pool"], ev["base_amount_in"], ev["quote_amount_in"], ev["lp_token_amount_out"],
            ev["coin_creator"], ev["base_mint_decimals"], ev["quote_mint_decimals"]) == (
        str(pool_key), base_in, quote_in, math.isqrt(base_in * quote_in) - 100, str(creator.pubkey()), 6, 9)
    # create_pool ran as a CPI of pump (stack height 2), made by the pool authority PDA
    [inner] = [ixs for i, ixs in res.inner_instructions if i == 1]
    [create_pool] = [ix for ix in inner if ix.program_id == P.PUMP_AMM and ix.stack_height == 2
                     and ix.data[:8] == P.AMM_IX_CREATE_POOL]
    assert create_pool.accounts[2] == str(pda.pool_authority(mint.pubkey()))
    # a second migration is refused
    bank.advance_slot()
    assert migrate(bank, mint, authority).err == {"InstructionError": [1, {"Custom": 6081}]}


def test_migrate_needs_a_complete_curve(bank, wallet, launch):
    mint, creator, _ = launch()
    res = migrate(bank, mint, bank.genesis.migration_authority)
    assert res.err == {"InstructionError": [1, {"Custom": 6006}]}              # BondingCurveNotComplete


def test_pumpswap_swaps_are_constant_product_with_tiered_fees(bank, wallet, launch):
    amm_idl = load_idl("pump_swap_sdk-1.20.0_pump_amm.json")
    mint, creator, _ = complete_curve(bank, wallet, launch)
    assert migrate(bank, mint, bank.genesis.migration_authority).err is None
    pool_key = pda.canonical_pumpswap_pool(mint.pubkey())
    pool = decode_pumpswap_pool(bytes(bank.get_account(pool_key).data))
    base_vault, quote_vault = Pubkey.from_string(pool.pool_base_token_account), Pubkey.from_string(
        pool.pool_quote_token_account)
    tiers = decode_fee_config(bytes(bank.get_account(pda.fee_config(P.PUMP_AMM)).data))
    recipient = bank.genesis.amm_protocol_fee_recipients[0]

    trader = wallet(20)
    wsol = pda.associated_token(trader.pubkey(), P.WSOL_MINT)
    wrap = [B.create_ata_idempotent(trader.pubkey(), trader.pubkey(), P.WSOL_MINT),
            transfer(TransferParams(from_pubkey=trader.pubkey(), to_pubkey=wsol, lamports=10 * SOL)),
            T.sync_native(T.models.SyncNativeParams(program_id=TOKEN, account=wsol)),
            B.create_ata_idempotent(trader.pubkey(), trader.pubkey(), mint.pubkey())]
    common = dict(pool=pool_key, user=trader.pubkey(), base_mint=mint.pubkey(),
                  pool_base_token_account=base_vault, pool_quote_token_account=quote_vault,
                  protocol_fee_recipient=recipient, coin_creator=pool.coin_creator)

    B0, Q0 = amount_of(bank, base_vault), amount_of(bank, quote_vault)
    mcap = Q0 * SUPPLY // B0
    fees = tiers.fee_tier_for(mcap)
    assert mcap < 420 * SOL and (fees.lp_fee_bps, fees.protocol_fee_bps, fees.creator_fee_bps) == (2, 93, 30)
    x = 2_000_000_000_000                                   # 2M tokens out
    q = -(-Q0 * x // (B0 - x))
    lp, protocol, cfee = ceil_bps(q, 2), ceil_bps(q, 93), ceil_bps(q, 30)
    total = q + lp + protocol + cfee
    res = bank.process_transaction(B.build_transaction(trader, wrap + [B.pumpswap_buy(
        **common, base_amount_out=x, max_quote_amount_in=total)], bank.latest_blockhash()[0]))
    assert res.err is None, res.logs
    B1, Q1 = amount_of(bank, base_vault), amount_of(bank, quote_vault)
    assert (B1, Q1) == (B0 - x, Q0 + q + lp)
    assert B1 * Q1 >= B0 * Q0                               # the invariant never shrinks
    assert amount_of(bank, wsol) == 10 * SOL - total
    assert amount_of(bank, pda.associated_token(trader.pubkey(), mint.pubkey())) == x
    assert amount_of(bank, pda.associated_token(recipient, P.WSOL_MINT)) == protocol
    creator_vault = pda.pumpswap_creator_vault_authority(creator.pubkey())
    assert amount_of(bank, pda.associated_token(creator_vault, P.WSOL_MINT)) == cfee
    payload = [base64.b64decode(line[14:]) for line in res.logs if line.startswith("Program data: ")][-1]
    name, ev = decode_idl_event(amm_idl, payload)
    assert name == "BuyEvent"
    assert (ev["base_amount_out"], ev["quote_amount_in"], ev["lp_fee"], ev["protocol_fee"], ev["coin_creator_fee"],
            ev["user_quote_amount_in"], ev["pool_base_token_reserves"], ev["pool_quote_token_reserves"]) == (
        x, q, lp, protocol, cfee, total, B0, Q0)

    # slippage: one lamport less than needed fails with ExceededSlippage and moves nothing
    bank.advance_slot()
    res = bank.process_transaction(B.build_transaction(trader, [B.pumpswap_buy(
        **common, base_amount_out=x, max_quote_amount_in=-(-Q1 * x // (B1 - x)))], bank.latest_blockhash()[0]))
    assert res.err == {"InstructionError": [0, {"Custom": 6004}]}
    assert (amount_of(bank, base_vault), amount_of(bank, quote_vault)) == (B1, Q1)

    # sell half back: quote out = Q*y // (B + y), fees taken from it, at the tier of the new market cap
    y = x // 2
    fees = tiers.fee_tier_for(Q1 * SUPPLY // B1)
    gross = Q1 * y // (B1 + y)
    lp, protocol, cfee = (ceil_bps(gross, fees.lp_fee_bps), ceil_bps(gross, fees.protocol_fee_bps),
                          ceil_bps(gross, fees.creator_fee_bps))
    net = gross - lp - protocol - cfee
    res = bank.process_transaction(B.build_transaction(trader, [B.pumpswap_sell(
        **common, base_amount_in=y, min_quote_amount_out=net)], bank.latest_blockhash()[0]))
    assert res.err is None, res.logs
    assert (amount_of(bank, base_vault), amount_of(bank, quote_vault)) == (B1 + y, Q1 - gross + lp)
    assert amount_of(bank, wsol) == 10 * SOL - total + net
    name, ev = decode_idl_event(amm_idl, [base64.b64decode(line[14:]) for line in res.logs
                                          if line.startswith("Program data: ")][-1])
    assert name == "SellEvent" and (ev["quote_amount_out"], ev["user_quote_amount_out"]) == (gross, net)


def test_pumpswap_buy_exact_quote_in_spends_at_most_the_budget(bank, wallet, launch):
    mint, creator, _ = complete_curve(bank, wallet, launch)
    assert migrate(bank, mint, bank.genesis.migration_authority).err is None
    pool_key = pda.canonical_pumpswap_pool(mint.pubkey())
    pool = decode_pumpswap_pool(bytes(bank.get_account(pool_key).data))
    base_vault = Pubkey.from_string(pool.pool_base_token_account)
    quote_vault = Pubkey.from_string(pool.pool_quote_token_account)
    B0, Q0 = amount_of(bank, base_vault), amount_of(bank, quote_vault)
    trader = wallet(20)
    wsol = pda.associated_token(trader.pubkey(), P.WSOL_MINT)
    spend = 3 * SOL
    res = bank.process_transaction(B.build_transaction(trader, [
        B.create_ata_idempotent(trader.pubkey(), trader.pubkey(), P.WSOL_MINT),
        transfer(TransferParams(from_pubkey=trader.pubkey(), to_pubkey=wsol, lamports=spend)),
        T.sync_native(T.models.SyncNativeParams(program_id=TOKEN, account=wsol)),
        B.create_ata_idempotent(trader.pubkey(), trader.pubkey(), mint.pubkey()),
        B.pumpswap_buy_exact_quote_in(pool=pool_key, user=trader.pubkey(), base_mint=mint.pubkey(),
                                      pool_base_token_account=base_vault, pool_quote_token_account=quote_vault,
                                      protocol_fee_recipient=bank.genesis.amm_protocol_fee_recipients[1],
                                      coin_creator=pool.coin_creator, spendable_quote_in=spend,
                                      min_base_amount_out=1)], bank.latest_blockhash()[0]))
    assert res.err is None, res.logs
    got = amount_of(bank, pda.associated_token(trader.pubkey(), mint.pubkey()))
    spent = spend - amount_of(bank, wsol)

    def total_cost(base: int) -> int:      # what `buy` charges for `base` at the (2, 93, 30) tier
        q = -(-Q0 * base // (B0 - base))
        return q + ceil_bps(q, 2) + ceil_bps(q, 93) + ceil_bps(q, 30)

    assert got > 0 and spent == total_cost(got) <= spend
    assert total_cost(got + got // 1000) > spend            # it bought (nearly) as much as the budget allows
    assert amount_of(bank, base_vault) == B0 - got
