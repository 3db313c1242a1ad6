"""Every real fixture that carries events or instructions, decoded; expected values derived by hand.

Expectations come from (a) reading the raw bytes at the offsets PROTOCOL.md / the IDLs give, written out here,
(b) the fixture's own independent facts: jsonParsed token and lamport balances, account labels, data_decoded.
"""
from __future__ import annotations

import base64
import struct

import pytest
from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.base58 import b58decode
from pipelines.chain.decode import decode_document, decode_logs, decode_transaction
from pipelines.chain.events import Launch, PoolCreated, Trade
from pipelines.chain.pool_instructions import decode_pump_trade_instruction
from tests.conftest import load_fixture

CREATE_TX = "pumpfun/create_2024_getTransaction_jsonParsed.json"
BUY_SELL_TX = "pumpfun/buy_sell_2024_getTransaction_jsonParsed.json"
RAYDIUM = "raydium_amm_v4/initialize2_transactionNotifications.json"
RESERVED_FOR_MIGRATION = 206_900_000_000_000  # 2024 curves kept 206.9M tokens back for the Raydium pool
CURVE_RENT = 1_231_920  # lamports the create tx paid to create the 49-byte bonding curve account (see its inner ix)


def _u64(raw: bytes, at: int) -> int:
    return struct.unpack_from("<Q", raw, at)[0]


def _key(raw: bytes, at: int) -> str:
    return str(Pubkey.from_bytes(raw[at:at + 32]))


def _program_data(doc: dict) -> list[bytes]:
    return [base64.b64decode(line[len("Program data: "):]) for line in doc["result"]["meta"]["logMessages"]
            if line.startswith("Program data: ")]


def _keys(doc: dict) -> list[str]:
    return [k["pubkey"] for k in doc["result"]["transaction"]["message"]["accountKeys"]]


def _post_token(doc: dict, index: int) -> int:
    meta = doc["result"]["meta"] if "result" in doc else doc["meta"]
    return next(int(b["uiTokenAmount"]["amount"]) for b in meta["postTokenBalances"] if b["accountIndex"] == index)


# --- pump.fun create + buy, August 2024 (2024 CreateEvent and TradeEvent layouts) --------------------------------

def test_create_2024_launch_from_create_event():
    doc = load_fixture(CREATE_TX)
    create_raw, _ = _program_data(doc)
    # CreateEvent: disc, then borsh strings name / symbol / uri, then mint, bonding_curve, user (2024 ends there)
    assert create_raw[:8] == bytes.fromhex("1b72a94ddeeb6376")
    assert struct.unpack_from("<I", create_raw, 8)[0] == 7 and create_raw[12:19] == b"excited"
    assert struct.unpack_from("<I", create_raw, 19)[0] == 7 and create_raw[23:30] == b"excited"
    uri_len = struct.unpack_from("<I", create_raw, 30)[0]
    keys_at = 34 + uri_len
    assert len(create_raw) == keys_at + 96
    keys = _keys(doc)
    create_ix = doc["result"]["transaction"]["message"]["instructions"][3]
    assert _key(create_raw, keys_at) == create_ix["accounts"][0] == keys[1]       # mint (a tx signer)
    assert _key(create_raw, keys_at + 32) == create_ix["accounts"][2]              # bonding curve
    assert _key(create_raw, keys_at + 64) == keys[0]                              # user = fee payer

    events = decode_transaction(doc["result"])
    launch = events[0]
    assert isinstance(launch, Launch)
    assert (launch.venue, launch.name, launch.symbol) == ("pumpfun", "excited", "excited")
    assert launch.uri == create_raw[34:34 + uri_len].decode()
    assert launch.uri.startswith("https://cf-ipfs.com/ipfs/")
    assert launch.mint == "ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp"
    assert launch.bonding_curve == "FFzxakVNzpirwMFtLyD22UZ6UM3KLF2EAGC2RxNPaYoH"
    # 2024 events have no separate creator: the user who created the coin is its creator
    assert launch.user == launch.creator == "Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5"
    assert launch.token_program == P.TOKEN                # `create` mints are SPL Token (the inner initializeMint2)
    assert launch.quote_mint == P.WSOL_MINT
    assert launch.signature == doc["result"]["transaction"]["signatures"][0]
    assert launch.slot == 284682639


def test_create_2024_first_buy_matches_balances():
    doc = load_fixture(CREATE_TX)
    _, trade_raw = _program_data(doc)
    assert len(trade_raw) == 129  # the 2024 TradeEvent layout ends @129
    sol, tokens = _u64(trade_raw, 40), _u64(trade_raw, 48)
    trade = decode_transaction(doc["result"])[1]
    assert isinstance(trade, Trade)
    assert (trade.side, trade.sol_amount, trade.token_amount) == ("buy", sol, tokens)
    # the buyer's token account (index 6) received exactly token_amount; the creator paid 1.1 SOL to the curve
    assert trade.token_amount == _post_token(doc, 6) == 37_951_768_488_745
    assert trade.sol_amount == 1_100_000_000
    meta = doc["result"]["meta"]
    assert meta["postBalances"][3] == trade.real_sol_reserves + CURVE_RENT  # index 3 = bonding curve
    # curve token account (index 4) = real reserves + the 206.9M kept back for migration
    assert _post_token(doc, 4) == trade.real_token_reserves + RESERVED_FOR_MIGRATION
    assert trade.virtual_sol_reserves == _u64(trade_raw, 97) == 30_000_000_000 + 1_100_000_000
    assert trade.virtual_token_reserves == _u64(trade_raw, 105)
    assert trade.mint == "ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp"
    assert trade.user == "Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5"
    assert trade.timestamp == struct.unpack_from("<q", trade_raw, 89)[0] == doc["result"]["blockTime"]
    assert (trade.quote_mint, trade.quote_amount) == (P.WSOL_MINT, trade.sol_amount)
    assert trade.ix_name == "buy"  # the 2024 event has no ix_name: taken from the instruction that emitted it


def test_buy_sell_2024_both_trades_once_each():
    doc = load_fixture(BUY_SELL_TX)
    buy_raw, sell_raw = _program_data(doc)
    assert buy_raw[56] == 1 and sell_raw[56] == 0  # is_buy @56
    events = decode_document(doc)
    assert [type(e) for e in events] == [Trade, Trade]  # logs and event-CPI copies reported once
    buy, sell = events
    assert (buy.side, sell.side) == ("buy", "sell")
    assert buy.sol_amount == _u64(buy_raw, 40) and sell.sol_amount == _u64(sell_raw, 40)
    assert buy.token_amount == sell.token_amount == _u64(buy_raw, 48)  # sold exactly what was bought
    assert _post_token(doc, 4) == 0                                    # ... so the user's account is empty again
    keys = _keys(doc)
    assert buy.mint == sell.mint == keys[14] == "HfJVjBdkhAD2ynVM8PdTSii4ECZdsxNTCx5wpEqUpump"
    assert buy.user == keys[0]
    meta = doc["result"]["meta"]
    # after both trades: bonding curve lamports (index 1) = real SOL reserves + rent; its token account (index 2)
    assert meta["postBalances"][1] == sell.real_sol_reserves + CURVE_RENT
    assert _post_token(doc, 2) == sell.real_token_reserves + RESERVED_FOR_MIGRATION
    # the buy raised real SOL by exactly sol_amount, the sell lowered it by exactly its sol_amount
    assert sell.real_sol_reserves == buy.real_sol_reserves - sell.sol_amount
    assert buy.seq < sell.seq and buy.signature == sell.signature == doc["result"]["transaction"]["signatures"][0]


def test_logs_only_path_gives_the_same_events_and_seq():
    doc = load_fixture(BUY_SELL_TX)
    r = doc["result"]
    from_tx = decode_transaction(r)
    from_logs = decode_logs(r["transaction"]["signatures"][0], r["slot"], r["meta"]["logMessages"], None)
    assert from_logs == from_tx


# --- pump.fun instruction records, 2025 ---------------------------------------------------------------------------

def test_create_2025_ix_record():
    fx = load_fixture("pumpfun/create_2025_ix.json")
    data = bytes.fromhex(fx["data"])
    assert data[:8] == P.PUMP_IX_CREATE
    # args: name (u32 12, "Mystical Cat"), symbol (u32 2, "MC"), uri (u32 67, ...), creator pubkey (last 32 bytes)
    assert data[8:12] == (12).to_bytes(4, "little") and data[12:24] == b"Mystical Cat"
    assert data[24:28] == (2).to_bytes(4, "little") and data[28:30] == b"MC"
    uri_len = int.from_bytes(data[30:34], "little")
    assert len(data) == 34 + uri_len + 32
    accounts = [a["pubkey"] for a in fx["accounts"]]
    (launch,) = decode_document(fx)
    assert isinstance(launch, Launch)
    assert (launch.name, launch.symbol) == ("Mystical Cat", "MC")
    assert launch.uri == data[34:34 + uri_len].decode() and launch.uri.startswith("https://ipfs.io/ipfs/")
    assert launch.mint == accounts[0] == "AC69oJv1m7843mdRfoQDneZuyRxYrMq86i2mARMtpump"
    assert launch.bonding_curve == accounts[2]
    assert launch.user == accounts[7] and fx["accounts"][7]["is_signer"]
    assert launch.creator == str(Pubkey.from_bytes(data[-32:]))
    assert launch.token_program == P.TOKEN == accounts[9]
    assert launch.signature == fx["signature"] and launch.seq == 0


@pytest.mark.parametrize("rel,name,amount,limit", [
    # buy(amount u64, max_sol_cost u64): f6ca19.. LE = 0x19caf6, c3.. = 0xc3
    ("pumpfun/buy_2025_ix.json", "buy", 0x19CAF6, 0xC3),
    # sell(amount u64, min_sol_output u64): 9d4512af57.. LE = 0x57af12459d, 8e9dd6.. = 0xd69d8e
    ("pumpfun/sell_2025_ix.json", "sell", 0x57AF12459D, 0xD69D8E),
])
def test_buy_sell_2025_ix_records(rel, name, amount, limit):
    fx = load_fixture(rel)
    accounts = tuple(a["pubkey"] for a in fx["accounts"])
    # a bare buy/sell instruction says what was asked, not what happened: no event
    assert decode_document(fx) == []
    ix = decode_pump_trade_instruction(bytes.fromhex(fx["data"]), accounts)
    assert (ix.name, ix.amount, ix.limit) == (name, amount, limit)
    assert ix.mint == accounts[2] and ix.user == accounts[6]
    assert fx["accounts"][6]["is_signer"] and not fx["accounts"][2]["is_writable"]  # user signs; the mint is read


# --- Raydium AMM v4 initialize2 (Helius transactionNotifications, Dec 2024) ---------------------------------------

def test_raydium_initialize2_manual_and_migration():
    notes = load_fixture(RAYDIUM)
    manual, migration = decode_document(notes)
    for ev, note in ((manual, notes[0]), (migration, notes[1])):
        res = note["params"]["result"]
        assert isinstance(ev, PoolCreated) and ev.venue == "raydium_amm_v4"
        assert (ev.signature, ev.slot) == (res["signature"], res["slot"])
        tx = res["transaction"]
        ix = next(i for i in tx["transaction"]["message"]["instructions"] if i["programId"] == P.RAYDIUM_AMM_V4)
        data = b58decode(ix["data"])
        assert len(data) == 26 and data[0] == 1  # tag 1: nonce u8, open_time, init_pc_amount, init_coin_amount
        acc = ix["accounts"]
        assert (ev.pool, ev.lp_mint, ev.mint_a, ev.mint_b) == (acc[4], acc[7], acc[8], acc[9])
        assert (ev.vault_a, ev.vault_b, ev.creator) == (acc[10], acc[11], acc[17])
        assert ev.open_time == _u64(data, 2)
        assert ev.amount_b == _u64(data, 10) and ev.amount_a == _u64(data, 18)
        # the vaults' post balances are exactly the initial amounts (accountIndex 5 = coin vault, 6 = pc vault)
        keys = [k["pubkey"] for k in tx["transaction"]["message"]["accountKeys"]]
        assert keys[5] == ev.vault_a and keys[6] == ev.vault_b
        assert _post_token(tx, 5) == ev.amount_a and _post_token(tx, 6) == ev.amount_b
    # manual launch: the token is the coin, WSOL the pc, 100M tokens against 19.01 SOL
    assert manual.mint_a == "B4qKiQd97nBgME2c6GwRwYWRCCuw7WzqmxzCHaQMpump" and manual.mint_b == P.WSOL_MINT
    assert (manual.amount_a, manual.amount_b) == (100_000_000_000_000, 19_010_000_000)
    assert manual.migration is False
    # pump.fun migration: signed by the migration account, WSOL as coin, ~79 SOL and 206.9M tokens
    assert migration.creator == P.PUMP_MIGRATION_SIGNER and migration.migration is True
    assert migration.mint_a == P.WSOL_MINT and migration.mint_b == "6TArF7DG91BVuAvSidiT1wMPyvv5WNEkmJY2ovopump"
    assert migration.amount_b == RESERVED_FOR_MIGRATION and migration.amount_a == 79_005_361_670


# --- Orca / Meteora instruction records ----------------------------------------------------------------------------

def test_orca_initialize_pool_record():
    fx = load_fixture("orca/initialize_pool_ix.json")
    by_label = {a["label"]: a["pubkey"] for a in fx["accounts"]}
    (ev,) = decode_document(fx)
    assert isinstance(ev, PoolCreated) and ev.venue == "orca_whirlpool"
    assert ev.pool == by_label["whirlpool"]
    assert (ev.mint_a, ev.mint_b) == (by_label["tokenMintA"], by_label["tokenMintB"])
    assert (ev.vault_a, ev.vault_b) == (by_label["tokenVaultA"], by_label["tokenVaultB"])
    assert ev.creator == by_label["funder"]
    params = dict(ev.params)
    assert params["tick_spacing"] == int(fx["data_decoded"]["tickSpacing"]["data"]) == 32896
    assert params["initial_sqrt_price"] == int(fx["data_decoded"]["initialSqrtPrice"]["data"])
    assert params["whirlpools_config"] == by_label["whirlpoolsConfig"]
    assert params["fee_tier"] == by_label["feeTier"]


def test_orca_swap_record_is_not_an_event():
    assert decode_document(load_fixture("orca/swap_ix.json")) == []


def test_meteora_initialize_lb_pair2_record():
    fx = load_fixture("meteora/dlmm_initialize_lb_pair2_ix.json")
    data = bytes.fromhex(fx["data"])
    # InitializeLbPair2Params { active_id: i32, padding: [u8; 96] }: abfeffff = 0xfffffeab = -341 as i32
    assert len(data) == 8 + 4 + 96 and data[8:12] == bytes.fromhex("abfeffff")
    by_label = {a["label"]: a["pubkey"] for a in fx["accounts"]}
    (ev,) = decode_document(fx)
    assert isinstance(ev, PoolCreated) and ev.venue == "meteora_dlmm"
    assert ev.pool == by_label["lbPair"]
    assert (ev.mint_a, ev.mint_b) == (by_label["tokenMintX"], by_label["tokenMintY"])
    assert (ev.vault_a, ev.vault_b) == (by_label["reserveX"], by_label["reserveY"])
    assert ev.creator == by_label["funder"]
    assert dict(ev.params) == {"active_id": -341, "preset_parameter": by_label["presetParameter"]}


@pytest.mark.parametrize("rel", [
    "pumpfun/bonding_curve_2024_getAccountInfo.json", "pumpfun/global_account.json",
    "pumpswap/fee_config_account.json", "orca/whirlpool_account.json", "meteora/dlmm_lb_pair_account.json",
])
def test_account_fixtures_are_not_decodable_documents(rel):
    from pipelines.chain.errors import DecodeError
    with pytest.raises(DecodeError):
        decode_document(load_fixture(rel))
