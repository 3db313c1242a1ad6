"""Property tests: every decoder entry point, fed random bytes, mutated real payloads and random JSON shapes,
returns events or raises DecodeError; never another exception, never a hang (sizes bounded, deadline set)."""
from __future__ import annotations

import base64
import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.chain import programs as P
from pipelines.chain.base58 import b58decode, b58encode
from pipelines.chain.decode import decode_document, decode_logs, decode_transaction
from pipelines.chain.errors import DecodeError
from pipelines.chain.events import EVENT_TYPES
from pipelines.chain.pool_instructions import IX_DECODERS, decode_instruction
from pipelines.chain.pump_events import EVENTS_BY_PROGRAM, EventContext, decode_event
from tests.conftest import FIXTURES, load_fixture
from tests.unit.chain.decode_payloads import (BUY_SELL_TX, CREATE_TX, amm_trade, create_current, create_pool_event,
                                              key, migration_event, program_data, trade_current)

SETTINGS = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
EVENT_CLASSES = tuple(EVENT_TYPES.values())

REAL_PAYLOADS = [(P.PUMP, p) for p in program_data(CREATE_TX) + program_data(BUY_SELL_TX)] + [
    (P.PUMP, trade_current()[0]), (P.PUMP, create_current()[0]), (P.PUMP, migration_event(key(1), key(2), key(3))),
    (P.PUMP_AMM, amm_trade(True, base_amount=10**9, quote_amount=10**8, pool_base=10**14, pool_quote=10**11)),
    (P.PUMP_AMM, amm_trade(False, base_amount=10**9, quote_amount=10**8, pool_base=10**14, pool_quote=10**11)),
    (P.PUMP_AMM, create_pool_event(key(4), key(5))),
]
KNOWN_EVENTS = [(prog, disc) for prog, table in EVENTS_BY_PROGRAM.items() for disc in table]
KNOWN_IXS = [(prog, disc) for prog, table in IX_DECODERS.items() for disc in table]
ACCOUNTS = tuple(key(i) for i in range(30))
FIXTURE_DOCS = [load_fixture(str(p.relative_to(FIXTURES))) for p in sorted(FIXTURES.rglob("*.json"))]


def _ok(result) -> None:
    assert result is None or isinstance(result, EVENT_CLASSES) or (
        isinstance(result, list) and all(isinstance(e, EVENT_CLASSES) for e in result))


def _only_decode_errors(fn, *args) -> None:
    try:
        _ok(fn(*args))
    except DecodeError:
        pass


@st.composite
def mutated(draw, original: bytes) -> bytes:
    b = bytearray(original)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "cut", "grow", "splice"]))
        if op == "flip" and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del b[draw(st.integers(0, len(b))):]
        elif op == "grow":
            b += draw(st.binary(max_size=64))
        elif op == "splice" and b:
            i = draw(st.integers(0, len(b)))
            b[i:i] = draw(st.binary(max_size=8))
    return bytes(b)


@SETTINGS
@given(st.sampled_from([P.PUMP, P.PUMP_AMM, P.SYSTEM]), st.binary(max_size=600))
def test_event_decoder_random_bytes(program, data):
    _only_decode_errors(decode_event, program, data, "s", 1, 1)


@SETTINGS
@given(st.sampled_from(KNOWN_EVENTS), st.binary(max_size=600), st.lists(st.sampled_from(ACCOUNTS), max_size=25))
def test_event_decoder_known_discriminator_random_tail(known, tail, accounts):
    program, disc = known
    _only_decode_errors(decode_event, program, disc + tail, "s", 1, 1, EventContext(tuple(accounts), "buy", P.PUMP))


@SETTINGS
@given(st.data())
def test_event_decoder_mutated_real_payloads(data):
    program, payload = data.draw(st.sampled_from(REAL_PAYLOADS))
    _only_decode_errors(decode_event, program, data.draw(mutated(payload)), "s", 1, 1)


@SETTINGS
@given(st.sampled_from(KNOWN_IXS), st.binary(max_size=400), st.integers(0, 30))
def test_instruction_decoder_random_args_and_account_counts(known, tail, n_accounts):
    program, disc = known
    _only_decode_errors(decode_instruction, program, disc + tail, ACCOUNTS[:n_accounts], "s", 1, 0)


_LINE = st.one_of(
    st.sampled_from(load_fixture(CREATE_TX)["result"]["meta"]["logMessages"]),
    st.builds(lambda p, d: f"Program {p} invoke [{d}]", st.sampled_from([P.PUMP, P.PUMP_AMM, P.SYSTEM, "x y"]),
              st.one_of(st.integers(-3, 8).map(str), st.text(max_size=5))),
    st.builds(lambda p: f"Program {p} success", st.sampled_from([P.PUMP, P.PUMP_AMM, P.SYSTEM])),
    st.builds(lambda b: "Program data: " + base64.b64encode(b).decode(), st.binary(max_size=300)),
    st.builds(lambda b: "Program data: " + base64.b64encode(P.PUMP_EV_TRADE + b).decode(), st.binary(max_size=300)),
    st.builds(lambda t: "Program data: " + t, st.text(max_size=40)),
    st.builds(lambda t: "Program log: Instruction: " + t, st.text(max_size=100)),
    st.just("Log truncated"),
    st.text(max_size=60),
)


@SETTINGS
@given(st.lists(_LINE, max_size=60))
def test_decode_logs_random_lines(lines):
    _only_decode_errors(decode_logs, "sig", 1, lines, None)


@SETTINGS
@given(st.lists(st.one_of(_LINE, st.integers(), st.none()), max_size=10), st.one_of(st.text(), st.integers()))
def test_decode_logs_wrong_types(lines, sig):
    _only_decode_errors(decode_logs, sig, 1, lines, None)


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
              st.text(max_size=20), st.sampled_from(["base64", "json", P.PUMP, "Program data: AAAA", "1"])),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.sampled_from(["jsonrpc", "result", "method", "params", "transaction", "meta", "value",
                                         "context", "slot", "signature", "logs", "err", "message", "accountKeys",
                                         "instructions", "innerInstructions", "programId", "program_id", "data",
                                         "accounts", "block", "transactions", "index", "stackHeight",
                                         "programIdIndex", "logMessages", "loadedAddresses", "id"]) | st.text(
                                             max_size=8), children, max_size=6)),
    max_leaves=40)


@SETTINGS
@given(JSON)
def test_decode_document_random_json(doc):
    _only_decode_errors(decode_document, doc)
    _only_decode_errors(decode_transaction, doc)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


DOC_PATHS = [(i, p) for i, d in enumerate(FIXTURE_DOCS) for p in _paths(d)]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(DOC_PATHS), JSON), min_size=1, max_size=3))
def test_decode_document_mutated_fixtures(edits):
    docs = {}
    for (i, path), value in edits:
        doc = docs.setdefault(i, copy.deepcopy(FIXTURE_DOCS[i]))
        node = doc
        try:
            for step in path[:-1]:
                node = node[step]
            if path:
                node[path[-1]] = value
            else:
                docs[i] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed this path
    for doc in docs.values():
        _only_decode_errors(decode_document, doc)


@SETTINGS
@given(st.binary(max_size=1300))
def test_base64_transaction_random_bytes(raw):
    r = copy.deepcopy(load_fixture(BUY_SELL_TX)["result"])
    r["transaction"] = [base64.b64encode(raw).decode(), "base64"]
    _only_decode_errors(decode_transaction, r)


@SETTINGS
@given(st.text(max_size=200))
def test_base58_random_text(text):
    try:
        raw = b58decode(text)
    except DecodeError:
        return
    assert b58encode(raw) == text  # whatever decodes re-encodes to the same text


def test_documents_survive_a_json_round_trip():
    for doc in FIXTURE_DOCS:
        json.loads(json.dumps(doc))  # sanity: the fixtures are plain JSON (the CLI reads them that way)


# --- the fast (one-read) paths agree with the IDL field order for any values --------------------------------------

U64 = st.integers(0, 2**64 - 1)
KEYS = st.sampled_from(ACCOUNTS)


@SETTINGS
@given(st.fixed_dictionaries({
    "mint": KEYS, "sol": U64, "tokens": U64, "is_buy": st.booleans(), "user": KEYS,
    "ts": st.integers(-2**63, 2**63 - 1),
    "vsol": U64, "vtok": U64, "rsol": U64, "rtok": U64, "fee_bps": U64, "fee": U64, "creator": KEYS,
    "creator_bps": U64, "creator_fee": U64, "ix_name": st.text(max_size=30), "holders": st.integers(0, 5),
    "quote": st.one_of(st.none(), KEYS), "q_amount": U64, "vq": U64, "rq": U64}))
def test_current_trade_event_any_values(v):
    from pipelines.chain.borsh import Writer
    wr = Writer().raw(P.PUMP_EV_TRADE).pubkey(v["mint"]).u64(v["sol"]).u64(v["tokens"]).bool(v["is_buy"])
    wr.pubkey(v["user"]).i64(v["ts"]).u64(v["vsol"]).u64(v["vtok"]).u64(v["rsol"]).u64(v["rtok"])
    wr.pubkey(key(1)).u64(v["fee_bps"]).u64(v["fee"]).pubkey(v["creator"]).u64(v["creator_bps"]).u64(v["creator_fee"])
    wr.bool(True).u64(1).u64(2).u64(3).i64(4).string(v["ix_name"]).bool(False).u64(0).u64(0).u64(0).u64(0)
    wr.u32(v["holders"])
    for i in range(v["holders"]):
        wr.pubkey(key(i)).u16(100)
    wr.raw(bytes(32) if v["quote"] is None else bytes(P.pk(v["quote"]))).u64(v["q_amount"]).u64(v["vq"]).u64(v["rq"])
    t = decode_event(P.PUMP, wr.u64(0).u64(0).bytes(), "s", 1, 1)
    sol_quoted = v["quote"] in (None, P.WSOL_MINT)
    assert (t.mint, t.sol_amount, t.token_amount, t.side, t.user, t.timestamp) == \
        (v["mint"], v["sol"], v["tokens"], "buy" if v["is_buy"] else "sell", v["user"], v["ts"])
    assert (t.virtual_token_reserves, t.real_token_reserves) == (v["vtok"], v["rtok"])
    expected_sol_side = (v["vsol"], v["rsol"]) if sol_quoted else (v["vq"], v["rq"])
    assert (t.virtual_sol_reserves, t.real_sol_reserves) == expected_sol_side
    assert (t.fee_basis_points, t.fee, t.creator, t.creator_fee_basis_points, t.creator_fee) == \
        (v["fee_bps"], v["fee"], v["creator"], v["creator_bps"], v["creator_fee"])
    assert t.ix_name == v["ix_name"]
    assert (t.quote_mint, t.quote_amount) == ((P.WSOL_MINT, v["sol"]) if sol_quoted else (v["quote"], v["q_amount"]))


@SETTINGS
@given(st.fixed_dictionaries({
    "name": st.text(max_size=40), "symbol": st.text(max_size=12), "uri": st.text(max_size=200), "mint": KEYS,
    "curve": KEYS, "user": KEYS, "creator": KEYS, "ts": st.integers(-2**63, 2**63 - 1), "vtok": U64, "vsol": U64,
    "rtok": U64, "supply": U64, "token_program": st.sampled_from([P.TOKEN, P.TOKEN_2022]), "mayhem": st.booleans(),
    "quote": st.one_of(st.none(), KEYS), "vq": U64}))
def test_current_create_event_any_values(v):
    from pipelines.chain.borsh import Writer
    wr = Writer().raw(P.PUMP_EV_CREATE).string(v["name"]).string(v["symbol"]).string(v["uri"])
    wr.pubkey(v["mint"]).pubkey(v["curve"]).pubkey(v["user"]).pubkey(v["creator"]).i64(v["ts"])
    wr.u64(v["vtok"]).u64(v["vsol"]).u64(v["rtok"]).u64(v["supply"]).pubkey(v["token_program"]).bool(v["mayhem"])
    wr.bool(False).raw(bytes(32) if v["quote"] is None else bytes(P.pk(v["quote"]))).u64(v["vq"]).u64(0).bool(False)
    launch = decode_event(P.PUMP, wr.bytes(), "s", 1, 1)
    sol_quoted = v["quote"] in (None, P.WSOL_MINT)
    assert (launch.name, launch.symbol, launch.uri) == (v["name"], v["symbol"], v["uri"])
    assert (launch.mint, launch.bonding_curve, launch.user, launch.creator) == \
        (v["mint"], v["curve"], v["user"], v["creator"])
    assert (launch.timestamp, launch.virtual_token_reserves, launch.real_token_reserves, launch.token_total_supply) \
        == (v["ts"], v["vtok"], v["rtok"], v["supply"])
    assert launch.virtual_sol_reserves == (v["vsol"] if sol_quoted else v["vq"])
    assert (launch.token_program, launch.is_mayhem_mode) == (v["token_program"], v["mayhem"])
    assert launch.quote_mint == (P.WSOL_MINT if sol_quoted else v["quote"])
