"""A minimal Metaplex Token Metadata program: CreateMetadataAccountV3 only, which pump's `create` calls.

It writes a real MetadataV1 account (key 4, update authority, mint, name/symbol/uri padded to 32/10/200 as
Metaplex does, seller fee, no creators, primary_sale_happened, is_mutable) of the usual 679 bytes.
"""
from __future__ import annotations

from solders.pubkey import Pubkey

from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.borsh import Reader, Writer
from pipelines.chain.errors import DecodeError

from ..accounts import SYSTEM_ID, rent_exempt_minimum
from . import system
from .runtime import Frame, InstructionError, Program

METAPLEX_ID = Pubkey.from_string(P.METAPLEX_METADATA)
CREATE_METADATA_ACCOUNT_V3 = 33
METADATA_LEN = 679
KEY_METADATA_V1 = 4
MAX_NAME, MAX_SYMBOL, MAX_URI = 32, 10, 200


def _padded(w: Writer, s: str, n: int) -> None:
    raw = s.encode()
    w.u32(n).raw(raw + bytes(n - len(raw)))


def encode_metadata(*, update_authority: Pubkey, mint: Pubkey, name: str, symbol: str, uri: str,
                    seller_fee_basis_points: int = 0, is_mutable: bool = False) -> bytes:
    w = Writer().u8(KEY_METADATA_V1).raw(bytes(update_authority)).raw(bytes(mint))
    _padded(w, name, MAX_NAME)
    _padded(w, symbol, MAX_SYMBOL)
    _padded(w, uri, MAX_URI)
    w.u16(seller_fee_basis_points).u8(0)          # creators: None
    w.bool(False).bool(is_mutable)                # primary_sale_happened, is_mutable
    w.u8(0).u8(1).u8(2)                           # edition_nonce None, token_standard Some(Fungible)
    out = w.bytes()                               # collection, uses, ... None: the zero padding
    return out + bytes(METADATA_LEN - len(out))


def create_metadata_v3_data(name: str, symbol: str, uri: str, *, is_mutable: bool = False) -> bytes:
    w = Writer().u8(CREATE_METADATA_ACCOUNT_V3).string(name).string(symbol).string(uri)
    w.u16(0).u8(0).u8(0).u8(0)     # seller fee 0, creators None, collection None, uses None
    w.bool(is_mutable).u8(0)       # is_mutable, collection_details None
    return w.bytes()


def process(ctx: Frame) -> None:
    data = ctx.data
    if not data or data[0] != CREATE_METADATA_ACCOUNT_V3:
        ctx.log("simnet: only CreateMetadataAccountV3 is supported")
        raise InstructionError("InvalidInstructionData")
    ctx.log("IX: Create Metadata Accounts v3")
    ctx.consume(30_000)
    try:
        r = Reader(data, 1)
        name, symbol, uri = r.string(), r.string(), r.string()
        fee = r.u16()
        if r.u8() or r.u8() or r.u8():
            raise InstructionError("InvalidInstructionData")   # creators / collection / uses not modelled
        is_mutable = r.bool()
    except DecodeError:
        raise InstructionError("InvalidInstructionData") from None
    if len(name.encode()) > MAX_NAME or len(symbol.encode()) > MAX_SYMBOL or len(uri.encode()) > MAX_URI:
        raise InstructionError({"Custom": 11})   # NameTooLong / SymbolTooLong / UriTooLong family
    ctx.need(5)   # metadata, mint, mint_authority, payer, update_authority (+ system, rent)
    metadata, mint, mint_authority, payer, update_authority = ctx.keys[:5]
    if metadata != pda.metadata(mint):
        raise InstructionError({"Custom": 5})    # InvalidMetadataKey
    ctx.require_signer(2)
    if ctx.acc(1).data[4:36] != bytes(mint_authority):
        raise InstructionError({"Custom": 17})   # InvalidMintAuthority
    if ctx.acc(0).lamports:
        raise InstructionError({"Custom": 0})    # already initialized
    ctx.invoke(SYSTEM_ID, [(payer, True, True), (metadata, True, True)],
               system.create_account_data(rent_exempt_minimum(METADATA_LEN), METADATA_LEN, METAPLEX_ID),
               pda_signers=(metadata,))
    ctx.set_data(0, encode_metadata(update_authority=update_authority, mint=mint, name=name, symbol=symbol,
                                      uri=uri, seller_fee_basis_points=fee, is_mutable=is_mutable))


PROGRAM = Program("mpl-token-metadata", process)
