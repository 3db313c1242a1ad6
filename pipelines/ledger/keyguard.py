"""Refuse to persist anything shaped like a wallet secret key.

A Solana keypair is 64 bytes, usually written as base58 (87-88 characters, what Phantom exports) or as the
JSON array of 64 ints the Solana CLI writes to id.json. An operator pasting a key into a config change must
not leave it in the ledger file. Transaction signatures are also 64 bytes of base58; they are stored in order
and fill columns on purpose and never pass through this guard.
"""
from __future__ import annotations

import json
import re
from typing import Any

from solders.signature import Signature

_B58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]{80,90}")
_HEX = re.compile(r"(?:0x)?[0-9a-fA-F]{128}")


class SecretRefused(ValueError):
    """A value looked like a secret key. The message names where, never the value."""


def _is_key_bytes(value: list) -> bool:
    return len(value) == 64 and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255
                                    for b in value)


def looks_like_secret(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return _is_key_bytes(list(value))
    if not isinstance(value, str):
        return False
    s = value.strip()
    if _B58.fullmatch(s):
        try:
            Signature.from_string(s)  # succeeds exactly when s is base58 of 64 bytes
            return True
        except ValueError:
            return False
    if _HEX.fullmatch(s):
        return True
    if s.startswith("[") and s.endswith("]"):
        try:
            parsed = json.loads(s)
        except ValueError:
            return False
        return isinstance(parsed, list) and _is_key_bytes(parsed)
    return False


def refuse_secrets(value: Any, where: str = "value") -> None:
    """Walk dicts/lists; raise SecretRefused naming the path of the first key-like value."""
    if looks_like_secret(value):
        raise SecretRefused(f"{where} looks like a 64-byte secret key; refusing to store it")
    if isinstance(value, dict):
        for k, v in value.items():
            if looks_like_secret(k):
                raise SecretRefused(f"a key of {where} looks like a 64-byte secret key; refusing to store it")
            refuse_secrets(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            refuse_secrets(v, f"{where}[{i}]")
