"""Typed, immutable messages that travel between components (and through Ray, the ledger and backtests).

Money is integer lamports, token amounts integer base units; prices are floats in lamports per token base
unit. Times are float seconds on the caller's clock (wall clock live, simulated clock in backtests): pipeline
code never reads a clock of its own.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum

from pipelines.wire import pickle_by_fields


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"


class OrderState(str, Enum):
    INTENT = "intent"            # written to the ledger, nothing sent yet
    SUBMITTED = "submitted"      # sent (or handed to the paper/dry-run fill model)
    CONFIRMED = "confirmed"      # landed / filled
    FAILED = "failed"            # rejected, simulation failed, or the chain returned an error
    EXPIRED = "expired"          # blockhash expired without landing
    UNRESOLVED = "unresolved"    # outcome unknown (crash after send): reconciled with the chain on start

    @property
    def terminal(self) -> bool:
        return self in (OrderState.CONFIRMED, OrderState.FAILED, OrderState.EXPIRED)


class RiskState(str, Enum):
    ACTIVE = "active"        # entries and exits
    REDUCING = "reducing"    # exits only
    HALTED = "halted"        # nothing new; operator must reset


def stable_id(*parts: object) -> str:
    """A deterministic id: the same inputs always give the same id (idempotency keys, dedupe)."""
    h = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=12)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    safe: bool
    reasons: tuple[str, ...] = ()      # why not safe (or notes when safe)


@dataclass(frozen=True, slots=True)
class TokenFeatures:
    """One token's state as seen by the analyzer at `ts` (what the momentum engine scores)."""
    mint: str
    ts: float
    slot: int
    venue: str
    age_s: float
    price: float                     # lamports per token base unit
    market_cap_lamports: int
    curve_progress: float            # 0..1; 1 when complete
    liquidity_lamports: int          # real SOL in the curve / pool quote side
    volume_lamports: dict[int, int]  # window seconds -> traded lamports
    buys: dict[int, int]             # window seconds -> buy count
    sells: dict[int, int]
    unique_buyers: int
    net_flow_lamports: int           # buys minus sells over the longest window
    price_velocity: float            # smoothed relative price change per second
    trade_size_entropy: float        # bits
    top5_share: float                # share of supply held by the top 5 non-curve holders
    dev_share: float                 # creator's share of supply now
    dev_sold_lamports: int
    rug_probability: float           # 0..1
    complete: bool
    migrated: bool
    safety: SafetyVerdict
    creator: str = ""
    symbol: str = ""
    buy_volume_lamports: dict[int, int] = field(default_factory=dict)  # window -> bought lamports
    new_buyers: dict[int, int] = field(default_factory=dict)   # window -> first-time buyers in it
    dev_sell_share: float = 0.0      # share of the creator's bought tokens sold since (1.0 = all of it)
    peak_price: float = 0.0          # highest price seen (drawdown = 1 - price / peak_price)
    trades: int = 0                  # trades seen since tracking started
    rugged: bool = False             # liquidity collapsed from its peak (see AnalysisConfig.rug_*)
    # the analysis state has no gap: the token was seen from its launch, or watched without a break for
    # AnalysisConfig.warmup_s (a restored or mid-life token is not, until then: momentum makes no entry on it)
    warm: bool = True


# every touched token's features cross Ray (AnalyzerShard -> MomentumEngine) once per flush: see pipelines/wire.py
pickle_by_fields(SafetyVerdict)
pickle_by_fields(TokenFeatures)


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A candidate entry the orchestrator may act on before `expires_at`."""
    id: str
    mint: str
    strategy: str                    # "momentum" | "sniper" | "manual"
    score: float                     # momentum score, 0..1
    expected_profit: float           # expected return on capital, fraction (0.2 = +20%)
    risk: float                      # 0..1
    capital_lamports: int            # what the entry needs
    created_at: float
    expires_at: float
    venue: str = "pumpfun"
    price: float = 0.0               # price when scored (lamports per base unit)
    reason: str = ""
    trace_id: str = ""


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    opportunity_id: str
    mint: str
    lamports: int
    created_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class Decision:
    """The risk supervisor's answer to approve_and_reserve."""
    approved: bool
    reason: str                      # "ok" or the limit that refused it
    reservation: Reservation | None = None


@dataclass(frozen=True, slots=True)
class Order:
    id: str                          # deterministic: stable_id(opportunity or exit key) -> never sent twice
    mint: str
    side: Side
    venue: str
    amount: int                      # buy: lamports to spend (incl. fees); sell: tokens to sell
    limit: int                       # buy: min tokens out; sell: min lamports out (slippage bound)
    mode: str                        # "paper" | "dry_run" | "live"
    state: OrderState = OrderState.INTENT
    reason: str = ""                 # entry strategy or exit reason
    reservation_id: str = ""
    opportunity_id: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    signature: str = ""
    error: str = ""
    last_valid_block_height: int = 0
    trace_id: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: str
    mint: str
    side: Side
    lamports: int                    # buy: lamports that left the wallet incl. fees; sell: lamports received net
    tokens: int                      # token base units bought or sold
    fee_lamports: int                # protocol + creator (+ network/priority/tip) fees inside `lamports`
    price: float                     # effective lamports per base unit, fees included
    slot: int
    ts: float
    signature: str = ""
    quote_slot: int = 0              # slot of the state the quote came from


@dataclass(frozen=True, slots=True)
class Position:
    mint: str
    opened_at: float
    tokens: int                      # still held
    initial_tokens: int
    cost_lamports: int               # total lamports paid for the tokens bought (incl. fees)
    entry_price: float               # cost_lamports / initial_tokens
    realized_lamports: int = 0       # lamports received from sells so far (net of fees)
    fees_lamports: int = 0
    peak_price: float = 0.0
    last_price: float = 0.0
    tp_steps_done: int = 0
    venue: str = "pumpfun"
    strategy: str = ""
    closed_at: float = 0.0
    exit_reason: str = ""
    entry_order_id: str = ""
    exit_order_ids: tuple[str, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.tokens > 0 and not self.closed_at


@dataclass(frozen=True, slots=True)
class ExitSignal:
    mint: str
    reason: str                      # "stop_loss" | "take_profit_1" | "trailing_stop" | "max_hold" | "migration" | "rug" | "kill"
    tokens: int                      # how many tokens to sell
    urgent: bool = False             # skip the queue's normal order (rug, migration, kill)
