"""Small builders for the trading tests (opportunities, fills, positions, configs)."""
from __future__ import annotations

from pipelines.config import RiskConfig
from pipelines.messages import Fill, Opportunity, Position, Side

SOL = 1_000_000_000
DAY = 86_400
T0 = 20_000 * DAY + 3_600.0          # 01:00 UTC on some day: far from a day boundary


def risk_cfg(**kw) -> RiskConfig:
    return RiskConfig(**kw)


def opp(mint: str, lamports: int, now: float = T0, *, oid: str | None = None, strategy: str = "momentum",
        profit: float = 0.2, risk: float = 0.1, ttl: float = 30.0) -> Opportunity:
    return Opportunity(id=oid or f"opp-{mint}-{now}", mint=mint, strategy=strategy, score=0.5,
                       expected_profit=profit, risk=risk, capital_lamports=lamports, created_at=now,
                       expires_at=now + ttl)


def buy(mint: str, lamports: int, tokens: int, *, order: str | None = None, fee: int = 0,
        ts: float = T0) -> Fill:
    return Fill(order_id=order or f"buy-{mint}-{lamports}-{tokens}", mint=mint, side=Side.BUY,
                lamports=lamports, tokens=tokens, fee_lamports=fee,
                price=lamports / tokens if tokens else 0.0, slot=1, ts=ts)


def sell(mint: str, lamports: int, tokens: int, *, order: str | None = None, fee: int = 0,
         ts: float = T0) -> Fill:
    return Fill(order_id=order or f"sell-{mint}-{lamports}-{tokens}", mint=mint, side=Side.SELL,
                lamports=lamports, tokens=tokens, fee_lamports=fee,
                price=lamports / tokens if tokens else 0.0, slot=2, ts=ts)


def position(tokens: int = 1000, initial: int = 1000, cost: int = 1000, *, opened_at: float = 0.0,
             peak: float = 0.0, steps: int = 0, mint: str = "MINT") -> Position:
    return Position(mint=mint, opened_at=opened_at, tokens=tokens, initial_tokens=initial, cost_lamports=cost,
                    entry_price=cost / initial, peak_price=peak, last_price=peak, tp_steps_done=steps)
