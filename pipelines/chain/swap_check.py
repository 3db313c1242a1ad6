"""Checks a swap transaction built by someone else (the Jupiter API) before our wallet signs it.

A Jupiter response is an unsigned transaction from a remote service: whatever it holds, our key would sign. So
before signing, its message is read instruction by instruction and refused unless every top-level instruction
belongs to an allowed program, the fee payer (and only signer) is our wallet, the compute-unit price is under a
cap, and the only value that leaves the wallet at the top level is the expected input: SOL wrapped for a SOL
input (a System transfer of exactly that amount into the wallet's own wSOL account), tokens of the input mint
from the wallet's own token account (at most the amount), an allowed Jito tip, and fees. Approvals, authority
changes, burns and accounts closed to anyone but the wallet are refused. Venue programs move the input by CPI:
those programs are trusted by being on the allowed list.

Pure: the message is decoded by the caller (solders), address lookup tables are resolved by the caller (through
the RpcPool); a message whose tables are not resolved is refused, since its accounts cannot be known.
"""
from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import pda
from . import programs as P

JUPITER_V6 = "JUP6LkbZbjS1jKKwapdHUNP5oEqBdfM7EWnZgMFUzvj5"

# The programs a swap may call at the top level: Jupiter's router (mainnet), the runtime's budget / system /
# token programs, and the venues a memecoin is traded on (simnet's Jupiter calls the venue programs directly).
DEFAULT_ALLOWED_PROGRAMS = frozenset({
    JUPITER_V6, P.COMPUTE_BUDGET, P.SYSTEM, P.TOKEN, P.TOKEN_2022, P.ASSOCIATED_TOKEN,
    P.PUMP, P.PUMP_AMM, P.RAYDIUM_AMM_V4, P.RAYDIUM_CPMM, P.RAYDIUM_LAUNCHLAB, P.ORCA_WHIRLPOOL,
    P.METEORA_DLMM, P.METEORA_DAMM_V2,
})

_SYS_TRANSFER = 2
_TOKEN_TRANSFER, _TOKEN_APPROVE, _TOKEN_SET_AUTHORITY, _TOKEN_BURN, _TOKEN_CLOSE = 3, 4, 6, 8, 9
_TOKEN_TRANSFER_CHECKED, _TOKEN_APPROVE_CHECKED, _TOKEN_BURN_CHECKED = 12, 13, 15
_CB_SET_PRICE = 3
ALT_HEADER_BYTES = 56      # an address lookup table account: 56-byte metadata, then 32-byte addresses


@dataclass(frozen=True, slots=True)
class SwapExpectation:
    wallet: str
    input_mint: str
    input_amount: int
    last_valid_block_height: int
    max_cu_price_micro_lamports: int
    allowed_programs: frozenset[str] = DEFAULT_ALLOWED_PROGRAMS
    tip_accounts: frozenset[str] = frozenset()
    max_tip_lamports: int = 0


@dataclass(frozen=True, slots=True)
class _Ix:
    program: str
    accounts: tuple[str, ...]
    data: bytes


@dataclass(slots=True)
class _Tally:
    tokens_out: int = 0
    sol_wrapped: int = 0
    tips: int = 0
    problems: list[str] = field(default_factory=list)


def url_problem(url: str) -> str | None:
    """Why this Jupiter URL may not be used (None when it may): https, or http to a loopback host only."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the Jupiter URL cannot be parsed"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            if ipaddress.ip_address(host).is_loopback:
                return None
        except ValueError:
            if host == "localhost":
                return None
        return f"the Jupiter URL must be https (http only to a loopback host, not {host})"
    return "the Jupiter URL must be https"


def alt_addresses(data: bytes) -> list[str]:
    """The addresses an address lookup table account holds (its data as read from the chain)."""
    from solders.pubkey import Pubkey
    body = bytes(data)[ALT_HEADER_BYTES:]
    if len(data) < ALT_HEADER_BYTES or len(body) % 32:
        raise ValueError("not an address lookup table account")
    return [str(Pubkey.from_bytes(body[i:i + 32])) for i in range(0, len(body), 32)]


def account_list(message, tables: Mapping[str, Sequence[str]] | None) -> tuple[list[str], list[str]]:
    """(the message's account keys with its lookups resolved, problems). Lookups resolve as the runtime does:
    every table's writable indexes, then every table's readonly ones, after the static keys."""
    keys = [str(k) for k in message.account_keys]
    lookups = list(getattr(message, "address_table_lookups", None) or [])
    if not lookups:
        return keys, []
    if tables is None:
        return keys, ["the transaction uses address lookup tables that were not resolved"]
    writable: list[str] = []
    readonly: list[str] = []
    for lookup in lookups:
        table = tables.get(str(lookup.account_key))
        if table is None:
            return keys, [f"address lookup table {lookup.account_key} was not resolved"]
        try:
            writable += [table[i] for i in lookup.writable_indexes]
            readonly += [table[i] for i in lookup.readonly_indexes]
        except IndexError:
            return keys, [f"address lookup table {lookup.account_key} has no such index"]
    return keys + writable + readonly, []


def check_swap(message, expect: SwapExpectation, tables: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Every reason not to sign `message` (a solders Message or MessageV0); empty when it may be signed."""
    problems: list[str] = []
    if expect.last_valid_block_height <= 0:
        problems.append("lastValidBlockHeight is missing or not positive")
    keys, lookup_problems = account_list(message, tables)
    problems += lookup_problems
    if lookup_problems:
        return problems
    if not keys or keys[0] != expect.wallet:
        problems.append(f"fee payer is {keys[0] if keys else 'missing'}, not the wallet")
    if message.header.num_required_signatures != 1:
        problems.append(f"the transaction asks for {message.header.num_required_signatures} signatures, not 1")
    try:
        ixs = [_Ix(keys[ci.program_id_index], tuple(keys[a] for a in bytes(ci.accounts)), bytes(ci.data))
               for ci in message.instructions]
    except IndexError:
        return problems + ["an instruction names an account the message does not hold"]
    tally = _Tally(problems=problems)
    for ix in ixs:
        if ix.program not in expect.allowed_programs:
            tally.problems.append(f"calls a program that is not allowed: {ix.program}")
        elif ix.program == P.COMPUTE_BUDGET:
            _compute_budget(ix, expect, tally)
        elif ix.program == P.SYSTEM:
            _system(ix, expect, tally)
        elif ix.program in (P.TOKEN, P.TOKEN_2022):
            _token(ix, expect, tally)
    if tally.tokens_out > expect.input_amount and expect.input_mint != P.WSOL_MINT:
        tally.problems.append(f"moves {tally.tokens_out} tokens out of the wallet, more than the input "
                              f"{expect.input_amount}")
    if tally.tips > expect.max_tip_lamports:
        tally.problems.append(f"tips {tally.tips} lamports, more than {expect.max_tip_lamports}")
    return tally.problems


def _compute_budget(ix: _Ix, expect: SwapExpectation, tally: _Tally) -> None:
    if ix.data[:1] == bytes([_CB_SET_PRICE]):
        if len(ix.data) < 9:
            tally.problems.append("malformed compute-unit price instruction")
            return
        price = struct.unpack_from("<Q", ix.data, 1)[0]
        if price > expect.max_cu_price_micro_lamports:
            tally.problems.append(f"compute-unit price {price} micro-lamports is over the cap "
                                  f"{expect.max_cu_price_micro_lamports}")


def _system(ix: _Ix, expect: SwapExpectation, tally: _Tally) -> None:
    if expect.wallet not in ix.accounts:
        return                                   # moves nobody's SOL of ours
    if len(ix.data) < 12 or struct.unpack_from("<I", ix.data, 0)[0] != _SYS_TRANSFER or len(ix.accounts) < 2:
        tally.problems.append("a System instruction other than a transfer uses the wallet")
        return
    src, dst = ix.accounts[0], ix.accounts[1]
    lamports = struct.unpack_from("<Q", ix.data, 4)[0]
    if src != expect.wallet:
        return
    wsol = str(pda.associated_token(expect.wallet, P.WSOL_MINT, P.TOKEN))
    if dst == wsol and expect.input_mint == P.WSOL_MINT:
        tally.sol_wrapped += lamports
        if tally.sol_wrapped > expect.input_amount:
            tally.problems.append(f"wraps {tally.sol_wrapped} lamports, more than the input {expect.input_amount}")
    elif dst in expect.tip_accounts:
        tally.tips += lamports
    elif dst != expect.wallet:
        tally.problems.append(f"transfers {lamports} lamports from the wallet to {dst}")


def _token(ix: _Ix, expect: SwapExpectation, tally: _Tally) -> None:
    if not ix.data:
        return
    op, acc, wallet = ix.data[0], ix.accounts, expect.wallet
    if op in (_TOKEN_TRANSFER, _TOKEN_TRANSFER_CHECKED):
        authority = acc[2] if op == _TOKEN_TRANSFER and len(acc) > 2 else acc[3] if len(acc) > 3 else ""
        if authority != wallet:
            return
        source = acc[0]
        own = {str(pda.associated_token(wallet, expect.input_mint, prog)) for prog in (P.TOKEN, P.TOKEN_2022)}
        mint_ok = op == _TOKEN_TRANSFER or acc[1] == expect.input_mint
        if source not in own or not mint_ok or expect.input_mint == P.WSOL_MINT or len(ix.data) < 9:
            tally.problems.append(f"transfers tokens out of the wallet's account {source} (not the input)")
            return
        tally.tokens_out += struct.unpack_from("<Q", ix.data, 1)[0]
    elif op in (_TOKEN_APPROVE, _TOKEN_APPROVE_CHECKED, _TOKEN_SET_AUTHORITY, _TOKEN_BURN, _TOKEN_BURN_CHECKED):
        if wallet in acc:
            tally.problems.append(f"token instruction {op} (approve / set authority / burn) on the wallet's account")
    elif op == _TOKEN_CLOSE:
        if len(acc) >= 3 and acc[2] == wallet and acc[1] != wallet:
            tally.problems.append(f"closes a wallet token account to {acc[1]}")


def allowed(programs: Iterable[str]) -> frozenset[str]:
    """The default allowed programs plus `programs` (a config's extra venue programs)."""
    return DEFAULT_ALLOWED_PROGRAMS | frozenset(programs)
