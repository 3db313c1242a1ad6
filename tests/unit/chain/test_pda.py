"""PDAs: derived addresses equal the real mainnet accounts in the fixtures, and the seeds the official IDLs
declare (evaluated here independently, straight from the IDL JSON)."""
from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from pipelines.chain import pda
from pipelines.chain import programs as P
from tests.conftest import load_fixture
from tests.unit.chain.idl_eval import PUMP_AMM_IDL, PUMP_IDL, evaluate as _eval, idl as _idl, ix as _ix


def _accounts(rel: str) -> list[str]:
    return [a["pubkey"] for a in load_fixture(rel)["accounts"]]


def test_well_known_pump_accounts():
    # PROTOCOL.md table: pump global, mint authority (PDA "mint-authority"), event authority (PDA "__event_authority")
    assert pda.pump_global() == Pubkey.from_string(P.PUMP_GLOBAL)
    assert str(pda.mint_authority()) == "TSLvdd1pWpHVjahSpsvCXUbgwsL3JAcvokwaKt1eokM"
    assert str(pda.event_authority()) == "Ce6TQqeHC9p8KetsN6JsjHK7UTZk7nasjjnr7XxXp9F1"


def test_real_2025_buy_accounts_are_the_derived_pdas():
    acc = _accounts("pumpfun/buy_2025_ix.json")
    # order (PROTOCOL.md): global, fee_recipient, mint, bonding_curve, abc, associated_user, user, system, token,
    # creator_vault, event_authority, program, global_volume_accumulator, user_volume_accumulator, fee_config,
    # fee_program
    mint, user, token_program = acc[2], acc[6], acc[8]
    assert acc[0] == str(pda.pump_global())
    assert acc[3] == str(pda.bonding_curve(mint))
    assert acc[4] == str(pda.associated_bonding_curve(mint, token_program))
    assert acc[5] == str(pda.associated_token(user, mint, token_program))
    assert acc[10] == str(pda.event_authority())
    assert acc[12] == str(pda.global_volume_accumulator())
    assert acc[13] == str(pda.user_volume_accumulator(user))
    assert acc[14] == str(pda.fee_config())
    assert acc[15] == P.PUMP_FEES


def test_real_2025_sell_accounts_are_the_derived_pdas():
    acc = _accounts("pumpfun/sell_2025_ix.json")
    mint, user, token_program = acc[2], acc[6], acc[9]        # sell: creator_vault @8, token_program @9
    assert acc[3] == str(pda.bonding_curve(Pubkey.from_string(mint)))    # Pubkey input works too
    assert acc[4] == str(pda.associated_bonding_curve(mint, token_program))
    assert acc[5] == str(pda.associated_token(user, mint, token_program))
    assert acc[10] == str(pda.event_authority())
    assert acc[12] == str(pda.fee_config(P.PUMP))


def test_real_2025_create_accounts_are_the_derived_pdas():
    acc = _accounts("pumpfun/create_2025_ix.json")
    mint = acc[0]
    assert acc[1] == str(pda.mint_authority())
    assert acc[2] == str(pda.bonding_curve(mint))
    assert acc[3] == str(pda.associated_token(pda.bonding_curve(mint), mint))
    assert acc[6] == str(pda.metadata(mint))


def test_pumpswap_fee_config_address_matches_fixture():
    fx = load_fixture("pumpswap/fee_config_account.json")
    assert str(pda.fee_config(P.PUMP_AMM)) == fx["address"]
    assert fx["owner"] == P.PUMP_FEES


def test_raydium_authority_matches_real_initialize2():
    notes = load_fixture("raydium_amm_v4/initialize2_transactionNotifications.json")
    seen = 0
    for note in notes:
        for ix in note["params"]["result"]["transaction"]["transaction"]["message"]["instructions"]:
            if ix.get("programId") == P.RAYDIUM_AMM_V4:
                assert ix["accounts"][5] == str(pda.raydium_amm_authority())   # PROTOCOL: index 5 = authority
                seen += 1
    assert seen == 2


@pytest.mark.parametrize("program", [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID])
def test_associated_token_matches_spl_helper(program):
    owner, mint = Keypair().pubkey(), Keypair().pubkey()
    assert pda.associated_token(owner, mint, program) == get_associated_token_address(owner, mint, program)
    assert pda.associated_token(str(owner), str(mint), str(program)) == get_associated_token_address(
        owner, mint, program)


def test_token_programs_give_different_atas():
    owner, mint = Keypair().pubkey(), Keypair().pubkey()
    assert pda.associated_token(owner, mint, P.TOKEN) != pda.associated_token(owner, mint, P.TOKEN_2022)


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError):
        pda.bonding_curve("not-a-key")
    with pytest.raises(ValueError):
        pda.pumpswap_pool(70_000, Keypair().pubkey(), Keypair().pubkey(), P.WSOL_MINT)


def test_pump_idl_seeds_agree():
    idl = _idl(PUMP_IDL)
    mint, user, creator = (Keypair().pubkey() for _ in range(3))
    buy = _ix(idl, "buy")
    g = {"mint": mint, "user": user, "token_program": Pubkey.from_string(P.TOKEN), "bonding_curve.creator": creator}
    assert _eval(idl, buy, "global", g, {}) == pda.pump_global()
    assert _eval(idl, buy, "bonding_curve", g, {}) == pda.bonding_curve(mint)
    assert _eval(idl, buy, "associated_bonding_curve", g, {}) == pda.associated_bonding_curve(mint)
    assert _eval(idl, buy, "creator_vault", g, {}) == pda.creator_vault(creator)
    assert _eval(idl, buy, "event_authority", g, {}) == pda.event_authority()
    assert _eval(idl, buy, "global_volume_accumulator", g, {}) == pda.global_volume_accumulator()
    assert _eval(idl, buy, "user_volume_accumulator", g, {}) == pda.user_volume_accumulator(user)
    assert _eval(idl, buy, "fee_config", g, {}) == pda.fee_config()

    create = _ix(idl, "create")
    assert _eval(idl, create, "mint_authority", g, {}) == pda.mint_authority()
    assert _eval(idl, create, "metadata", g, {}) == pda.metadata(mint)

    v2 = _ix(idl, "create_v2")
    g2 = {**g, "token_program": Pubkey.from_string(P.TOKEN_2022)}
    assert _eval(idl, v2, "associated_bonding_curve", g2, {}) == pda.associated_bonding_curve(mint, P.TOKEN_2022)
    assert _eval(idl, v2, "global_params", g2, {}) == pda.mayhem_global_params()
    assert _eval(idl, v2, "sol_vault", g2, {}) == pda.mayhem_sol_vault()
    assert _eval(idl, v2, "mayhem_state", g2, {}) == pda.mayhem_state(mint)

    migrate = _ix(idl, "migrate")
    assert _eval(idl, migrate, "pool_authority", g, {}) == pda.pool_authority(mint)
    assert _eval(idl, migrate, "pool", g, {}) == pda.canonical_pumpswap_pool(mint)
    pool = pda.canonical_pumpswap_pool(mint)
    assert _eval(idl, migrate, "lp_mint", g, {}) == pda.pumpswap_lp_mint(pool)
    assert _eval(idl, migrate, "amm_global_config", g, {}) == pda.pumpswap_global_config()
    assert _eval(idl, migrate, "pump_amm_event_authority", g, {}) == pda.event_authority(P.PUMP_AMM)


def test_pump_amm_idl_seeds_agree():
    idl = _idl(PUMP_AMM_IDL)
    user, coin_creator, creator, base = (Keypair().pubkey() for _ in range(4))
    wsol = Pubkey.from_string(P.WSOL_MINT)
    buy = _ix(idl, "buy")
    g = {"user": user, "pool.coin_creator": coin_creator}
    assert _eval(idl, buy, "coin_creator_vault_authority", g, {}) == pda.pumpswap_creator_vault_authority(
        coin_creator)
    assert _eval(idl, buy, "event_authority", g, {}) == pda.event_authority(P.PUMP_AMM)
    assert _eval(idl, buy, "global_volume_accumulator", g, {}) == pda.global_volume_accumulator(P.PUMP_AMM)
    assert _eval(idl, buy, "user_volume_accumulator", g, {}) == pda.user_volume_accumulator(user, P.PUMP_AMM)
    assert _eval(idl, buy, "fee_config", g, {}) == pda.fee_config(P.PUMP_AMM)

    cp = _ix(idl, "create_pool")
    g = {"creator": creator, "base_mint": base, "quote_mint": wsol}
    for index in (0, 1, 513):
        pool = _eval(idl, cp, "pool", g, {"index": index.to_bytes(2, "little")})
        assert pool == pda.pumpswap_pool(index, creator, base, wsol)
        assert _eval(idl, cp, "lp_mint", {**g, "pool": pool}, {}) == pda.pumpswap_lp_mint(pool)


def test_pumpswap_addresses_published_by_public_sdks():
    # The GlobalConfig and event authority addresses that several independent public SDKs hard-code.
    assert str(pda.pumpswap_global_config()) == "ADyA8hdefvWN2dbGGWFotbzWxrAvLW83WG6QCVXvJKqw"
    assert str(pda.event_authority(P.PUMP_AMM)) == "GS4CU59F31iL7aR2Q8zVS8DRrcRnXX1yjQ66TqNVQnaR"
