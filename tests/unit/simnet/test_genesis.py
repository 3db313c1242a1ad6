"""simnet's genesis holds mainnet's pump and PumpSwap parameters, in the real account layouts."""
from __future__ import annotations

import base64

from solders.pubkey import Pubkey

from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import decode_fee_config
from pipelines.chain.mint import decode_mint
from pipelines.chain.pump_state import decode_global
from simnet.bank import Bank
from simnet.programs.pumpswap import decode_global_config
from tests.conftest import load_fixture


def test_pump_global_carries_mainnet_values(bank, fixtures_dir):
    acc = bank.get_account(P.PUMP_GLOBAL)
    assert acc.owner == Pubkey.from_string(P.PUMP)
    ours = decode_global(bytes(acc.data))
    real = decode_global(base64.b64decode(load_fixture("pumpfun/global_account.json")["data"]))
    for field in ("initial_virtual_token_reserves", "initial_virtual_sol_reserves", "initial_real_token_reserves",
                  "token_total_supply", "fee_basis_points", "creator_fee_basis_points", "pool_migration_fee",
                  "fee_recipient", "fee_recipients"):
        assert getattr(ours, field) == getattr(real, field), field
    assert (ours.fee_basis_points, ours.creator_fee_basis_points) == (95, 5)
    assert (ours.initial_virtual_token_reserves, ours.initial_virtual_sol_reserves,
            ours.initial_real_token_reserves, ours.token_total_supply) == (
        1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000, 10**15)
    # simnet's own migration authority, which it can sign with
    assert ours.withdraw_authority == str(bank.genesis.migration_authority.pubkey())


def test_pumpswap_fee_config_matches_mainnet_tiers(bank, fixtures_dir):
    ours = decode_fee_config(bytes(bank.get_account(pda.fee_config(P.PUMP_AMM)).data))
    fixture = load_fixture("pumpswap/fee_config_account.json")
    real = decode_fee_config(base64.b64decode(fixture["data"]))
    assert str(pda.fee_config(P.PUMP_AMM)) == fixture["address"]
    assert ours.fee_tiers == real.fee_tiers and ours.flat_fees == real.flat_fees
    assert bank.get_account(pda.fee_config(P.PUMP_AMM)).owner == Pubkey.from_string(P.PUMP_FEES)


def test_programs_sysvars_and_mints_exist(bank):
    for program in (P.SYSTEM, P.COMPUTE_BUDGET, P.TOKEN, P.TOKEN_2022, P.ASSOCIATED_TOKEN, P.PUMP, P.PUMP_AMM,
                    P.PUMP_FEES, P.METAPLEX_METADATA):
        assert bank.get_account(program).executable, program
    wsol = decode_mint(bytes(bank.get_account(P.WSOL_MINT).data), P.TOKEN)
    assert (wsol.decimals, wsol.supply, wsol.mint_authority, wsol.is_initialized) == (9, 0, None, True)
    gc = decode_global_config(bytes(bank.get_account(pda.pumpswap_global_config()).data))
    assert len(gc.protocol_fee_recipients) == 8 and gc.disable_flags == 0
    assert tuple(gc.protocol_fee_recipients) == bank.genesis.amm_protocol_fee_recipients
    assert bank.get_balance(bank.faucet.pubkey()) > 10**16


def test_genesis_is_deterministic_per_seed():
    a, b, c = Bank(seed=3), Bank(seed=3), Bank(seed=4)
    assert a.faucet.pubkey() == b.faucet.pubkey() != c.faucet.pubkey()
    assert a.latest_blockhash() == b.latest_blockhash() != c.latest_blockhash()
    empty = Bank(genesis=False)
    assert empty.faucet is None and empty.get_account(P.PUMP_GLOBAL) is None
    assert empty.get_account(P.SYSTEM).executable
