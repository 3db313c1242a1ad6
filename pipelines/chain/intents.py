"""Typed pump.fun instruction intents: what the executor wants done, and what simnet executes.

An intent holds only the free choices of an instruction (who, which coin, how much); every account the
program constrains by seeds is derived from them (see instructions.accounts_for). Building an intent into an
instruction and parsing that instruction back gives an equal intent.

`creator` is how callers name the curve's creator; the instruction only carries `creator_vault` (a one-way
PDA), so equality compares `creator_vault` and a parsed intent has creator=None.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from . import pda
from . import programs as P

U64_MAX = 2**64 - 1

# A remaining (extra) account after the IDL's list: (pubkey, is_signer, is_writable).
AccountRef = tuple[str, bool, bool]


def _key(v, what: str) -> str:
    if isinstance(v, Pubkey):
        return str(v)
    if not isinstance(v, str):
        raise TypeError(f"{what} must be a base58 str or Pubkey, got {type(v).__name__}")
    try:
        Pubkey.from_string(v)
    except ValueError:
        raise ValueError(f"{what} is not a valid pubkey: {v!r}") from None
    return v


def _u64(v: int, what: str) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= U64_MAX:
        raise ValueError(f"{what} must be a u64, got {v!r}")


def _set(obj, name: str, value) -> None:
    object.__setattr__(obj, name, value)


def _remaining(refs) -> tuple[AccountRef, ...]:
    return tuple((_key(k, "remaining account"), bool(s), bool(w)) for k, s, w in refs)


class _Trade:
    """Shared normalisation for buy / buy_exact_sol_in / sell."""
    __slots__ = ()

    def _normalise(self) -> None:
        for name in ("mint", "user", "fee_recipient"):
            _set(self, name, _key(getattr(self, name), name))
        if self.token_program not in (P.TOKEN, P.TOKEN_2022):
            _set(self, "token_program", _key(self.token_program, "token_program"))
            if self.token_program not in (P.TOKEN, P.TOKEN_2022):
                raise ValueError(f"token_program {self.token_program} is not SPL Token or Token-2022")
        creator = None if self.creator is None else _key(self.creator, "creator")
        _set(self, "creator", creator)
        if self.creator_vault:
            vault = _key(self.creator_vault, "creator_vault")
            if creator is not None and vault != str(pda.creator_vault(creator)):
                raise ValueError("creator_vault is not the creator-vault PDA of creator")
            _set(self, "creator_vault", vault)
        elif creator is not None:
            _set(self, "creator_vault", str(pda.creator_vault(creator)))
        else:
            raise ValueError("a pump trade needs creator (or creator_vault)")
        if self.associated_user:
            _set(self, "associated_user", _key(self.associated_user, "associated_user"))
        else:
            _set(self, "associated_user", str(pda.associated_token(self.user, self.mint, self.token_program)))
        _set(self, "remaining", _remaining(self.remaining))

    @property
    def bonding_curve(self) -> str:
        return str(pda.bonding_curve(self.mint))

    @property
    def associated_bonding_curve(self) -> str:
        return str(pda.associated_bonding_curve(self.mint, self.token_program))


@dataclass(frozen=True, slots=True)
class PumpBuy(_Trade):
    """pump `buy`: exactly `amount` tokens for at most `max_sol_cost` lamports (fees included)."""
    mint: str
    user: str
    fee_recipient: str
    amount: int
    max_sol_cost: int
    track_volume: bool | None = None          # None: the byte is left off (as real 2025 txs do)
    creator: str | None = field(default=None, compare=False)
    creator_vault: str = ""
    token_program: str = P.TOKEN
    associated_user: str = ""
    remaining: tuple[AccountRef, ...] = ()

    def __post_init__(self) -> None:
        _u64(self.amount, "amount")
        _u64(self.max_sol_cost, "max_sol_cost")
        self._normalise()


@dataclass(frozen=True, slots=True)
class PumpBuyExactSol(_Trade):
    """pump `buy_exact_sol_in`: spend at most `spendable_sol_in` lamports, receive at least `min_tokens_out`."""
    mint: str
    user: str
    fee_recipient: str
    spendable_sol_in: int
    min_tokens_out: int
    track_volume: bool | None = None
    creator: str | None = field(default=None, compare=False)
    creator_vault: str = ""
    token_program: str = P.TOKEN
    associated_user: str = ""
    remaining: tuple[AccountRef, ...] = ()

    def __post_init__(self) -> None:
        _u64(self.spendable_sol_in, "spendable_sol_in")
        _u64(self.min_tokens_out, "min_tokens_out")
        self._normalise()


@dataclass(frozen=True, slots=True)
class PumpSell(_Trade):
    """pump `sell`: exactly `amount` tokens for at least `min_sol_output` lamports (after fees)."""
    mint: str
    user: str
    fee_recipient: str
    amount: int
    min_sol_output: int
    creator: str | None = field(default=None, compare=False)
    creator_vault: str = ""
    token_program: str = P.TOKEN
    associated_user: str = ""
    remaining: tuple[AccountRef, ...] = ()

    def __post_init__(self) -> None:
        _u64(self.amount, "amount")
        _u64(self.min_sol_output, "min_sol_output")
        self._normalise()


def _check_create(obj) -> None:
    for name in ("mint", "user", "creator"):
        _set(obj, name, _key(getattr(obj, name), name))
    for name in ("name", "symbol", "uri"):
        if not isinstance(getattr(obj, name), str):
            raise TypeError(f"{name} must be a str")


@dataclass(frozen=True, slots=True)
class PumpCreate:
    """pump `create` (legacy SPL Token mint + Metaplex metadata). `mint` must sign the transaction."""
    mint: str
    user: str
    name: str
    symbol: str
    uri: str
    creator: str

    def __post_init__(self) -> None:
        _check_create(self)

    @property
    def bonding_curve(self) -> str:
        return str(pda.bonding_curve(self.mint))

    @property
    def token_program(self) -> str:
        return P.TOKEN


@dataclass(frozen=True, slots=True)
class PumpCreateV2:
    """pump `create_v2` (Token-2022 mint, metadata in the mint). Trailing optional args may be omitted (None),
    but only from the end, as the program reads them."""
    mint: str
    user: str
    name: str
    symbol: str
    uri: str
    creator: str
    is_mayhem_mode: bool = False
    is_cashback_enabled: bool | None = None
    creator_fee_bps: int | None = None
    is_holder_reward: bool | None = None
    remaining: tuple[AccountRef, ...] = ()    # optional quote_mint, associated_quote_bonding_curve, program

    def __post_init__(self) -> None:
        _check_create(self)
        opts = (self.is_cashback_enabled, self.creator_fee_bps, self.is_holder_reward)
        seen_none = False
        for v in opts:
            if v is None:
                seen_none = True
            elif seen_none:
                raise ValueError("create_v2 optional args can only be omitted from the end")
        if self.creator_fee_bps is not None:
            _u64(self.creator_fee_bps, "creator_fee_bps")
        _set(self, "remaining", _remaining(self.remaining))

    @property
    def bonding_curve(self) -> str:
        return str(pda.bonding_curve(self.mint))

    @property
    def token_program(self) -> str:
        return P.TOKEN_2022


PumpIntent = PumpBuy | PumpBuyExactSol | PumpSell | PumpCreate | PumpCreateV2
