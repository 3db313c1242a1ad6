"""pump.fun instruction data and account lists: encode (intent -> Instruction) and parse (Instruction -> intent).

One table per instruction names every account in IDL order (pump 2.0.0, shared/idl) with its signer/writable
flags; the same table builds instructions and checks parsed ones, so the two directions cannot drift.
Account lists (PROTOCOL.md, real 2025 fixtures): buy / buy_exact_sol_in 16, sell 14 (creator_vault before
token_program), create 14, create_v2 16. Accounts after the list are kept as `remaining`.

Writability follows the real 2025 buy (shared/fixtures/pumpfun/buy_2025_ix.json), which marks
global_volume_accumulator writable where the 2.0.0 IDL says read-only: a writable superset is always
accepted by the runtime, a missing write lock is not.
"""
from __future__ import annotations

from typing import Callable, Iterable

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from . import pda
from . import programs as P
from .borsh import Reader, Writer
from .errors import DecodeError
from .intents import (AccountRef, PumpBuy, PumpBuyExactSol, PumpCreate, PumpCreateV2, PumpIntent, PumpSell)

PUMP_PROGRAM = Pubkey.from_string(P.PUMP)

# (name, signer, writable, derive(intent) -> address)
_Acc = tuple[str, bool, bool, Callable[[object], str]]


def _const(address: str) -> Callable[[object], str]:
    return lambda _i: address


def _attr(name: str) -> Callable[[object], str]:
    return lambda i: getattr(i, name)


def _d(fn) -> Callable[[object], str]:
    return lambda i: str(fn(i))


_GLOBAL = ("global", False, False, _const(P.PUMP_GLOBAL))
_EVENT_AUTHORITY = ("event_authority", False, False, _d(lambda i: pda.event_authority()))
_PROGRAM = ("program", False, False, _const(P.PUMP))
_SYSTEM = ("system_program", False, False, _const(P.SYSTEM))
_BONDING_CURVE = ("bonding_curve", False, True, _d(lambda i: pda.bonding_curve(i.mint)))
_ASSOC_BC = ("associated_bonding_curve", False, True,
             _d(lambda i: pda.associated_bonding_curve(i.mint, i.token_program)))
_FEE_CONFIG = ("fee_config", False, False, _d(lambda i: pda.fee_config()))
_FEE_PROGRAM = ("fee_program", False, False, _const(P.PUMP_FEES))

_TRADE_HEAD: tuple[_Acc, ...] = (
    _GLOBAL,
    ("fee_recipient", False, True, _attr("fee_recipient")),
    ("mint", False, False, _attr("mint")),
    _BONDING_CURVE,
    _ASSOC_BC,
    ("associated_user", False, True, _attr("associated_user")),
    ("user", True, True, _attr("user")),
    _SYSTEM,
)
BUY_ACCOUNTS: tuple[_Acc, ...] = _TRADE_HEAD + (
    ("token_program", False, False, _attr("token_program")),
    ("creator_vault", False, True, _attr("creator_vault")),
    _EVENT_AUTHORITY,
    _PROGRAM,
    ("global_volume_accumulator", False, True, _d(lambda i: pda.global_volume_accumulator())),
    ("user_volume_accumulator", False, True, _d(lambda i: pda.user_volume_accumulator(i.user))),
    _FEE_CONFIG,
    _FEE_PROGRAM,
)
SELL_ACCOUNTS: tuple[_Acc, ...] = _TRADE_HEAD + (
    ("creator_vault", False, True, _attr("creator_vault")),
    ("token_program", False, False, _attr("token_program")),
    _EVENT_AUTHORITY,
    _PROGRAM,
    _FEE_CONFIG,
    _FEE_PROGRAM,
)
CREATE_ACCOUNTS: tuple[_Acc, ...] = (
    ("mint", True, True, _attr("mint")),
    ("mint_authority", False, False, _d(lambda i: pda.mint_authority())),
    _BONDING_CURVE,
    _ASSOC_BC,
    _GLOBAL,
    ("mpl_token_metadata", False, False, _const(P.METAPLEX_METADATA)),
    ("metadata", False, True, _d(lambda i: pda.metadata(i.mint))),
    ("user", True, True, _attr("user")),
    _SYSTEM,
    ("token_program", False, False, _const(P.TOKEN)),
    ("associated_token_program", False, False, _const(P.ASSOCIATED_TOKEN)),
    ("rent", False, False, _const(P.RENT_SYSVAR)),
    _EVENT_AUTHORITY,
    _PROGRAM,
)
CREATE_V2_ACCOUNTS: tuple[_Acc, ...] = (
    ("mint", True, True, _attr("mint")),
    ("mint_authority", False, False, _d(lambda i: pda.mint_authority())),
    _BONDING_CURVE,
    _ASSOC_BC,
    _GLOBAL,
    ("user", True, True, _attr("user")),
    _SYSTEM,
    ("token_program", False, False, _const(P.TOKEN_2022)),
    ("associated_token_program", False, False, _const(P.ASSOCIATED_TOKEN)),
    ("mayhem_program_id", False, True, _const(P.PUMP_MAYHEM)),
    ("global_params", False, False, _d(lambda i: pda.mayhem_global_params())),
    ("sol_vault", False, True, _d(lambda i: pda.mayhem_sol_vault())),
    ("mayhem_state", False, True, _d(lambda i: pda.mayhem_state(i.mint))),
    ("mayhem_token_vault", False, True, _d(lambda i: pda.mayhem_token_vault(i.mint))),
    _EVENT_AUTHORITY,
    _PROGRAM,
)

ACCOUNTS_BY_INTENT: dict[type, tuple[_Acc, ...]] = {
    PumpBuy: BUY_ACCOUNTS, PumpBuyExactSol: BUY_ACCOUNTS, PumpSell: SELL_ACCOUNTS,
    PumpCreate: CREATE_ACCOUNTS, PumpCreateV2: CREATE_V2_ACCOUNTS,
}


# --- instruction data ---

def _option_bool(w: Writer, v: bool | None) -> None:
    if v is not None:
        w.bool(v)


def encode_data(intent: PumpIntent) -> bytes:
    if isinstance(intent, PumpBuy):
        w = Writer().raw(P.PUMP_IX_BUY).u64(intent.amount).u64(intent.max_sol_cost)
        _option_bool(w, intent.track_volume)
    elif isinstance(intent, PumpBuyExactSol):
        w = Writer().raw(P.PUMP_IX_BUY_EXACT_SOL_IN).u64(intent.spendable_sol_in).u64(intent.min_tokens_out)
        _option_bool(w, intent.track_volume)
    elif isinstance(intent, PumpSell):
        w = Writer().raw(P.PUMP_IX_SELL).u64(intent.amount).u64(intent.min_sol_output)
    elif isinstance(intent, PumpCreate):
        w = Writer().raw(P.PUMP_IX_CREATE).string(intent.name).string(intent.symbol).string(intent.uri)
        w.pubkey(intent.creator)
    elif isinstance(intent, PumpCreateV2):
        w = Writer().raw(P.PUMP_IX_CREATE_V2).string(intent.name).string(intent.symbol).string(intent.uri)
        w.pubkey(intent.creator).bool(intent.is_mayhem_mode)
        _option_bool(w, intent.is_cashback_enabled)
        if intent.creator_fee_bps is not None:
            w.u64(intent.creator_fee_bps)
        _option_bool(w, intent.is_holder_reward)
    else:
        raise TypeError(f"not a pump intent: {type(intent).__name__}")
    return w.bytes()


def accounts_for(intent: PumpIntent) -> list[AccountMeta]:
    table = ACCOUNTS_BY_INTENT.get(type(intent))
    if table is None:
        raise TypeError(f"not a pump intent: {type(intent).__name__}")
    metas = [AccountMeta(Pubkey.from_string(derive(intent)), signer, writable)
             for _name, signer, writable, derive in table]
    metas += [AccountMeta(Pubkey.from_string(k), s, w) for k, s, w in getattr(intent, "remaining", ())]
    return metas


def instruction_for(intent: PumpIntent) -> Instruction:
    """The solders Instruction that carries out `intent` on the pump program."""
    return Instruction(PUMP_PROGRAM, encode_data(intent), accounts_for(intent))


# --- parsing ---

_IX_NAMES = {
    P.PUMP_IX_BUY: "buy", P.PUMP_IX_BUY_EXACT_SOL_IN: "buy_exact_sol_in", P.PUMP_IX_SELL: "sell",
    P.PUMP_IX_CREATE: "create", P.PUMP_IX_CREATE_V2: "create_v2",
}


def pump_instruction_name(data: bytes) -> str | None:
    """buy / buy_exact_sol_in / sell / create / create_v2 by discriminator, else None."""
    return _IX_NAMES.get(bytes(data[:8]))


def _opt_bool_tail(r: Reader) -> bool | None:
    return r.bool() if r.remaining() > 0 else None


def _done(r: Reader, what: str) -> None:
    if r.remaining():
        raise DecodeError(f"{r.remaining()} unexpected trailing bytes in {what} data")


# An account as the parser receives it: (pubkey, is_signer | None, is_writable | None); None = unknown flags.
_Seen = tuple[str, bool | None, bool | None]


def _normalise_accounts(accounts: Iterable) -> list[_Seen]:
    out: list[_Seen] = []
    for a in accounts:
        if isinstance(a, AccountMeta):
            out.append((str(a.pubkey), a.is_signer, a.is_writable))
        elif isinstance(a, (str, Pubkey)):
            out.append((str(a), None, None))
        elif isinstance(a, dict):
            out.append((str(a["pubkey"]), a.get("is_signer"), a.get("is_writable")))
        else:
            try:
                k, s, w = a
            except (TypeError, ValueError):
                raise DecodeError(f"cannot read account entry {a!r}") from None
            out.append((str(k), s, w))
    return out


def _check_accounts(intent: PumpIntent, seen: list[_Seen], table: tuple[_Acc, ...], what: str) -> None:
    """Every account must be what the program's seeds/constraints demand, with at least the flags it needs."""
    for (name, signer, writable, derive), (key, is_signer, is_writable) in zip(table, seen):
        expected = derive(intent)
        if key != expected:
            raise DecodeError(f"{what}: account {name} is {key}, expected {expected}")
        if signer and is_signer is False:
            raise DecodeError(f"{what}: account {name} must sign")
        if writable and is_writable is False:
            raise DecodeError(f"{what}: account {name} must be writable")


def _remaining_refs(seen: list[_Seen], start: int) -> tuple[AccountRef, ...]:
    return tuple((k, bool(s), bool(w)) for k, s, w in seen[start:])


def _by_name(seen: list[_Seen], table: tuple[_Acc, ...]) -> dict[str, str]:
    return {entry[0]: s[0] for entry, s in zip(table, seen)}


def _build(cls, **kwargs):
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"invalid {cls.__name__}: {exc}") from None


def parse_pump_instruction(ix) -> PumpIntent:
    """Decode a pump create/create_v2/buy/buy_exact_sol_in/sell instruction into its intent.

    `ix` is a solders Instruction or a (program_id, accounts, data) tuple, where accounts are AccountMeta,
    (pubkey, is_signer, is_writable) tuples, {"pubkey", "is_signer", "is_writable"} dicts or bare pubkeys
    (flags unknown, not checked). Raises DecodeError (only) on anything that is not a well-formed instruction
    the current program would accept: wrong program, unknown discriminator, bad args, too few accounts, a PDA
    or fixed account that is not what its seeds say, or a missing signer/write flag. creator_vault cannot be
    checked without the curve's creator (on chain state): simnet must check it against the curve.
    """
    if isinstance(ix, Instruction):
        program_id, accounts, data = ix.program_id, ix.accounts, ix.data
    else:
        try:
            program_id, accounts, data = ix
        except (TypeError, ValueError):
            raise DecodeError("expected an Instruction or (program_id, accounts, data)") from None
    if str(program_id) != P.PUMP:
        raise DecodeError(f"not a pump instruction (program {program_id})")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("instruction data must be bytes")
    data = bytes(data)
    name = pump_instruction_name(data)
    if name is None:
        raise DecodeError(f"unsupported pump instruction discriminator {data[:8].hex()}")
    seen = _normalise_accounts(accounts)
    r = Reader(data, 8)

    if name in ("buy", "buy_exact_sol_in", "sell"):
        table = SELL_ACCOUNTS if name == "sell" else BUY_ACCOUNTS
        if len(seen) < len(table):
            raise DecodeError(f"{name}: {len(seen)} accounts, the program needs {len(table)}")
        a = _by_name(seen, table)
        common = dict(mint=a["mint"], user=a["user"], fee_recipient=a["fee_recipient"],
                      creator_vault=a["creator_vault"], token_program=a["token_program"],
                      associated_user=a["associated_user"], remaining=_remaining_refs(seen, len(table)))
        if name == "buy":
            amount, max_cost = r.u64(), r.u64()
            track = _opt_bool_tail(r)
            _done(r, name)
            intent = _build(PumpBuy, amount=amount, max_sol_cost=max_cost, track_volume=track, **common)
        elif name == "buy_exact_sol_in":
            spendable, min_out = r.u64(), r.u64()
            track = _opt_bool_tail(r)
            _done(r, name)
            intent = _build(PumpBuyExactSol, spendable_sol_in=spendable, min_tokens_out=min_out,
                            track_volume=track, **common)
        else:
            amount, min_out = r.u64(), r.u64()
            _done(r, name)
            intent = _build(PumpSell, amount=amount, min_sol_output=min_out, **common)
        _check_accounts(intent, seen, table, name)
        return intent

    # create / create_v2
    table = CREATE_ACCOUNTS if name == "create" else CREATE_V2_ACCOUNTS
    if len(seen) < len(table):
        raise DecodeError(f"{name}: {len(seen)} accounts, the program needs {len(table)}")
    a = _by_name(seen, table)
    token_name, symbol, uri, creator = r.string(), r.string(), r.string(), r.pubkey()
    if name == "create":
        _done(r, name)
        if len(seen) > len(table):
            raise DecodeError(f"create: {len(seen) - len(table)} unexpected extra accounts")
        intent = _build(PumpCreate, mint=a["mint"], user=a["user"], name=token_name, symbol=symbol, uri=uri,
                        creator=creator)
    else:
        mayhem = r.bool()
        cashback = _opt_bool_tail(r)
        fee_bps = r.u64() if r.remaining() else None
        holder = _opt_bool_tail(r)
        _done(r, name)
        intent = _build(PumpCreateV2, mint=a["mint"], user=a["user"], name=token_name, symbol=symbol, uri=uri,
                        creator=creator, is_mayhem_mode=mayhem, is_cashback_enabled=cashback,
                        creator_fee_bps=fee_bps, is_holder_reward=holder,
                        remaining=_remaining_refs(seen, len(table)))
    _check_accounts(intent, seen, table, name)
    return intent


# --- transactions ---

def message_instructions(message) -> list[tuple[str, list[tuple[str, bool, bool]], bytes]]:
    """(program_id, [(pubkey, is_signer, is_writable)], data) for each top-level instruction of a legacy or v0
    message, flags from the message header. Instructions that use address-table accounts raise DecodeError
    (their keys are not in the message)."""
    keys = [str(k) for k in message.account_keys]
    h = message.header
    n_sig, ro_sig, ro_unsig = h.num_required_signatures, h.num_readonly_signed_accounts, \
        h.num_readonly_unsigned_accounts
    n = len(keys)

    def flags(i: int) -> tuple[bool, bool]:
        if i < n_sig:
            return True, i < n_sig - ro_sig
        return False, i < n - ro_unsig

    out = []
    for ci in message.instructions:
        idxs = [ci.program_id_index, *bytes(ci.accounts)]
        if max(idxs) >= n:
            raise DecodeError("instruction uses address-lookup-table accounts the message does not list")
        out.append((keys[ci.program_id_index], [(keys[i], *flags(i)) for i in bytes(ci.accounts)],
                    bytes(ci.data)))
    return out


def pump_intents_of(tx) -> list[PumpIntent]:
    """Every top-level pump create/create_v2/buy/buy_exact_sol_in/sell in a (Versioned)Transaction, as intents."""
    return [parse_pump_instruction(entry) for entry in message_instructions(tx.message)
            if entry[0] == P.PUMP]
