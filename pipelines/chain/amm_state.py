"""AMM pool accounts: PumpSwap Pool and the fee program's FeeConfig (tiers), Raydium AMM v4 AmmInfo,
Orca Whirlpool and Meteora DLMM LbPair basics.

Sources: pump_amm 1.20.0 and pump_fees 2.0.0 IDLs (shared/idl), raydium-amm program/src/state.rs (752-byte
packed AmmInfo), orca whirlpools Whirlpool (653 bytes), meteora DLMM LbPair (904 bytes, carbon decoder).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from . import programs as P
from .borsh import Reader, Writer
from .curve import CurveFees
from .errors import DecodeError
from .layout import Layout

ORCA_ACC_WHIRLPOOL = bytes.fromhex("3f95d10ce1806309")
METEORA_ACC_LB_PAIR = bytes.fromhex("210b3162b565b10d")


def _check_disc(data: bytes, disc: bytes, what: str) -> None:
    if len(data) < 8 or data[:8] != disc:
        raise DecodeError(f"not a {what} account (discriminator mismatch)")


# --- PumpSwap Pool ---

_POOL = Layout([
    ("pool_bump", "u8"), ("index", "u16"), ("creator", "pubkey"), ("base_mint", "pubkey"),
    ("quote_mint", "pubkey"), ("lp_mint", "pubkey"), ("pool_base_token_account", "pubkey"),
    ("pool_quote_token_account", "pubkey"), ("lp_supply", "u64"), ("coin_creator", "pubkey"),
    ("is_mayhem_mode", "bool"), ("is_cashback_coin", "bool"), ("virtual_quote_reserves", "i128"),
    ("creator_fee_bps", "u64"), ("can_edit_creator_fee", "bool"),
])
POOL_MIN_LEN = 8 + _POOL.offsets["lp_supply"] + 8      # pools before coin creators (211 bytes)
POOL_LEN = 300                                         # pools are extended to 300 bytes (pump-public-docs)


@dataclass(frozen=True, slots=True)
class Pool:
    pool_bump: int
    index: int
    creator: str
    base_mint: str
    quote_mint: str
    lp_mint: str
    pool_base_token_account: str
    pool_quote_token_account: str
    lp_supply: int
    coin_creator: str = P.DEFAULT_PUBKEY
    is_mayhem_mode: bool = False
    is_cashback_coin: bool = False
    virtual_quote_reserves: int = 0
    creator_fee_bps: int = 0
    can_edit_creator_fee: bool = False
    data_len: int = POOL_LEN
    extra: bytes = b""            # bytes after the known fields (newer program versions), kept verbatim

    @property
    def has_coin_creator(self) -> bool:
        return self.coin_creator != P.DEFAULT_PUBKEY


def decode_pumpswap_pool(data: bytes) -> Pool:
    """Decode the fields present: older pools stop after lp_supply (211) or coin_creator (243)."""
    _check_disc(data, P.AMM_ACC_POOL, "PumpSwap Pool")
    if len(data) < POOL_MIN_LEN:
        raise DecodeError(f"PumpSwap pool account too short: {len(data)} bytes")
    return Pool(**_POOL.decode_prefix(data, 8), data_len=len(data), extra=bytes(data[8 + _POOL.size:]))


def encode_pumpswap_pool(pool: Pool, size: int | None = None) -> bytes:
    """Encode at `size` bytes (default: the decoded length); shorter sizes give the older layouts."""
    size = pool.data_len if size is None else size
    values = {f.name: getattr(pool, f.name) for f in fields(Pool) if f.name not in ("data_len", "extra")}
    out = P.AMM_ACC_POOL + _POOL.encode(values) + pool.extra
    return out[:size] if size < len(out) else out + bytes(size - len(out))


# --- fee program FeeConfig (one account type for pump's curve and for PumpSwap) ---

@dataclass(frozen=True, slots=True)
class Fees:
    lp_fee_bps: int
    protocol_fee_bps: int
    creator_fee_bps: int

    @property
    def total_bps(self) -> int:
        return self.lp_fee_bps + self.protocol_fee_bps + self.creator_fee_bps

    def curve_fees(self) -> CurveFees:
        """Rates for the bonding curve (which has no LP)."""
        return CurveFees(protocol_bps=self.protocol_fee_bps, creator_bps=self.creator_fee_bps)


@dataclass(frozen=True, slots=True)
class FeeTier:
    market_cap_lamports_threshold: int
    fees: Fees


@dataclass(frozen=True, slots=True)
class FeeConfig:
    bump: int
    admin: str
    flat_fees: Fees
    fee_tiers: tuple[FeeTier, ...]
    stable_fee_tiers: tuple[FeeTier, ...] = ()
    exotic_flat_fees: Fees = Fees(0, 0, 0)
    data_len: int = 0
    extra: bytes = b""            # allocated space after the known fields (zeros on the real account)

    def fee_tier_for(self, market_cap_lamports: int) -> Fees:
        return fee_tier_for(self.fee_tiers, market_cap_lamports)

    def fees_for(self, market_cap: int, *, is_pump_pool: bool = True, quote_mint: str = P.WSOL_MINT) -> Fees:
        """The schedule a trade pays (pump-fees fees_for_quote_mint): non-pump pools pay flat fees; canonical
        pump pools pay the tiers for SOL quotes, the stable tiers for USDC, exotic flat fees otherwise."""
        if not is_pump_pool:
            return self.flat_fees
        if quote_mint in (P.DEFAULT_PUBKEY, P.WSOL_MINT):
            return fee_tier_for(self.fee_tiers, market_cap)
        if quote_mint == P.USDC_MINT:
            return fee_tier_for(self.stable_fee_tiers or self.fee_tiers, market_cap)
        return self.flat_fees if self.exotic_flat_fees == Fees(0, 0, 0) else self.exotic_flat_fees


def fee_tier_for(tiers: tuple[FeeTier, ...], market_cap_lamports: int) -> Fees:
    """pump-fees calculate_fee_tier: the last tier whose threshold the market cap reaches; below the first
    threshold, the first tier."""
    if not tiers:
        raise ValueError("fee tiers cannot be empty")
    for tier in reversed(tiers):
        if market_cap_lamports >= tier.market_cap_lamports_threshold:
            return tier.fees
    return tiers[0].fees


_MAX_TIERS = 256   # a hostile length prefix must not make us loop for long


def _read_fees(r: Reader) -> Fees:
    return Fees(r.u64(), r.u64(), r.u64())


def _read_tiers(r: Reader) -> tuple[FeeTier, ...]:
    n = r.u32()
    if n > _MAX_TIERS or n * 40 > r.remaining():
        raise DecodeError(f"fee tier count {n} is implausible for the data left")
    return tuple(FeeTier(r.u128(), _read_fees(r)) for _ in range(n))


def decode_fee_config(data: bytes) -> FeeConfig:
    _check_disc(data, P.PUMP_ACC_FEE_CONFIG, "fee program FeeConfig")
    r = Reader(data, 8)
    bump, admin, flat = r.u8(), r.pubkey(), _read_fees(r)
    tiers = _read_tiers(r)
    # stable tiers and exotic flat fees were appended later; on an older account this is zeroed spare space,
    # which reads as no stable tiers and all-zero (unset) exotic fees, exactly what the program assumes.
    stable = _read_tiers(r) if r.remaining() >= 4 else ()
    exotic = _read_fees(r) if r.remaining() >= 24 else Fees(0, 0, 0)
    return FeeConfig(bump, admin, flat, tiers, stable, exotic, data_len=len(data), extra=bytes(data[r.pos:]))


def encode_fee_config(cfg: FeeConfig, size: int | None = None) -> bytes:
    w = Writer().raw(P.PUMP_ACC_FEE_CONFIG).u8(cfg.bump).pubkey(cfg.admin)

    def fees(f: Fees) -> None:
        w.u64(f.lp_fee_bps).u64(f.protocol_fee_bps).u64(f.creator_fee_bps)

    fees(cfg.flat_fees)
    for tiers in (cfg.fee_tiers, cfg.stable_fee_tiers):
        w.u32(len(tiers))
        for t in tiers:
            w.u128(t.market_cap_lamports_threshold)
            fees(t.fees)
    fees(cfg.exotic_flat_fees)
    out = w.bytes() + cfg.extra
    size = (cfg.data_len or len(out)) if size is None else size
    if size < len(out):
        raise ValueError(f"FeeConfig needs {len(out)} bytes, size {size} given")
    return out + bytes(size - len(out))


def pool_market_cap(base_mint_supply: int, base_reserve: int, quote_reserve: int) -> int:
    """PumpSwap Pool::market_cap: quote_reserve * supply / base_reserve (mayhem pools use 10^15 as supply)."""
    if base_reserve <= 0:
        return 0
    return quote_reserve * base_mint_supply // base_reserve


# --- Raydium AMM v4 ---

_AMM_INFO = Layout([
    *((n, "u64") for n in (
        "status", "nonce", "order_num", "depth", "coin_decimals", "pc_decimals", "state", "reset_flag",
        "min_size", "vol_max_cut_ratio", "amount_wave", "coin_lot_size", "pc_lot_size", "min_price_multiplier",
        "max_price_multiplier", "sys_decimal_value",
        "min_separate_numerator", "min_separate_denominator", "trade_fee_numerator", "trade_fee_denominator",
        "pnl_numerator", "pnl_denominator", "swap_fee_numerator", "swap_fee_denominator",
        "need_take_pnl_coin", "need_take_pnl_pc", "total_pnl_pc", "total_pnl_coin", "pool_open_time")),
    ("state_padding", "bytes:16"), ("orderbook_to_init_time", "u64"),
    ("swap_coin_in_amount", "u128"), ("swap_pc_out_amount", "u128"), ("swap_acc_pc_fee", "u64"),
    ("swap_pc_in_amount", "u128"), ("swap_coin_out_amount", "u128"), ("swap_acc_coin_fee", "u64"),
    *((n, "pubkey") for n in ("coin_vault", "pc_vault", "coin_mint", "pc_mint", "lp_mint", "open_orders",
                              "market", "market_program", "target_orders")),
    ("padding1", "bytes:64"), ("amm_owner", "pubkey"), ("lp_amount", "u64"), ("client_order_id", "u64"),
    ("recent_epoch", "u64"), ("padding2", "u64"),
])
AMM_INFO_LEN = 752
assert _AMM_INFO.size == AMM_INFO_LEN


@dataclass(frozen=True, slots=True)
class AmmInfo:
    status: int
    nonce: int
    order_num: int
    depth: int
    coin_decimals: int
    pc_decimals: int
    state: int
    reset_flag: int
    min_size: int
    vol_max_cut_ratio: int
    amount_wave: int
    coin_lot_size: int
    pc_lot_size: int
    min_price_multiplier: int
    max_price_multiplier: int
    sys_decimal_value: int
    min_separate_numerator: int
    min_separate_denominator: int
    trade_fee_numerator: int
    trade_fee_denominator: int
    pnl_numerator: int
    pnl_denominator: int
    swap_fee_numerator: int
    swap_fee_denominator: int
    need_take_pnl_coin: int
    need_take_pnl_pc: int
    total_pnl_pc: int
    total_pnl_coin: int
    pool_open_time: int
    state_padding: bytes
    orderbook_to_init_time: int
    swap_coin_in_amount: int
    swap_pc_out_amount: int
    swap_acc_pc_fee: int
    swap_pc_in_amount: int
    swap_coin_out_amount: int
    swap_acc_coin_fee: int
    coin_vault: str
    pc_vault: str
    coin_mint: str
    pc_mint: str
    lp_mint: str
    open_orders: str
    market: str
    market_program: str
    target_orders: str
    padding1: bytes
    amm_owner: str
    lp_amount: int
    client_order_id: int
    recent_epoch: int
    padding2: int

    def reserves(self, coin_vault_amount: int, pc_vault_amount: int) -> tuple[int, int]:
        """Tradable (coin, pc) reserves: vault balances minus the pnl the pool still owes (no order book)."""
        return (max(0, coin_vault_amount - self.need_take_pnl_coin),
                max(0, pc_vault_amount - self.need_take_pnl_pc))


def decode_amm_info(data: bytes) -> AmmInfo:
    if len(data) != AMM_INFO_LEN:
        raise DecodeError(f"Raydium AmmInfo must be {AMM_INFO_LEN} bytes, got {len(data)}")
    return AmmInfo(**_AMM_INFO.decode(data))


def encode_amm_info(info: AmmInfo) -> bytes:
    return _AMM_INFO.encode(asdict(info))


# --- Orca Whirlpool ---

_WHIRLPOOL = Layout([
    ("whirlpools_config", "pubkey"), ("whirlpool_bump", "u8"), ("tick_spacing", "u16"),
    ("fee_tier_index_seed", "bytes:2"), ("fee_rate", "u16"), ("protocol_fee_rate", "u16"), ("liquidity", "u128"),
    ("sqrt_price", "u128"), ("tick_current_index", "i32"), ("protocol_fee_owed_a", "u64"),
    ("protocol_fee_owed_b", "u64"), ("token_mint_a", "pubkey"), ("token_vault_a", "pubkey"),
    ("fee_growth_global_a", "u128"), ("token_mint_b", "pubkey"), ("token_vault_b", "pubkey"),
    ("fee_growth_global_b", "u128"), ("reward_last_updated_timestamp", "u64"),
])
_WHIRLPOOL_REWARD = Layout([("mint", "pubkey"), ("vault", "pubkey"), ("authority", "pubkey"),
                            ("emissions_per_second_x64", "u128"), ("growth_global_x64", "u128")])
WHIRLPOOL_LEN = 8 + _WHIRLPOOL.size + 3 * _WHIRLPOOL_REWARD.size   # 653


@dataclass(frozen=True, slots=True)
class WhirlpoolReward:
    mint: str
    vault: str
    authority: str
    emissions_per_second_x64: int
    growth_global_x64: int


@dataclass(frozen=True, slots=True)
class Whirlpool:
    whirlpools_config: str
    whirlpool_bump: int
    tick_spacing: int
    fee_tier_index_seed: bytes
    fee_rate: int                 # hundredths of a basis point (1_000_000 = 100%)
    protocol_fee_rate: int        # basis points of the fee
    liquidity: int
    sqrt_price: int               # Q64.64
    tick_current_index: int
    protocol_fee_owed_a: int
    protocol_fee_owed_b: int
    token_mint_a: str
    token_vault_a: str
    fee_growth_global_a: int
    token_mint_b: str
    token_vault_b: str
    fee_growth_global_b: int
    reward_last_updated_timestamp: int
    reward_infos: tuple[WhirlpoolReward, ...]

    def price_b_per_a(self) -> float:
        """Raw price of token A in token B base units, (sqrt_price / 2^64)^2."""
        return (self.sqrt_price / 2**64) ** 2


def decode_whirlpool(data: bytes) -> Whirlpool:
    _check_disc(data, ORCA_ACC_WHIRLPOOL, "Orca Whirlpool")
    if len(data) != WHIRLPOOL_LEN:
        raise DecodeError(f"Whirlpool must be {WHIRLPOOL_LEN} bytes, got {len(data)}")
    head = _WHIRLPOOL.decode(data, 8)
    base = 8 + _WHIRLPOOL.size
    rewards = tuple(WhirlpoolReward(**_WHIRLPOOL_REWARD.decode(data, base + i * _WHIRLPOOL_REWARD.size))
                    for i in range(3))
    return Whirlpool(**head, reward_infos=rewards)


def encode_whirlpool(pool: Whirlpool) -> bytes:
    head = {f.name: getattr(pool, f.name) for f in fields(Whirlpool) if f.name != "reward_infos"}
    if len(pool.reward_infos) != 3:
        raise ValueError("a Whirlpool has exactly 3 reward infos")
    return ORCA_ACC_WHIRLPOOL + _WHIRLPOOL.encode(head) + b"".join(
        _WHIRLPOOL_REWARD.encode(asdict(r)) for r in pool.reward_infos)


# --- Meteora DLMM LbPair (read-only basics) ---

_LB_PAIR_HEAD = Layout([
    # StaticParameters (32 bytes)
    ("base_factor", "u16"), ("filter_period", "u16"), ("decay_period", "u16"), ("reduction_factor", "u16"),
    ("variable_fee_control", "u32"), ("max_volatility_accumulator", "u32"), ("min_bin_id", "i32"),
    ("max_bin_id", "i32"), ("protocol_share", "u16"), ("base_fee_power_factor", "u8"), ("_sp_pad", "bytes:5"),
    # VariableParameters (32 bytes)
    ("volatility_accumulator", "u32"), ("volatility_reference", "u32"), ("index_reference", "i32"),
    ("_vp_pad", "bytes:4"), ("last_update_timestamp", "i64"), ("_vp_pad1", "bytes:8"),
    ("bump_seed", "u8"), ("bin_step_seed", "u16"), ("pair_type", "u8"), ("active_id", "i32"), ("bin_step", "u16"),
    ("status", "u8"), ("require_base_factor_seed", "u8"), ("base_factor_seed", "u16"), ("activation_type", "u8"),
    ("creator_pool_on_off_control", "u8"), ("token_x_mint", "pubkey"), ("token_y_mint", "pubkey"),
    ("reserve_x", "pubkey"), ("reserve_y", "pubkey"),
])
LB_PAIR_LEN = 904
_LB_PAIR_CREATOR = 848


@dataclass(frozen=True, slots=True)
class LbPair:
    base_factor: int
    bin_step: int
    active_id: int
    min_bin_id: int
    max_bin_id: int
    protocol_share: int
    base_fee_power_factor: int
    pair_type: int
    status: int
    activation_type: int
    token_x_mint: str
    token_y_mint: str
    reserve_x: str
    reserve_y: str
    creator: str

    @property
    def base_fee_rate(self) -> float:
        """Base fee as a fraction: base_factor * bin_step * 10 * 10^power / 1e9 (DLMM FEE_PRECISION)."""
        return self.base_factor * self.bin_step * 10 * 10**self.base_fee_power_factor / 1e9


def decode_lb_pair(data: bytes) -> LbPair:
    _check_disc(data, METEORA_ACC_LB_PAIR, "Meteora LbPair")
    if len(data) != LB_PAIR_LEN:
        raise DecodeError(f"LbPair must be {LB_PAIR_LEN} bytes, got {len(data)}")
    h = _LB_PAIR_HEAD.decode(data, 8)
    if h["bin_step_seed"] != h["bin_step"]:
        raise DecodeError("LbPair bin_step_seed disagrees with bin_step")
    creator = Reader(data, _LB_PAIR_CREATOR).pubkey()
    return LbPair(
        base_factor=h["base_factor"], bin_step=h["bin_step"], active_id=h["active_id"],
        min_bin_id=h["min_bin_id"], max_bin_id=h["max_bin_id"], protocol_share=h["protocol_share"],
        base_fee_power_factor=h["base_fee_power_factor"], pair_type=h["pair_type"], status=h["status"],
        activation_type=h["activation_type"], token_x_mint=h["token_x_mint"], token_y_mint=h["token_y_mint"],
        reserve_x=h["reserve_x"], reserve_y=h["reserve_y"], creator=creator,
    )
