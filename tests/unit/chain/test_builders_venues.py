"""PumpSwap, Raydium v4, ATA, compute budget and tip builders, checked against the pump_amm IDL, the
SPL helper and the instruction encodings the programs document."""
from __future__ import annotations

import struct

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account

from pipelines.chain import builders as B
from pipelines.chain import pda
from pipelines.chain import programs as P
from tests.unit.chain.idl_eval import PUMP_AMM_IDL, evaluate, idl, ix as idl_ix


def _k() -> Pubkey:
    return Keypair().pubkey()


def _pool_args():
    return dict(pool=_k(), user=_k(), base_mint=_k(), pool_base_token_account=_k(), pool_quote_token_account=_k(),
                protocol_fee_recipient=_k(), coin_creator=_k())


def _check_against_idl(ix, name: str, args: dict, data_args: bytes) -> None:
    doc = idl(PUMP_AMM_IDL)
    spec = idl_ix(doc, name)
    assert bytes(ix.data) == bytes(spec["discriminator"]) + data_args
    assert len(ix.accounts) == len(spec["accounts"])
    tp = Pubkey.from_string(P.TOKEN)
    given = {
        "pool": args["pool"], "user": args["user"], "base_mint": args["base_mint"],
        "quote_mint": Pubkey.from_string(P.WSOL_MINT), "pool.coin_creator": args["coin_creator"],
        "pool_base_token_account": args["pool_base_token_account"],
        "pool_quote_token_account": args["pool_quote_token_account"],
        "protocol_fee_recipient": args["protocol_fee_recipient"],
        "base_token_program": tp, "quote_token_program": tp,
        # the user's token accounts are free in the IDL; the builder uses the ATAs
        "user_base_token_account": pda.associated_token(args["user"], args["base_mint"], tp),
        "user_quote_token_account": pda.associated_token(args["user"], P.WSOL_MINT, tp),
        "global_config": pda.pumpswap_global_config(),
    }
    for meta, acc in zip(ix.accounts, spec["accounts"]):
        assert (meta.is_signer, meta.is_writable) == (bool(acc.get("signer")), bool(acc.get("writable"))), acc["name"]
        assert meta.pubkey == evaluate(doc, spec, acc["name"], given, {}), acc["name"]


def test_pumpswap_buy_matches_idl():
    args = _pool_args()
    ix = B.pumpswap_buy(**args, base_amount_out=123, max_quote_amount_in=456, track_volume=False)
    assert str(ix.program_id) == P.PUMP_AMM
    _check_against_idl(ix, "buy", args, struct.pack("<QQ?", 123, 456, False))


def test_pumpswap_buy_exact_quote_in_matches_idl():
    args = _pool_args()
    ix = B.pumpswap_buy_exact_quote_in(**args, spendable_quote_in=10**9, min_base_amount_out=7)
    _check_against_idl(ix, "buy_exact_quote_in", args, struct.pack("<QQ", 10**9, 7))


def test_pumpswap_sell_matches_idl():
    args = _pool_args()
    ix = B.pumpswap_sell(**args, base_amount_in=10**12, min_quote_amount_out=1)
    _check_against_idl(ix, "sell", args, struct.pack("<QQ", 10**12, 1))


def test_raydium_swap_base_in_v2():
    amm, coin_vault, pc_vault, src, dst, user = (_k() for _ in range(6))
    ix = B.raydium_swap_base_in(amm=amm, coin_vault=coin_vault, pc_vault=pc_vault, user_source=src,
                                user_destination=dst, user=user, amount_in=10**9, minimum_amount_out=5)
    assert str(ix.program_id) == P.RAYDIUM_AMM_V4
    assert bytes(ix.data) == bytes([16]) + struct.pack("<QQ", 10**9, 5)      # tag 16, amount_in, min_out
    # PROTOCOL.md: token program, amm, authority, coin vault, pc vault, user source, user destination, user
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts] == [
        (Pubkey.from_string(P.TOKEN), False, False), (amm, False, True), (pda.raydium_amm_authority(), False, False),
        (coin_vault, False, True), (pc_vault, False, True), (src, False, True), (dst, False, True),
        (user, True, False)]
    out = B.raydium_swap_base_out(amm=amm, coin_vault=coin_vault, pc_vault=pc_vault, user_source=src,
                                  user_destination=dst, user=user, max_amount_in=9, amount_out=3)
    assert bytes(out.data) == bytes([17]) + struct.pack("<QQ", 9, 3)


@pytest.mark.parametrize("program", [P.TOKEN, P.TOKEN_2022])
def test_create_ata_idempotent_matches_spl(program):
    payer, owner, mint = _k(), _k(), _k()
    ours = B.create_ata_idempotent(payer, owner, mint, program)
    spl = create_idempotent_associated_token_account(payer, owner, mint, Pubkey.from_string(program))
    assert ours == spl
    assert bytes(ours.data) == b"\x01"        # ATA program instruction 1: CreateIdempotent


def test_compute_budget_encodings():
    # ComputeBudget: SetComputeUnitLimit = 2 (u32), SetComputeUnitPrice = 3 (u64 micro-lamports)
    assert bytes(B.set_compute_unit_limit(200_000).data) == b"\x02" + struct.pack("<I", 200_000)
    assert bytes(B.set_compute_unit_price(5_000).data) == b"\x03" + struct.pack("<Q", 5_000)
    assert str(B.set_compute_unit_limit(1).program_id) == P.COMPUTE_BUDGET


def test_jito_tip_is_a_system_transfer():
    payer, tip = _k(), _k()
    ix = B.jito_tip(payer, tip, 10_000)
    assert str(ix.program_id) == P.SYSTEM
    assert bytes(ix.data) == struct.pack("<IQ", 2, 10_000)        # SystemInstruction::Transfer = 2
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts] == [(payer, True, True), (tip, False, True)]
    with pytest.raises(ValueError):
        B.jito_tip(payer, tip, 0)


def test_pump_migrate_matches_idl():
    from tests.unit.chain.idl_eval import PUMP_IDL
    mint, user, withdraw = _k(), _k(), _k()
    ix = B.migrate(mint=mint, user=user, withdraw_authority=withdraw)
    doc = idl(PUMP_IDL)
    spec = idl_ix(doc, "migrate")
    assert str(ix.program_id) == P.PUMP and bytes(ix.data) == bytes(spec["discriminator"])
    assert len(ix.accounts) == len(spec["accounts"]) == 25
    token = Pubkey.from_string(P.TOKEN)
    bc, authority = pda.bonding_curve(mint), pda.pool_authority(mint)
    pool = pda.canonical_pumpswap_pool(mint)
    # where the IDL seeds read [owner, "mint", mint] the middle seed is the mint's token program (SPL Token)
    given = {"mint": mint, "user": user, "withdraw_authority": withdraw,
             "associated_bonding_curve": pda.associated_token(bc, mint, token),
             "pool_authority_mint_account": pda.associated_token(authority, mint, token),
             "pool_base_token_account": pda.associated_token(pool, mint, token)}
    for meta, acc in zip(ix.accounts, spec["accounts"]):
        assert (meta.is_signer, meta.is_writable) == (bool(acc.get("signer")), bool(acc.get("writable"))), acc["name"]
        assert meta.pubkey == evaluate(doc, spec, acc["name"], given, {}), acc["name"]
