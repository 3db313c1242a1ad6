"""Typed, immutable chain events: what the decoders produce and everything downstream consumes.

Pubkeys are base58 strings (cheap to hash, route, log, store and send through Ray); amounts are raw integers
in the smallest unit (lamports, token base units). `seq` orders events inside one transaction and, with the
signature, identifies an event: the same event seen in logs and in an event-CPI inner instruction is one event.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar, Union

from pipelines.wire import pickle_by_fields


@dataclass(frozen=True, slots=True)
class Launch:
    kind: ClassVar[str] = "launch"
    venue: str
    signature: str
    slot: int
    mint: str
    bonding_curve: str
    creator: str
    name: str
    symbol: str
    uri: str
    token_program: str
    quote_mint: str
    user: str = ""
    timestamp: int = 0
    virtual_token_reserves: int = 0
    virtual_sol_reserves: int = 0
    real_token_reserves: int = 0
    token_total_supply: int = 0
    is_mayhem_mode: bool = False
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Trade:
    kind: ClassVar[str] = "trade"
    venue: str
    signature: str
    slot: int
    mint: str
    side: str  # "buy" | "sell"
    sol_amount: int
    token_amount: int
    user: str
    quote_mint: str
    quote_amount: int
    timestamp: int = 0
    # reserves after the trade (curve virtual/real for pump.fun; pool reserves for AMMs in the virtual_* fields)
    virtual_sol_reserves: int = 0
    virtual_token_reserves: int = 0
    real_sol_reserves: int = 0
    real_token_reserves: int = 0
    fee: int = 0
    fee_basis_points: int = 0
    creator: str = ""
    creator_fee: int = 0
    creator_fee_basis_points: int = 0
    pool: str = ""
    ix_name: str = ""
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Complete:
    kind: ClassVar[str] = "complete"
    venue: str
    signature: str
    slot: int
    mint: str
    bonding_curve: str
    user: str
    timestamp: int = 0
    quote_mint: str = ""
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Migration:
    kind: ClassVar[str] = "migration"
    venue: str
    signature: str
    slot: int
    mint: str
    bonding_curve: str
    pool: str
    user: str
    mint_amount: int = 0
    sol_amount: int = 0
    pool_migration_fee: int = 0
    timestamp: int = 0
    quote_mint: str = ""
    target_venue: str = "pumpswap"
    seq: int = 0


@dataclass(frozen=True, slots=True)
class PoolCreated:
    kind: ClassVar[str] = "pool_created"
    venue: str
    signature: str
    slot: int
    pool: str
    mint_a: str
    mint_b: str
    creator: str = ""
    lp_mint: str = ""
    vault_a: str = ""
    vault_b: str = ""
    amount_a: int = 0
    amount_b: int = 0
    open_time: int = 0
    migration: bool = False
    # venue-specific parameters (tick_spacing, initial_sqrt_price, bin_step, active_id, ...)
    params: tuple[tuple[str, int | str], ...] = field(default=())
    seq: int = 0


Event = Union[Launch, Trade, Complete, Migration, PoolCreated]
EVENT_TYPES: dict[str, type] = {c.kind: c for c in (Launch, Trade, Complete, Migration, PoolCreated)}

for _cls in EVENT_TYPES.values():      # events cross Ray two or three times each (pipelines/wire.py)
    pickle_by_fields(_cls)


def event_to_dict(event: Event) -> dict:
    """A JSON-ready dict with `kind` first (the shape `launchray decode` prints and recordings store)."""
    d = {"kind": event.kind}
    d.update(asdict(event))
    if isinstance(event, PoolCreated):
        d["params"] = dict(event.params)
    return d


def event_from_dict(d: dict) -> Event:
    """Inverse of event_to_dict (used by recordings and replays)."""
    data = dict(d)
    cls = EVENT_TYPES[data.pop("kind")]
    if cls is PoolCreated and isinstance(data.get("params"), dict):
        data["params"] = tuple(sorted(data["params"].items()))
    return cls(**data)


def event_key(event: Event) -> tuple[str, str, int]:
    """Identity of an event across sources (logs vs inner instructions, reconnect backfills)."""
    return (event.signature, event.kind, event.seq)
