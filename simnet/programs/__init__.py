"""simnet's programs, by program id. Each module exposes a runtime.Program."""
from __future__ import annotations

from solders.pubkey import Pubkey

from pipelines.chain import programs as P

from .runtime import Program


def default_programs() -> dict[Pubkey, Program]:
    from . import associated_token, compute_budget, metaplex, pump, pumpswap, system, token
    pk = Pubkey.from_string
    return {
        pk(P.SYSTEM): system.PROGRAM,
        pk(P.COMPUTE_BUDGET): compute_budget.PROGRAM,
        pk(P.TOKEN): token.TOKEN,
        pk(P.TOKEN_2022): token.TOKEN_2022,
        pk(P.ASSOCIATED_TOKEN): associated_token.PROGRAM,
        pk(P.PUMP): pump.PROGRAM,
        pk(P.PUMP_AMM): pumpswap.PROGRAM,
        pk(P.METAPLEX_METADATA): metaplex.PROGRAM,
    }
