"""What Anchor programs share: error logs and codes, account checks, and event emission (log + event CPI)."""
from __future__ import annotations

from solders.pubkey import Pubkey

from pipelines.chain import programs as P

from .runtime import Frame, InstructionError, custom

# anchor-lang ErrorCode values the simnet programs raise
INSTRUCTION_FALLBACK_NOT_FOUND = 101
INSTRUCTION_DID_NOT_DESERIALIZE = 102
CONSTRAINT_MUT = 2000
CONSTRAINT_HAS_ONE = 2001
CONSTRAINT_SIGNER = 2002
CONSTRAINT_SEEDS = 2006
CONSTRAINT_ADDRESS = 2012
CONSTRAINT_TOKEN_MINT = 2014
CONSTRAINT_TOKEN_OWNER = 2015
ACCOUNT_DISCRIMINATOR_MISMATCH = 3002
ACCOUNT_NOT_ENOUGH_KEYS = 3005
ACCOUNT_OWNED_BY_WRONG_PROGRAM = 3007
ACCOUNT_NOT_INITIALIZED = 3012

_ANCHOR_NAMES = {
    INSTRUCTION_FALLBACK_NOT_FOUND: ("InstructionFallbackNotFound", "Fallback functions are not supported"),
    INSTRUCTION_DID_NOT_DESERIALIZE: ("InstructionDidNotDeserialize",
                                      "The program could not deserialize the given instruction"),
    CONSTRAINT_MUT: ("ConstraintMut", "A mut constraint was violated"),
    CONSTRAINT_HAS_ONE: ("ConstraintHasOne", "A has one constraint was violated"),
    CONSTRAINT_SIGNER: ("ConstraintSigner", "A signer constraint was violated"),
    CONSTRAINT_SEEDS: ("ConstraintSeeds", "A seeds constraint was violated"),
    CONSTRAINT_ADDRESS: ("ConstraintAddress", "An address constraint was violated"),
    CONSTRAINT_TOKEN_MINT: ("ConstraintTokenMint", "A token mint constraint was violated"),
    CONSTRAINT_TOKEN_OWNER: ("ConstraintTokenOwner", "A token owner constraint was violated"),
    ACCOUNT_DISCRIMINATOR_MISMATCH: ("AccountDiscriminatorMismatch",
                                     "8 byte discriminator did not match what was expected"),
    ACCOUNT_NOT_ENOUGH_KEYS: ("AccountNotEnoughKeys", "Not enough account keys given to the instruction"),
    ACCOUNT_OWNED_BY_WRONG_PROGRAM: ("AccountOwnedByWrongProgram",
                                     "The given account is owned by a different program than expected"),
    ACCOUNT_NOT_INITIALIZED: ("AccountNotInitialized",
                              "The program expected this account to be already initialized"),
}

EVENT_CPI_PREFIX = P.EVENT_CPI_PREFIX
EVENT_CPI_COST = 2000


class AnchorProgram:
    """Error reporting for one Anchor program, from its IDL's error table {code: (name, msg)}."""

    def __init__(self, errors: dict[int, tuple[str, str]]) -> None:
        self.errors = errors

    def error(self, ctx: Frame, code: int, *, account: str | None = None) -> InstructionError:
        name, msg = self.errors.get(code) or _ANCHOR_NAMES.get(code, (str(code), ""))
        where = f"caused by account: {account}." if account else "occurred."
        ctx.log(f"AnchorError {where} Error Code: {name}. Error Number: {code}. Error Message: {msg}.")
        return custom(code)

    def need(self, ctx: Frame, n: int) -> None:
        if len(ctx.keys) < n:
            raise self.error(ctx, ACCOUNT_NOT_ENOUGH_KEYS)

    def expect_key(self, ctx: Frame, i: int, expected: Pubkey, name: str, code: int = CONSTRAINT_SEEDS) -> None:
        if ctx.keys[i] != expected:
            ctx.log(f"Left: {ctx.keys[i]}")
            ctx.log(f"Right: {expected}")
            raise self.error(ctx, code, account=name)

    def expect_signer(self, ctx: Frame, i: int, name: str) -> None:
        if not ctx.signer[i]:
            raise self.error(ctx, CONSTRAINT_SIGNER, account=name)

    def expect_writable(self, ctx: Frame, i: int, name: str) -> None:
        if not ctx.writable[i]:
            raise self.error(ctx, CONSTRAINT_MUT, account=name)

    def load(self, ctx: Frame, i: int, disc: bytes, name: str) -> bytes:
        """The data of an initialized account of this program, discriminator checked."""
        rec = ctx.acc(i)
        if rec.owner != ctx.program_id:
            raise self.error(ctx, ACCOUNT_NOT_INITIALIZED if not rec.lamports else ACCOUNT_OWNED_BY_WRONG_PROGRAM,
                             account=name)
        if rec.data[:8] != disc:
            raise self.error(ctx, ACCOUNT_DISCRIMINATOR_MISMATCH, account=name)
        return rec.data

    def emit(self, ctx: Frame, payload: bytes, event_authority_index: int) -> None:
        """Anchor's emit! (a `Program data:` log line) and emit_cpi! (self-invoke signed by the event authority),
        as pump and PumpSwap do for every event. `payload` = event discriminator + borsh fields."""
        ctx.emit_data(payload)
        authority = ctx.keys[event_authority_index]
        ctx.invoke(ctx.program_id, [(authority, True, False)], EVENT_CPI_PREFIX + payload, pda_signers=(authority,))

    def event_cpi(self, ctx: Frame, event_authority: Pubkey) -> None:
        """The self-invocation that carries an event: only the program's event authority may sign it."""
        ctx.consume(EVENT_CPI_COST)
        if not ctx.keys or ctx.keys[0] != event_authority or not ctx.signer[0]:
            raise self.error(ctx, CONSTRAINT_SIGNER, account="event_authority")
