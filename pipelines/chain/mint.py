"""SPL Token and Token-2022 mints and token accounts: decode and encode, with Token-2022 TLV extensions.

Layouts (PROTOCOL.md "SPL mints", @solana/spl-token 0.4.15):
  Mint (82 bytes): COption<Pubkey> mint_authority (u32 tag + 32), supply u64 @36, decimals u8 @44,
                   is_initialized bool @45, COption<Pubkey> freeze_authority @46.
  Account (165):   mint @0, owner @32, amount u64 @64, COption<Pubkey> delegate @72, state u8 @108,
                   COption<u64> is_native @109, delegated_amount u64 @121, COption<Pubkey> close_authority @129.
  Token-2022:      base layout, zero padding up to 165, account type byte @165 (1 = mint, 2 = account), then TLV
                   entries (u16 type, u16 length, value) until the data ends or an Uninitialized (0) entry.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from . import programs as P
from .borsh import Reader, Writer, b58
from .errors import DecodeError

MINT_LEN = 82
ACCOUNT_LEN = 165
ACCOUNT_TYPE_MINT = 1
ACCOUNT_TYPE_ACCOUNT = 2

# Token-2022 extension type numbers (spl-token-2022 ExtensionType).
EXT_TRANSFER_FEE_CONFIG = 1
EXT_TRANSFER_FEE_AMOUNT = 2
EXT_MINT_CLOSE_AUTHORITY = 3
EXT_DEFAULT_ACCOUNT_STATE = 6
EXT_IMMUTABLE_OWNER = 7
EXT_NON_TRANSFERABLE = 9
EXT_PERMANENT_DELEGATE = 12
EXT_TRANSFER_HOOK = 14
EXT_METADATA_POINTER = 18
EXT_TOKEN_METADATA = 19
EXT_PAUSABLE = 26

# Extensions that let someone other than the holder take, tax, freeze or block the buyer's tokens.
RISKY_EXTENSIONS = {
    EXT_TRANSFER_FEE_CONFIG: "transfer_fee",
    EXT_MINT_CLOSE_AUTHORITY: "mint_close_authority",
    EXT_DEFAULT_ACCOUNT_STATE: "default_account_state",
    EXT_NON_TRANSFERABLE: "non_transferable",
    EXT_PERMANENT_DELEGATE: "permanent_delegate",
    EXT_TRANSFER_HOOK: "transfer_hook",
    EXT_PAUSABLE: "pausable",
}

_MINT = struct.Struct("<I32sQBBI32s")              # 82 bytes
_ACCOUNT = struct.Struct("<32s32sQI32sBIQQI32s")   # 165 bytes
_TLV = struct.Struct("<HH")
_ZERO32 = bytes(32)


@dataclass(frozen=True, slots=True)
class TokenMetadata:
    """Token-2022 TokenMetadata extension (spl-token-metadata-interface)."""
    update_authority: str | None
    mint: str
    name: str
    symbol: str
    uri: str
    additional: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class MintInfo:
    mint_authority: str | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: str | None
    program: str = P.TOKEN
    extensions: tuple[tuple[int, bytes], ...] = ()   # Token-2022 TLV entries in account order

    def extension(self, ext_type: int) -> bytes | None:
        for t, data in self.extensions:
            if t == ext_type:
                return data
        return None

    def has(self, ext_type: int) -> bool:
        return any(t == ext_type for t, _ in self.extensions)

    @property
    def transfer_fee(self) -> bool:
        return self.has(EXT_TRANSFER_FEE_CONFIG)

    @property
    def mint_close_authority(self) -> bool:
        return self.has(EXT_MINT_CLOSE_AUTHORITY)

    @property
    def permanent_delegate(self) -> bool:
        return self.has(EXT_PERMANENT_DELEGATE)

    @property
    def transfer_hook(self) -> bool:
        return self.has(EXT_TRANSFER_HOOK)

    @property
    def pausable(self) -> bool:
        return self.has(EXT_PAUSABLE)

    @property
    def risky_extensions(self) -> tuple[str, ...]:
        return tuple(RISKY_EXTENSIONS[t] for t, _ in self.extensions if t in RISKY_EXTENSIONS)

    @property
    def transfer_fee_bps(self) -> int:
        """The higher of the older/newer transfer fee rates (0 without the extension)."""
        data = self.extension(EXT_TRANSFER_FEE_CONFIG)
        if data is None or len(data) < 108:
            return 0
        # authority 32, withdraw authority 32, withheld u64, then two TransferFee {epoch u64, max u64, bps u16}
        older = struct.unpack_from("<H", data, 88)[0]
        newer = struct.unpack_from("<H", data, 106)[0]
        return max(older, newer)

    @property
    def metadata_pointer(self) -> tuple[str | None, str | None] | None:
        """(authority, metadata_address) of the MetadataPointer extension, or None."""
        data = self.extension(EXT_METADATA_POINTER)
        if data is None or len(data) != 64:
            return None
        return _opt_key(data[:32]), _opt_key(data[32:])

    @property
    def token_metadata(self) -> TokenMetadata | None:
        data = self.extension(EXT_TOKEN_METADATA)
        return None if data is None else decode_token_metadata(data)


def _opt_key(raw: bytes) -> str | None:
    """OptionalNonZeroPubkey: all zeros means None."""
    return None if raw == _ZERO32 else b58(raw)


def _coption_key(tag: int, raw: bytes, what: str) -> str | None:
    if tag == 0:
        return None
    if tag != 1:
        raise DecodeError(f"invalid COption tag {tag} for {what}")
    return b58(raw)


def _raw_key(key: str | None) -> bytes:
    if key is None:
        return _ZERO32
    try:
        return bytes(Pubkey.from_string(key))
    except ValueError as exc:
        raise ValueError(f"bad pubkey {key!r}: {exc}") from None


def _check_program(owner_program: str) -> None:
    if owner_program not in (P.TOKEN, P.TOKEN_2022):
        raise DecodeError(f"account owner {owner_program} is not a token program")


def _parse_tlv(data: bytes, start: int) -> tuple[tuple[int, bytes], ...]:
    out: list[tuple[int, bytes]] = []
    pos, n = start, len(data)
    while pos + 4 <= n:
        ext_type, length = _TLV.unpack_from(data, pos)
        if ext_type == 0:
            # Uninitialized marks the end of the written extensions; the rest must be unused (zero) space.
            if any(data[pos:]):
                raise DecodeError(f"non-zero bytes after the TLV end marker at offset {pos}")
            break
        end = pos + 4 + length
        if end > n:
            raise DecodeError(f"TLV entry type {ext_type} at offset {pos} overruns the account ({end} > {n})")
        out.append((ext_type, bytes(data[pos + 4:end])))
        pos = end
    else:
        # Token-2022 pads with up to 3 zero bytes (e.g. to avoid the Multisig length); anything else is garbage.
        if any(data[pos:]):
            raise DecodeError(f"{n - pos} trailing bytes after the last TLV entry")
    return tuple(out)


def _encode_tlv(extensions: tuple[tuple[int, bytes], ...]) -> bytes:
    parts = []
    for ext_type, value in extensions:
        if not 0 < ext_type <= 0xFFFF or len(value) > 0xFFFF:
            raise ValueError(f"bad extension ({ext_type}, {len(value)} bytes)")
        parts.append(_TLV.pack(ext_type, len(value)) + value)
    return b"".join(parts)


def _extensions_after_base(data: bytes, base_len: int, account_type: int, what: str):
    """Token-2022 tail: zero padding up to 165, the account type byte, then TLV."""
    if len(data) == base_len:
        return ()
    if len(data) <= ACCOUNT_LEN:
        raise DecodeError(f"{what}: {len(data)} bytes is neither {base_len} nor an extended account")
    if any(data[base_len:ACCOUNT_LEN]):
        raise DecodeError(f"{what}: non-zero padding before the account type byte")
    if data[ACCOUNT_LEN] != account_type:
        raise DecodeError(f"{what}: account type {data[ACCOUNT_LEN]}, expected {account_type}")
    return _parse_tlv(data, ACCOUNT_LEN + 1)


def decode_mint(data: bytes, owner_program: str = P.TOKEN) -> MintInfo:
    """A mint account owned by `owner_program` (SPL Token: exactly 82 bytes; Token-2022: may carry extensions)."""
    _check_program(owner_program)
    if len(data) < MINT_LEN:
        raise DecodeError(f"mint account too short: {len(data)} bytes")
    if owner_program == P.TOKEN and len(data) != MINT_LEN:
        raise DecodeError(f"SPL Token mint must be {MINT_LEN} bytes, got {len(data)}")
    ma_tag, ma, supply, decimals, initialized, fa_tag, fa = _MINT.unpack_from(data, 0)
    if initialized > 1:
        raise DecodeError(f"invalid is_initialized byte {initialized}")
    extensions = _extensions_after_base(data, MINT_LEN, ACCOUNT_TYPE_MINT, "Token-2022 mint")
    return MintInfo(
        mint_authority=_coption_key(ma_tag, ma, "mint_authority"), supply=supply, decimals=decimals,
        is_initialized=initialized == 1, freeze_authority=_coption_key(fa_tag, fa, "freeze_authority"),
        program=owner_program, extensions=extensions,
    )


def encode_mint(info: MintInfo) -> bytes:
    if info.program == P.TOKEN and info.extensions:
        raise ValueError("SPL Token mints cannot carry extensions")
    base = _MINT.pack(
        0 if info.mint_authority is None else 1, _raw_key(info.mint_authority), info.supply, info.decimals,
        1 if info.is_initialized else 0,
        0 if info.freeze_authority is None else 1, _raw_key(info.freeze_authority),
    )
    if not info.extensions:
        return base
    return base + bytes(ACCOUNT_LEN - MINT_LEN) + bytes((ACCOUNT_TYPE_MINT,)) + _encode_tlv(info.extensions)


def decode_token_metadata(data: bytes) -> TokenMetadata:
    """TokenMetadata TLV value: update_authority (OptionalNonZeroPubkey), mint, name, symbol, uri,
    additional_metadata Vec<(String, String)>; borsh strings. Hostile lengths raise DecodeError."""
    r = Reader(data)
    update_authority = r.pubkey()
    update_authority = None if update_authority == P.DEFAULT_PUBKEY else update_authority
    mint = r.pubkey()
    name, symbol, uri = r.string(), r.string(), r.string()
    count = r.u32()
    if count > r.remaining() // 8:    # every pair needs at least two u32 lengths
        raise DecodeError(f"additional_metadata count {count} exceeds the data")
    additional = tuple((r.string(), r.string()) for _ in range(count))
    return TokenMetadata(update_authority, mint, name, symbol, uri, additional)


def encode_token_metadata(meta: TokenMetadata) -> bytes:
    w = Writer().raw(_raw_key(meta.update_authority)).pubkey(meta.mint)
    w.string(meta.name).string(meta.symbol).string(meta.uri).u32(len(meta.additional))
    for k, v in meta.additional:
        w.string(k).string(v)
    return w.bytes()


# --- token accounts ---

ACCOUNT_STATES = ("uninitialized", "initialized", "frozen")


@dataclass(frozen=True, slots=True)
class TokenAccount:
    mint: str
    owner: str
    amount: int
    delegate: str | None = None
    state: int = 1                      # 0 uninitialized, 1 initialized, 2 frozen
    is_native: int | None = None        # rent-exempt reserve for wrapped SOL accounts
    delegated_amount: int = 0
    close_authority: str | None = None
    program: str = P.TOKEN
    extensions: tuple[tuple[int, bytes], ...] = ()

    @property
    def is_frozen(self) -> bool:
        return self.state == 2


def decode_token_account(data: bytes, owner_program: str = P.TOKEN) -> TokenAccount:
    _check_program(owner_program)
    if len(data) < ACCOUNT_LEN:
        raise DecodeError(f"token account too short: {len(data)} bytes")
    if owner_program == P.TOKEN and len(data) != ACCOUNT_LEN:
        raise DecodeError(f"SPL Token account must be {ACCOUNT_LEN} bytes, got {len(data)}")
    (mint, owner, amount, d_tag, delegate, state, n_tag, native, delegated, c_tag,
     close) = _ACCOUNT.unpack_from(data, 0)
    if state > 2:
        raise DecodeError(f"invalid account state {state}")
    if n_tag not in (0, 1):
        raise DecodeError(f"invalid COption tag {n_tag} for is_native")
    extensions: tuple[tuple[int, bytes], ...] = ()
    if len(data) > ACCOUNT_LEN:
        if data[ACCOUNT_LEN] != ACCOUNT_TYPE_ACCOUNT:
            raise DecodeError(f"token account type byte {data[ACCOUNT_LEN]}, expected {ACCOUNT_TYPE_ACCOUNT}")
        extensions = _parse_tlv(data, ACCOUNT_LEN + 1)
    return TokenAccount(
        mint=b58(mint), owner=b58(owner), amount=amount, delegate=_coption_key(d_tag, delegate, "delegate"),
        state=state, is_native=native if n_tag == 1 else None, delegated_amount=delegated,
        close_authority=_coption_key(c_tag, close, "close_authority"), program=owner_program,
        extensions=extensions,
    )


def encode_token_account(acc: TokenAccount) -> bytes:
    if acc.program == P.TOKEN and acc.extensions:
        raise ValueError("SPL Token accounts cannot carry extensions")
    base = _ACCOUNT.pack(
        _raw_key(acc.mint), _raw_key(acc.owner), acc.amount,
        0 if acc.delegate is None else 1, _raw_key(acc.delegate), acc.state,
        0 if acc.is_native is None else 1, acc.is_native or 0, acc.delegated_amount,
        0 if acc.close_authority is None else 1, _raw_key(acc.close_authority),
    )
    if not acc.extensions:
        return base
    return base + bytes((ACCOUNT_TYPE_ACCOUNT,)) + _encode_tlv(acc.extensions)
