"""jsonParsed fidelity against REAL mainnet getTransaction output (shared/fixtures/pumpfun, Aug 2024).

Each parsed instruction in the fixtures is rebuilt from its info with the libraries' own encoders (solders,
solana-py's spl.token) or, where no encoder exists, from the documented layout; simnet's parser must then
produce the fixture's object exactly. Partially decoded instructions (pump, ComputeBudget) must round-trip too.
"""
from __future__ import annotations

import struct

import pytest
from solders.pubkey import Pubkey
from solders.system_program import (AllocateParams, AssignParams, CreateAccountParams, TransferParams, allocate,
                                    assign, create_account, transfer)
from spl.token import instructions as T
from spl.token import models as M

from pipelines.chain import programs as P
from pipelines.chain.base58 import b58decode
from simnet.parsed import parse_instruction, ui_amount_string, ui_token_amount

from ...conftest import load_fixture

FIXTURES = ("pumpfun/create_2024_getTransaction_jsonParsed.json",
            "pumpfun/buy_sell_2024_getTransaction_jsonParsed.json")
TOKEN = Pubkey.from_string(P.TOKEN)
pk = Pubkey.from_string


def _all_instructions(result: dict):
    for ix in result["transaction"]["message"]["instructions"]:
        yield ix
    for group in result["meta"]["innerInstructions"]:
        yield from group["instructions"]


def _rebuild(ix: dict):
    """(accounts, data) for a parsed fixture instruction, encoded independently of simnet's parser."""
    kind, info = ix["parsed"]["type"], ix["parsed"]["info"]
    if ix["program"] == "system":
        built = {
            "transfer": lambda: transfer(TransferParams(from_pubkey=pk(info["source"]),
                                                        to_pubkey=pk(info["destination"]), lamports=info["lamports"])),
            "createAccount": lambda: create_account(CreateAccountParams(
                from_pubkey=pk(info["source"]), to_pubkey=pk(info["newAccount"]), lamports=info["lamports"],
                space=info["space"], owner=pk(info["owner"]))),
            "allocate": lambda: allocate(AllocateParams(pubkey=pk(info["account"]), space=info["space"])),
            "assign": lambda: assign(AssignParams(pubkey=pk(info["account"]), owner=pk(info["owner"]))),
        }[kind]()
    elif ix["program"] == "spl-token":
        if kind == "getAccountDataSize":        # tag 21 + u16 extension types (spl-token-2022 layout)
            names = {"immutableOwner": 7}
            data = bytes([21]) + b"".join(struct.pack("<H", names[n]) for n in info.get("extensionTypes", []))
            return [info["mint"]], data
        built = {
            "initializeMint2": lambda: T.initialize_mint2(M.InitializeMint2Params(
                decimals=info["decimals"], program_id=TOKEN, mint=pk(info["mint"]),
                mint_authority=pk(info["mintAuthority"]), freeze_authority=None)),
            "initializeAccount3": lambda: T.initialize_account3(M.InitializeAccount3Params(
                program_id=TOKEN, account=pk(info["account"]), mint=pk(info["mint"]), owner=pk(info["owner"]))),
            "initializeImmutableOwner": lambda: T.initialize_immutable_owner(M.InitializeImmutableOwnerParams(
                program_id=TOKEN, account=pk(info["account"]))),
            "mintTo": lambda: T.mint_to(M.MintToParams(program_id=TOKEN, mint=pk(info["mint"]),
                                                       dest=pk(info["account"]),
                                                       mint_authority=pk(info["mintAuthority"]),
                                                       amount=int(info["amount"]))),
            "setAuthority": lambda: T.set_authority(M.SetAuthorityParams(
                program_id=TOKEN, account=pk(info["mint"]), authority=M.AuthorityType.MINT_TOKENS,
                current_authority=pk(info["authority"]), new_authority=None)),
            "transfer": lambda: T.transfer(M.TransferParams(program_id=TOKEN, source=pk(info["source"]),
                                                            dest=pk(info["destination"]),
                                                            owner=pk(info["authority"]),
                                                            amount=int(info["amount"]))),
        }[kind]()
    elif ix["program"] == "spl-associated-token-account":
        assert kind == "create"
        built = T.create_associated_token_account(pk(info["source"]), pk(info["wallet"]), pk(info["mint"]))
        assert str(built.accounts[1].pubkey) == info["account"]             # the ATA derivation agrees
        return [str(m.pubkey) for m in built.accounts[:6]], bytes(built.data)
    else:
        raise KeyError(ix["program"])
    return [str(m.pubkey) for m in built.accounts], bytes(built.data)


@pytest.mark.parametrize("fixture", FIXTURES)
def test_parsed_instructions_match_mainnet(fixture):
    result = load_fixture(fixture)["result"]
    seen = set()
    for ix in _all_instructions(result):
        if "parsed" in ix:
            accounts, data = _rebuild(ix)
            seen.add((ix["program"], ix["parsed"]["type"]))
        else:
            accounts, data = ix["accounts"], b58decode(ix["data"])
        assert parse_instruction(ix["programId"], accounts, data, ix["stackHeight"]) == ix
    assert ("spl-token", "transfer") in seen and ("system", "transfer") in seen


def test_compute_budget_and_pump_stay_partially_decoded():
    result = load_fixture(FIXTURES[1])["result"]
    top = result["transaction"]["message"]["instructions"]
    budget = [ix for ix in top if ix["programId"] == P.COMPUTE_BUDGET]
    assert len(budget) == 2 and all("parsed" not in ix for ix in budget)
    for ix in budget:
        assert parse_instruction(P.COMPUTE_BUDGET, [], b58decode(ix["data"]), None) == ix


def test_token_amounts_match_mainnet_balances():
    result = load_fixture(FIXTURES[1])["result"]
    for bal in result["meta"]["preTokenBalances"] + result["meta"]["postTokenBalances"]:
        ui = bal["uiTokenAmount"]
        assert ui_token_amount(int(ui["amount"]), ui["decimals"], zero_as_null=True) == ui
    assert ui_amount_string(1_500_000, 6) == "1.5" and ui_amount_string(5, 6) == "0.000005"
    assert ui_amount_string(0, 6) == "0" and ui_amount_string(42, 0) == "42"
    assert ui_token_amount(0, 6) == {"amount": "0", "decimals": 6, "uiAmount": 0.0, "uiAmountString": "0"}


def test_garbage_instruction_data_is_partially_decoded():
    accounts = [str(Pubkey.new_unique()) for _ in range(3)]
    for program in (P.SYSTEM, P.TOKEN, P.ASSOCIATED_TOKEN):
        for data in (b"", b"\xff", b"\x02\x00\x00\x00\x01", bytes(3)):
            out = parse_instruction(program, accounts[:1], data, 2)
            if "parsed" not in out:
                assert out == {"accounts": accounts[:1], "data": out["data"], "programId": program, "stackHeight": 2}
                assert b58decode(out["data"]) == data
