"""Transaction forms and sources: routers (CPI), truncated logs, logs + event-CPI dedupe, failed transactions,
json / base64 encodings with v0 address lookups, blocks, notifications, PumpSwap trades and migrations."""
from __future__ import annotations

import base64
import copy
import dataclasses

import pytest
from solders.hash import Hash
from solders.instruction import CompiledInstruction
from solders.message import MessageAddressTableLookup, MessageHeader, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from pipelines.chain import programs as P
from pipelines.chain.base58 import b58decode, b58encode
from pipelines.chain.decode import decode_document, decode_logs, decode_transaction
from pipelines.chain.errors import DecodeError
from pipelines.chain.events import Launch, Migration, PoolCreated, Trade, event_key
from tests.conftest import load_fixture
from tests.unit.chain.decode_payloads import (BUY_SELL_TX, CREATE_TX, amm_trade, bump_depth, create_current,
                                              create_pool_event, instruction_logs, key, migration_event,
                                              to_json_encoding)

ROUTER = key(200)
CPI = P.EVENT_CPI_PREFIX


def _result(rel: str) -> dict:
    return copy.deepcopy(load_fixture(rel)["result"])


def _fixture_events(rel: str):
    return decode_transaction(_result(rel))


def _without_seq(ev) -> dict:
    d = dataclasses.asdict(ev)
    del d["seq"]
    return d


# --- routers: the pump instruction is an inner instruction --------------------------------------------------------

def _routed_buy() -> dict:
    """The real 2024 buy, re-wrapped: a router program's top-level instruction CPIs into pump buy."""
    r = _result(BUY_SELL_TX)
    msg = r["transaction"]["message"]
    pump_buy = msg["instructions"][2]
    inner_buy = next(g for g in r["meta"]["innerInstructions"] if g["index"] == 2)["instructions"]
    msg["accountKeys"].append({"pubkey": ROUTER, "signer": False, "source": "transaction", "writable": False})
    msg["instructions"] = msg["instructions"][:2] + [
        {"programId": ROUTER, "accounts": [a for a in pump_buy["accounts"]], "data": "3Bxs4", "stackHeight": None}]
    nested = [dict(pump_buy, stackHeight=2)] + [dict(i, stackHeight=i["stackHeight"] + 1) for i in inner_buy]
    r["meta"]["innerInstructions"] = [{"index": 2, "instructions": nested}]
    logs = r["meta"]["logMessages"]
    buy_lines = instruction_logs(logs, P.PUMP, 0)
    r["meta"]["logMessages"] = logs[:4] + [f"Program {ROUTER} invoke [1]", "Program log: Instruction: Route"] + \
        bump_depth(buy_lines) + [f"Program {ROUTER} consumed 60000 of 200000 compute units",
                                 f"Program {ROUTER} success"]
    return r


def test_trade_through_a_router_is_found():
    direct_buy = _fixture_events(BUY_SELL_TX)[0]
    r = _routed_buy()
    (trade,) = decode_transaction(r)
    assert isinstance(trade, Trade)
    assert _without_seq(trade) == _without_seq(direct_buy)
    # router = top-level 2; the pump buy that emitted the event is its inner instruction 0 (position 1); 1st event
    assert trade.seq == 2 * 100_000 + 1 * 100 + 1
    # the same trade from the logs alone (logsSubscribe): same event, same seq
    assert decode_logs(trade.signature, trade.slot, r["meta"]["logMessages"], None) == [trade]
    # and from the event-CPI alone when the node sent no logs
    r["meta"]["logMessages"] = None
    assert decode_transaction(r) == [trade]


def test_routed_create_v2_without_event_comes_from_the_instruction():
    """A create_v2 inside a router whose CreateEvent is missing: Launch from args + accounts, Token-2022."""
    accounts = [key(60 + i) for i in range(16)]
    data = (P.PUMP_IX_CREATE_V2 + b"".join([
        len(b"Cat").to_bytes(4, "little") + b"Cat", (3).to_bytes(4, "little") + b"CAT",
        (5).to_bytes(4, "little") + b"ipfs:", bytes(Pubkey.from_string(key(90))), b"\x01", b"\x00",
        (0).to_bytes(8, "little"), b"\x00"]))
    r = {"slot": 7, "meta": {"err": None, "logMessages": None, "innerInstructions": [
        {"index": 0, "instructions": [{"programId": P.PUMP, "accounts": accounts, "data": b58encode(data),
                                        "stackHeight": 2}]}]},
         "transaction": {"signatures": ["sig1"], "message": {
             "accountKeys": [{"pubkey": k} for k in [ROUTER, P.PUMP] + accounts],
             "instructions": [{"programId": ROUTER, "accounts": [], "data": "1", "stackHeight": None}]}}}
    (launch,) = decode_transaction(r)
    assert isinstance(launch, Launch)
    assert (launch.mint, launch.bonding_curve, launch.user) == (accounts[0], accounts[2], accounts[5])
    assert (launch.name, launch.symbol, launch.uri, launch.creator) == ("Cat", "CAT", "ipfs:", key(90))
    assert launch.token_program == P.TOKEN_2022 and launch.is_mayhem_mode is True
    assert launch.seq == 0 * 100_000 + 1 * 100 + 0  # emitted by inner instruction 0 of top-level 0; from its args

    # the same create with its CreateEvent as an event-CPI: reported once, from the (richer) event
    payload, _ = create_current()
    payload = payload.replace(bytes(Pubkey.from_string(key(10))), bytes(Pubkey.from_string(accounts[0])))
    r["meta"]["innerInstructions"][0]["instructions"].append(
        {"programId": P.PUMP, "accounts": [P.PUMP_EVENT_AUTHORITY], "data": b58encode(CPI + payload),
         "stackHeight": 3})
    (launch,) = decode_transaction(r)
    assert launch.mint == accounts[0] and launch.timestamp == 1_760_000_000 and launch.seq == 101  # 1st event


# --- truncation, dedupe, failure ----------------------------------------------------------------------------------

def test_truncated_logs_still_yield_events_through_event_cpi():
    full = _fixture_events(CREATE_TX)
    r = _result(CREATE_TX)
    logs = r["meta"]["logMessages"]
    first_data = next(i for i, ln in enumerate(logs) if ln.startswith("Program data: "))
    r["meta"]["logMessages"] = logs[:first_data + 3] + ["Log truncated"]
    assert decode_transaction(r) == full  # the trade's log line is gone; its event-CPI is not
    from_logs = decode_logs(full[0].signature, full[0].slot, r["meta"]["logMessages"], None)
    assert from_logs == [full[0]]  # the logs alone give what they still hold, with the same seq


def test_log_line_before_the_event_cpi_gives_the_same_seq():
    """Mainnet pump logs the event after its event CPI; a program that logs first (as the simnet does) must get
    the same seq from its logs as from its transaction."""
    r = _result(BUY_SELL_TX)
    expected = decode_transaction(r)
    logs = r["meta"]["logMessages"]
    reordered = []
    for i, line in enumerate(logs):
        if line.startswith("Program data: "):
            continue
        if line == f"Program {P.PUMP} invoke [2]":  # move each event's data line before its self-CPI
            data = next(ln for ln in logs[i:] if ln.startswith("Program data: "))
            reordered.append(data)
        reordered.append(line)
    assert reordered != logs and len(reordered) == len(logs)
    r["meta"]["logMessages"] = reordered
    assert decode_logs(expected[0].signature, expected[0].slot, reordered, None) == expected
    assert decode_transaction(r) == expected


def test_same_event_in_logs_and_event_cpi_is_reported_once_with_a_stable_seq():
    both = _fixture_events(CREATE_TX)
    assert [type(e) for e in both] == [Launch, Trade]
    r = _result(CREATE_TX)
    only_logs = copy.deepcopy(r)
    for g in only_logs["meta"]["innerInstructions"]:
        g["instructions"] = [i for i in g["instructions"]
                             if not (i.get("programId") == P.PUMP and b58decode(i["data"])[:8] == CPI)]
    only_cpi = copy.deepcopy(r)
    only_cpi["meta"]["logMessages"] = []
    assert decode_transaction(only_logs) == both
    assert decode_transaction(only_cpi) == both
    assert len({event_key(e) for e in both}) == 2


def test_failed_transaction_yields_nothing():
    r = _result(BUY_SELL_TX)
    r["meta"]["err"] = {"InstructionError": [2, {"Custom": 6002}]}
    r["meta"]["status"] = {"Err": r["meta"]["err"]}
    assert decode_transaction(r) == []
    assert decode_logs("sig", 1, r["meta"]["logMessages"], {"InstructionError": [2, {"Custom": 6002}]}) == []
    note = {"jsonrpc": "2.0", "method": "logsNotification", "params": {"subscription": 1, "result": {
        "context": {"slot": 5}, "value": {"signature": "s", "err": {"InstructionError": [0, "X"]},
                                          "logs": r["meta"]["logMessages"]}}}}
    assert decode_document(note) == []


def test_transaction_without_meta_is_an_error():
    r = _result(BUY_SELL_TX)
    del r["meta"]
    with pytest.raises(DecodeError, match="meta"):
        decode_transaction(r)


# --- encodings ----------------------------------------------------------------------------------------------------

MINT = "HfJVjBdkhAD2ynVM8PdTSii4ECZdsxNTCx5wpEqUpump"


def test_json_encoding_v0_resolves_loaded_addresses():
    expected = _fixture_events(BUY_SELL_TX)
    r = _result(BUY_SELL_TX)
    # the mint from a lookup table's writable part, global + event authority from its readonly part
    v0 = to_json_encoding(r, writable=(MINT,), readonly=(P.PUMP_GLOBAL, P.PUMP_EVENT_AUTHORITY))
    assert MINT not in v0["transaction"]["message"]["accountKeys"]
    assert decode_transaction(v0) == expected
    # without loadedAddresses the indexes point past the static keys: a clear error, not a wrong mint
    del v0["meta"]["loadedAddresses"]
    with pytest.raises(DecodeError, match="out of range"):
        decode_transaction(v0)


def test_json_encoding_legacy():
    assert decode_transaction(to_json_encoding(_result(CREATE_TX))) == _fixture_events(CREATE_TX)


def _as_base64(v0: dict) -> dict:
    msg = v0["transaction"]["message"]

    def compiled(ix):
        return CompiledInstruction(ix["programIdIndex"], b58decode(ix["data"]), bytes(ix["accounts"]))

    lookups = [MessageAddressTableLookup(Pubkey.from_string(t["accountKey"]), bytes(t["writableIndexes"]),
                                         bytes(t["readonlyIndexes"])) for t in msg["addressTableLookups"]]
    message = MessageV0(MessageHeader(1, 0, 0), [Pubkey.from_string(k) for k in msg["accountKeys"]],
                        Hash.from_string(msg["recentBlockhash"]), [compiled(i) for i in msg["instructions"]], lookups)
    tx = VersionedTransaction.populate(message, [Signature.from_string(v0["transaction"]["signatures"][0])])
    return dict(v0, transaction=[base64.b64encode(bytes(tx)).decode(), "base64"])


def test_base64_encoding_v0_with_lookups():
    expected = _fixture_events(BUY_SELL_TX)
    v0 = to_json_encoding(_result(BUY_SELL_TX), writable=(MINT,), readonly=(P.PUMP_GLOBAL,))
    b64 = _as_base64(v0)
    assert decode_transaction(b64) == expected
    assert decode_document({"jsonrpc": "2.0", "id": 1, "result": b64}) == expected


def test_base64_garbage_is_a_decode_error():
    r = _result(BUY_SELL_TX)
    r["transaction"] = [base64.b64encode(b"\x01" + bytes(40)).decode(), "base64"]
    with pytest.raises(DecodeError):
        decode_transaction(r)
    r["transaction"] = ["!!!", "base64"]
    with pytest.raises(DecodeError, match="base64"):
        decode_transaction(r)


# --- documents: notifications and blocks --------------------------------------------------------------------------

def test_logs_notification_matches_the_transaction():
    r = _result(BUY_SELL_TX)
    note = {"jsonrpc": "2.0", "method": "logsNotification", "params": {"subscription": 3, "result": {
        "context": {"slot": r["slot"]},
        "value": {"signature": r["transaction"]["signatures"][0], "err": None, "logs": r["meta"]["logMessages"]}}}}
    assert decode_document(note) == _fixture_events(BUY_SELL_TX)


def test_block_notification_decodes_every_transaction():
    a, b = _result(CREATE_TX), _result(BUY_SELL_TX)
    entries = [{"transaction": x["transaction"], "meta": x["meta"], "version": 0} for x in (a, b)]
    note = {"jsonrpc": "2.0", "method": "blockNotification", "params": {"subscription": 9, "result": {
        "context": {"slot": 300}, "value": {"slot": 300, "err": None,
                                            "block": {"blockhash": "x", "transactions": entries}}}}}
    events = decode_document(note)
    assert [e.signature for e in events] == [a["transaction"]["signatures"][0]] * 2 + \
        [b["transaction"]["signatures"][0]] * 2
    assert {e.slot for e in events} == {300}  # the block's slot
    assert [_without_seq(e) | {"slot": 0} for e in events] == \
        [_without_seq(e) | {"slot": 0} for e in _fixture_events(CREATE_TX) + _fixture_events(BUY_SELL_TX)]


@pytest.mark.parametrize("doc,match", [
    ({"jsonrpc": "2.0", "id": 1, "result": None}, "null"),
    ({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "Invalid params"}}, "error"),
    ({"jsonrpc": "2.0", "method": "slotNotification", "params": {"result": {}}}, "unsupported"),
    ({"hello": "world"}, "unrecognised"),
    ("a string", "object or array"),
    ([[[[[[[[[[[]]]]]]]]]]], "nested"),
])
def test_unknown_documents_are_decode_errors(doc, match):
    with pytest.raises(DecodeError, match=match):
        decode_document(doc)


# --- PumpSwap -----------------------------------------------------------------------------------------------------

def _amm_buy_tx(payload: bytes, quote_mint: str = P.WSOL_MINT, logs: list[str] | None = None) -> dict:
    """A PumpSwap buy (23 accounts, pump_amm IDL) whose BuyEvent is an event-CPI inner instruction."""
    accounts = [key(100 + i) for i in range(23)]
    accounts[3], accounts[4] = key(150), quote_mint  # base_mint, quote_mint
    data = P.AMM_IX_BUY + (10**9).to_bytes(8, "little") + (10**9).to_bytes(8, "little")
    return {"slot": 9, "meta": {"err": None, "logMessages": logs, "innerInstructions": [{"index": 0, "instructions": [
        {"programId": P.PUMP_AMM, "accounts": [key(170)], "data": b58encode(CPI + payload), "stackHeight": 2}]}]},
        "transaction": {"signatures": ["ammsig"], "message": {
            "accountKeys": [{"pubkey": k} for k in [P.PUMP_AMM] + accounts],
            "instructions": [{"programId": P.PUMP_AMM, "accounts": accounts, "data": b58encode(data)}]}}}


def test_pumpswap_buy_takes_mints_from_the_instruction_accounts():
    # pool before: 100M tokens (6 dp) / 200 SOL; buy 1M tokens for ~2.02 SOL + 0.2% lp + 0.05% protocol fees
    payload = amm_trade(True, base_amount=10**12, quote_amount=2_020_202_021, pool_base=10**14,
                        pool_quote=200 * 10**9, lp_fee=4_040_405, proto_fee=1_010_102, creator_fee=6_060_607)
    (t,) = decode_transaction(_amm_buy_tx(payload))
    assert isinstance(t, Trade) and (t.venue, t.side) == ("pumpswap", "buy")
    assert (t.mint, t.quote_mint, t.pool, t.user) == (key(150), P.WSOL_MINT, key(20), key(21))
    assert (t.token_amount, t.quote_amount, t.sol_amount) == (10**12, 2_020_202_021, 2_020_202_021)
    # reserves after the swap: base out of the pool, quote + lp fee into it (protocol/creator fees leave)
    assert t.virtual_token_reserves == 10**14 - 10**12
    assert t.virtual_sol_reserves == 200 * 10**9 + 2_020_202_021 + 4_040_405
    assert (t.fee, t.fee_basis_points) == (4_040_405 + 1_010_102, 25)
    assert (t.creator, t.creator_fee, t.creator_fee_basis_points) == (key(26), 6_060_607, 30)
    assert t.ix_name == "buy" and t.seq == 1  # first event of top-level instruction 0


def test_pumpswap_sell_from_logs_only_has_no_mint():
    # numbers of a real SellEvent quoted in a public issue (solana-streamer #5): out = quote*in/(base+in)
    payload = amm_trade(False, base_amount=12_622_558, quote_amount=20_086_115_268, pool_base=425_492_764_361,
                        pool_quote=677_101_285_575_905, lp_fee=40_172_231, proto_fee=10_043_058, full=False)
    line = "Program data: " + base64.b64encode(payload).decode()
    logs = [f"Program {P.PUMP_AMM} invoke [1]", "Program log: Instruction: Sell", line, f"Program {P.PUMP_AMM} success"]
    (t,) = decode_logs("s", 1, logs, None)
    assert (t.side, t.token_amount, t.quote_amount) == ("sell", 12_622_558, 20_086_115_268)
    assert (t.mint, t.quote_mint, t.sol_amount) == ("", "", 0)  # unknown without the instruction's accounts
    assert t.virtual_token_reserves == 425_492_764_361 + 12_622_558
    assert t.virtual_sol_reserves == 677_101_285_575_905 - (20_086_115_268 - 40_172_231)
    assert t.ix_name == "sell" and t.creator == ""  # pre-creator-fee layout (March 2025) ends after the fee keys
    assert t.seq == 1


def _migration_tx(with_pool_event: bool) -> dict:
    """pump migrate (top-level) -> PumpSwap create_pool (CPI) [-> CreatePoolEvent CPI] ; pump migration event."""
    mint, pool, curve = key(120), key(121), key(122)
    amm_accounts = [key(130 + i) for i in range(18)]
    amm_accounts[0], amm_accounts[3], amm_accounts[4] = pool, mint, P.WSOL_MINT
    create_pool = P.AMM_IX_CREATE_POOL + (0).to_bytes(2, "little") + (206_900_000_000_000).to_bytes(8, "little") + \
        (84_990_359_679).to_bytes(8, "little") + bytes(Pubkey.from_string(key(123)))
    inner = [{"programId": P.PUMP_AMM, "accounts": amm_accounts, "data": b58encode(create_pool), "stackHeight": 2}]
    if with_pool_event:
        inner.append({"programId": P.PUMP_AMM, "accounts": [key(171)], "stackHeight": 3,
                      "data": b58encode(CPI + create_pool_event(pool, mint))})
    inner.append({"programId": P.PUMP, "accounts": [P.PUMP_EVENT_AUTHORITY], "stackHeight": 2,
                  "data": b58encode(CPI + migration_event(mint, pool, curve))})
    return {"slot": 11, "meta": {"err": None, "logMessages": None, "innerInstructions": [
        {"index": 0, "instructions": inner}]},
        "transaction": {"signatures": ["migsig"], "message": {
            "accountKeys": [{"pubkey": P.PUMP}], "instructions": [
                {"programId": P.PUMP, "accounts": [key(140 + i) for i in range(25)], "data": b58encode(
                    P.PUMP_IX_MIGRATE)}]}}}


@pytest.mark.parametrize("with_pool_event", [True, False])
def test_pumpswap_migration(with_pool_event):
    migration, pool_created = decode_transaction(_migration_tx(with_pool_event))  # sorted by seq (see below)
    assert isinstance(pool_created, PoolCreated) and isinstance(migration, Migration)
    assert (pool_created.venue, pool_created.pool, pool_created.mint_a, pool_created.mint_b) == \
        ("pumpswap", key(121), key(120), P.WSOL_MINT)
    assert pool_created.migration is True  # create_pool ran inside pump's migrate
    assert (pool_created.vault_a, pool_created.vault_b) == (key(139), key(140))  # accounts 9, 10 of create_pool
    assert (pool_created.amount_a, pool_created.amount_b) == (206_900_000_000_000, 84_990_359_679)
    assert dict(pool_created.params)["coin_creator"] == (key(123) if not with_pool_event else key(34))
    assert (migration.mint, migration.pool, migration.bonding_curve) == (key(120), key(121), key(122))
    assert (migration.mint_amount, migration.sol_amount, migration.pool_migration_fee) == \
        (206_900_000_000_000, 84_990_359_679, 15_000_000)
    assert migration.quote_mint == P.WSOL_MINT  # all-zero quote_mint = SOL
    # seq: migrate (top-level, position 0) emitted the migration event; create_pool (position 1) the pool event
    assert migration.seq == 1 and pool_created.seq == (101 if with_pool_event else 100)


def test_malformed_known_payload_fails_the_document_with_its_position():
    r = _result(BUY_SELL_TX)
    r["meta"]["logMessages"] = None
    g = r["meta"]["innerInstructions"][0]
    cpi = g["instructions"][-1]
    cpi["data"] = b58encode(b58decode(cpi["data"])[:100])  # TradeEvent cut to 92 bytes
    with pytest.raises(DecodeError, match=r"seq 200001.*TradeEvent too short"):
        decode_transaction(r)


def test_pumpswap_migration_from_logs_matches_the_transaction():
    r = _migration_tx(True)
    inner = r["meta"]["innerInstructions"][0]["instructions"]
    pool_event, migration_payload = (b58decode(inner[i]["data"])[8:] for i in (1, 2))
    data = lambda payload: "Program data: " + base64.b64encode(payload).decode()  # noqa: E731
    r["meta"]["logMessages"] = [
        f"Program {P.PUMP} invoke [1]", "Program log: Instruction: Migrate",
        f"Program {P.PUMP_AMM} invoke [2]", "Program log: Instruction: CreatePool",
        f"Program {P.PUMP_AMM} invoke [3]", f"Program {P.PUMP_AMM} success", data(pool_event),
        f"Program {P.PUMP_AMM} success",
        f"Program {P.PUMP} invoke [2]", f"Program {P.PUMP} success", data(migration_payload),
        f"Program {P.PUMP} success"]
    from_tx = decode_transaction(r)
    from_logs = decode_logs("migsig", 11, r["meta"]["logMessages"], None)
    assert [e.seq for e in from_logs] == [e.seq for e in from_tx] == [1, 101]
    assert from_logs[0] == from_tx[0]  # the migration event
    # the pool event: same, except the vaults, which only the create_pool instruction's accounts tell
    assert dataclasses.replace(from_logs[1], vault_a=from_tx[1].vault_a, vault_b=from_tx[1].vault_b) == from_tx[1]
    assert from_logs[1].migration is True  # PumpSwap invoked by pump, seen from the log frames alone
