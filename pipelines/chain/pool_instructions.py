"""Instruction-level decoders: launches and pool creations read from an instruction's args and accounts.

Used for venues that emit no event we decode (Raydium AMM v4 / CPMM / LaunchLab, Orca, Meteora DLMM) and as the
fallback for pump.fun create/create_v2 and PumpSwap create_pool when their events are missing. Account orders are
from the programs' IDLs (pump 2.0.0, pump_amm 1.20.0, Raydium/Orca/Meteora sources; see PROTOCOL.md) and match
the `label` fields of the real fixtures.

An instruction of a known program with an unknown discriminator is not ours to judge (skipped: None). A known
discriminator with args or accounts that do not fit its layout raises DecodeError: such an instruction cannot
have executed successfully, so the input is corrupt or our layout is wrong, and either must be loud.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import programs as P
from .borsh import Reader
from .errors import DecodeError
from .events import Event, Launch, PoolCreated

MAX_STRING = 4096


def _need(accounts: tuple[str, ...], n: int, what: str) -> None:
    if len(accounts) < n:
        raise DecodeError(f"{what}: needs at least {n} accounts, got {len(accounts)}")


def _skip(r: Reader, n: int, what: str) -> None:
    """Fixed-size padding: must be present (the program's deserializer requires it)."""
    if r.remaining() < n:
        raise DecodeError(f"{what}: truncated: {n} bytes of padding expected at offset {r.pos}")
    r.pos += n


def _params(**kv: int | str) -> tuple[tuple[str, int | str], ...]:
    return tuple(sorted(kv.items()))


# --- pump.fun ----------------------------------------------------------------------------------------------------

PUMP_IX_NAMES: dict[bytes, str] = {
    P.PUMP_IX_CREATE: "create", P.PUMP_IX_CREATE_V2: "create_v2", P.PUMP_IX_BUY: "buy",
    P.PUMP_IX_BUY_EXACT_SOL_IN: "buy_exact_sol_in", P.PUMP_IX_SELL: "sell", P.PUMP_IX_BUY_V2: "buy_v2",
    P.PUMP_IX_SELL_V2: "sell_v2", P.PUMP_IX_BUY_EXACT_QUOTE_IN_V2: "buy_exact_quote_in_v2",
    P.PUMP_IX_MIGRATE: "migrate", P.PUMP_IX_MIGRATE_V2: "migrate_v2", P.PUMP_IX_WITHDRAW: "withdraw",
}
AMM_IX_NAMES: dict[bytes, str] = {
    P.AMM_IX_CREATE_POOL: "create_pool", P.AMM_IX_BUY: "buy", P.AMM_IX_SELL: "sell",
    P.AMM_IX_BUY_EXACT_QUOTE_IN: "buy_exact_quote_in",
}
_IX_NAMES = {P.PUMP: PUMP_IX_NAMES, P.PUMP_AMM: AMM_IX_NAMES}


def instruction_name(program: str, data: bytes) -> str:
    """snake_case IDL name of a pump / PumpSwap instruction, "" when unknown."""
    table = _IX_NAMES.get(program)
    return table.get(bytes(data[:8]), "") if table else ""


def _pump_create(data: bytes, accounts: tuple[str, ...], signature: str, slot: int, seq: int,
                 parent: str, v2: bool) -> Launch:
    what = "pump create_v2" if v2 else "pump create"
    user_index = 5 if v2 else 7
    _need(accounts, user_index + 1, what)
    r = Reader(data, 8)
    name, symbol, uri = r.string(MAX_STRING), r.string(MAX_STRING), r.string(MAX_STRING)
    user = accounts[user_index]
    creator = user
    mayhem = False
    if r.remaining() or v2:  # the 2024 `create` had no creator arg
        creator = r.pubkey()
    if v2:
        mayhem = r.bool()
    return Launch(venue="pumpfun", signature=signature, slot=slot, mint=accounts[0], bonding_curve=accounts[2],
                  creator=creator, name=name, symbol=symbol, uri=uri,
                  token_program=P.TOKEN_2022 if v2 else P.TOKEN, quote_mint=P.WSOL_MINT, user=user,
                  is_mayhem_mode=mayhem, seq=seq)


@dataclass(frozen=True, slots=True)
class PumpTradeInstruction:
    """A pump.fun buy/sell instruction's intent (not an outcome: the TradeEvent says what happened)."""
    name: str
    mint: str
    user: str
    amount: int   # buy/sell: token amount; buy_exact_*_in: quote spent
    limit: int    # max cost / min output (slippage bound)


_PUMP_TRADE_SLOTS = {  # name -> (mint index, user index)
    "buy": (2, 6), "sell": (2, 6), "buy_exact_sol_in": (2, 6),
    "buy_v2": (1, 13), "sell_v2": (1, 13), "buy_exact_quote_in_v2": (1, 13),
}


def decode_pump_trade_instruction(data: bytes, accounts: tuple[str, ...]) -> PumpTradeInstruction | None:
    name = instruction_name(P.PUMP, data)
    slots = _PUMP_TRADE_SLOTS.get(name)
    if slots is None:
        return None
    _need(accounts, slots[1] + 1, f"pump {name}")
    r = Reader(data, 8)
    amount, limit = r.u64(), r.u64()
    return PumpTradeInstruction(name, accounts[slots[0]], accounts[slots[1]], amount, limit)


# --- pool creations ----------------------------------------------------------------------------------------------

def _raydium_initialize2(data, accounts, signature, slot, seq, parent) -> PoolCreated:
    what = "raydium initialize2"
    _need(accounts, 18, what)
    r = Reader(data, 1)
    nonce, open_time, init_pc, init_coin = r.u8(), r.u64(), r.u64(), r.u64()
    creator = accounts[17]
    return PoolCreated(venue="raydium_amm_v4", signature=signature, slot=slot, pool=accounts[4],
                       mint_a=accounts[8], mint_b=accounts[9], creator=creator, lp_mint=accounts[7],
                       vault_a=accounts[10], vault_b=accounts[11], amount_a=init_coin, amount_b=init_pc,
                       open_time=open_time, migration=creator == P.PUMP_MIGRATION_SIGNER,
                       params=_params(nonce=nonce, market=accounts[16]), seq=seq)


def _pumpswap_create_pool(data, accounts, signature, slot, seq, parent) -> PoolCreated:
    _need(accounts, 11, "pumpswap create_pool")
    r = Reader(data, 8)
    index, base_in, quote_in = r.u16(), r.u64(), r.u64()
    extra = {"coin_creator": r.pubkey()} if r.remaining() else {}
    return PoolCreated(venue="pumpswap", signature=signature, slot=slot, pool=accounts[0], mint_a=accounts[3],
                       mint_b=accounts[4], creator=accounts[2], lp_mint=accounts[5], vault_a=accounts[9],
                       vault_b=accounts[10], amount_a=base_in, amount_b=quote_in, migration=parent == P.PUMP,
                       params=_params(index=index, **extra), seq=seq)


def _cpmm_initialize(data, accounts, signature, slot, seq, parent) -> PoolCreated:
    _need(accounts, 12, "raydium cpmm initialize")
    r = Reader(data, 8)
    amount_0, amount_1, open_time = r.u64(), r.u64(), r.u64()
    return PoolCreated(venue="raydium_cpmm", signature=signature, slot=slot, pool=accounts[3], mint_a=accounts[4],
                       mint_b=accounts[5], creator=accounts[0], lp_mint=accounts[6], vault_a=accounts[10],
                       vault_b=accounts[11], amount_a=amount_0, amount_b=amount_1, open_time=open_time,
                       params=_params(amm_config=accounts[1]), seq=seq)


def _launchlab(token_program_index: int):
    def decode(data, accounts, signature, slot, seq, parent) -> Launch:
        _need(accounts, 12, "launchlab initialize")
        r = Reader(data, 8)
        r.u8()  # decimals
        name, symbol, uri = r.string(MAX_STRING), r.string(MAX_STRING), r.string(MAX_STRING)
        token_program = accounts[token_program_index]
        return Launch(venue="raydium_launchlab", signature=signature, slot=slot, mint=accounts[6],
                      bonding_curve=accounts[5], creator=accounts[1], name=name, symbol=symbol, uri=uri,
                      token_program=token_program, quote_mint=accounts[7], user=accounts[0], seq=seq)
    return decode


def _orca_initialize_pool(v2: bool):
    # v1: config, mint_a, mint_b, funder, whirlpool, vault_a, vault_b, fee_tier, token_program, system, rent
    # v2: config, mint_a, mint_b, badge_a, badge_b, funder, whirlpool, vault_a, vault_b, fee_tier, ...
    funder, pool, vault_a = (5, 6, 7) if v2 else (3, 4, 5)

    def decode(data, accounts, signature, slot, seq, parent) -> PoolCreated:
        _need(accounts, vault_a + 3, "orca initialize_pool" + ("_v2" if v2 else ""))
        r = Reader(data, 8)
        if not v2:
            r.u8()  # whirlpool bump
        tick_spacing, sqrt_price = r.u16(), r.u128()
        return PoolCreated(venue="orca_whirlpool", signature=signature, slot=slot, pool=accounts[pool],
                           mint_a=accounts[1], mint_b=accounts[2], creator=accounts[funder],
                           vault_a=accounts[vault_a], vault_b=accounts[vault_a + 1],
                           params=_params(tick_spacing=tick_spacing, initial_sqrt_price=sqrt_price,
                                          whirlpools_config=accounts[0], fee_tier=accounts[vault_a + 2]),
                           seq=seq)
    return decode


def _i32(r: Reader) -> int:
    v = r.u32()
    return v - (1 << 32) if v >= 1 << 31 else v


def _meteora(kind: str):
    # lb_pair, bitmap_ext, mint_x, mint_y, reserve_x, reserve_y, oracle, preset_parameter|user_token_x, funder, ...
    def decode(data, accounts, signature, slot, seq, parent) -> PoolCreated:
        what = f"meteora dlmm {kind}"
        _need(accounts, 9, what)
        r = Reader(data, 8)
        active_id = _i32(r)
        params: dict[str, int | str] = {"active_id": active_id}
        if kind == "initialize_lb_pair":
            params["bin_step"] = r.u16()
            params["preset_parameter"] = accounts[7]
        elif kind == "initialize_lb_pair2":
            _skip(r, 96, what)
            params["preset_parameter"] = accounts[7]
        else:  # CustomizableParams
            params["bin_step"], params["base_factor"] = r.u16(), r.u16()
            params["activation_type"] = r.u8()
            r.bool()  # has_alpha_vault
            activation_point = r.option(r.u64)
            if activation_point is not None:
                params["activation_point"] = activation_point
            r.bool()  # creator_pool_on_off_control
            r.u8()  # base_fee_power_factor
            _skip(r, 62, what)
        return PoolCreated(venue="meteora_dlmm", signature=signature, slot=slot, pool=accounts[0],
                           mint_a=accounts[2], mint_b=accounts[3], creator=accounts[8], vault_a=accounts[4],
                           vault_b=accounts[5], params=_params(**params), seq=seq)
    return decode


IxDecoder = Callable[[bytes, tuple, str, int, int, str], "Event | None"]
IX_DECODERS: dict[str, dict[bytes, IxDecoder]] = {
    P.PUMP: {
        P.PUMP_IX_CREATE: lambda d, a, s, sl, q, p: _pump_create(d, a, s, sl, q, p, False),
        P.PUMP_IX_CREATE_V2: lambda d, a, s, sl, q, p: _pump_create(d, a, s, sl, q, p, True),
    },
    P.PUMP_AMM: {P.AMM_IX_CREATE_POOL: _pumpswap_create_pool},
    P.RAYDIUM_AMM_V4: {bytes([P.RAY_V4_IX_INITIALIZE2]): _raydium_initialize2},
    P.RAYDIUM_CPMM: {P.RAY_CPMM_IX_INITIALIZE: _cpmm_initialize},
    P.RAYDIUM_LAUNCHLAB: {
        P.LAUNCHLAB_IX_INITIALIZE: _launchlab(11),
        P.LAUNCHLAB_IX_INITIALIZE_V2: _launchlab(11),
        P.LAUNCHLAB_IX_INITIALIZE_TOKEN_2022: _launchlab(10),
    },
    P.ORCA_WHIRLPOOL: {
        P.ORCA_IX_INITIALIZE_POOL: _orca_initialize_pool(False),
        P.ORCA_IX_INITIALIZE_POOL_V2: _orca_initialize_pool(True),
    },
    P.METEORA_DLMM: {
        P.METEORA_DLMM_IX_INITIALIZE_LB_PAIR: _meteora("initialize_lb_pair"),
        P.METEORA_DLMM_IX_INITIALIZE_LB_PAIR2: _meteora("initialize_lb_pair2"),
        P.METEORA_DLMM_IX_INITIALIZE_CUSTOMIZABLE: _meteora("initialize_customizable_permissionless_lb_pair"),
        P.METEORA_DLMM_IX_INITIALIZE_CUSTOMIZABLE2: _meteora("initialize_customizable_permissionless_lb_pair2"),
    },
}
# Programs whose instruction data a transaction walk must decode (others are skipped without decoding).
DECODED_PROGRAMS = frozenset(IX_DECODERS)


def decode_instruction(program: str, data: bytes, accounts: tuple[str, ...], signature: str, slot: int,
                       seq: int, parent_program: str = "") -> Event | None:
    """The Launch / PoolCreated an instruction makes, None when it makes none we track."""
    table = IX_DECODERS.get(program)
    if table is None:
        return None
    key = bytes(data[:1]) if program == P.RAYDIUM_AMM_V4 else bytes(data[:8])
    fn = table.get(key)
    if fn is None:
        return None
    return fn(data, accounts, signature, slot, seq, parent_program)
