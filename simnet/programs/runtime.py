"""The invoke machinery programs run in: instruction frames, CPI, compute metering, logs, inner instructions.

It mirrors what Solana's runtime makes observable: the `Program <id> invoke [n]` / `consumed` / `success` /
`failed:` log lines, the inner-instruction list per top-level instruction with stack heights, CPI privilege
rules (no signer or writable escalation, no reentrancy except self-recursion, depth <= 5) and the account
rules (only the owner may change data, owner or spend lamports; read-only accounts stay untouched; lamports are
conserved per top-level instruction). Like Agave's BorrowedAccount, writes are checked when made: programs
change accounts only through Frame.set_data / set_owner / debit / credit. Failure is an InstructionError.
"""
from __future__ import annotations

import base64
import logging
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple

from solders.pubkey import Pubkey

from pipelines.chain.errors import DecodeError

from ..accounts import Record

log = logging.getLogger(__name__)

MAX_INVOKE_DEPTH = 5           # stack height limit (top level = 1)
CPI_INVOKE_UNITS = 1000        # what one CPI costs the caller
MAX_LOG_BYTES = 10_000         # Solana's log collector limit
MAX_CU_PER_TX = 1_400_000
DEFAULT_CU_PER_IX = 200_000

_ERROR_TEXT = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "MissingAccount": "An account required by the instruction is missing",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "UnsupportedProgramId": "Unsupported program id",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "IllegalOwner": "Provided owner is not allowed",
    "CallDepth": "Cross-program invocation call depth too deep",
    "ReentrancyNotAllowed": "Cross-program invocation reentrancy not allowed for this instruction",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "ExecutableDataModified": "instruction changed executable accounts data",
    "ProgramFailedToComplete": "Program failed to complete",
    "InvalidRealloc": "Failed to reallocate account data",
    "AccountNotRentExempt": "An account does not have enough lamports to be rent-exempt",
}


class InstructionError(Exception):
    """A failed instruction. `err` is the Solana JSON value: "InvalidInstructionData" or {"Custom": 6002}."""

    def __init__(self, err: str | dict) -> None:
        super().__init__(err)
        self.err = err

    def text(self) -> str:
        """The text after `failed: ` in the program's last log line, as the validator prints it."""
        if isinstance(self.err, dict) and "Custom" in self.err:
            return f"custom program error: {self.err['Custom']:#x}"
        return _ERROR_TEXT.get(self.err, str(self.err)) if isinstance(self.err, str) else str(self.err)


def custom(code: int) -> InstructionError:
    return InstructionError({"Custom": code})


class InnerInstruction(NamedTuple):
    program_id: str
    accounts: tuple[str, ...]
    data: bytes
    stack_height: int


@dataclass(frozen=True, slots=True)
class Program:
    """A simnet program: `process(ctx)` runs one instruction; builtins log no `consumed` line."""
    name: str
    process: Callable[["Frame"], None]
    builtin: bool = False


class Frame:
    """One executing instruction (top level or CPI): its accounts (keys, records and base58 names, by
    position) with their privileges, its data, and the program running it."""

    __slots__ = ("tx", "program_id", "program_str", "keys", "recs", "strs", "signer", "writable", "data", "depth",
                 "_pos")

    def __init__(self, tx: "TxRuntime", program_id: Pubkey, program_str: str, keys: list[Pubkey],
                 recs: list[Record], strs: list[str], signer: list[bool], writable: list[bool], data: bytes,
                 depth: int) -> None:
        self.tx = tx
        self.program_id = program_id
        self.program_str = program_str
        self.keys = keys
        self.recs = recs
        self.strs = strs
        self.signer = signer
        self.writable = writable
        self.data = data
        self.depth = depth
        self._pos: dict[Pubkey, int] | None = None

    def index_of(self, key: Pubkey) -> int:
        """Position of `key` among this instruction's accounts (MissingAccount if absent)."""
        pos = self._pos
        if pos is None:
            pos = self._pos = {}
            for i, k in enumerate(self.keys):
                pos.setdefault(k, i)
        i = pos.get(key)
        if i is None:
            raise InstructionError("MissingAccount")
        return i

    # --- accounts ---
    def need(self, n: int) -> None:
        if len(self.keys) < n:
            raise InstructionError("NotEnoughAccountKeys")

    def key(self, i: int) -> Pubkey:
        return self.keys[i]

    def acc(self, i: int) -> Record:
        return self.recs[i]

    def require_signer(self, i: int) -> None:
        if not self.signer[i]:
            raise InstructionError("MissingRequiredSignature")

    def require_writable(self, i: int, err: str | dict = "InvalidArgument") -> None:
        if not self.writable[i]:
            raise InstructionError(err)

    def record(self, key: Pubkey) -> Record:
        """A record by key: only accounts of this instruction are reachable."""
        return self.recs[self.index_of(key)]

    # --- writes: checked here, as Agave's BorrowedAccount does, instead of diffing state afterwards ---
    def set_data(self, i: int, data: bytes) -> None:
        rec = self.recs[i]
        if not self.writable[i]:
            raise InstructionError("ReadonlyDataModified")
        if rec.owner != self.program_id:
            raise InstructionError("ExternalAccountDataModified")
        if rec.executable:
            raise InstructionError("ExecutableDataModified")
        rec.data = data

    def set_owner(self, i: int, owner: Pubkey) -> None:
        rec = self.recs[i]
        if not self.writable[i] or rec.owner != self.program_id or rec.executable:
            raise InstructionError("ModifiedProgramId")
        rec.owner = owner

    def debit(self, i: int, lamports: int) -> None:
        rec = self.recs[i]
        if not self.writable[i]:
            raise InstructionError("ReadonlyLamportChange")
        if rec.owner != self.program_id:
            raise InstructionError("ExternalAccountLamportSpend")
        if rec.lamports < lamports:
            raise InstructionError("InsufficientFunds")
        rec.lamports -= lamports

    def credit(self, i: int, lamports: int) -> None:
        if not self.writable[i]:
            raise InstructionError("ReadonlyLamportChange")
        self.recs[i].lamports += lamports

    def move_lamports(self, src: int, dst: int, lamports: int) -> None:
        if lamports:
            self.debit(src, lamports)
            self.credit(dst, lamports)

    # --- effects ---
    def log(self, msg: str) -> None:
        self.tx.add_log("Program log: " + msg)

    def log_fixed(self, msg: str) -> None:
        """A log line that repeats across transactions ("Instruction: Buy"): stored once, shared."""
        self.tx.add_log(sys.intern("Program log: " + msg))

    def log_raw(self, msg: str) -> None:
        self.tx.add_log(msg)

    def emit_data(self, payload: bytes) -> None:
        self.tx.add_log("Program data: " + base64.b64encode(payload).decode())

    def consume(self, units: int) -> None:
        self.tx.consume(units)

    def consume_up_to(self, units: int) -> None:
        """Builtins' flat cost: metered, but never the reason a transaction runs out of compute."""
        tx = self.tx
        tx.cu_used = min(tx.cu_limit, tx.cu_used + units)

    def set_return_data(self, data: bytes) -> None:
        self.tx.return_data = (self.program_id, data)
        self.tx.add_log(f"Program return: {self.program_str} {base64.b64encode(data).decode()}")

    @property
    def slot(self) -> int:
        return self.tx.slot

    @property
    def unix_timestamp(self) -> int:
        return self.tx.unix_timestamp

    def invoke(self, program_id: Pubkey, metas: Iterable[tuple[Pubkey, bool, bool]], data: bytes,
               pda_signers: Iterable[Pubkey] = ()) -> None:
        """Cross-program invocation with this frame's privileges plus the PDAs it signs for."""
        self.tx.cpi(self, program_id, list(metas), data, tuple(pda_signers))


class TxRuntime:
    """Executes the instructions of one transaction over its loaded account records."""

    def __init__(self, programs: dict[Pubkey, Program], *, slot: int, unix_timestamp: int, cu_limit: int) -> None:
        self.programs = programs
        self.slot = slot
        self.unix_timestamp = unix_timestamp
        self.cu_limit = cu_limit
        self.cu_used = 0
        self.logs: list[str] = []
        self._log_bytes = 0
        self._log_truncated = False
        self.inner: list[InnerInstruction] = []
        self.stack: list[Pubkey] = []
        self.return_data: tuple[Pubkey, bytes] | None = None

    # --- logs and meter ---
    def add_log(self, line: str) -> None:
        if self._log_truncated:
            return
        self._log_bytes += len(line)
        if self._log_bytes > MAX_LOG_BYTES:
            self._log_truncated = True
            self.logs.append("Log truncated")
            return
        self.logs.append(line)

    def consume(self, units: int) -> None:
        self.cu_used += units
        if self.cu_used > self.cu_limit:
            self.cu_used = self.cu_limit
            raise InstructionError("ComputationalBudgetExceeded")

    # --- execution ---
    def run_top(self, program_id: Pubkey, program_str: str, keys: list[Pubkey], recs: list[Record],
                strs: list[str], signer: list[bool], writable: list[bool], data: bytes) -> None:
        self.inner = []
        frame = Frame(self, program_id, program_str, keys, recs, strs, signer, writable, data, 1)
        unique = {id(r): r for r in recs}.values()
        before = sum(r.lamports for r in unique)
        self._execute(frame)
        if sum(r.lamports for r in unique) != before:
            raise InstructionError("UnbalancedInstruction")

    def cpi(self, caller: Frame, program_id: Pubkey, metas: list[tuple[Pubkey, bool, bool]], data: bytes,
            pda_signers: tuple[Pubkey, ...]) -> None:
        depth = caller.depth + 1
        if depth > MAX_INVOKE_DEPTH:
            raise InstructionError("CallDepth")
        if program_id in self.stack and program_id != self.stack[-1]:
            raise InstructionError("ReentrancyNotAllowed")
        index_of = caller.index_of
        program_str = caller.strs[index_of(program_id)]
        c_recs, c_strs, c_signer, c_writable = caller.recs, caller.strs, caller.signer, caller.writable
        keys, recs, strs, signer, writable = [], [], [], [], []
        for key, is_signer, is_writable in metas:
            i = index_of(key)
            if is_signer and not c_signer[i] and key not in pda_signers:
                self.add_log(f"{key}'s signer privilege escalated")
                raise InstructionError("PrivilegeEscalation")
            if is_writable and not c_writable[i]:
                self.add_log(f"{key}'s writable privilege escalated")
                raise InstructionError("PrivilegeEscalation")
            keys.append(key)
            recs.append(c_recs[i])
            strs.append(c_strs[i])
            signer.append(is_signer)
            writable.append(is_writable)
        self.consume(CPI_INVOKE_UNITS)
        self.inner.append(InnerInstruction(program_str, tuple(strs), bytes(data), depth))
        self._execute(Frame(self, program_id, program_str, keys, recs, strs, signer, writable, data, depth))

    def _execute(self, frame: Frame) -> None:
        pid = frame.program_id
        pid_s = frame.program_str
        self.add_log(sys.intern(f"Program {pid_s} invoke [{frame.depth}]"))   # shared: stored txs keep logs
        program = self.programs.get(pid)
        start_used = self.cu_used
        available = self.cu_limit - self.cu_used
        self.stack.append(pid)
        try:
            if program is None:
                raise InstructionError("UnsupportedProgramId")
            program.process(frame)
            if not program.builtin:
                self.add_log(f"Program {pid_s} consumed {self.cu_used - start_used} of {available} compute units")
        except InstructionError as exc:
            self._finish(program, pid_s, start_used, available)
            self.add_log(f"Program {pid_s} failed: {exc.text()}")
            raise
        except DecodeError as exc:
            self._finish(program, pid_s, start_used, available)
            self.add_log(f"Program log: {exc}")
            self.add_log(f"Program {pid_s} failed: {_ERROR_TEXT['InvalidAccountData']}")
            raise InstructionError("InvalidAccountData") from None
        except Exception:  # a simnet bug must fail this transaction only, never the bank
            log.exception("simnet program %s crashed", program.name if program else pid_s)
            self._finish(program, pid_s, start_used, available)
            self.add_log(f"Program {pid_s} failed: {_ERROR_TEXT['ProgramFailedToComplete']}")
            raise InstructionError("ProgramFailedToComplete") from None
        finally:
            self.stack.pop()
        self.add_log(sys.intern(f"Program {pid_s} success"))

    def _finish(self, program: Program | None, pid_s: str, start_used: int, available: int) -> None:
        if program is not None and not program.builtin:
            self.add_log(f"Program {pid_s} consumed {self.cu_used - start_used} of {available} compute units")


def read_u64(data: bytes, off: int) -> int:
    if off + 8 > len(data):
        raise InstructionError("InvalidInstructionData")
    return int.from_bytes(data[off:off + 8], "little")
