"""ComputeBudget: the limit and price a transaction asks for, read before execution like the validator does.

Executing a ComputeBudget instruction does nothing but cost 150 CU; its effect is the TxBudget parsed up front.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from pipelines.chain import programs as P

from .runtime import DEFAULT_CU_PER_IX, MAX_CU_PER_TX, Frame, Program

PROGRAM_ID = Pubkey.from_string(P.COMPUTE_BUDGET)

COST = 150
REQUEST_HEAP_FRAME, SET_COMPUTE_UNIT_LIMIT, SET_COMPUTE_UNIT_PRICE, SET_LOADED_ACCOUNTS_DATA_SIZE_LIMIT = 1, 2, 3, 4
MIN_HEAP, MAX_HEAP = 32 * 1024, 256 * 1024
LAMPORTS_PER_SIGNATURE = 5000
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000


@dataclass(frozen=True, slots=True)
class TxBudget:
    cu_limit: int
    cu_price: int          # micro-lamports per CU
    requested_limit: bool  # whether the tx set a limit itself

    def priority_fee(self) -> int:
        return -(-self.cu_limit * self.cu_price // MICRO_LAMPORTS_PER_LAMPORT)


def parse_budget(program_indices: list[int], datas: list[bytes], budget_index: int | None) -> TxBudget | dict:
    """TxBudget, or the transaction error (Solana JSON) when a budget instruction is bad or repeated.

    program_indices/datas: per top-level instruction; budget_index: the ComputeBudget program's key index.
    """
    limit = price = None
    seen: set[int] = set()
    others = 0
    for i, (pidx, data) in enumerate(zip(program_indices, datas)):
        if pidx != budget_index:
            others += 1
            continue
        if not data:
            return {"InstructionError": [i, "InvalidInstructionData"]}
        tag = data[0]
        if tag in seen:
            return {"DuplicateInstruction": i}
        seen.add(tag)
        if tag == SET_COMPUTE_UNIT_LIMIT and len(data) == 5:
            limit = struct.unpack_from("<I", data, 1)[0]
        elif tag == SET_COMPUTE_UNIT_PRICE and len(data) == 9:
            price = struct.unpack_from("<Q", data, 1)[0]
        elif tag == REQUEST_HEAP_FRAME and len(data) == 5:
            heap = struct.unpack_from("<I", data, 1)[0]
            if heap % 1024 or not MIN_HEAP <= heap <= MAX_HEAP:
                return {"InstructionError": [i, "InvalidInstructionData"]}
        elif tag == SET_LOADED_ACCOUNTS_DATA_SIZE_LIMIT and len(data) == 5:
            pass
        else:
            return {"InstructionError": [i, "InvalidInstructionData"]}
    if limit is None:
        return TxBudget(min(others * DEFAULT_CU_PER_IX, MAX_CU_PER_TX), price or 0, False)
    return TxBudget(min(limit, MAX_CU_PER_TX), price or 0, True)


def process(ctx: Frame) -> None:
    # a tx of only budget instructions has a 0 CU default limit, and still succeeds on mainnet
    ctx.consume_up_to(COST)


PROGRAM = Program("compute_budget", process, builtin=True)
