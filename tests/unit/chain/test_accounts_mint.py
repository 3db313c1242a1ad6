"""SPL / Token-2022 mints and token accounts. Expected bytes are laid out here by hand from the offsets in
PROTOCOL.md "SPL mints" and the spl-token account layout, independently of the encoder."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.errors import DecodeError
from pipelines.chain.mint import (
    EXT_METADATA_POINTER, EXT_PERMANENT_DELEGATE, EXT_TOKEN_METADATA, EXT_TRANSFER_FEE_CONFIG, EXT_TRANSFER_HOOK,
    MintInfo, TokenAccount, TokenMetadata, decode_mint, decode_token_account, decode_token_metadata, encode_mint,
    encode_token_account, encode_token_metadata,
)


def _k() -> Pubkey:
    return Keypair().pubkey()


def _put(buf: bytearray, off: int, b: bytes) -> None:
    buf[off:off + len(b)] = b


def _hand_mint(authority: Pubkey | None, supply: int, decimals: int, freeze: Pubkey | None) -> bytearray:
    b = bytearray(82)
    if authority is not None:
        _put(b, 0, struct.pack("<I", 1))
        _put(b, 4, bytes(authority))
    _put(b, 36, struct.pack("<Q", supply))
    b[44] = decimals
    b[45] = 1
    if freeze is not None:
        _put(b, 46, struct.pack("<I", 1))
        _put(b, 50, bytes(freeze))
    return b


def _borsh_str(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("<I", len(raw)) + raw


def _tlv(t: int, value: bytes) -> bytes:
    return struct.pack("<HH", t, len(value)) + value


def test_spl_mint_fields_from_layout():
    pump_mint_authority = Pubkey.from_string(P.PUMP_MINT_AUTHORITY)
    raw = bytes(_hand_mint(pump_mint_authority, 10**15, 6, None))
    m = decode_mint(raw, P.TOKEN)
    assert m.mint_authority == P.PUMP_MINT_AUTHORITY
    assert m.supply == 10**15 and m.decimals == 6 and m.is_initialized
    assert m.freeze_authority is None
    assert m.program == P.TOKEN and m.extensions == () and m.risky_extensions == ()
    assert encode_mint(m) == raw


def test_spl_mint_with_revoked_authority_and_freeze_authority():
    freeze = _k()
    raw = bytes(_hand_mint(None, 123, 9, freeze))
    m = decode_mint(raw)
    assert m.mint_authority is None and m.freeze_authority == str(freeze)
    assert encode_mint(m) == raw


def test_token_2022_mint_with_metadata_and_risky_extensions():
    mint, update, delegate, hook_program = _k(), _k(), _k(), _k()
    base = _hand_mint(Pubkey.from_string(P.PUMP_MINT_AUTHORITY), 10**15, 6, None)
    meta = (bytes(update) + bytes(mint) + _borsh_str("Mystical Cat") + _borsh_str("MC")
            + _borsh_str("https://ipfs.io/ipfs/Qm") + struct.pack("<I", 1) + _borsh_str("k") + _borsh_str("v"))
    fee_cfg = bytes(32) + bytes(32) + struct.pack("<Q", 0) + struct.pack("<QQH", 5, 10**9, 100) \
        + struct.pack("<QQH", 7, 10**9, 250)
    raw = (bytes(base) + bytes(165 - 82) + b"\x01"
           + _tlv(EXT_METADATA_POINTER, bytes(update) + bytes(mint))
           + _tlv(EXT_TRANSFER_FEE_CONFIG, fee_cfg)
           + _tlv(EXT_PERMANENT_DELEGATE, bytes(delegate))
           + _tlv(EXT_TRANSFER_HOOK, bytes(32) + bytes(hook_program))
           + _tlv(EXT_TOKEN_METADATA, meta))
    m = decode_mint(raw, P.TOKEN_2022)
    assert m.program == P.TOKEN_2022 and m.decimals == 6 and m.supply == 10**15
    assert [t for t, _ in m.extensions] == [18, 1, 12, 14, 19]
    assert m.transfer_fee and m.permanent_delegate and m.transfer_hook
    assert not m.mint_close_authority and not m.pausable
    assert m.risky_extensions == ("transfer_fee", "permanent_delegate", "transfer_hook")
    assert m.transfer_fee_bps == 250                     # the higher of older (100) and newer (250)
    assert m.metadata_pointer == (str(update), str(mint))
    tm = m.token_metadata
    assert tm == TokenMetadata(str(update), str(mint), "Mystical Cat", "MC", "https://ipfs.io/ipfs/Qm",
                               (("k", "v"),))
    assert encode_mint(m) == raw
    assert encode_token_metadata(tm) == meta


def test_token_2022_mint_without_extensions_is_82_bytes():
    raw = bytes(_hand_mint(None, 0, 6, None))
    assert decode_mint(raw, P.TOKEN_2022).extensions == ()


def test_token_2022_trailing_zero_padding_is_accepted():
    # spl-token-2022 pads an account whose size would equal Multisig::LEN with a zeroed u16
    raw = bytes(_hand_mint(None, 1, 6, None)) + bytes(83) + b"\x01" + _tlv(3, bytes(32)) + b"\x00\x00"
    m = decode_mint(raw, P.TOKEN_2022)
    assert m.mint_close_authority and m.risky_extensions == ("mint_close_authority",)


def test_token_account_fields_from_layout():
    mint, owner, delegate = _k(), _k(), _k()
    b = bytearray(165)
    _put(b, 0, bytes(mint))
    _put(b, 32, bytes(owner))
    _put(b, 64, struct.pack("<Q", 605426095720))
    _put(b, 72, struct.pack("<I", 1))
    _put(b, 76, bytes(delegate))
    b[108] = 2                                    # frozen
    _put(b, 109, struct.pack("<IQ", 1, 2039280))  # wrapped SOL rent reserve
    _put(b, 121, struct.pack("<Q", 77))
    acc = decode_token_account(bytes(b))
    assert acc == TokenAccount(str(mint), str(owner), 605426095720, str(delegate), 2, 2039280, 77, None)
    assert acc.is_frozen
    assert encode_token_account(acc) == bytes(b)


def test_token_2022_account_with_immutable_owner():
    mint, owner = _k(), _k()
    base = bytearray(165)
    _put(base, 0, bytes(mint))
    _put(base, 32, bytes(owner))
    base[108] = 1
    raw = bytes(base) + b"\x02" + _tlv(7, b"") + _tlv(2, struct.pack("<Q", 0))
    acc = decode_token_account(raw, P.TOKEN_2022)
    assert acc.extensions == ((7, b""), (2, bytes(8))) and acc.amount == 0
    assert encode_token_account(acc) == raw


@pytest.mark.parametrize("raw,program", [
    (bytes(81), P.TOKEN),                                    # too short
    (bytes(83), P.TOKEN),                                    # SPL mints are exactly 82 bytes
    (bytes(_hand_mint(None, 1, 6, None)) + bytes(10), P.TOKEN_2022),    # neither 82 nor extended
    (bytes(_hand_mint(None, 1, 6, None)) + bytes(83) + b"\x02", P.TOKEN_2022),   # account type 2 on a mint
    (bytes(_hand_mint(None, 1, 6, None)) + bytes(83) + b"\x01" + struct.pack("<HH", 1, 500), P.TOKEN_2022),
    (bytes(82), "11111111111111111111111111111111"),       # not a token program
])
def test_bad_mints_raise_decode_error(raw, program):
    with pytest.raises(DecodeError):
        decode_mint(raw, program)


def test_bad_coption_tag_is_rejected():
    b = _hand_mint(None, 1, 6, None)
    _put(b, 0, struct.pack("<I", 7))
    with pytest.raises(DecodeError):
        decode_mint(bytes(b))


def test_hostile_metadata_lengths_raise_decode_error():
    meta = bytes(64) + struct.pack("<I", 2**31) + b"x"
    with pytest.raises(DecodeError):
        decode_token_metadata(meta)
    meta = bytes(64) + _borsh_str("a") * 3 + struct.pack("<I", 10**9)
    with pytest.raises(DecodeError):
        decode_token_metadata(meta)
    with pytest.raises(DecodeError):
        decode_token_metadata(bytes(64) + struct.pack("<I", 2) + b"\xff\xfe")     # not UTF-8


# --- properties ---

keys = st.builds(lambda: str(Keypair().pubkey()))
opt_keys = st.none() | keys
u64 = st.integers(0, 2**64 - 1)
ext = st.tuples(st.integers(1, 40), st.binary(max_size=80))


@settings(max_examples=60, deadline=None)
@given(opt_keys, u64, st.integers(0, 255), st.booleans(), opt_keys, st.lists(ext, max_size=4))
def test_mint_roundtrip(auth, supply, decimals, init, freeze, exts):
    program = P.TOKEN_2022 if exts else P.TOKEN
    m = MintInfo(auth, supply, decimals, init, freeze, program, tuple(exts))
    raw = encode_mint(m)
    assert decode_mint(raw, program) == m
    assert encode_mint(decode_mint(raw, program)) == raw


@settings(max_examples=60, deadline=None)
@given(keys, keys, u64, opt_keys, st.integers(0, 2), st.none() | u64, u64, opt_keys, st.lists(ext, max_size=3))
def test_token_account_roundtrip(mint, owner, amount, delegate, state, native, delegated, close, exts):
    program = P.TOKEN_2022 if exts else P.TOKEN
    acc = TokenAccount(mint, owner, amount, delegate, state, native, delegated, close, program, tuple(exts))
    raw = encode_token_account(acc)
    assert decode_token_account(raw, program) == acc


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([P.TOKEN, P.TOKEN_2022]))
def test_garbage_into_mint_and_account_decoders_only_raises_decode_error(raw, program):
    for decode in (decode_mint, decode_token_account):
        try:
            decode(raw, program)
        except DecodeError:
            pass
    try:
        decode_token_metadata(raw)
    except DecodeError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_token_2022_mint_only_raises_decode_error(data):
    base = bytes(_hand_mint(None, 5, 6, None)) + bytes(83) + b"\x01" + _tlv(19, bytes(64) + _borsh_str("n")
                                                                             + _borsh_str("s") + _borsh_str("u")
                                                                             + struct.pack("<I", 0))
    raw = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        m = decode_mint(bytes(raw[:cut]), P.TOKEN_2022)
        m.token_metadata   # decoding the extension value must fail cleanly too
        m.transfer_fee_bps
        m.metadata_pointer
    except DecodeError:
        pass
