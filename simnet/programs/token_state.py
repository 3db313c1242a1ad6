"""SPL Token / Token-2022 account layouts, instruction tags and instruction data: what the token program
(token.py) and the programs that call it share. Raw struct offsets, not dataclasses: the hot path of every trade."""
from __future__ import annotations

import hashlib
import struct

from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.borsh import Writer

__all__ = [
    "TOKEN_ID", "TOKEN_2022_ID", "NATIVE_MINT", "MINT_LEN", "ACCOUNT_LEN", "ACCOUNT_TYPE_MINT",
    "ACCOUNT_TYPE_ACCOUNT", "EXT_IMMUTABLE_OWNER", "EXT_METADATA_POINTER", "EXT_TOKEN_METADATA",
    "IMMUTABLE_OWNER_ACCOUNT_LEN", "NOT_RENT_EXEMPT", "INSUFFICIENT_FUNDS", "INVALID_MINT", "MINT_MISMATCH",
    "OWNER_MISMATCH", "FIXED_SUPPLY", "ALREADY_IN_USE", "UNINITIALIZED_STATE", "INVALID_INSTRUCTION",
    "INVALID_STATE", "OVERFLOW", "NON_NATIVE_HAS_BALANCE", "AUTHORITY_TYPE_NOT_SUPPORTED", "MINT_CANNOT_FREEZE",
    "ACCOUNT_FROZEN", "MINT_DECIMALS_MISMATCH", "NON_NATIVE_NOT_SUPPORTED", "INITIALIZE_MINT",
    "INITIALIZE_ACCOUNT", "TRANSFER", "APPROVE", "REVOKE", "SET_AUTHORITY", "MINT_TO", "BURN", "CLOSE_ACCOUNT",
    "FREEZE_ACCOUNT", "THAW_ACCOUNT", "TRANSFER_CHECKED", "APPROVE_CHECKED", "MINT_TO_CHECKED", "BURN_CHECKED",
    "INITIALIZE_ACCOUNT2", "SYNC_NATIVE", "INITIALIZE_ACCOUNT3", "INITIALIZE_MINT2", "GET_ACCOUNT_DATA_SIZE",
    "INITIALIZE_IMMUTABLE_OWNER", "METADATA_POINTER_EXTENSION", "TOKEN_METADATA_INITIALIZE", "is_token_program",
    "is_token_account_data", "is_mint_data", "token_amount", "mint_decimals", "mint_supply", "encode_account",
    "encode_mint", "transfer_data", "transfer_checked_data", "mint_to_data", "initialize_mint2_data",
    "initialize_account3_data", "set_authority_data", "metadata_pointer_initialize_data",
    "token_metadata_initialize_data", "METADATA_POINTER_MINT_LEN",
]

TOKEN_ID = Pubkey.from_string(P.TOKEN)
TOKEN_2022_ID = Pubkey.from_string(P.TOKEN_2022)
NATIVE_MINT = Pubkey.from_string(P.WSOL_MINT)
_NATIVE_MINT_RAW = bytes(NATIVE_MINT)

MINT_LEN, ACCOUNT_LEN = 82, 165
ACCOUNT_TYPE_MINT, ACCOUNT_TYPE_ACCOUNT = 1, 2
EXT_IMMUTABLE_OWNER, EXT_METADATA_POINTER, EXT_TOKEN_METADATA = 7, 18, 19
IMMUTABLE_OWNER_ACCOUNT_LEN = ACCOUNT_LEN + 1 + 4   # type byte + empty ImmutableOwner TLV

# TokenError
NOT_RENT_EXEMPT, INSUFFICIENT_FUNDS, INVALID_MINT, MINT_MISMATCH, OWNER_MISMATCH, FIXED_SUPPLY = 0, 1, 2, 3, 4, 5
ALREADY_IN_USE, UNINITIALIZED_STATE, INVALID_INSTRUCTION, INVALID_STATE, OVERFLOW = 6, 9, 12, 13, 14
NON_NATIVE_HAS_BALANCE, AUTHORITY_TYPE_NOT_SUPPORTED, MINT_CANNOT_FREEZE, ACCOUNT_FROZEN = 11, 15, 16, 17
MINT_DECIMALS_MISMATCH, NON_NATIVE_NOT_SUPPORTED = 18, 19
_ERROR_LOG = {
    NOT_RENT_EXEMPT: "Lamport balance below rent-exempt threshold", INSUFFICIENT_FUNDS: "insufficient funds",
    INVALID_MINT: "Invalid Mint", MINT_MISMATCH: "Account not associated with this Mint",
    OWNER_MISMATCH: "owner does not match", FIXED_SUPPLY: "the total supply of this token is fixed",
    ALREADY_IN_USE: "account or token already in use", UNINITIALIZED_STATE: "Uninitialized state",
    INVALID_INSTRUCTION: "Invalid instruction", INVALID_STATE: "Invalid account state for operation",
    OVERFLOW: "Operation overflowed",
    NON_NATIVE_HAS_BALANCE: "Non-native account can only be closed if its balance is zero",
    AUTHORITY_TYPE_NOT_SUPPORTED: "Account does not support specified authority type",
    MINT_CANNOT_FREEZE: "This token mint cannot freeze accounts", ACCOUNT_FROZEN: "Account is frozen",
    MINT_DECIMALS_MISMATCH: "The provided decimals value different from the Mint decimals",
    NON_NATIVE_NOT_SUPPORTED: "Instruction does not support non-native tokens",
}

# Token instruction tags
(INITIALIZE_MINT, INITIALIZE_ACCOUNT, _MULTISIG, TRANSFER, APPROVE, REVOKE, SET_AUTHORITY, MINT_TO, BURN,
 CLOSE_ACCOUNT, FREEZE_ACCOUNT, THAW_ACCOUNT, TRANSFER_CHECKED, APPROVE_CHECKED, MINT_TO_CHECKED,
 BURN_CHECKED, INITIALIZE_ACCOUNT2, SYNC_NATIVE, INITIALIZE_ACCOUNT3, _MULTISIG2, INITIALIZE_MINT2,
 GET_ACCOUNT_DATA_SIZE, INITIALIZE_IMMUTABLE_OWNER) = range(23)
METADATA_POINTER_EXTENSION = 39
TOKEN_METADATA_INITIALIZE = hashlib.sha256(b"spl_token_metadata_interface:initialize_account").digest()[:8]

_ACCOUNT = struct.Struct("<32s32sQI32sBIQQI32s")   # the 165-byte Account
_MINT = struct.Struct("<I32sQBBI32s")              # the 82-byte Mint
_U64 = struct.Struct("<Q")
_ZERO32 = bytes(32)

# Approximate mainnet costs (Tokenkeg), per instruction.
_COST = {TRANSFER: 4645, TRANSFER_CHECKED: 6200, MINT_TO: 4492, MINT_TO_CHECKED: 4545, BURN: 4753,
         BURN_CHECKED: 4800, CLOSE_ACCOUNT: 2916, SYNC_NATIVE: 3045, INITIALIZE_ACCOUNT3: 4188,
         INITIALIZE_ACCOUNT: 3443, INITIALIZE_ACCOUNT2: 3525, INITIALIZE_MINT2: 2780, INITIALIZE_MINT: 2920,
         SET_AUTHORITY: 2796, APPROVE: 2904, REVOKE: 2677, GET_ACCOUNT_DATA_SIZE: 1569,
         INITIALIZE_IMMUTABLE_OWNER: 1405, FREEZE_ACCOUNT: 4300, THAW_ACCOUNT: 4300}
_NAMES = {INITIALIZE_MINT: "InitializeMint", INITIALIZE_ACCOUNT: "InitializeAccount", TRANSFER: "Transfer",
          APPROVE: "Approve", REVOKE: "Revoke", SET_AUTHORITY: "SetAuthority", MINT_TO: "MintTo", BURN: "Burn",
          CLOSE_ACCOUNT: "CloseAccount", FREEZE_ACCOUNT: "FreezeAccount", THAW_ACCOUNT: "ThawAccount",
          TRANSFER_CHECKED: "TransferChecked", APPROVE_CHECKED: "ApproveChecked", MINT_TO_CHECKED: "MintToChecked",
          BURN_CHECKED: "BurnChecked", INITIALIZE_ACCOUNT2: "InitializeAccount2", SYNC_NATIVE: "SyncNative",
          INITIALIZE_ACCOUNT3: "InitializeAccount3", INITIALIZE_MINT2: "InitializeMint2",
          GET_ACCOUNT_DATA_SIZE: "GetAccountDataSize", INITIALIZE_IMMUTABLE_OWNER: "InitializeImmutableOwner"}


def is_token_program(owner: Pubkey) -> bool:
    return owner == TOKEN_ID or owner == TOKEN_2022_ID


# --- layouts --------------------------------------------------------------------------------------------------

def is_token_account_data(data: bytes) -> bool:
    n = len(data)
    return n == ACCOUNT_LEN or (n > ACCOUNT_LEN and data[ACCOUNT_LEN] == ACCOUNT_TYPE_ACCOUNT)


def is_mint_data(data: bytes) -> bool:
    n = len(data)
    return n == MINT_LEN or (n > ACCOUNT_LEN and data[ACCOUNT_LEN] == ACCOUNT_TYPE_MINT)


def token_amount(data: bytes) -> int:
    return _U64.unpack_from(data, 64)[0]


def mint_decimals(data: bytes) -> int:
    return data[44]


def mint_supply(data: bytes) -> int:
    return _U64.unpack_from(data, 36)[0]


def encode_account(mint: bytes, owner: bytes, amount: int, *, delegate: bytes | None = None, state: int = 1,
                   native_reserve: int | None = None, delegated_amount: int = 0,
                   close_authority: bytes | None = None, tail: bytes = b"") -> bytes:
    return _ACCOUNT.pack(mint, owner, amount, 0 if delegate is None else 1, delegate or _ZERO32, state,
                         0 if native_reserve is None else 1, native_reserve or 0, delegated_amount,
                         0 if close_authority is None else 1, close_authority or _ZERO32) + tail


def encode_mint(mint_authority: bytes | None, supply: int, decimals: int, *, freeze_authority: bytes | None = None,
                initialized: bool = True, tail: bytes = b"") -> bytes:
    return _MINT.pack(0 if mint_authority is None else 1, mint_authority or _ZERO32, supply, decimals,
                      1 if initialized else 0, 0 if freeze_authority is None else 1,
                      freeze_authority or _ZERO32) + tail


class _Acct:
    """A decoded token account, edited and written back (keeps any Token-2022 tail)."""
    __slots__ = ("mint", "owner", "amount", "d_tag", "delegate", "state", "n_tag", "native", "delegated",
                 "c_tag", "close", "tail")

    def __init__(self, data: bytes) -> None:
        (self.mint, self.owner, self.amount, self.d_tag, self.delegate, self.state, self.n_tag, self.native,
         self.delegated, self.c_tag, self.close) = _ACCOUNT.unpack_from(data)
        self.tail = data[ACCOUNT_LEN:]

    def pack(self) -> bytes:
        return _ACCOUNT.pack(self.mint, self.owner, self.amount, self.d_tag, self.delegate, self.state,
                             self.n_tag, self.native, self.delegated, self.c_tag, self.close) + self.tail


class _Mint:
    __slots__ = ("a_tag", "authority", "supply", "decimals", "initialized", "f_tag", "freeze", "tail")

    def __init__(self, data: bytes) -> None:
        (self.a_tag, self.authority, self.supply, self.decimals, self.initialized, self.f_tag,
         self.freeze) = _MINT.unpack_from(data)
        self.tail = data[MINT_LEN:]

    def pack(self) -> bytes:
        return _MINT.pack(self.a_tag, self.authority, self.supply, self.decimals, self.initialized, self.f_tag,
                          self.freeze) + self.tail


# --- instruction data for CPIs made by other simnet programs ------------------------------------------------------

def transfer_data(amount: int) -> bytes:
    return bytes((TRANSFER,)) + _U64.pack(amount)


def transfer_checked_data(amount: int, decimals: int) -> bytes:
    return bytes((TRANSFER_CHECKED,)) + _U64.pack(amount) + bytes((decimals,))


def mint_to_data(amount: int) -> bytes:
    return bytes((MINT_TO,)) + _U64.pack(amount)


def initialize_mint2_data(decimals: int, authority: Pubkey, freeze: Pubkey | None = None) -> bytes:
    tail = b"\x00" if freeze is None else b"\x01" + bytes(freeze)
    return bytes((INITIALIZE_MINT2, decimals)) + bytes(authority) + tail


def initialize_account3_data(owner: Pubkey) -> bytes:
    return bytes((INITIALIZE_ACCOUNT3,)) + bytes(owner)


def set_authority_data(kind: int, new: Pubkey | None) -> bytes:
    return bytes((SET_AUTHORITY, kind)) + (b"\x00" if new is None else b"\x01" + bytes(new))


def metadata_pointer_initialize_data(authority: Pubkey, metadata: Pubkey) -> bytes:
    return bytes((METADATA_POINTER_EXTENSION, 0)) + bytes(authority) + bytes(metadata)


def token_metadata_initialize_data(name: str, symbol: str, uri: str) -> bytes:
    return Writer().raw(TOKEN_METADATA_INITIALIZE).string(name).string(symbol).string(uri).bytes()


METADATA_POINTER_MINT_LEN = ACCOUNT_LEN + 1 + 4 + 64   # mint + MetadataPointer TLV, before the metadata realloc
