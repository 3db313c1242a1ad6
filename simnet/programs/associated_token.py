"""The Associated Token Account program: Create and CreateIdempotent, through the same CPIs as mainnet
(GetAccountDataSize, system create_account signed by the ATA PDA, InitializeImmutableOwner, InitializeAccount3).
"""
from __future__ import annotations

import struct

from solders.pubkey import Pubkey

from pipelines.chain import pda
from pipelines.chain import programs as P

from ..accounts import SYSTEM_ID, rent_exempt_minimum
from . import system, token
from .runtime import Frame, InstructionError, Program, custom

ATA_ID = Pubkey.from_string(P.ASSOCIATED_TOKEN)
CREATE, CREATE_IDEMPOTENT = 0, 1
INVALID_OWNER = 0   # AssociatedTokenAccountError::InvalidOwner
_U64 = struct.Struct("<Q")


def process(ctx: Frame) -> None:
    data = ctx.data
    if data and data[0] not in (CREATE, CREATE_IDEMPOTENT):
        raise InstructionError("InvalidInstructionData")
    idempotent = bool(data) and data[0] == CREATE_IDEMPOTENT
    ctx.log_fixed("CreateIdempotent" if idempotent else "Create")
    ctx.consume(3000)
    ctx.need(6)
    funder_i, ata_i, wallet_i, mint_i, system_i, token_i = range(6)
    wallet, mint, token_program = ctx.key(wallet_i), ctx.key(mint_i), ctx.key(token_i)
    expected = pda.associated_token(wallet, mint, token_program)
    ata = ctx.acc(ata_i)
    if idempotent and ata.owner == token_program and token.is_token_account_data(ata.data):
        if ata.data[32:64] != bytes(wallet):
            ctx.log("Error: Associated token account owner does not match address derivation")
            raise custom(INVALID_OWNER)
        if expected != ctx.key(ata_i):
            ctx.log("Error: Associated address does not match seed derivation")
            raise InstructionError("InvalidSeeds")
        return
    if expected != ctx.key(ata_i):
        ctx.log("Error: Associated address does not match seed derivation")
        raise InstructionError("InvalidSeeds")
    if ctx.key(system_i) != SYSTEM_ID:
        raise InstructionError("IncorrectProgramId")
    if not token.is_token_program(token_program) or ctx.acc(mint_i).owner != token_program:
        raise InstructionError("IllegalOwner" if ctx.acc(mint_i).lamports else "InvalidAccountData")

    ctx.invoke(token_program, [(mint, False, False)], bytes((token.GET_ACCOUNT_DATA_SIZE,)))
    ret = ctx.tx.return_data
    if ret is None or ret[0] != token_program or len(ret[1]) != 8:
        raise InstructionError("InvalidAccountData")
    space = _U64.unpack(ret[1])[0]
    ata_key, funder = ctx.key(ata_i), ctx.key(funder_i)
    rent = rent_exempt_minimum(space)
    if ata.lamports == 0:
        ctx.invoke(SYSTEM_ID, [(funder, True, True), (ata_key, True, True)],
                   system.create_account_data(rent, space, token_program), pda_signers=(ata_key,))
    else:
        # pre-funded address: top up, then allocate and assign (create_pda_account does this on mainnet)
        if ata.lamports < rent:
            ctx.invoke(SYSTEM_ID, system.transfer_metas(funder, ata_key), system.transfer_data(rent - ata.lamports))
        ctx.invoke(SYSTEM_ID, [(ata_key, True, True)], system.allocate_data(space), pda_signers=(ata_key,))
        ctx.invoke(SYSTEM_ID, [(ata_key, True, True)], system.assign_data(token_program), pda_signers=(ata_key,))
    ctx.log("Initialize the associated token account")
    ctx.invoke(token_program, [(ata_key, False, True)], bytes((token.INITIALIZE_IMMUTABLE_OWNER,)))
    ctx.invoke(token_program, [(ata_key, False, True), (mint, False, False)],
               token.initialize_account3_data(wallet))


PROGRAM = Program("spl-associated-token-account", process)


def create_metas(funder: Pubkey, ata: Pubkey, wallet: Pubkey, mint: Pubkey,
                 token_program: Pubkey) -> list[tuple[Pubkey, bool, bool]]:
    """Accounts of Create/CreateIdempotent, for CPIs from other simnet programs."""
    return [(funder, True, True), (ata, False, True), (wallet, False, False), (mint, False, False),
            (SYSTEM_ID, False, False), (token_program, False, False)]
