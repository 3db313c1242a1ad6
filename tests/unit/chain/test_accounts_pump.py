"""The real pump.fun Global and BondingCurve accounts (decoded by the shared pump_state module), with
expected values from SOURCES.md / PROTOCOL.md and the invariants every curve keeps."""
from __future__ import annotations

import base64

from pipelines.chain import programs as P
from pipelines.chain.curve import CurveFees, market_cap_lamports
from pipelines.chain.pump_state import (
    GLOBAL_MIN_LEN, decode_bonding_curve, decode_global, encode_bonding_curve, encode_global,
)
from tests.conftest import load_fixture

INITIAL_VTOK, INITIAL_VSOL, INITIAL_RTOK = 1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000


def test_real_global():
    fx = load_fixture("pumpfun/global_account.json")
    raw = base64.b64decode(fx["data"])
    g = decode_global(raw)
    assert fx["owner"] == P.PUMP and len(raw) == 512
    # PROTOCOL.md "Curve constants (real Global account)" and SOURCES.md (fee bps 95, creator fee bps 5)
    assert (g.initial_virtual_token_reserves, g.initial_virtual_sol_reserves) == (INITIAL_VTOK, INITIAL_VSOL)
    assert g.initial_real_token_reserves == INITIAL_RTOK and g.token_total_supply == 10**15
    assert g.fees() == CurveFees(protocol_bps=95, creator_bps=5)
    assert g.withdraw_authority == P.PUMP_MIGRATION_SIGNER and g.enable_migrate
    # the buy/sell 2025 fixtures pay 62qc2C..., which must be one of Global's 8 recipients
    assert load_fixture("pumpfun/buy_2025_ix.json")["accounts"][1]["pubkey"] in g.all_fee_recipients()
    assert len(set(g.all_fee_recipients())) == 8
    # pump_state models the fields through fee_recipients; the rest of the 512 bytes holds newer fields
    assert encode_global(g)[:GLOBAL_MIN_LEN] == raw[:GLOBAL_MIN_LEN]


def _check_curve_invariants(bc) -> None:
    # virtual = real + a constant offset on both sides, and the product never falls below the initial one
    assert bc.virtual_token_reserves - bc.real_token_reserves == INITIAL_VTOK - INITIAL_RTOK
    assert bc.virtual_sol_reserves - bc.real_sol_reserves == INITIAL_VSOL
    assert bc.virtual_sol_reserves * bc.virtual_token_reserves >= INITIAL_VSOL * INITIAL_VTOK
    assert bc.token_total_supply == 10**15 and not bc.complete


def test_real_2025_bonding_curve():
    fx = load_fixture("pumpfun/bonding_curve_account.json")
    raw = base64.b64decode(fx["data"])
    bc = decode_bonding_curve(raw)
    assert len(raw) == fx["space"] == 150 and fx["owner"] == P.PUMP
    _check_curve_invariants(bc)
    assert bc.creator != P.DEFAULT_PUBKEY and bc.state().has_creator
    assert bc.is_sol_quoted and not bc.is_mayhem_mode
    # 88.888M tokens sold for ~2.49M lamports: the curve is still at a ~28 SOL market cap
    assert INITIAL_VTOK - bc.virtual_token_reserves == 88_888_000_000
    assert 27 * 10**9 < market_cap_lamports(bc.state()) < 29 * 10**9
    assert encode_bonding_curve(bc) == raw


def test_real_2024_bonding_curve_is_49_bytes():
    fx = load_fixture("pumpfun/bonding_curve_2024_getAccountInfo.json")["result"]["value"]
    raw = base64.b64decode(fx["data"][0])
    bc = decode_bonding_curve(raw)
    assert len(raw) == fx["space"] == 49
    _check_curve_invariants(bc)
    assert bc.creator == P.DEFAULT_PUBKEY and not bc.state().has_creator      # 2024: no creator field
    assert bc.real_sol_reserves == 72_319_932
    assert encode_bonding_curve(bc, size=49) == raw
