"""The log fast path decodes base64 with pybase64: it must agree with the standard library's binascii.a2b_base64
(what Python itself and every earlier decode used) on every input, valid or not, error included."""
from __future__ import annotations

import base64
import binascii

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.chain import logs

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def outcome(fn, text: str):
    try:
        return fn(text)
    except (binascii.Error, ValueError) as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_valid_payloads_decode_identically(raw):
    text = base64.b64encode(raw).decode()
    assert logs._a2b(text) == binascii.a2b_base64(text) == raw


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET + "-_!. \n\té"), max_size=120))
def test_any_text_gives_the_same_bytes_or_the_same_error(text):
    assert outcome(logs._a2b, text) == outcome(binascii.a2b_base64, text)
