"""Hostile notification variants, each built from a real notification's result: what each kind breaks."""
from __future__ import annotations

import json

import pytest

from simnet.faults import Faults
from simnet.hostile import KINDS, UNKNOWN_SUBSCRIPTION, binary_frame, variant

LOGS = json.dumps({"context": {"slot": 7}, "value": {"err": None, "logs": ["Program log: hi"], "signature": "S"}})
SLOT = json.dumps({"parent": 6, "root": 0, "slot": 7})


def test_logs_kinds_break_exactly_the_named_field():
    note = json.loads(variant("logs_not_strings", "logsNotification", LOGS, 5))
    assert note["params"] == {"result": {"context": {"slot": 7}, "value": {"err": None, "logs": [1, 2, 3],
                                                                         "signature": "S"}}, "subscription": 5}
    assert isinstance(json.loads(variant("signature_list", "logsNotification", LOGS, 5))
                      ["params"]["result"]["value"]["signature"], list)
    assert json.loads(variant("null_logs", "logsNotification", LOGS, 5))["params"]["result"]["value"]["logs"] is None
    assert json.loads(variant("null_value", "logsNotification", LOGS, 5))["params"]["result"]["value"] is None


def test_other_notifications_get_a_value_of_the_wrong_type():
    for kind in ("logs_not_strings", "signature_list", "null_logs"):
        note = json.loads(variant(kind, "slotNotification", SLOT, 9))
        assert note["params"]["result"]["value"] == [1, 2, 3] and note["params"]["subscription"] == 9


def test_frame_level_kinds():
    with pytest.raises(ValueError):
        json.loads(variant("garbage_text", "logsNotification", LOGS, 5))
    assert json.loads(variant("unknown_subscription", "logsNotification", LOGS, 5))["params"]["subscription"] \
        == UNKNOWN_SUBSCRIPTION
    with pytest.raises(RecursionError):
        json.loads(variant("deep_nesting", "logsNotification", LOGS, 5))
    raw = variant("binary_frame", "logsNotification", LOGS, 5)
    assert isinstance(raw, bytes) and raw[0] == 0x82 and raw[1] == 126          # binary, 16-bit length
    assert json.loads(raw[4:])["params"]["subscription"] == 5
    assert binary_frame(b"x")[:2] == bytes((0x82, 1)) and binary_frame(b"x" * 70_000)[1] == 127
    with pytest.raises(ValueError):
        variant("nope", "logsNotification", LOGS, 5)


def test_each_subscription_cycles_through_the_kinds_from_the_first():
    faults = Faults({"malformed_notifications": 1.0})
    first = [faults.malformed_kind(1) for _ in KINDS]
    assert first == list(KINDS)
    assert faults.malformed_kind(2) == KINDS[0]               # another subscription starts its own cycle
    assert faults.malformed_kind(1) == KINDS[0]               # and the first one wraps around
    faults.configure({"malformed_notifications": 1.0, "malformed_kinds": ["huge_frame", "null_value"]})
    assert [faults.malformed_kind(1) for _ in range(3)] == ["huge_frame", "null_value", "huge_frame"]


def test_a_dropped_signature_stays_dropped_and_a_delay_is_per_send():
    faults = Faults({"drop_transactions": 1.0})
    assert faults.transaction_fate("a") == -1
    faults.configure({"drop_transactions": 0.0, "land_delay_slots": 3})
    assert faults.transaction_fate("a") == -1 and faults.transaction_fate("b") == 3
    assert faults.fired["dropped_transactions"] == 1 and faults.fired["delayed_transactions"] == 1
