"""pump.fun program accounts: Global and BondingCurve (every historical length), decode and encode."""
from __future__ import annotations

from dataclasses import dataclass

from . import programs as P
from .borsh import Reader, Writer
from .curve import CurveFees, CurveState
from .errors import DecodeError


@dataclass(frozen=True, slots=True)
class BondingCurve:
    virtual_token_reserves: int
    virtual_sol_reserves: int
    real_token_reserves: int
    real_sol_reserves: int
    token_total_supply: int
    complete: bool
    creator: str = P.DEFAULT_PUBKEY            # absent in 2024 accounts (49 bytes)
    is_mayhem_mode: bool = False               # present from 82 bytes on
    is_cashback_coin: bool = False
    quote_mint: str = P.DEFAULT_PUBKEY         # default key = SOL-quoted
    creator_fee_bps: int = 0
    can_edit_creator_fee: bool = False
    is_holder_reward: bool = False
    data_len: int = 0

    def state(self) -> CurveState:
        return CurveState(
            virtual_token_reserves=self.virtual_token_reserves,
            virtual_sol_reserves=self.virtual_sol_reserves,
            real_token_reserves=self.real_token_reserves,
            real_sol_reserves=self.real_sol_reserves,
            token_total_supply=self.token_total_supply,
            complete=self.complete,
            has_creator=self.creator != P.DEFAULT_PUBKEY,
        )

    @property
    def is_sol_quoted(self) -> bool:
        return self.quote_mint in (P.DEFAULT_PUBKEY, P.WSOL_MINT)


def decode_bonding_curve(data: bytes) -> BondingCurve:
    """Decode whatever fields the account holds: 2024 accounts stop after `complete`."""
    if len(data) < 49:
        raise DecodeError(f"bonding curve account too short: {len(data)} bytes")
    if data[:8] != P.PUMP_ACC_BONDING_CURVE:
        raise DecodeError("not a BondingCurve account (discriminator mismatch)")
    r = Reader(data, 8)
    fields = dict(
        virtual_token_reserves=r.u64(), virtual_sol_reserves=r.u64(), real_token_reserves=r.u64(),
        real_sol_reserves=r.u64(), token_total_supply=r.u64(), complete=r.bool(),
    )
    n = len(data)
    if n >= 81:
        fields["creator"] = r.pubkey()
    if n >= 82:
        fields["is_mayhem_mode"] = r.bool()
    if n >= 83:
        fields["is_cashback_coin"] = r.bool()
    if n >= 115:
        fields["quote_mint"] = r.pubkey()
    if n >= 123:
        fields["creator_fee_bps"] = r.u64()
    if n >= 124:
        fields["can_edit_creator_fee"] = r.bool()
    if n >= 125:
        fields["is_holder_reward"] = r.bool()
    return BondingCurve(**fields, data_len=n)


BONDING_CURVE_LEN = 150  # the size of real current accounts (fixture bonding_curve_account.json)


def encode_bonding_curve(bc: BondingCurve, size: int = BONDING_CURVE_LEN) -> bytes:
    w = Writer().raw(P.PUMP_ACC_BONDING_CURVE)
    (w.u64(bc.virtual_token_reserves).u64(bc.virtual_sol_reserves).u64(bc.real_token_reserves)
     .u64(bc.real_sol_reserves).u64(bc.token_total_supply).bool(bc.complete).pubkey(bc.creator)
     .bool(bc.is_mayhem_mode).bool(bc.is_cashback_coin).pubkey(bc.quote_mint).u64(bc.creator_fee_bps)
     .bool(bc.can_edit_creator_fee).bool(bc.is_holder_reward))
    out = w.bytes()
    return out[:size] if size < len(out) else out + bytes(size - len(out))


@dataclass(frozen=True, slots=True)
class Global:
    initialized: bool
    authority: str
    fee_recipient: str
    initial_virtual_token_reserves: int
    initial_virtual_sol_reserves: int
    initial_real_token_reserves: int
    token_total_supply: int
    fee_basis_points: int
    withdraw_authority: str
    enable_migrate: bool
    pool_migration_fee: int
    creator_fee_basis_points: int
    fee_recipients: tuple[str, ...]

    def fees(self) -> CurveFees:
        return CurveFees(protocol_bps=self.fee_basis_points, creator_bps=self.creator_fee_basis_points)

    def all_fee_recipients(self) -> tuple[str, ...]:
        return (self.fee_recipient, *self.fee_recipients)


GLOBAL_MIN_LEN = 162 + 7 * 32  # through fee_recipients


def decode_global(data: bytes) -> Global:
    if len(data) < GLOBAL_MIN_LEN:
        raise DecodeError(f"global account too short: {len(data)} bytes")
    if data[:8] != P.PUMP_ACC_GLOBAL:
        raise DecodeError("not a pump Global account (discriminator mismatch)")
    r = Reader(data, 8)
    return Global(
        initialized=r.bool(), authority=r.pubkey(), fee_recipient=r.pubkey(),
        initial_virtual_token_reserves=r.u64(), initial_virtual_sol_reserves=r.u64(),
        initial_real_token_reserves=r.u64(), token_total_supply=r.u64(), fee_basis_points=r.u64(),
        withdraw_authority=r.pubkey(), enable_migrate=r.bool(), pool_migration_fee=r.u64(),
        creator_fee_basis_points=r.u64(), fee_recipients=tuple(r.pubkey() for _ in range(7)),
    )


def encode_global(g: Global, size: int = 512) -> bytes:
    w = Writer().raw(P.PUMP_ACC_GLOBAL)
    (w.bool(g.initialized).pubkey(g.authority).pubkey(g.fee_recipient).u64(g.initial_virtual_token_reserves)
     .u64(g.initial_virtual_sol_reserves).u64(g.initial_real_token_reserves).u64(g.token_total_supply)
     .u64(g.fee_basis_points).pubkey(g.withdraw_authority).bool(g.enable_migrate).u64(g.pool_migration_fee)
     .u64(g.creator_fee_basis_points))
    for fr in g.fee_recipients:
        w.pubkey(fr)
    out = w.bytes()
    return out + bytes(max(0, size - len(out)))
