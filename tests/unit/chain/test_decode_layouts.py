"""Event layouts of every vintage and the instruction decoders of every venue, from hand-built payloads.

Payloads are assembled field by field from the IDLs (decode_payloads.py); expected values are the values put in.
"""
from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.base58 import b58decode, b58encode
from pipelines.chain.errors import DecodeError
from pipelines.chain.events import Complete, Launch, PoolCreated, Trade
from pipelines.chain.pool_instructions import decode_instruction
from pipelines.chain.pump_events import EventContext, decode_event
from tests.unit.chain.decode_payloads import (CREATE_TX, create_current, i64, key, pk, program_data, string,
                                              trade_current, u8, u16, u32, u64, w)

USDC = P.USDC_MINT


def _decode(program, payload, ctx=EventContext()):
    return decode_event(program, payload, "sig", 5, 1, ctx)


# --- pump TradeEvent ----------------------------------------------------------------------------------------------

def test_trade_event_current_layout_sol_quoted():
    payload, _ = trade_current()
    t = _decode(P.PUMP, payload)
    assert isinstance(t, Trade)
    assert (t.fee_basis_points, t.fee, t.creator) == (95, 228_763, key(2))
    assert (t.creator_fee_basis_points, t.creator_fee) == (30, 72_241)
    assert t.ix_name == "buy_exact_sol_in"
    assert (t.quote_mint, t.quote_amount) == (P.WSOL_MINT, t.sol_amount)  # all-zero quote mint = SOL


def test_trade_event_other_quote_mint():
    payload, _ = trade_current(quote_mint=USDC, quote_amount=5_000_000, vq=4_000_000_000, rq=1_000_000_000)
    # a USDC coin's event has sol_amount 0: zero the 2024 head's sol_amount (@40) and sol reserves (@97, @113)
    b = bytearray(payload)
    b[40:48] = bytes(8)
    b[97:105] = bytes(8)
    b[113:121] = bytes(8)
    t = _decode(P.PUMP, bytes(b))
    assert (t.quote_mint, t.quote_amount, t.sol_amount) == (USDC, 5_000_000, 0)
    assert (t.virtual_sol_reserves, t.real_sol_reserves) == (4_000_000_000, 1_000_000_000)  # quote units


def test_trade_event_every_vintage_boundary_decodes_and_mid_field_cuts_fail():
    payload, pieces = trade_current()
    full = _decode(P.PUMP, payload)
    end = 0
    for name, piece in pieces:
        end += len(piece)
        t = _decode(P.PUMP, payload[:end])  # an event of a vintage ending after `name`
        assert (t.mint, t.sol_amount, t.token_amount, t.real_token_reserves) == \
            (full.mint, full.sol_amount, full.token_amount, full.real_token_reserves)
        if name == "fee":
            assert (t.fee, t.creator) == (228_763, "")
        if name == "creator_fee":  # the 1.3.0 (mid-2025) layout ends here
            assert (t.creator, t.creator_fee, t.ix_name) == (key(2), 72_241, "")
        if name == "ix_name":
            assert t.ix_name == "buy_exact_sol_in"
        if len(piece) > 1 and name != "head":
            with pytest.raises(DecodeError):
                _decode(P.PUMP, payload[:end - 1])  # ends inside this field


def test_trade_event_2024_too_short_and_bad_bool():
    raw = program_data(CREATE_TX)[1]
    with pytest.raises(DecodeError, match="too short"):
        _decode(P.PUMP, raw[:128])
    bad = bytearray(raw)
    bad[56] = 2  # is_buy must be 0/1
    with pytest.raises(DecodeError, match="is_buy"):
        _decode(P.PUMP, bytes(bad))


def test_trade_event_shareholders_past_the_end():
    payload, pieces = trade_current(shareholders=0)
    at = sum(len(p) for n, p in pieces[:[n for n, _ in pieces].index("shareholders")])
    bad = payload[:at] + u32(1000) + payload[at + 4:]
    with pytest.raises(DecodeError, match="shareholders"):
        _decode(P.PUMP, bad)


def test_trade_ix_name_falls_back_to_the_instruction():
    raw = program_data(CREATE_TX)[1]
    assert _decode(P.PUMP, raw).ix_name == ""
    assert _decode(P.PUMP, raw, EventContext((), "buy", "")).ix_name == "buy"


# --- pump CreateEvent / CompleteEvent -----------------------------------------------------------------------------

def test_create_event_current_layout():
    payload, _ = create_current()
    launch = _decode(P.PUMP, payload)
    assert isinstance(launch, Launch)
    assert (launch.name, launch.symbol, launch.uri) == ("Cat ✨", "CAT", "https://ipfs.io/ipfs/x")
    assert (launch.mint, launch.bonding_curve, launch.user, launch.creator) == (key(10), key(11), key(12), key(13))
    assert launch.timestamp == 1_760_000_000
    assert (launch.virtual_token_reserves, launch.virtual_sol_reserves) == (1_073_000_000_000_000, 30_000_000_000)
    assert (launch.real_token_reserves, launch.token_total_supply) == (793_100_000_000_000, 10**15)
    assert launch.token_program == P.TOKEN_2022 and launch.is_mayhem_mode is True
    assert launch.quote_mint == P.WSOL_MINT


def test_create_event_vintages():
    payload, pieces = create_current(token_program=P.TOKEN, mayhem=False)
    cut = {}
    end = 0
    for name, piece in pieces:
        end += len(piece)
        cut[name] = end
    mid = _decode(P.PUMP, payload[:cut["token_total_supply"]])  # 1.3.0 layout
    assert (mid.creator, mid.token_total_supply, mid.token_program) == (key(13), 10**15, P.TOKEN)
    # without token_program in the event, the instruction that emitted it decides (create_v2 = Token-2022)
    assert _decode(P.PUMP, payload[:cut["token_total_supply"]], EventContext((), "create_v2", "")).token_program \
        == P.TOKEN_2022
    old = _decode(P.PUMP, payload[:cut["user"]])  # 2024 layout
    assert (old.creator, old.user, old.timestamp) == (key(12), key(12), 0)
    with pytest.raises(DecodeError):
        _decode(P.PUMP, payload[:cut["user"] - 5])
    with pytest.raises(DecodeError, match="not UTF-8"):
        _decode(P.PUMP, P.PUMP_EV_CREATE + u32(2) + b"\xff\xfe" + payload[8 + 4 + len("Cat ✨".encode()):])


def test_create_event_other_quote_mint():
    payload, _ = create_current(quote_mint=USDC, vq=5_000_000_000)
    launch = _decode(P.PUMP, payload)
    assert launch.quote_mint == USDC and launch.virtual_sol_reserves == 5_000_000_000


def test_complete_event_with_and_without_quote_mint():
    old = w(P.PUMP_EV_COMPLETE, pk(key(1)), pk(key(2)), pk(key(3)), i64(1_700_000_000))
    c = _decode(P.PUMP, old)
    assert isinstance(c, Complete)
    assert (c.user, c.mint, c.bonding_curve, c.timestamp, c.quote_mint) == \
        (key(1), key(2), key(3), 1_700_000_000, P.WSOL_MINT)
    assert _decode(P.PUMP, old + pk(USDC)).quote_mint == USDC
    with pytest.raises(DecodeError):
        _decode(P.PUMP, old + bytes(10))


def test_unknown_event_discriminators_are_skipped():
    assert _decode(P.PUMP, bytes.fromhex("6161d7905d92167c") + bytes(100)) is None  # ExtendAccountEvent
    assert decode_event(P.SYSTEM, P.PUMP_EV_TRADE + bytes(200), "s", 1, 1) is None  # not a pump program


# --- instruction decoders -----------------------------------------------------------------------------------------

ACC = tuple(key(i) for i in range(0, 40, 2))  # 20 distinct accounts


def test_pumpswap_create_pool_instruction():
    data = P.AMM_IX_CREATE_POOL + u16(3) + u64(1000) + u64(2000) + pk(key(77))
    ev = decode_instruction(P.PUMP_AMM, data, ACC[:18], "s", 1, 0)
    assert isinstance(ev, PoolCreated) and ev.venue == "pumpswap"
    assert (ev.pool, ev.creator, ev.mint_a, ev.mint_b, ev.lp_mint) == (ACC[0], ACC[2], ACC[3], ACC[4], ACC[5])
    assert (ev.vault_a, ev.vault_b, ev.amount_a, ev.amount_b) == (ACC[9], ACC[10], 1000, 2000)
    assert dict(ev.params) == {"index": 3, "coin_creator": key(77)} and ev.migration is False


def test_raydium_cpmm_initialize():
    data = P.RAY_CPMM_IX_INITIALIZE + u64(5 * 10**9) + u64(10**15) + u64(1_750_000_000)
    ev = decode_instruction(P.RAYDIUM_CPMM, data, ACC, "s", 1, 0)
    # creator, amm_config, authority, pool_state, token_0_mint, token_1_mint, lp_mint, .., token_0/1 vaults (10, 11)
    assert (ev.venue, ev.creator, ev.pool, ev.mint_a, ev.mint_b, ev.lp_mint) == \
        ("raydium_cpmm", ACC[0], ACC[3], ACC[4], ACC[5], ACC[6])
    assert (ev.vault_a, ev.vault_b) == (ACC[10], ACC[11])
    assert (ev.amount_a, ev.amount_b, ev.open_time) == (5 * 10**9, 10**15, 1_750_000_000)


@pytest.mark.parametrize("disc,token_program", [
    (P.LAUNCHLAB_IX_INITIALIZE, ACC[11]), (P.LAUNCHLAB_IX_INITIALIZE_V2, ACC[11]),
    (P.LAUNCHLAB_IX_INITIALIZE_TOKEN_2022, ACC[10])])  # base_token_program: 11 with metadata accounts, 10 without
def test_launchlab_initialize_is_a_launch(disc, token_program):
    data = disc + u8(6) + string("Bonk Cat") + string("BCAT") + string("https://x/y.json") + bytes(40)
    ev = decode_instruction(P.RAYDIUM_LAUNCHLAB, data, ACC[:18], "s", 1, 0)
    assert isinstance(ev, Launch) and ev.venue == "raydium_launchlab"
    # payer, creator, global_config, platform_config, authority, pool_state, base_mint, quote_mint, ...
    assert (ev.user, ev.creator, ev.bonding_curve, ev.mint, ev.quote_mint) == (ACC[0], ACC[1], ACC[5], ACC[6], ACC[7])
    assert (ev.name, ev.symbol, ev.uri, ev.token_program) == ("Bonk Cat", "BCAT", "https://x/y.json", token_program)


def test_orca_initialize_pool_v2():
    data = P.ORCA_IX_INITIALIZE_POOL_V2 + u16(64) + (2**64).to_bytes(16, "little")
    ev = decode_instruction(P.ORCA_WHIRLPOOL, data, ACC[:14], "s", 1, 0)
    # config, mint_a, mint_b, badge_a, badge_b, funder, whirlpool, vault_a, vault_b, fee_tier, ...
    assert (ev.mint_a, ev.mint_b, ev.creator, ev.pool, ev.vault_a, ev.vault_b) == \
        (ACC[1], ACC[2], ACC[5], ACC[6], ACC[7], ACC[8])
    assert dict(ev.params)["tick_spacing"] == 64 and dict(ev.params)["initial_sqrt_price"] == 2**64
    assert dict(ev.params)["fee_tier"] == ACC[9]


def test_meteora_initialize_lb_pair_and_customizable():
    args = (-7 & 0xFFFFFFFF).to_bytes(4, "little") + u16(25)  # active_id i32 -7, bin_step u16 25
    ev = decode_instruction(P.METEORA_DLMM, P.METEORA_DLMM_IX_INITIALIZE_LB_PAIR + args, ACC[:14], "s", 1, 0)
    assert dict(ev.params) == {"active_id": -7, "bin_step": 25, "preset_parameter": ACC[7]}
    assert (ev.pool, ev.mint_a, ev.mint_b, ev.creator) == (ACC[0], ACC[2], ACC[3], ACC[8])
    custom = (u32(100) + u16(80) + u16(10_000) + u8(1) + u8(0) + u8(1) + u64(1_800_000_000) + u8(0) + u8(0)
              + bytes(62))
    for disc in (P.METEORA_DLMM_IX_INITIALIZE_CUSTOMIZABLE, P.METEORA_DLMM_IX_INITIALIZE_CUSTOMIZABLE2):
        ev = decode_instruction(P.METEORA_DLMM, disc + custom, ACC[:17], "s", 1, 0)
        assert dict(ev.params) == {"active_id": 100, "bin_step": 80, "base_factor": 10_000, "activation_type": 1,
                                   "activation_point": 1_800_000_000}
    with pytest.raises(DecodeError, match="padding"):
        decode_instruction(P.METEORA_DLMM, P.METEORA_DLMM_IX_INITIALIZE_CUSTOMIZABLE + custom[:-1], ACC, "s", 1, 0)


@pytest.mark.parametrize("program,data,n_accounts", [
    (P.RAYDIUM_AMM_V4, bytes([1]) + bytes(10), 21),                    # initialize2 args cut short
    (P.RAYDIUM_AMM_V4, bytes([1]) + bytes(25), 10),                    # too few accounts
    (P.PUMP, P.PUMP_IX_CREATE + u32(10**6), 14),                        # hostile string length
    (P.ORCA_WHIRLPOOL, P.ORCA_IX_INITIALIZE_POOL + bytes(5), 11),
    (P.RAYDIUM_CPMM, P.RAY_CPMM_IX_INITIALIZE + bytes(23), 20),
])
def test_malformed_known_instructions_raise(program, data, n_accounts):
    with pytest.raises(DecodeError):
        decode_instruction(program, data, ACC[:n_accounts], "s", 1, 0)


def test_other_instructions_of_known_programs_are_skipped():
    assert decode_instruction(P.RAYDIUM_AMM_V4, bytes([9]) + bytes(16), ACC[:18], "s", 1, 0) is None  # swap
    assert decode_instruction(P.PUMP, P.PUMP_IX_BUY + bytes(16), ACC[:16], "s", 1, 0) is None
    assert decode_instruction(key(3), P.PUMP_IX_CREATE, ACC, "s", 1, 0) is None


# --- base58 -------------------------------------------------------------------------------------------------------

def test_base58_matches_solders_for_keys_and_round_trips():
    for i in range(50):
        raw = bytes((i * 7 + k * 13) % 256 for k in range(32))
        assert b58encode(raw) == str(Pubkey.from_bytes(raw))
        assert b58decode(str(Pubkey.from_bytes(raw))) == raw
    for data in (b"", b"\0", b"\0\0\x01", bytes(range(256)) * 3):
        assert b58decode(b58encode(data)) == data
    with pytest.raises(DecodeError):
        b58decode("0OIl")


def test_create_event_zero_token_program_means_spl_token_even_with_a_warm_key_cache():
    from pipelines.chain.borsh import b58
    assert b58(bytes(32)) == P.SYSTEM  # the all-zero key is now cached as the system program's address
    payload, pieces = create_current()
    payload = b"".join(bytes(32) if name == "token_program" else piece for name, piece in pieces)
    assert _decode(P.PUMP, payload).token_program == P.TOKEN
