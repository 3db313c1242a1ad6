"""pipelines/stream_input.py: every provider input is a typed value or a Reject with its metric label, never an
exception. The valid notification is a real one: the 2024 pump.fun create from /work/shared/fixtures, as a
logsNotification carries it."""
from __future__ import annotations

import copy
import json

import pytest

from actors.ingest import IngestCore
from pipelines.stream_input import (MAX_FRAME_BYTES, MAX_LOG_LINES, LogsNote, Reject, SubscribeReply, json_depth_within,
                                    parse_frame, read_notification, read_subscribe_reply, signature_entries,
                                    transaction_result)
from tests.conftest import load_fixture

PUMP = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
SUBS = {11: PUMP}


@pytest.fixture(scope="module")
def note(fixtures_dir):
    r = load_fixture("pumpfun/create_2024_getTransaction_jsonParsed.json")["result"]
    return {"jsonrpc": "2.0", "method": "logsNotification", "params": {"subscription": 11, "result": {
        "context": {"slot": r["slot"]},
        "value": {"signature": r["transaction"]["signatures"][0], "err": None, "logs": r["meta"]["logMessages"]}}}}


def with_value(note, **changes):
    n = copy.deepcopy(note)
    n["params"]["result"]["value"].update(changes)
    return n


def test_a_real_notification_reads_as_its_fields(note):
    got = read_notification(note, SUBS)
    value = note["params"]["result"]["value"]
    assert got == LogsNote(PUMP, value["signature"], 284682639, None, value["logs"])
    assert got.logs is value["logs"]                      # checked, not copied
    assert read_notification(note, None).program == ""    # raw notifications: any subscription


@pytest.mark.parametrize("change,kind", [
    ({"logs": [1, 2, 3]}, Reject.SHAPE),                  # the user's report
    ({"logs": ["ok", None]}, Reject.SHAPE),
    ({"logs": None}, Reject.SHAPE),
    ({"logs": "Program log: one string"}, Reject.SHAPE),
    ({"logs": ["x"] * (MAX_LOG_LINES + 1)}, Reject.SHAPE),
    ({"logs": ["x" * 40_000]}, Reject.SHAPE),
    ({"signature": ["5" * 88]}, Reject.SHAPE),            # a list as signature
    ({"signature": None}, Reject.SHAPE),
    ({"signature": "0OIl" * 22}, Reject.SHAPE),           # not base58
    ({"signature": "abc"}, Reject.SHAPE),                 # too short for a signature
    ({"err": {"InstructionError": [0, json.loads("[" * 20 + "]" * 20)]}}, Reject.DEPTH),   # 22 deep
])
def test_each_bad_value_is_rejected_with_its_kind(note, change, kind):
    assert read_notification(with_value(note, **change), SUBS) is kind


def test_slot_must_be_a_non_negative_int_and_not_a_bool(note):
    for slot in (True, -1, 1.5, "284682639", None):
        n = copy.deepcopy(note)
        n["params"]["result"]["context"]["slot"] = slot
        assert read_notification(n, SUBS) is Reject.SHAPE, slot


def test_unknown_subscription_and_broken_envelopes(note):
    n = copy.deepcopy(note)
    n["params"]["subscription"] = 12
    assert read_notification(n, SUBS) is Reject.UNKNOWN_SUB
    for broken in ([], 5, {"method": "logsNotification"}, {"method": "logsNotification", "params": []},
                   {"method": "slotNotification", "params": note["params"]},
                   {"method": "logsNotification", "params": {"subscription": "11", "result": {}}},
                   {"method": "logsNotification", "params": {"subscription": 11, "result": {"context": None}}}):
        assert read_notification(broken, SUBS) is Reject.SHAPE, broken


def test_a_rejected_notification_never_reaches_the_dedupe_or_the_cursor(note):
    """The order that matters: check first, then accept. The launch's own signature in a bad message must not
    make the good one a duplicate."""
    core = IngestCore(1)
    bad = with_value(note, logs=[1, 2, 3])
    bad["params"]["result"]["context"]["slot"] = 10**12
    for msg in (bad, note):
        got = read_notification(msg, SUBS)
        if isinstance(got, LogsNote):
            assert core.accept(got.program, got.signature, got.slot, got.err)
    assert core.stats["duplicates"] == 0
    assert core.gaps.cursor(PUMP).last_slot == 284682639


def test_frames():
    assert parse_frame('{"a": 1}') == {"a": 1}
    assert parse_frame("{not json") is Reject.JSON
    assert parse_frame("[1, 2]") is Reject.JSON
    assert parse_frame(b"{}") is Reject.JSON                     # a binary frame's payload
    assert parse_frame("[" * 100_000 + "]" * 100_000) is Reject.DEPTH
    assert parse_frame(" " * (MAX_FRAME_BYTES + 1)) is Reject.SIZE
    nested = {"a": [1, {"b": []}]}                               # object, array, object, array: 4 deep
    assert json_depth_within(nested, 4) and not json_depth_within(nested, 3) and json_depth_within(7, 0)


def test_subscribe_replies():
    pending = {1: PUMP}
    assert read_subscribe_reply({"jsonrpc": "2.0", "id": 1, "result": 42}, pending) == SubscribeReply(1, 42)
    assert read_subscribe_reply({"id": 1, "error": {"code": -32602}}, pending) == SubscribeReply(1, None,
                                                                                                 {"code": -32602})
    for garbage in ("abc", None, True, -1, [4], 1.5):
        assert read_subscribe_reply({"id": 1, "result": garbage}, pending) is Reject.SUBSCRIBE, garbage
    assert read_subscribe_reply({"id": 2, "result": 42}, pending) is None      # not ours: someone else's reply
    assert read_subscribe_reply({"method": "logsNotification"}, pending) is None
    assert read_subscribe_reply([1], pending) is Reject.JSON


def test_signature_pages_and_transactions():
    good = {"signature": "5" * 88, "slot": 3, "err": None, "memo": None, "blockTime": 1}
    entries, bad = signature_entries([good, "garbage", {"signature": [1], "slot": 3}, {"signature": "5" * 88},
                                      {"signature": "5" * 88, "slot": False}, None])
    assert entries == [{"signature": "5" * 88, "slot": 3, "err": None}] and bad == 5
    assert signature_entries(None) == ([], 0)
    with pytest.raises(ValueError):
        signature_entries({"not": "a page"})
    assert transaction_result(None) is None and transaction_result({"slot": 1}) == {"slot": 1}
    assert transaction_result([1, 2, 3]) is Reject.TRANSACTION and transaction_result("tx") is Reject.TRANSACTION


def test_decode_batch_survives_any_item():
    """IngestCore.decode_batch: a malformed item is counted and skipped; the rest of the batch decodes."""
    r = load_fixture("pumpfun/create_2024_getTransaction_jsonParsed.json")["result"]
    good = (r["transaction"]["signatures"][0], r["slot"], r["meta"]["logMessages"])
    core = IngestCore(1)
    events, truncated = core.decode_batch([(1, 2), ("s", 1, [1, 2, 3]), ("s", 1, None), None, good])
    assert [e.kind for e in events] == ["launch", "trade"] and truncated == []
    assert core.stats["decode_errors"] == 4


def test_a_slot_far_past_the_chain_is_refused_once_the_chain_slot_is_known(note):
    """A real signature at slot 10**12 would pin its program's cursor in the future (no later notification moves
    it, and stream health would never see the program fall behind)."""
    far = copy.deepcopy(note)
    far["params"]["result"]["context"]["slot"] = 10**12
    assert read_notification(far, SUBS, chain_slot=284682700) is Reject.FUTURE_SLOT
    assert isinstance(read_notification(far, SUBS), LogsNote)                     # chain slot not known yet
    assert isinstance(read_notification(note, SUBS, chain_slot=284682600), LogsNote)   # a little ahead is fine


def test_backfill_order_skips_entries_it_cannot_read():
    from pipelines.ingest import BackfillPlan, backfill_order
    plan = BackfillPlan(program=PUMP, until="C" * 88, min_slot=5)
    page = [{"signature": "B" * 88, "slot": 7, "err": None}, "garbage", {"signature": None}, 5,
            {"signature": "A" * 88, "slot": 6, "err": None}, {"signature": "C" * 88, "slot": 5, "err": None}]
    assert [e["signature"][0] for e in backfill_order([page], plan)] == ["A", "B"]     # oldest first
