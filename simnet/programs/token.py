"""SPL Token and Token-2022 (basics): mints and token accounts in their real byte layouts.

Instructions: InitializeMint/Mint2, InitializeAccount/2/3, Transfer(Checked), Approve, Revoke, SetAuthority,
MintTo(Checked), Burn(Checked), CloseAccount, Freeze/Thaw, SyncNative (wrapped SOL), GetAccountDataSize,
InitializeImmutableOwner; Token-2022 also MetadataPointer::Initialize and the token-metadata interface's
Initialize, which pump's create_v2 uses. Error codes are spl-token's TokenError (Custom n).
Token-2022 transfer-fee / hook / confidential extensions are not modelled (simnet never creates such mints).
"""
from __future__ import annotations

import struct

from pipelines.chain.borsh import Reader, Writer
from pipelines.chain.errors import DecodeError

from ..accounts import rent_exempt_minimum
from .runtime import Frame, InstructionError, Program, custom
from .token_state import *  # noqa: F403 - the layouts, tags and data builders, re-exported as token.X
from .token_state import _COST, _ERROR_LOG, _NAMES, _U64, _ZERO32, _Acct, _Mint


def _fail(ctx: Frame, code: int) -> InstructionError:
    ctx.log("Error: " + _ERROR_LOG.get(code, str(code)))
    return custom(code)


def _load_account(ctx: Frame, i: int) -> _Acct:
    rec = ctx.acc(i)
    if rec.owner != ctx.program_id:
        raise InstructionError("IncorrectProgramId" if rec.data else "UninitializedAccount")
    if not is_token_account_data(rec.data):
        raise InstructionError("InvalidAccountData")
    acct = _Acct(rec.data)
    if acct.state == 0:
        raise _fail(ctx, UNINITIALIZED_STATE)
    return acct


def _load_mint(ctx: Frame, i: int) -> _Mint:
    rec = ctx.acc(i)
    if rec.owner != ctx.program_id:
        raise InstructionError("IncorrectProgramId")
    if not is_mint_data(rec.data):
        raise InstructionError("InvalidAccountData")
    mint = _Mint(rec.data)
    if not mint.initialized:
        raise _fail(ctx, UNINITIALIZED_STATE)
    return mint


def _authorize(ctx: Frame, expected: bytes, auth_i: int) -> None:
    ctx.need(auth_i + 1)
    if bytes(ctx.key(auth_i)) != expected:
        raise _fail(ctx, OWNER_MISMATCH)
    if not ctx.signer[auth_i]:
        raise InstructionError("MissingRequiredSignature")


def _spend_authority(ctx: Frame, acct: _Acct, auth_i: int, amount: int) -> None:
    """Owner, or a delegate with enough allowance (which it then uses up)."""
    ctx.need(auth_i + 1)
    key = bytes(ctx.key(auth_i))
    if acct.d_tag and key == acct.delegate and key != acct.owner:
        if not ctx.signer[auth_i]:
            raise InstructionError("MissingRequiredSignature")
        if acct.delegated < amount:
            raise _fail(ctx, INSUFFICIENT_FUNDS)
        acct.delegated -= amount
        if acct.delegated == 0:
            acct.d_tag, acct.delegate = 0, _ZERO32
        return
    _authorize(ctx, acct.owner, auth_i)


def _u64_arg(ctx: Frame, off: int = 1) -> int:
    if len(ctx.data) < off + 8:
        raise _fail(ctx, INVALID_INSTRUCTION)
    return _U64.unpack_from(ctx.data, off)[0]


def _decimals_arg(ctx: Frame, off: int = 9) -> int:
    if len(ctx.data) < off + 1:
        raise _fail(ctx, INVALID_INSTRUCTION)
    return ctx.data[off]


def _coption_arg(ctx: Frame, off: int) -> tuple[bytes | None, int]:
    """COption<Pubkey> as instructions encode it: u8 tag then 32 bytes when present."""
    data = ctx.data
    if len(data) < off + 1:
        raise _fail(ctx, INVALID_INSTRUCTION)
    if data[off] == 0:
        return None, off + 1
    if data[off] != 1 or len(data) < off + 33:
        raise _fail(ctx, INVALID_INSTRUCTION)
    return data[off + 1:off + 33], off + 33


# --- instructions ---------------------------------------------------------------------------------------------

def _transfer(ctx: Frame, checked: bool) -> None:
    amount = _u64_arg(ctx)
    if checked:
        ctx.need(4)
        src_i, mint_i, dst_i, auth_i = 0, 1, 2, 3
    else:
        ctx.need(3)
        src_i, dst_i, auth_i = 0, 1, 2
    src = _load_account(ctx, src_i)
    dst = _load_account(ctx, dst_i)
    if src.state == 2 or dst.state == 2:
        raise _fail(ctx, ACCOUNT_FROZEN)
    if src.amount < amount:
        raise _fail(ctx, INSUFFICIENT_FUNDS)
    if src.mint != dst.mint:
        raise _fail(ctx, MINT_MISMATCH)
    if checked:
        if bytes(ctx.key(mint_i)) != src.mint:
            raise _fail(ctx, MINT_MISMATCH)
        if _load_mint(ctx, mint_i).decimals != _decimals_arg(ctx):
            raise _fail(ctx, MINT_DECIMALS_MISMATCH)
    _spend_authority(ctx, src, auth_i, amount)
    if ctx.acc(src_i) is ctx.acc(dst_i):
        ctx.set_data(src_i, src.pack())   # self-transfer: only a delegate allowance may have changed
        return
    src.amount -= amount
    dst.amount += amount
    if dst.amount >= 2**64:
        raise _fail(ctx, OVERFLOW)
    ctx.set_data(src_i, src.pack())
    ctx.set_data(dst_i, dst.pack())
    if src.n_tag:  # wrapped SOL moves its lamports with the amount
        ctx.move_lamports(src_i, dst_i, amount)


def _mint_to(ctx: Frame, checked: bool) -> None:
    amount = _u64_arg(ctx)
    ctx.need(3)
    mint = _load_mint(ctx, 0)
    dst = _load_account(ctx, 1)
    if checked and mint.decimals != _decimals_arg(ctx):
        raise _fail(ctx, MINT_DECIMALS_MISMATCH)
    if dst.state == 2:
        raise _fail(ctx, ACCOUNT_FROZEN)
    if dst.n_tag:
        raise _fail(ctx, NON_NATIVE_NOT_SUPPORTED)
    if dst.mint != bytes(ctx.key(0)):
        raise _fail(ctx, MINT_MISMATCH)
    if not mint.a_tag:
        raise _fail(ctx, FIXED_SUPPLY)
    _authorize(ctx, mint.authority, 2)
    mint.supply += amount
    dst.amount += amount
    if mint.supply >= 2**64:
        raise _fail(ctx, OVERFLOW)
    ctx.set_data(0, mint.pack())
    ctx.set_data(1, dst.pack())


def _burn(ctx: Frame, checked: bool) -> None:
    amount = _u64_arg(ctx)
    ctx.need(3)
    acct = _load_account(ctx, 0)
    mint = _load_mint(ctx, 1)
    if checked and mint.decimals != _decimals_arg(ctx):
        raise _fail(ctx, MINT_DECIMALS_MISMATCH)
    if acct.state == 2:
        raise _fail(ctx, ACCOUNT_FROZEN)
    if acct.n_tag:
        raise _fail(ctx, NON_NATIVE_NOT_SUPPORTED)
    if acct.mint != bytes(ctx.key(1)):
        raise _fail(ctx, MINT_MISMATCH)
    if acct.amount < amount:
        raise _fail(ctx, INSUFFICIENT_FUNDS)
    _spend_authority(ctx, acct, 2, amount)
    acct.amount -= amount
    mint.supply -= amount
    ctx.set_data(0, acct.pack())
    ctx.set_data(1, mint.pack())


def _close(ctx: Frame) -> None:
    ctx.need(3)
    acct = _load_account(ctx, 0)
    if ctx.key(0) == ctx.key(1):
        raise InstructionError("InvalidAccountData")
    if not acct.n_tag and acct.amount != 0:
        raise _fail(ctx, NON_NATIVE_HAS_BALANCE)
    _authorize(ctx, acct.close if acct.c_tag else acct.owner, 2)
    ctx.move_lamports(0, 1, ctx.acc(0).lamports)
    ctx.set_data(0, b"")


def _sync_native(ctx: Frame) -> None:
    ctx.need(1)
    acct = _load_account(ctx, 0)
    if not acct.n_tag:
        raise _fail(ctx, NON_NATIVE_NOT_SUPPORTED)
    rec = ctx.acc(0)
    new_amount = rec.lamports - acct.native
    if new_amount < acct.amount:
        raise _fail(ctx, INVALID_STATE)
    acct.amount = new_amount
    ctx.set_data(0, acct.pack())


def _init_account(ctx: Frame, account_i: int, mint_i: int, owner: bytes) -> None:
    rec = ctx.acc(account_i)
    if rec.owner != ctx.program_id:
        raise InstructionError("IncorrectProgramId")
    data = rec.data
    if ctx.program_id == TOKEN_ID and len(data) != ACCOUNT_LEN:
        raise InstructionError("InvalidAccountData")
    if len(data) < ACCOUNT_LEN or (len(data) > ACCOUNT_LEN and data[ACCOUNT_LEN] not in (0, ACCOUNT_TYPE_ACCOUNT)):
        raise InstructionError("InvalidAccountData")
    if data[108] != 0:
        raise _fail(ctx, ALREADY_IN_USE)
    if rec.lamports < rent_exempt_minimum(len(data)):
        raise _fail(ctx, NOT_RENT_EXEMPT)
    mint_key = ctx.key(mint_i)
    native = None
    amount = 0
    if mint_key == NATIVE_MINT:
        native = rent_exempt_minimum(len(data))
        amount = rec.lamports - native
    else:
        _load_mint(ctx, mint_i)
    tail = data[ACCOUNT_LEN:]
    if tail:
        tail = bytes((ACCOUNT_TYPE_ACCOUNT,)) + tail[1:]
    ctx.set_data(account_i, encode_account(bytes(mint_key), owner, amount, native_reserve=native, tail=tail))


def _init_mint(ctx: Frame, with_rent: bool) -> None:
    data = ctx.data
    if len(data) < 35:
        raise _fail(ctx, INVALID_INSTRUCTION)
    decimals, authority = data[1], data[2:34]
    freeze, _ = _coption_arg(ctx, 34)
    ctx.need(1)
    rec = ctx.acc(0)
    if rec.owner != ctx.program_id:
        raise InstructionError("IncorrectProgramId")
    cur = rec.data
    if ctx.program_id == TOKEN_ID and len(cur) != MINT_LEN:
        raise InstructionError("InvalidAccountData")
    if len(cur) < MINT_LEN or (MINT_LEN < len(cur) <= ACCOUNT_LEN):
        raise InstructionError("InvalidAccountData")
    if cur[45]:
        raise _fail(ctx, ALREADY_IN_USE)
    if rec.lamports < rent_exempt_minimum(len(cur)):
        raise _fail(ctx, NOT_RENT_EXEMPT)
    tail = cur[MINT_LEN:]
    if tail:
        tail = tail[:ACCOUNT_LEN - MINT_LEN] + bytes((ACCOUNT_TYPE_MINT,)) + tail[ACCOUNT_LEN - MINT_LEN + 1:]
    ctx.set_data(0, encode_mint(authority, 0, decimals, freeze_authority=freeze, tail=tail))


def _set_authority(ctx: Frame) -> None:
    data = ctx.data
    if len(data) < 3:
        raise _fail(ctx, INVALID_INSTRUCTION)
    kind = data[1]
    new, _ = _coption_arg(ctx, 2)
    ctx.need(2)
    rec = ctx.acc(0)
    if rec.owner != ctx.program_id:
        raise InstructionError("IncorrectProgramId")
    if is_token_account_data(rec.data):
        acct = _load_account(ctx, 0)
        if kind == 2:    # AccountOwner
            if new is None:
                raise _fail(ctx, INVALID_INSTRUCTION)
            _authorize(ctx, acct.owner, 1)
            acct.owner = new
            acct.d_tag, acct.delegate, acct.delegated = 0, _ZERO32, 0
        elif kind == 3:  # CloseAccount
            _authorize(ctx, acct.close if acct.c_tag else acct.owner, 1)
            acct.c_tag, acct.close = (0, _ZERO32) if new is None else (1, new)
        else:
            raise _fail(ctx, AUTHORITY_TYPE_NOT_SUPPORTED)
        ctx.set_data(0, acct.pack())
        return
    mint = _load_mint(ctx, 0)
    if kind == 0:        # MintTokens
        if not mint.a_tag:
            raise _fail(ctx, FIXED_SUPPLY)
        _authorize(ctx, mint.authority, 1)
        mint.a_tag, mint.authority = (0, _ZERO32) if new is None else (1, new)
    elif kind == 1:      # FreezeAccount
        if not mint.f_tag:
            raise _fail(ctx, MINT_CANNOT_FREEZE)
        _authorize(ctx, mint.freeze, 1)
        mint.f_tag, mint.freeze = (0, _ZERO32) if new is None else (1, new)
    else:
        raise _fail(ctx, AUTHORITY_TYPE_NOT_SUPPORTED)
    ctx.set_data(0, mint.pack())


def _approve(ctx: Frame, checked: bool) -> None:
    amount = _u64_arg(ctx)
    if checked:
        ctx.need(4)
        src_i, delegate_i, owner_i = 0, 2, 3
        if _load_mint(ctx, 1).decimals != _decimals_arg(ctx):
            raise _fail(ctx, MINT_DECIMALS_MISMATCH)
    else:
        ctx.need(3)
        src_i, delegate_i, owner_i = 0, 1, 2
    acct = _load_account(ctx, src_i)
    if acct.state == 2:
        raise _fail(ctx, ACCOUNT_FROZEN)
    _authorize(ctx, acct.owner, owner_i)
    acct.d_tag, acct.delegate, acct.delegated = 1, bytes(ctx.key(delegate_i)), amount
    ctx.set_data(src_i, acct.pack())


def _revoke(ctx: Frame) -> None:
    ctx.need(2)
    acct = _load_account(ctx, 0)
    _authorize(ctx, acct.owner, 1)
    acct.d_tag, acct.delegate, acct.delegated = 0, _ZERO32, 0
    ctx.set_data(0, acct.pack())


def _freeze(ctx: Frame, freeze: bool) -> None:
    ctx.need(3)
    acct = _load_account(ctx, 0)
    mint = _load_mint(ctx, 1)
    if acct.mint != bytes(ctx.key(1)):
        raise _fail(ctx, MINT_MISMATCH)
    if acct.n_tag:
        raise _fail(ctx, NON_NATIVE_NOT_SUPPORTED)
    if not mint.f_tag:
        raise _fail(ctx, MINT_CANNOT_FREEZE)
    if (acct.state == 2) == freeze:
        raise _fail(ctx, INVALID_STATE)
    _authorize(ctx, mint.freeze, 2)
    acct.state = 2 if freeze else 1
    ctx.set_data(0, acct.pack())


def _get_account_data_size(ctx: Frame) -> None:
    ctx.need(1)
    _load_mint(ctx, 0)
    size = ACCOUNT_LEN if ctx.program_id == TOKEN_ID else IMMUTABLE_OWNER_ACCOUNT_LEN
    ctx.set_return_data(_U64.pack(size))


def _init_immutable_owner(ctx: Frame) -> None:
    ctx.need(1)
    if ctx.program_id == TOKEN_ID:
        ctx.log("Please upgrade to SPL Token 2022 for immutable owner support")
        return
    rec = ctx.acc(0)
    if rec.owner != ctx.program_id or len(rec.data) != IMMUTABLE_OWNER_ACCOUNT_LEN or rec.data[108]:
        raise InstructionError("InvalidAccountData")
    ctx.set_data(0, bytes(ACCOUNT_LEN) + bytes((ACCOUNT_TYPE_ACCOUNT,)) + struct.pack("<HH", EXT_IMMUTABLE_OWNER, 0))


# --- Token-2022 metadata (what pump create_v2 uses) --------------------------------------------------------------

def _tlv_append(data: bytes, ext_type: int, value: bytes) -> bytes:
    if len(data) <= ACCOUNT_LEN:
        data = data[:MINT_LEN] + bytes(ACCOUNT_LEN - MINT_LEN) + bytes((ACCOUNT_TYPE_MINT,))
    return data + struct.pack("<HH", ext_type, len(value)) + value


def _metadata_pointer(ctx: Frame) -> None:
    data = ctx.data
    if ctx.program_id != TOKEN_2022_ID or len(data) != 66 or data[1] != 0:
        raise InstructionError("InvalidInstructionData")
    ctx.log("MetadataPointerInstruction::Initialize")
    ctx.need(1)
    rec = ctx.acc(0)
    if rec.owner != ctx.program_id:
        raise InstructionError("IncorrectProgramId")
    cur = rec.data
    if len(cur) < MINT_LEN or cur[45]:
        raise _fail(ctx, ALREADY_IN_USE)
    # The account was allocated with room for this TLV: write it at the front of the extension area.
    value = data[2:66]
    body = cur[:MINT_LEN] + bytes(ACCOUNT_LEN - MINT_LEN) + bytes((ACCOUNT_TYPE_MINT,)) \
        + struct.pack("<HH", EXT_METADATA_POINTER, 64) + value
    if len(cur) < len(body):
        raise InstructionError("InvalidAccountData")
    ctx.set_data(0, body + cur[len(body):])


def _token_metadata_initialize(ctx: Frame) -> None:
    if ctx.program_id != TOKEN_2022_ID:
        raise InstructionError("InvalidInstructionData")
    ctx.log_fixed("Instruction: TokenMetadataInstruction: Initialize")
    ctx.need(4)   # metadata (= mint), update_authority, mint, mint_authority
    try:
        r = Reader(ctx.data, 8)
        name, symbol, uri = r.string(), r.string(), r.string()
    except DecodeError:
        raise InstructionError("InvalidInstructionData") from None
    if ctx.key(0) != ctx.key(2):
        raise InstructionError("InvalidAccountData")
    mint = _load_mint(ctx, 2)
    if not mint.a_tag or bytes(ctx.key(3)) != mint.authority:
        raise _fail(ctx, OWNER_MISMATCH)
    ctx.require_signer(3)
    rec = ctx.acc(0)
    end = ACCOUNT_LEN + 1      # walk the written TLVs: the entry goes after the last one (a realloc on mainnet)
    while end + 4 <= len(rec.data):
        t, n = struct.unpack_from("<HH", rec.data, end)
        if t == 0:
            break
        end += 4 + n
    cur = rec.data[:end]
    value = (Writer().raw(bytes(ctx.key(1))).raw(bytes(ctx.key(2))).string(name).string(symbol).string(uri)
             .u32(0).bytes())
    new = _tlv_append(cur, EXT_TOKEN_METADATA, value)
    if rec.lamports < rent_exempt_minimum(len(new)):
        raise InstructionError("AccountNotRentExempt")
    ctx.set_data(0, new)


# --- dispatch --------------------------------------------------------------------------------------------------

def process(ctx: Frame) -> None:
    data = ctx.data
    if not data:
        raise _fail(ctx, INVALID_INSTRUCTION)
    if data[:8] == TOKEN_METADATA_INITIALIZE:
        ctx.consume(8000)
        _token_metadata_initialize(ctx)
        return
    tag = data[0]
    name = _NAMES.get(tag)
    if name is not None:
        ctx.log_fixed("Instruction: " + name)
    ctx.consume(_COST.get(tag, 3000))
    if tag == TRANSFER:
        _transfer(ctx, False)
    elif tag == TRANSFER_CHECKED:
        _transfer(ctx, True)
    elif tag == INITIALIZE_ACCOUNT3 or tag == INITIALIZE_ACCOUNT2:
        if len(data) < 33:
            raise _fail(ctx, INVALID_INSTRUCTION)
        ctx.need(2)
        _init_account(ctx, 0, 1, data[1:33])
    elif tag == INITIALIZE_ACCOUNT:
        ctx.need(3)
        _init_account(ctx, 0, 1, bytes(ctx.key(2)))
    elif tag == SYNC_NATIVE:
        _sync_native(ctx)
    elif tag == CLOSE_ACCOUNT:
        _close(ctx)
    elif tag == MINT_TO or tag == MINT_TO_CHECKED:
        _mint_to(ctx, tag == MINT_TO_CHECKED)
    elif tag == BURN or tag == BURN_CHECKED:
        _burn(ctx, tag == BURN_CHECKED)
    elif tag == INITIALIZE_MINT2 or tag == INITIALIZE_MINT:
        _init_mint(ctx, tag == INITIALIZE_MINT)
    elif tag == SET_AUTHORITY:
        _set_authority(ctx)
    elif tag == APPROVE or tag == APPROVE_CHECKED:
        _approve(ctx, tag == APPROVE_CHECKED)
    elif tag == REVOKE:
        _revoke(ctx)
    elif tag == FREEZE_ACCOUNT or tag == THAW_ACCOUNT:
        _freeze(ctx, tag == FREEZE_ACCOUNT)
    elif tag == GET_ACCOUNT_DATA_SIZE:
        _get_account_data_size(ctx)
    elif tag == INITIALIZE_IMMUTABLE_OWNER:
        _init_immutable_owner(ctx)
    elif tag == METADATA_POINTER_EXTENSION:
        _metadata_pointer(ctx)
    else:
        raise _fail(ctx, INVALID_INSTRUCTION)


TOKEN = Program("spl-token", process)
TOKEN_2022 = Program("spl-token-2022", process)
