"""The System program: transfer, create_account (+with seed), assign, allocate. Builtin: 150 CU, no `consumed` log."""
from __future__ import annotations

import struct

import solders.system_program as sp
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from ..accounts import SYSTEM_ID
from .runtime import Frame, InstructionError, Program, custom

COST = 150
MAX_PERMITTED_DATA_LENGTH = 10 * 1024 * 1024

# SystemError codes (solana-program system_instruction.rs)
ACCOUNT_ALREADY_IN_USE = 0
RESULT_WITH_NEGATIVE_LAMPORTS = 1
INVALID_ACCOUNT_DATA_LENGTH = 3
ADDRESS_WITH_SEED_MISMATCH = 5

CREATE_ACCOUNT, ASSIGN, TRANSFER, CREATE_ACCOUNT_WITH_SEED = 0, 1, 2, 3
ALLOCATE, ALLOCATE_WITH_SEED, ASSIGN_WITH_SEED, TRANSFER_WITH_SEED = 8, 9, 10, 11

# (decode helper, accounts the helper indexes) — checked first: the helpers panic on short account lists.
_DECODERS = {
    CREATE_ACCOUNT: (sp.decode_create_account, 2),
    ASSIGN: (sp.decode_assign, 1),
    TRANSFER: (sp.decode_transfer, 2),
    CREATE_ACCOUNT_WITH_SEED: (sp.decode_create_account_with_seed, 2),
    ALLOCATE: (sp.decode_allocate, 1),
    TRANSFER_WITH_SEED: (sp.decode_transfer_with_seed, 3),
}


def _decode(ctx: Frame) -> tuple[int, dict]:
    data = ctx.data
    if len(data) < 4:
        raise InstructionError("InvalidInstructionData")
    tag = struct.unpack_from("<I", data)[0]
    entry = _DECODERS.get(tag)
    if entry is None:
        ctx.log_raw(f"simnet: system instruction {tag} is not supported")
        raise InstructionError("InvalidInstructionData")
    decoder, n_accounts = entry
    ctx.need(n_accounts)
    metas = [AccountMeta(k, s, w) for k, s, w in zip(ctx.keys, ctx.signer, ctx.writable)]
    try:
        return tag, decoder(Instruction(SYSTEM_ID, data, metas))
    except Exception:  # BincodeError and friends: garbage data
        raise InstructionError("InvalidInstructionData") from None


def _transfer(ctx: Frame, src: int, dst: int, lamports: int) -> None:
    frm = ctx.acc(src)
    if not ctx.signer[src]:
        ctx.log_raw(f"Transfer: `from` account {ctx.key(src)} must sign")
        raise InstructionError("MissingRequiredSignature")
    if frm.data:
        ctx.log_raw("Transfer: `from` must not carry data")
        raise InstructionError("InvalidArgument")
    if frm.lamports < lamports:
        ctx.log_raw(f"Transfer: insufficient lamports {frm.lamports}, need {lamports}")
        raise custom(RESULT_WITH_NEGATIVE_LAMPORTS)
    ctx.move_lamports(src, dst, lamports)


def _allocate_and_assign(ctx: Frame, i: int, space: int, owner: Pubkey, address_label: str) -> None:
    rec = ctx.acc(i)
    if rec.data or rec.owner != SYSTEM_ID:
        ctx.log_raw(f"Allocate: account {address_label} already in use")
        raise custom(ACCOUNT_ALREADY_IN_USE)
    if space > MAX_PERMITTED_DATA_LENGTH:
        ctx.log_raw(f"Allocate: requested {space}, max allowed {MAX_PERMITTED_DATA_LENGTH}")
        raise custom(INVALID_ACCOUNT_DATA_LENGTH)
    ctx.set_data(i, bytes(space))
    ctx.set_owner(i, owner)


def _create(ctx: Frame, lamports: int, space: int, owner: Pubkey, label: str) -> None:
    new = ctx.acc(1)
    if new.lamports:
        ctx.log_raw(f"Create Account: account {label} already in use")
        raise custom(ACCOUNT_ALREADY_IN_USE)
    _allocate_and_assign(ctx, 1, space, owner, label)
    _transfer(ctx, 0, 1, lamports)


_U64 = struct.Struct("<Q")
_TRANSFER_TAG = struct.pack("<I", TRANSFER)


def process(ctx: Frame) -> None:
    ctx.consume(COST)
    data = ctx.data
    if len(data) == 12 and data[:4] == _TRANSFER_TAG:
        # the hot path (every trade makes several): same checks, without building a solders Instruction
        ctx.need(2)
        _transfer(ctx, 0, 1, _U64.unpack_from(data, 4)[0])
        return
    tag, p = _decode(ctx)
    if tag == TRANSFER:
        _transfer(ctx, 0, 1, p["lamports"])
    elif tag == CREATE_ACCOUNT:
        ctx.require_signer(1)
        _create(ctx, p["lamports"], p["space"], p["owner"], f"Address {{ address: {ctx.key(1)}, base: None }}")
    elif tag == CREATE_ACCOUNT_WITH_SEED:
        base, seed, owner = p["base"], p["seed"], p["owner"]
        expected = Pubkey.create_with_seed(base, seed, owner)
        if expected != ctx.key(1):
            ctx.log_raw(f"Create: address {ctx.key(1)} does not match derived address {expected}")
            raise custom(ADDRESS_WITH_SEED_MISMATCH)
        if base not in ctx.keys or not ctx.signer[ctx.keys.index(base)]:
            raise InstructionError("MissingRequiredSignature")
        _create(ctx, p["lamports"], p["space"], owner, f"Address {{ address: {ctx.key(1)}, base: Some({base}) }}")
    elif tag == ASSIGN:
        ctx.require_signer(0)
        rec = ctx.acc(0)
        if rec.owner != p["owner"]:
            if rec.owner != SYSTEM_ID:
                raise InstructionError("ModifiedProgramId")
            ctx.set_owner(0, p["owner"])
    elif tag == ALLOCATE:
        ctx.require_signer(0)
        _allocate_and_assign(ctx, 0, p["space"], SYSTEM_ID, str(ctx.key(0)))
    elif tag == TRANSFER_WITH_SEED:
        base_i = 1
        if not ctx.signer[base_i]:
            raise InstructionError("MissingRequiredSignature")
        expected = Pubkey.create_with_seed(ctx.key(base_i), p["from_seed"], p["from_owner"])
        if expected != ctx.key(0):
            raise custom(ADDRESS_WITH_SEED_MISMATCH)
        frm = ctx.acc(0)
        if frm.lamports < p["lamports"]:
            ctx.log_raw(f"Transfer: insufficient lamports {frm.lamports}, need {p['lamports']}")
            raise custom(RESULT_WITH_NEGATIVE_LAMPORTS)
        ctx.move_lamports(0, 2, p["lamports"])


PROGRAM = Program("system", process, builtin=True)


def transfer_metas(src: Pubkey, dst: Pubkey) -> list[tuple[Pubkey, bool, bool]]:
    return [(src, True, True), (dst, False, True)]


def transfer_data(lamports: int) -> bytes:
    return struct.pack("<IQ", TRANSFER, lamports)


def create_account_data(lamports: int, space: int, owner: Pubkey) -> bytes:
    return struct.pack("<IQQ", CREATE_ACCOUNT, lamports, space) + bytes(owner)


def allocate_data(space: int) -> bytes:
    return struct.pack("<IQ", ALLOCATE, space)


def assign_data(owner: Pubkey) -> bytes:
    return struct.pack("<I", ASSIGN) + bytes(owner)
