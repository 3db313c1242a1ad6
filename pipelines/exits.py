"""Exit rules for an open position, evaluated on every price update (pure: the caller passes price and now).

Prices are spot prices in lamports per token base unit. The entry price includes buy fees (it is
cost / tokens), so the rules judge the price *net of the sell fee* (`flags.sell_fee_bps`, read by the caller
from chain state: pump.fun fee tiers vary, so no number is hard-coded here): a 15% stop-loss means what the
tokens would fetch after fees is 15% below what they cost, the real round-trip loss before price impact.

Rules, in priority order (when several fire at once the first wins; every one but take-profit sells all):
1. rug            flags.rug_signals non-empty (dev dump, liquidity pulled) and exit_on_rug      urgent
2. migration      flags.migrated or flags.complete, and exit_on_migration                        urgent
                  (a complete curve no longer trades; the executor sells on the new pool)
3. stop_loss      net price <= entry * (1 - stop_loss)
4. trailing_stop  once the peak's net gain has reached trailing_activation,
                  price <= peak * (1 - trailing_stop)          (peak = max(position.peak_price, price))
5. max_hold       now - opened_at >= max_hold_s
6. take_profit_N  net gain >= step N's gain multiple, for steps not yet done (position.tp_steps_done).
                  Step i sells floor(initial_tokens * share_i) (capped at what is held); the last step sells
                  the rest. If a jump crosses several steps at once they fire together as one sell named
                  after the highest step. Each step fires once: the caller records steps_done_after(signal)
                  (PositionBook.begin_exit) before the next evaluation.
Boundaries are inclusive (reaching a threshold fires it), with a 1e-9 relative tolerance so that a price
computed as exactly the threshold is not missed by float rounding. Rug/migration outrank the stop-loss
because they are urgent and the price may no longer be tradeable where it is quoted.
A non-finite or non-positive price skips the price rules (rug, migration and max hold still apply).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pipelines.config import ExitConfig
from pipelines.messages import ExitSignal, Position

BPS = 10_000
_EPS = 1e-9
_SHARE_PPM = 1_000_000
TP_PREFIX = "take_profit_"


@dataclass(frozen=True, slots=True)
class ExitFlags:
    """What the caller knows about the token beyond its price."""
    complete: bool = False
    migrated: bool = False
    rug_signals: tuple[str, ...] = ()    # e.g. ("dev_dump", "liquidity_pulled")
    sell_fee_bps: int = 0                # total sell fee rate on the token's venue, from chain state


_NO_FLAGS = ExitFlags()


def _reached(x: float, threshold: float) -> bool:
    return x >= threshold * (1 - _EPS)


def _fallen(x: float, threshold: float) -> bool:
    return x <= threshold * (1 + _EPS)


def evaluate_exit(position: Position, price: float, now: float, cfg: ExitConfig,
                  flags: ExitFlags | None = None) -> ExitSignal | None:
    if not position.is_open:
        return None
    flags = flags or _NO_FLAGS
    held = position.tokens
    mint = position.mint
    if flags.rug_signals and cfg.exit_on_rug:
        return ExitSignal(mint, "rug", held, urgent=True)
    if (flags.migrated or flags.complete) and cfg.exit_on_migration:
        return ExitSignal(mint, "migration", held, urgent=True)
    entry = position.entry_price
    priced = math.isfinite(price) and price > 0 and math.isfinite(entry) and entry > 0
    if priced:
        net = (BPS - flags.sell_fee_bps) / BPS
        if _fallen(price * net, entry * (1 - cfg.stop_loss)):
            return ExitSignal(mint, "stop_loss", held)
        peak = max(position.peak_price, price)
        if (_reached(peak * net, entry * (1 + cfg.trailing_activation))
                and _fallen(price, peak * (1 - cfg.trailing_stop))):
            return ExitSignal(mint, "trailing_stop", held)
    if now - position.opened_at >= cfg.max_hold_s:
        return ExitSignal(mint, "max_hold", held)
    if priced:
        return _take_profit(position, price * net, cfg)
    return None


def _take_profit(position: Position, net_price: float, cfg: ExitConfig) -> ExitSignal | None:
    steps = cfg.take_profit
    done = position.tp_steps_done
    top = done
    while top < len(steps) and _reached(net_price, position.entry_price * (1 + steps[top][0])):
        top += 1
    if top == done:
        return None
    held = position.tokens
    if top == len(steps):
        tokens = held
    else:
        tokens = sum(position.initial_tokens * round(share * _SHARE_PPM) // _SHARE_PPM
                     for _, share in steps[done:top])
        tokens = min(held, max(tokens, 1))
    return ExitSignal(position.mint, f"{TP_PREFIX}{top}", tokens)


def steps_done_after(signal: ExitSignal) -> int | None:
    """The take-profit steps done once this exit fills (None when it is not a take-profit)."""
    if not signal.reason.startswith(TP_PREFIX):
        return None
    try:
        return int(signal.reason[len(TP_PREFIX):])
    except ValueError:
        return None


def flatten(position: Position) -> ExitSignal:
    """The kill switch's exit: sell everything now."""
    return ExitSignal(position.mint, "kill", position.tokens, urgent=True)
