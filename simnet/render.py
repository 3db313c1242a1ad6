"""Accounts and stored transactions rendered exactly as Solana's RPC shows them.

Accounts: `binary` (legacy base58 string), `base58`, `base64` and `jsonParsed` (token accounts and mints;
anything else falls back to base64, as Agave does), with `dataSlice`.
Transactions (getTransaction): `json`, `jsonParsed`, `base64`, `base58`; see tx_render.py.
"""
from __future__ import annotations

import base64

from pipelines.chain.base58 import b58encode
from .rpc import INVALID_REQUEST, RpcError, invalid_params
from .token_data import parse_token_data

MAX_BASE58_BYTES = 128
ACCOUNT_ENCODINGS = ("binary", "base58", "base64", "jsonParsed", "base64+zstd")


def data_slice(cfg: dict) -> tuple[int, int] | None:
    s = cfg.get("dataSlice")
    if s is None:
        return None
    if not isinstance(s, dict):
        raise invalid_params("Invalid params: invalid type, expected struct UiDataSliceConfig.")
    offset, length = s.get("offset"), s.get("length")
    for name, v in (("offset", offset), ("length", length)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise invalid_params(f"Invalid params: missing or invalid field `{name}`.")
    return offset, length


def check_slice_and_encoding(encoding: str, sliced: tuple[int, int] | None) -> None:
    if encoding == "jsonParsed" and sliced is not None:
        raise RpcError(INVALID_REQUEST,
                       "Sliced account data can only be encoded using binary (base 58) or base64 encoding.")
    if encoding == "base64+zstd":
        # Python 3.11 has no zstd and the project carries no compressor: say so instead of faking it.
        raise invalid_params("Invalid params: base64+zstd encoding is not supported by simnet; use base64.")


def _sliced(data: bytes, sliced: tuple[int, int] | None) -> bytes:
    if sliced is None:
        return data
    offset, length = sliced
    return data[offset:offset + length]


def mint_decimals_from(get_account):
    """A `mint -> decimals | None` lookup over an account getter."""
    from .token_data import decode_mint

    def decimals(mint: str) -> int | None:
        acc = get_account(mint)
        if acc is None:
            return None
        m = decode_mint(str(acc.owner), bytes(acc.data))
        return None if m is None else m.decimals
    return decimals


def encode_data(data: bytes, owner: str, encoding: str, sliced, mint_decimals=None):
    if encoding == "jsonParsed":
        parsed = parse_token_data(owner, data, mint_decimals) if mint_decimals is not None else None
        if parsed is not None:
            return parsed
        encoding = "base64"
    body = _sliced(data, sliced)
    if encoding in ("binary", "base58"):
        if len(body) > MAX_BASE58_BYTES:
            raise RpcError(INVALID_REQUEST, f"Encoded binary (base 58) data should be less than "
                                            f"{MAX_BASE58_BYTES} bytes, please use Base64 encoding.")
        text = b58encode(body)
        return text if encoding == "binary" else [text, "base58"]
    return [base64.b64encode(body).decode("ascii"), "base64"]


def ui_account(account, encoding: str, sliced=None, mint_decimals=None) -> dict | None:
    """UiAccount, or None for a missing account."""
    if account is None:
        return None
    data = bytes(account.data)
    owner = str(account.owner)
    return {"data": encode_data(data, owner, encoding, sliced, mint_decimals), "executable": account.executable,
            "lamports": account.lamports, "owner": owner, "rentEpoch": account.rent_epoch, "space": len(data)}
