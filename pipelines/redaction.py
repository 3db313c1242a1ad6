"""Remove secrets from text before it is logged, alerted or raised.

What counts as a secret here:
- a Solana keypair in base58 (64 bytes whose second half is the public key of the first half; a transaction
  signature is also 64 bytes of base58 but fails that check, so signatures stay readable in the trade log),
- a JSON / Python list of 64 small ints (the Solana CLI keypair file format),
- 128 hex characters (64 raw bytes in hex),
- `Bearer <token>`, Telegram bot tokens (`123456:AA...`), and `api-key=` / `token=` style URL parameters,
- any exact string registered as a secret (the API token, the bot token, the loaded wallet's encodings).

Pure text in, text out; `Redactor` holds only the registered secrets.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

_B58_64 = re.compile(r"(?<![1-9A-HJ-NP-Za-km-z])[1-9A-HJ-NP-Za-km-z]{85,90}(?![1-9A-HJ-NP-Za-km-z])")
_INT_ARRAY_64 = re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*,?\s*\]")
_HEX_64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{128}(?![0-9a-fA-F])")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_BOT_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}")
_URL_SECRET_PARAM = re.compile(r"(?i)([?&](?:api[-_]?key|token|access[-_]?token|key|secret)=)[^&#\s\"']+")


def is_keypair_base58(text: str) -> bool:
    """True when `text` decodes to 64 bytes that form a valid ed25519 keypair (secret then public key)."""
    from solders.keypair import Keypair

    try:
        Keypair.from_base58_string(text)
    except Exception:  # noqa: BLE001 - solders raises ValueError for every malformed input
        return False
    return True


def _drop_keypairs(text: str) -> str:
    return _B58_64.sub(lambda m: REDACTED if is_keypair_base58(m.group(0)) else m.group(0), text)


def redact_patterns(text: str) -> str:
    """Redact everything that looks like a secret, without knowing any secret in advance."""
    if not text:
        return text
    text = _INT_ARRAY_64.sub(REDACTED, text)
    text = _HEX_64.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _BOT_TOKEN.sub(REDACTED, text)
    text = _URL_SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    if len(text) >= 85:
        text = _drop_keypairs(text)
    return text


class Redactor:
    """Pattern redaction plus exact known secrets (longest first, so a secret containing another goes whole)."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        # Very short strings would shred ordinary text; a real token is never that short.
        new = {s for s in secrets if isinstance(s, str) and len(s) >= 6}
        self._secrets = tuple(sorted(set(self._secrets) | new, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        if not isinstance(text, str) or not text:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact_patterns(text)

    def value(self, obj):
        """Redact inside a log record's extra value: strings, lists of 64 ints, nested lists/dicts."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, (bytes, bytearray)):
            return REDACTED if len(obj) == 64 else obj.hex()
        if isinstance(obj, (list, tuple)):
            if len(obj) == 64 and all(isinstance(x, int) and 0 <= x < 256 for x in obj):
                return REDACTED
            return [self.value(x) for x in obj]
        if isinstance(obj, dict):
            return {str(k): self.value(v) for k, v in obj.items()}
        return obj
