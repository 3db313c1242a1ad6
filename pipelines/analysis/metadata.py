"""Token name / symbol / URI from hostile chains: what is wrong with them, and a form safe to print.

Anyone can create a token with any strings. Limits follow Metaplex (name 32, symbol 10, URI 200 bytes), which
the pump.fun create path enforces; a longer string means a path that skipped them. Problems are reported as
stable machine strings ("bad_metadata:<what>"), each at most once, in a fixed order:

  too_long_name / too_long_symbol / too_long_uri   over the byte limits
  empty_name / empty_symbol                        nothing printable
  control_chars      C0/C1 controls and line/paragraph separators (ESC, NUL inside the text, newlines:
                     terminal and log injection)
  bidi               bidirectional overrides/isolates/marks (RTL-override spoofing: "gpj.exe")
  zero_width         zero-width spaces/joiners/BOM (invisible look-alikes); a joiner inside an emoji is fine
  format_chars       other invisible format characters, unpaired surrogates, noncharacters
  combining_flood    more than 3 combining marks on one character ("zalgo" text that overprints lines)
  uri_scheme         a scheme outside https / ipfs / ar (javascript:, data:, file:, http:, ...)
  uri_host           https without a host, or with credentials ("https://good.com@evil.com")
  uri_malformed      not parseable as a URI, or containing whitespace

Trailing NULs are removed first: Metaplex metadata accounts pad names with them.
Strings that are not `str` (bytes, None, numbers) get "bad_metadata:not_text". Non-UTF-8 is rejected upstream.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_NAME_BYTES = 32
MAX_SYMBOL_BYTES = 10
MAX_URI_BYTES = 200
ALLOWED_SCHEMES = frozenset({"https", "ipfs", "ar"})
MAX_COMBINING_RUN = 3
_SCAN_LIMIT = 4096          # characters examined per field: a 10 MB name costs no more than a 4 KB one

BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
_ZWJ = "\u200d"
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn"})      # emoji, skin-tone modifiers, variation selectors

PROBLEM_ORDER = (
    "not_text", "too_long_name", "too_long_symbol", "too_long_uri", "empty_name", "empty_symbol",
    "control_chars", "bidi", "zero_width", "format_chars", "combining_flood",
    "uri_scheme", "uri_host", "uri_malformed",
)
PREFIX = "bad_metadata:"
_has_space = re.compile(r"\s").search
_ASCII_CONTROLS_TO_SPACE = {c: " " for c in (*range(0x20), 0x7F)}


@dataclass(frozen=True, slots=True)
class MetadataCheck:
    name: str                       # display forms: safe to log or print in a terminal
    symbol: str
    uri: str
    problems: tuple[str, ...]       # "bad_metadata:..." reasons, empty when clean

    @property
    def ok(self) -> bool:
        return not self.problems


def _char_problems(text: str, found: set[str]) -> None:
    head = text[:_SCAN_LIMIT]
    if head.isascii():          # most names: the only possible problem is a control character
        if not head.isprintable():
            found.add("control_chars")
        return
    run = 0
    n = min(len(text), _SCAN_LIMIT)
    for i in range(n):
        ch = text[i]
        if ch.isascii():
            if ch < " " or ch == "\x7f":
                found.add("control_chars")
            run = 0
            continue
        cat = unicodedata.category(ch)
        if cat == "Mn" or cat == "Me":
            run += 1
            if run > MAX_COMBINING_RUN:
                found.add("combining_flood")
            continue
        run = 0
        if cat in ("Cc", "Zl", "Zp"):
            found.add("control_chars")
        elif ch in BIDI:
            found.add("bidi")
        elif ch in ZERO_WIDTH:
            if not (ch == _ZWJ and _inside_emoji(text, i)):
                found.add("zero_width")
        elif cat in ("Cf", "Cs") or (cat == "Cn" and (ord(ch) & 0xFFFE == 0xFFFE or 0xFDD0 <= ord(ch) <= 0xFDEF)):
            found.add("format_chars")


def _inside_emoji(text: str, i: int) -> bool:
    """A zero-width joiner between two emoji (family, profession and flag sequences use it)."""
    if i == 0 or i + 1 >= len(text):
        return False
    return (unicodedata.category(text[i - 1]) in _EMOJI_CATEGORIES
            and unicodedata.category(text[i + 1]) == "So")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _uri_problems(uri: str, found: set[str]) -> None:
    if not uri:
        return
    if _has_space(uri, 0, _SCAN_LIMIT):      # \s is str.isspace (re matches every Unicode space)
        found.add("uri_malformed")
    try:
        parts = urlsplit(uri[:_SCAN_LIMIT])
    except ValueError:
        found.add("uri_malformed")
        return
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        found.add("uri_scheme")
        return
    if scheme == "https":
        try:
            host = parts.hostname
            has_credentials = parts.username is not None or parts.password is not None
        except ValueError:
            found.add("uri_malformed")
            return
        if not host or has_credentials:
            found.add("uri_host")
    elif not (parts.netloc or parts.path.strip("/")):
        found.add("uri_malformed")          # "ipfs://" with no content id


def display(text: object, limit_chars: int = 32) -> str:
    """A printable single-line form: controls, bidi, zero-width and format characters removed (an emoji
    joiner kept), combining runs capped, whitespace collapsed, NFC-normalized, cut to `limit_chars`."""
    if not isinstance(text, str):
        return "?"
    text = text[:_SCAN_LIMIT].rstrip("\x00")
    if text.isascii():         # the loop below for ASCII: controls become spaces; NFC changes nothing
        clean = " ".join(text.translate(_ASCII_CONTROLS_TO_SPACE).split())
        if len(clean) > limit_chars:
            clean = clean[: max(limit_chars - 1, 0)] + "\u2026"
        return clean
    out: list[str] = []
    run = 0
    for i, ch in enumerate(text):
        if ch.isascii():
            run = 0
            if ch < " " or ch == "\x7f":
                ch = " "
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me"):
            run += 1
            if run <= MAX_COMBINING_RUN:
                out.append(ch)
            continue
        run = 0
        if ch in ZERO_WIDTH:
            if ch == _ZWJ and _inside_emoji(text, i):
                out.append(ch)
            continue
        if ch in BIDI or cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        if cat.startswith("Z"):
            ch = " "
        out.append(ch)
    clean = " ".join("".join(out).split())
    clean = unicodedata.normalize("NFC", clean)
    if len(clean) > limit_chars:
        clean = clean[: max(limit_chars - 1, 0)] + "\u2026"
    return clean


def check_metadata(name: object, symbol: object, uri: object) -> MetadataCheck:
    found: set[str] = set()
    fields = []
    for value, limit, label in ((name, MAX_NAME_BYTES, "name"), (symbol, MAX_SYMBOL_BYTES, "symbol"),
                                (uri, MAX_URI_BYTES, "uri")):
        if not isinstance(value, str):
            found.add("not_text")
            fields.append("")
            continue
        value = value.rstrip("\x00")
        fields.append(value)
        if _utf8_len(value[: limit * 4 + 1]) > limit:
            found.add(f"too_long_{label}")
        _char_problems(value, found)
    name_s, symbol_s, uri_s = fields
    if isinstance(name, str) and not display(name_s):
        found.add("empty_name")
    if isinstance(symbol, str) and not display(symbol_s):
        found.add("empty_symbol")
    _uri_problems(uri_s, found)
    problems = tuple(PREFIX + p for p in PROBLEM_ORDER if p in found)
    return MetadataCheck(display(name_s, 32), display(symbol_s, 16), display(uri_s, 120), problems)
