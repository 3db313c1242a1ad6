"""Refuse to persist anything shaped like a wallet secret key.

A Solana keypair is 64 bytes, usually written as base58 (87-88 characters, what Phantom exports) or as the
JSON array of 64 ints the Solana CLI writes to id.json. An operator pasting a key into a config change must
not leave it in the ledger file. Transaction signatures are also 64 bytes of base58 and are stored freely
(orders, fills, Ingest's cursors): a base58 or hex string counts as a key only when its 64 bytes form a real
ed25519 keypair (the second half is the public key of the first), the rule pipelines/redaction.py uses too.
"""
from __future__ import annotations

import json
import re
from typing import Any

from solders.keypair import Keypair

from pipelines.redaction import is_keypair_base58

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
        return is_keypair_base58(s)
    if _HEX.fullmatch(s):
        try:
            Keypair.from_bytes(bytes.fromhex(s.removeprefix("0x")))
            return True
        except ValueError:
            return False
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
