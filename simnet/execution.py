"""Loading and executing one transaction against an account view, in the validator's order.

load(): sanitize, blockhash age, signatures, status cache (AlreadyProcessed), address lookup tables, account
locks, compute budget, fee payer. A failure here means the transaction never lands (no fee, nothing stored).
execute(): program accounts, the instructions (runtime.py), rent-state checks; the fee is charged whatever
happens, the other writes only on success. Accounts are keyed by base58 address (str hashes are cached, and
every RPC request names accounts that way).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.borsh import b58

from .accounts import SYSTEM_ID, Overlay, Record, rent_exempt_minimum
from .ledger_store import TokenBalance, TxResult
from .programs import compute_budget, token
from .programs.runtime import InstructionError, Program, TxRuntime

MAX_PROCESSING_AGE = 150          # blocks a blockhash stays valid
MAX_TX_ACCOUNT_LOCKS = 128
ALT_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
ALT_META_SIZE = 56
# Never writable, whatever the message says (Solana's reserved account keys, the ones that matter here).
_RESERVED = frozenset((
    P.SYSTEM, P.COMPUTE_BUDGET, P.TOKEN, P.TOKEN_2022, P.ASSOCIATED_TOKEN, P.RENT_SYSVAR,
    "SysvarC1ock11111111111111111111111111111111", "Sysvar1nstructions1111111111111111111111111",
    "SysvarRecentB1ockHashes11111111111111111111", "SysvarS1otHashes111111111111111111111111111",
    "AddressLookupTab1e1111111111111111111111111", "BPFLoaderUpgradeab1e11111111111111111111111"))
_BUDGET_STR = P.COMPUTE_BUDGET
_PAYER_MIN_BALANCE = rent_exempt_minimum(0)


_KEY_STRS: dict[Pubkey, str] = {}
_KEY_STRS_MAX = 200_000


def _key_str(key: Pubkey) -> str:
    """base58 of a key, one shared str per key: programs, mints and pools recur in every transaction, and
    stored transactions keep their account keys."""
    s = _KEY_STRS.get(key)
    if s is None:
        if len(_KEY_STRS) >= _KEY_STRS_MAX:
            _KEY_STRS.clear()
        s = _KEY_STRS[key] = str(key)
    return s


class TxRejected(Exception):
    """A transaction that cannot land: `err` is the Solana error value (no fee is charged)."""

    def __init__(self, err: Any) -> None:
        super().__init__(err)
        self.err = err


@dataclass(slots=True)
class LoadedTx:
    """A sanitized, checked transaction ready to execute."""
    signature: str
    keys: list[Pubkey]
    key_strs: list[str]
    writable: list[bool]
    n_signers: int
    n_static: int
    loaded: tuple[tuple[str, ...], tuple[str, ...]]
    instructions: list[tuple[int, bytes, bytes]]   # (program index, account indices, data)
    budget: compute_budget.TxBudget
    fee: int


def load(tx, view: Overlay, *, sig_verify: bool, blockhash_ok: Callable[[Any], bool] | None,
         already_processed: Callable[[str], bool] | None) -> LoadedTx:
    """Raises TxRejected. blockhash_ok=None skips the age check, already_processed=None the status cache."""
    try:
        tx.sanitize()
        msg = tx.message
        sigs = tx.signatures
        header = msg.header
        static = list(msg.account_keys)
        cis = msg.instructions
    except Exception:
        raise TxRejected("SanitizeFailure") from None
    n_sig = header.num_required_signatures
    if len(sigs) != n_sig or n_sig == 0:
        raise TxRejected("SanitizeFailure")
    signature = str(sigs[0])
    if blockhash_ok is not None and not blockhash_ok(msg.recent_blockhash):
        raise TxRejected("BlockhashNotFound")
    if sig_verify:
        try:
            ok = all(tx.verify_with_results())
        except Exception:
            ok = False
        if not ok:
            raise TxRejected("SignatureFailure")
    if already_processed is not None and already_processed(signature):
        raise TxRejected("AlreadyProcessed")

    n_static = len(static)
    ro_signed, ro_unsigned = header.num_readonly_signed_accounts, header.num_readonly_unsigned_accounts
    writable = [i < n_sig - ro_signed if i < n_sig else i < n_static - ro_unsigned for i in range(n_static)]
    keys = static
    n_loaded_w = 0
    lookups = getattr(msg, "address_table_lookups", None)
    if lookups:
        loaded_w: list[Pubkey] = []
        loaded_r: list[Pubkey] = []
        for lookup in lookups:
            addresses = _lookup_table(view, str(lookup.account_key))
            try:
                loaded_w.extend(addresses[i] for i in lookup.writable_indexes)
                loaded_r.extend(addresses[i] for i in lookup.readonly_indexes)
            except IndexError:
                raise TxRejected("InvalidAddressLookupTableIndex") from None
        keys = static + loaded_w + loaded_r
        writable += [True] * len(loaded_w) + [False] * len(loaded_r)
        n_loaded_w = len(loaded_w)
    if len(keys) > MAX_TX_ACCOUNT_LOCKS:
        raise TxRejected("TooManyAccountLocks")
    key_strs = [_key_str(k) for k in keys]
    if len(set(key_strs)) != len(key_strs):
        raise TxRejected("AccountLoadedTwice")

    instructions = []
    program_indices = []
    n_keys = len(keys)
    for ci in cis:
        pidx = ci.program_id_index
        accounts = ci.accounts
        if pidx >= n_keys or pidx == 0 or (accounts and max(accounts) >= n_keys):
            raise TxRejected("SanitizeFailure")
        instructions.append((pidx, accounts, ci.data))
        program_indices.append(pidx)
    for pidx in program_indices:
        writable[pidx] = False
    for i, k in enumerate(key_strs):
        if writable[i] and k in _RESERVED:
            writable[i] = False

    budget_index = key_strs.index(_BUDGET_STR) if _BUDGET_STR in key_strs else None
    budget = compute_budget.parse_budget(program_indices, [d for _, _, d in instructions], budget_index)
    if not isinstance(budget, compute_budget.TxBudget):
        raise TxRejected(budget)
    fee = compute_budget.LAMPORTS_PER_SIGNATURE * n_sig + budget.priority_fee()
    payer = view.get(key_strs[0])
    if payer is None:
        raise TxRejected("AccountNotFound")
    if payer.owner != SYSTEM_ID or payer.data:
        raise TxRejected("InvalidAccountForFee")
    if payer.lamports < fee + _PAYER_MIN_BALANCE:   # Agave's validate_fee_payer: stay rent-exempt after the fee
        raise TxRejected("InsufficientFundsForFee")
    loaded = (tuple(key_strs[n_static:n_static + n_loaded_w]), tuple(key_strs[n_static + n_loaded_w:]))
    return LoadedTx(signature, keys, key_strs, writable, n_sig, n_static, loaded, instructions, budget, fee)


def _lookup_table(view: Overlay, table: str) -> list[Pubkey]:
    rec = view.get(table)
    if rec is None:
        raise TxRejected("AddressLookupTableNotFound")
    if rec.owner != ALT_PROGRAM:
        raise TxRejected("InvalidAddressLookupTableOwner")
    data = rec.data
    if len(data) < ALT_META_SIZE or (len(data) - ALT_META_SIZE) % 32:
        raise TxRejected("InvalidAddressLookupTableData")
    return [Pubkey.from_bytes(data[i:i + 32]) for i in range(ALT_META_SIZE, len(data), 32)]


def execute(ld: LoadedTx, view: Overlay, programs: dict[Pubkey, Program], *, slot: int,
            unix_timestamp: int) -> tuple[TxResult, dict[str, Record]]:
    """Run a loaded transaction. Writes go to `view` (all of them on success, the fee alone on failure);
    returns the result and the accounts written."""
    keys, key_strs = ld.keys, ld.key_strs
    get = view.get
    originals = [get(k) for k in key_strs]
    pre_balances = tuple([r.lamports if r is not None else 0 for r in originals])
    pre_tokens = token_balances(originals, view)
    payer_after_fee = originals[0].copy()
    payer_after_fee.lamports -= ld.fee

    err = None
    for pidx, _, _ in ld.instructions:      # program accounts: a load failure, but the fee is charged
        prog = originals[pidx]
        if prog is None:
            err = "ProgramAccountNotFound"
            break
        if not prog.executable:
            err = "InvalidProgramForExecution"
            break

    logs: tuple[str, ...] = ()
    inner: list[tuple[int, tuple]] = []
    units = 0
    return_data = None
    recs: list[Record] = []
    if err is None:
        recs = [r.copy() if r is not None else Record() for r in originals]
        recs[0] = payer_after_fee.copy()
        rt = TxRuntime(programs, slot=slot, unix_timestamp=unix_timestamp, cu_limit=ld.budget.cu_limit)
        n_signers = ld.n_signers
        writable = ld.writable
        for index, (pidx, acc_idx, data) in enumerate(ld.instructions):
            try:
                rt.run_top(keys[pidx], key_strs[pidx], [keys[a] for a in acc_idx], [recs[a] for a in acc_idx],
                           [key_strs[a] for a in acc_idx], [a < n_signers for a in acc_idx],
                           [writable[a] for a in acc_idx], data)
            except InstructionError as exc:
                err = {"InstructionError": [index, exc.err]}
            if rt.inner:
                inner.append((index, tuple(rt.inner)))
            if err is not None:
                break
        logs = tuple(rt.logs)
        units = rt.cu_used
        if rt.return_data is not None:
            return_data = (str(rt.return_data[0]), rt.return_data[1])
        if err is None:
            err = check_rent(writable, originals, recs)

    changed: dict[str, Record] = {}
    if err is None:
        for i, rec in enumerate(recs):
            orig = originals[i]
            if orig is None:
                if rec.lamports or rec.data:
                    changed[key_strs[i]] = rec
            elif (i == 0 or rec.lamports != orig.lamports or rec.data is not orig.data
                  or rec.owner != orig.owner):
                changed[key_strs[i]] = rec
        for k, rec in changed.items():
            view.put(k, rec)
        post_balances = tuple([r.lamports for r in recs])
        post_tokens = token_balances(recs, view)
    else:
        changed[key_strs[0]] = payer_after_fee
        view.put(key_strs[0], payer_after_fee)
        post_balances = (payer_after_fee.lamports,) + pre_balances[1:]
        post_tokens = pre_tokens
    result = TxResult(
        signature=ld.signature, slot=slot, err=err, logs=logs, units_consumed=units, fee=ld.fee,
        inner_instructions=tuple(inner), pre_balances=pre_balances, post_balances=post_balances,
        pre_token_balances=pre_tokens, post_token_balances=post_tokens, landed=True,
        return_data=return_data, compute_unit_price=ld.budget.cu_price,
    )
    return result, changed


def check_rent(writable: list[bool], originals: list[Record | None], recs: list[Record]) -> Any:
    """Solana's rent-state rule for accounts a tx debited or resized: they must end at 0 lamports or
    rent-exempt, unless they were already rent-paying and did not grow or gain lamports. (simnet is lenient
    with credit-only accounts: mainnet also rejects a new account credited below rent exemption.)"""
    for i, rec in enumerate(recs):
        if not writable[i]:
            continue
        orig = originals[i]
        pre_lamports = orig.lamports if orig is not None else 0
        pre_len = len(orig.data) if orig is not None else 0
        if rec.lamports >= pre_lamports and len(rec.data) == pre_len:
            continue
        if rec.lamports == 0 or rec.executable:
            continue
        if rec.lamports >= rent_exempt_minimum(len(rec.data)):
            continue
        was_rent_paying = orig is not None and 0 < pre_lamports < rent_exempt_minimum(pre_len)
        if was_rent_paying and len(rec.data) == pre_len and rec.lamports <= pre_lamports:
            continue
        return {"InsufficientFundsForRent": {"account_index": i}}
    return None


# (mint, owner, program, amount) by token-account bytes: a transaction's pre balances are mostly the post
# balances of an earlier one, same data object, so each account state is decoded once.
_TOKEN_FIELDS: dict[bytes, tuple[str, str, str, int] | None] = {}
_TOKEN_FIELDS_MAX = 8192


def _token_fields(rec: Record) -> tuple[str, str, str, int] | None:
    d = rec.data
    fields = _TOKEN_FIELDS.get(d, False)
    if fields is False:
        owner = rec.owner
        if owner == token.TOKEN_ID:
            program = P.TOKEN
        elif owner == token.TOKEN_2022_ID:
            program = P.TOKEN_2022
        else:
            return None
        fields = None
        if token.is_token_account_data(d) and d[108] != 0:
            fields = (b58(d[:32]), b58(d[32:64]), program, token.token_amount(d))
        if len(_TOKEN_FIELDS) >= _TOKEN_FIELDS_MAX:
            _TOKEN_FIELDS.clear()
        _TOKEN_FIELDS[d] = fields
    elif fields is not None and rec.owner != (token.TOKEN_ID if fields[2] == P.TOKEN else token.TOKEN_2022_ID):
        return None     # same bytes, another owner: not a token account
    return fields


def token_balances(recs: list[Record | None], view: Overlay) -> tuple[TokenBalance, ...]:
    """Pre/post token balances: every initialized token account among the transaction's accounts."""
    out = []
    for i, rec in enumerate(recs):
        if rec is None or len(rec.data) < token.ACCOUNT_LEN:
            continue
        fields = _token_fields(rec)
        if fields is None:
            continue
        mint, owner, program, amount = fields
        mint_rec = view.get(mint)
        decimals = token.mint_decimals(mint_rec.data) if mint_rec is not None and len(mint_rec.data) > 44 else 0
        out.append(TokenBalance(i, mint, owner, program, amount, decimals))
    return tuple(out)
