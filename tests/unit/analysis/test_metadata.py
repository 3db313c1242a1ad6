"""Hostile token metadata: flagged with stable reasons, printable in a clean form."""
import pytest

from pipelines.analysis.metadata import check_metadata, display

P = "bad_metadata:"


def problems(name="Pepe", symbol="PEPE", uri="https://ipfs.io/ipfs/QmX"):
    return check_metadata(name, symbol, uri).problems


def test_clean_metadata_passes():
    m = check_metadata("Pepe Coin", "PEPE", "ipfs://bafkreigh2akiscaildc")
    assert m.ok and (m.name, m.symbol) == ("Pepe Coin", "PEPE")
    assert problems(uri="ar://abcDEF123") == ()
    assert problems(name="\U0001F438 Frog \u00e9t\u00e9", symbol="\u732b") == ()   # emoji, accents, CJK
    assert problems(name="PEPE\x00\x00\x00\x00") == ()                  # Metaplex NUL padding


def test_terminal_escape_sequences_are_control_characters():
    m = check_metadata("\x1b[2J\x1b[31mRUG", "A\nB", "https://x.io/a")
    assert m.problems == (P + "control_chars",)
    assert "\x1b" not in m.name and "\n" not in m.symbol
    assert m.name == "[2J [31mRUG" and m.symbol == "A B"


def test_right_to_left_override_is_flagged_and_removed():
    m = check_metadata("gpj\u202eexe.SAFE", "OK", "https://x.io")
    assert m.problems == (P + "bidi",)
    assert m.name == "gpjexe.SAFE"


def test_zero_width_characters_but_not_emoji_joiners():
    assert problems(name="PE\u200bPE") == (P + "zero_width",)
    assert problems(name="\ufeffPEPE") == (P + "zero_width",)
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"                # man ZWJ woman ZWJ girl
    assert problems(name=family) == ()
    assert display(family) == family


def test_combining_mark_floods():
    zalgo = "P" + "\u0301\u0302\u0303\u0304\u0305\u0306" + "EPE"
    assert problems(name=zalgo) == (P + "combining_flood",)
    # at most 3 marks kept, then NFC composes P + acute into U+1E54
    assert display(zalgo) == "\u1e54\u0302\u0303EPE"


def test_ten_kilobyte_names_are_too_long_and_cut_for_display():
    m = check_metadata("A" * 10_240, "S" * 11, "https://x.io/" + "a" * 300)
    assert m.problems == (P + "too_long_name", P + "too_long_symbol", P + "too_long_uri")
    assert len(m.name) == 32 and m.name.endswith("\u2026")


def test_limits_are_in_utf8_bytes():
    assert problems(name="\u00e9" * 16) == ()                            # 32 bytes
    assert problems(name="\u00e9" * 17) == (P + "too_long_name",)        # 34 bytes, 17 characters


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<script>",
                                 "http://x.io/meta.json", "file:///etc/passwd", "ftp://x.io/a", "//x.io/a"])
def test_uri_schemes_outside_the_allow_list(uri):
    assert problems(uri=uri) == (P + "uri_scheme",)


@pytest.mark.parametrize("uri,reason", [
    ("https://good.io@evil.io/x.json", "uri_host"),
    ("https:///x.json", "uri_host"),
    ("https://[::1/x", "uri_malformed"),
    ("https://x.io/a b", "uri_malformed"),
    ("ipfs://", "uri_malformed"),
])
def test_uri_shape(uri, reason):
    assert problems(uri=uri) == (P + reason,)


def test_empty_and_non_text_fields():
    assert problems(name="   ", symbol="\u200b") == (P + "empty_name", P + "empty_symbol", P + "zero_width")
    m = check_metadata(b"bytes", None, 42)
    assert m.problems == (P + "not_text",) and (m.name, m.symbol, m.uri) == ("", "", "")


def test_reasons_come_in_a_fixed_order_each_once():
    m = check_metadata("\x07a\u202e\x07b\u200b", "\u202e", "javascript:x")
    # the symbol is nothing but an override: empty once cleaned
    assert m.problems == (P + "empty_symbol", P + "control_chars", P + "bidi", P + "zero_width", P + "uri_scheme")


def test_display_handles_anything():
    assert display(None) == "?"
    assert display("a\u2028b\u00a0c") == "a b c"                        # line separator and NBSP
    assert problems(name="a\u2028b") == (P + "control_chars",)          # a line break inside a log line
    assert display("\U000F0000priv") == "priv"                          # private use dropped


def _ascii_display(text: str, limit: int) -> str:
    """What the display rules say for ASCII: NULs trailing removed, controls (C0, DEL) become spaces,
    whitespace runs collapse to one space, ends trimmed, then cut with an ellipsis."""
    text = text.rstrip("\x00")
    clean = " ".join("".join(" " if c < " " or c == "\x7f" else c for c in text).split())
    return clean if len(clean) <= limit else clean[:max(limit - 1, 0)] + "\u2026"


def test_ascii_names_take_the_short_path_to_the_same_rules():
    from hypothesis import given, settings, strategies as st

    ascii_text = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=48)

    @settings(max_examples=300, deadline=None)
    @given(ascii_text, st.integers(0, 40))
    def check(text, limit):
        assert display(text, limit) == _ascii_display(text, limit)
        has_control = any(c < " " or c == "\x7f" for c in text.rstrip("\x00"))
        assert (P + "control_chars" in problems(name=text)) == has_control

    check()
    assert display("\x1b[31m  RUG\t\tNOW\x00\x00") == "[31m RUG NOW"
    assert problems(uri="https://x.io/a\u2003b") == (P + "uri_malformed",)    # an em space is whitespace too
    assert problems(uri="https://x.io/a\x1cb") == (P + "control_chars", P + "uri_malformed")
