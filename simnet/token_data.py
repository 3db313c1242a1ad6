"""Token accounts and mints as Agave's account-decoder shows them (`jsonParsed`), on pipelines.chain.mint."""
from __future__ import annotations

from pipelines.chain import mint as M
from pipelines.chain import programs as P
from pipelines.chain.borsh import b58
from pipelines.chain.errors import DecodeError

from .parsed import ui_token_amount

TOKEN_PROGRAMS = {P.TOKEN: "spl-token", P.TOKEN_2022: "spl-token-2022"}


def token_kind(data: bytes) -> str | None:
    """'account', 'mint' or None for data owned by a token program (Token-2022 tags the type at byte 165)."""
    n = len(data)
    if n == M.ACCOUNT_LEN:
        return "account"
    if n == M.MINT_LEN:
        return "mint"
    if n > M.ACCOUNT_LEN:
        return {M.ACCOUNT_TYPE_MINT: "mint", M.ACCOUNT_TYPE_ACCOUNT: "account"}.get(data[M.ACCOUNT_LEN])
    return None


def decode_account(program_id: str, data: bytes) -> M.TokenAccount | None:
    if program_id not in TOKEN_PROGRAMS or token_kind(data) != "account":
        return None
    try:
        return M.decode_token_account(data, program_id)
    except DecodeError:
        return None


def decode_mint(program_id: str, data: bytes) -> M.MintInfo | None:
    if program_id not in TOKEN_PROGRAMS or token_kind(data) != "mint":
        return None
    try:
        info = M.decode_mint(data, program_id)
    except DecodeError:
        return None
    return info if info.is_initialized else None


def _account_info(acc: M.TokenAccount, decimals: int) -> dict:
    info: dict = {"isNative": acc.is_native is not None, "mint": acc.mint, "owner": acc.owner,
                  "state": M.ACCOUNT_STATES[acc.state], "tokenAmount": ui_token_amount(acc.amount, decimals)}
    if acc.delegate is not None:
        info["delegate"] = acc.delegate
        info["delegatedAmount"] = ui_token_amount(acc.delegated_amount, decimals)
    if acc.is_native is not None:
        info["rentExemptReserve"] = ui_token_amount(acc.is_native, decimals)
    if acc.close_authority is not None:
        info["closeAuthority"] = acc.close_authority
    return info


def _mint_info(m: M.MintInfo) -> dict:
    return {"decimals": m.decimals, "freezeAuthority": m.freeze_authority, "isInitialized": m.is_initialized,
            "mintAuthority": m.mint_authority, "supply": str(m.supply)}


def _b58(raw: bytes) -> str | None:
    """OptionalNonZeroPubkey: all zeros is None."""
    return None if raw == bytes(32) else b58(raw)


def _extension(kind: int, body: bytes) -> dict:
    """The extensions launchray meets, detailed as Agave does; the rest named `unparseableExtension`."""
    if kind == M.EXT_IMMUTABLE_OWNER:
        return {"extension": "immutableOwner"}
    if kind == M.EXT_NON_TRANSFERABLE:
        return {"extension": "nonTransferable"}
    if kind == M.EXT_MINT_CLOSE_AUTHORITY and len(body) >= 32:
        return {"extension": "mintCloseAuthority", "state": {"closeAuthority": _b58(body[:32])}}
    if kind == M.EXT_PERMANENT_DELEGATE and len(body) >= 32:
        return {"extension": "permanentDelegate", "state": {"delegate": _b58(body[:32])}}
    if kind == M.EXT_TRANSFER_HOOK and len(body) >= 64:
        return {"extension": "transferHook", "state": {"authority": _b58(body[:32]),
                                                       "programId": _b58(body[32:64])}}
    if kind == M.EXT_METADATA_POINTER and len(body) >= 64:
        return {"extension": "metadataPointer", "state": {"authority": _b58(body[:32]),
                                                          "metadataAddress": _b58(body[32:64])}}
    if kind == M.EXT_TOKEN_METADATA:
        try:
            meta = M.decode_token_metadata(body)
        except DecodeError:
            return {"extension": "unparseableExtension"}
        return {"extension": "tokenMetadata", "state": {
            "updateAuthority": meta.update_authority, "mint": meta.mint, "name": meta.name, "symbol": meta.symbol,
            "uri": meta.uri, "additionalMetadata": [list(kv) for kv in meta.additional]}}
    return {"extension": "unparseableExtension"}


def parse_token_data(program_id: str, data: bytes, mint_decimals) -> dict | None:
    """jsonParsed data of a token-program account, or None (the caller falls back to base64, as Agave does).

    `mint_decimals(mint) -> int | None` looks the mint up: a token account cannot be parsed without it.
    """
    program = TOKEN_PROGRAMS.get(program_id)
    kind = token_kind(data)
    if program is None or kind is None:
        return None
    if kind == "account":
        acc = decode_account(program_id, data)
        decimals = None if acc is None else mint_decimals(acc.mint)
        if decimals is None:
            return None
        info, extensions = _account_info(acc, decimals), acc.extensions
    else:
        try:
            m = M.decode_mint(data, program_id)
        except DecodeError:
            return None
        info, extensions = _mint_info(m), m.extensions
    if program_id == P.TOKEN_2022 and len(data) > M.ACCOUNT_LEN:
        info["extensions"] = [_extension(kind_, body) for kind_, body in extensions]
    return {"program": program, "parsed": {"info": info, "type": kind}, "space": len(data)}
