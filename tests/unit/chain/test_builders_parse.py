"""parse_pump_instruction on bad input: garbage, mutations, wrong accounts, legacy shapes. Only DecodeError."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.errors import DecodeError
from pipelines.chain.instructions import instruction_for, parse_pump_instruction
from pipelines.chain.intents import PumpBuy
from tests.conftest import load_fixture

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58decode(s: str) -> bytes:
    n = 0
    for c in s:
        n = n * 58 + _B58.index(c)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(s) - len(s.lstrip("1"))) + body


def _fixture(rel: str):
    fx = load_fixture(rel)
    return fx["program_id"], [dict(a) for a in fx["accounts"]], bytes.fromhex(fx["data"])


def _swap(accounts: list[dict], i: int, key: str) -> list[dict]:
    out = [dict(a) for a in accounts]
    out[i]["pubkey"] = key
    return out


def test_wrong_pdas_are_rejected_with_the_account_name():
    prog, acc, data = _fixture("pumpfun/buy_2025_ix.json")
    other = str(Keypair().pubkey())
    for i, name in [(0, "global"), (3, "bonding_curve"), (4, "associated_bonding_curve"), (7, "system_program"),
                    (10, "event_authority"), (11, "program"), (12, "global_volume_accumulator"),
                    (13, "user_volume_accumulator"), (14, "fee_config"), (15, "fee_program")]:
        with pytest.raises(DecodeError, match=name):
            parse_pump_instruction((prog, _swap(acc, i, other), data))
    with pytest.raises(DecodeError, match="token_program"):
        parse_pump_instruction((prog, _swap(acc, 8, other), data))


def test_missing_flags_are_rejected():
    prog, acc, data = _fixture("pumpfun/buy_2025_ix.json")
    unsigned = [dict(a) for a in acc]
    unsigned[6]["is_signer"] = False
    with pytest.raises(DecodeError, match="user must sign"):
        parse_pump_instruction((prog, unsigned, data))
    readonly = [dict(a) for a in acc]
    readonly[9]["is_writable"] = False
    with pytest.raises(DecodeError, match="creator_vault must be writable"):
        parse_pump_instruction((prog, readonly, data))
    # bare pubkeys (flags unknown) are accepted: nothing to check
    assert isinstance(parse_pump_instruction((prog, [a["pubkey"] for a in acc], data)), PumpBuy)


def test_too_few_accounts_and_wrong_program():
    prog, acc, data = _fixture("pumpfun/buy_2025_ix.json")
    with pytest.raises(DecodeError, match="16"):
        parse_pump_instruction((prog, acc[:15], data))
    with pytest.raises(DecodeError, match="not a pump instruction"):
        parse_pump_instruction((P.PUMP_AMM, acc, data))


def test_bad_data_is_rejected():
    prog, acc, data = _fixture("pumpfun/buy_2025_ix.json")
    for bad in (b"", data[:8], data[:20], data + b"\x02", data + b"\x01\x00", b"\x00" * 24):
        with pytest.raises(DecodeError):
            parse_pump_instruction((prog, acc, bad))


def test_the_legacy_2024_buy_and_create_are_not_current_instructions():
    tx = load_fixture("pumpfun/create_2024_getTransaction_jsonParsed.json")["result"]
    pump_ixs = [ix for ix in tx["transaction"]["message"]["instructions"] if ix.get("programId") == P.PUMP]
    assert len(pump_ixs) == 2
    create, buy = pump_ixs
    # the 2024 create carried no `creator` argument (and its args end after uri): truncated for today's layout
    with pytest.raises(DecodeError, match="truncated"):
        parse_pump_instruction((P.PUMP, create["accounts"], _b58decode(create["data"])))
    # the 2024 buy had 12 accounts (1.3 IDL era); the current program needs 16
    assert len(buy["accounts"]) == 12
    with pytest.raises(DecodeError, match="16"):
        parse_pump_instruction((P.PUMP, buy["accounts"], _b58decode(buy["data"])))


def test_unreadable_account_entries():
    prog, acc, data = _fixture("pumpfun/buy_2025_ix.json")
    for bad in ([1, 2, 3], [None] * 16, [("a", "b")] * 16):
        with pytest.raises(DecodeError):
            parse_pump_instruction((prog, bad, data))
    with pytest.raises(DecodeError):
        parse_pump_instruction("nonsense")
    with pytest.raises(DecodeError):
        parse_pump_instruction((prog, acc, "not bytes"))


_DISCS = [P.PUMP_IX_BUY, P.PUMP_IX_BUY_EXACT_SOL_IN, P.PUMP_IX_SELL, P.PUMP_IX_CREATE, P.PUMP_IX_CREATE_V2]
_keys = st.builds(lambda: Keypair().pubkey())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_DISCS), st.binary(max_size=120),
       st.lists(st.tuples(_keys, st.booleans(), st.booleans()), max_size=20))
def test_garbage_only_raises_decode_error(disc, tail, accounts):
    ix = Instruction(Pubkey.from_string(P.PUMP), disc + tail, [AccountMeta(k, s, w) for k, s, w in accounts])
    try:
        parse_pump_instruction(ix)
    except DecodeError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["pumpfun/buy_2025_ix.json", "pumpfun/sell_2025_ix.json", "pumpfun/create_2025_ix.json"]),
       st.data())
def test_mutated_real_instructions_only_raise_decode_error(rel, data):
    prog, acc, raw = _fixture(rel)
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = bytes(raw[:data.draw(st.integers(0, len(raw)))])
    if data.draw(st.booleans()):
        acc = _swap(acc, data.draw(st.integers(0, len(acc) - 1)), str(Keypair().pubkey()))
    try:
        intent = parse_pump_instruction((prog, acc, raw))
    except DecodeError:
        return
    # whatever parses rebuilds to exactly the instruction it came from
    ix = instruction_for(intent)
    assert bytes(ix.data) == raw
    assert [str(m.pubkey) for m in ix.accounts] == [a["pubkey"] for a in acc]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_DISCS), st.binary(max_size=200),
       st.sampled_from(["pumpfun/buy_2025_ix.json", "pumpfun/sell_2025_ix.json", "pumpfun/create_2025_ix.json"]))
def test_garbage_args_with_real_accounts_only_raise_decode_error(disc, tail, rel):
    prog, acc, _ = _fixture(rel)
    try:
        intent = parse_pump_instruction((prog, acc, disc + tail))
    except DecodeError:
        return
    assert bytes(instruction_for(intent).data) == disc + tail
