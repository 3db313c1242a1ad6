"""Stable reason strings of the risk supervisor (log fields, metric labels, API answers: never rename)."""
from __future__ import annotations

OK = "ok"
CLAMPED = "clamped_max_position_size"   # approved, but cut to max_position_sol (see RiskConfig.clamp_to_max_position)

# Breakers and operator states, checked first.
KILLED = "killed"                       # kill switch; only reset_halt() clears it
DRAWDOWN_HALT = "drawdown_halt"         # equity fell drawdown_halt below peak -> HALTED until reset_halt()
HALTED = "halted"                       # operator / critical-error halt -> HALTED until reset_halt()
PAUSED = "paused"                       # operator pause -> REDUCING (exits only) until resume()
DEGRADED = "degraded"                   # error level DEGRADED (health watch) -> REDUCING until it recovers
CRITICAL = "critical"                   # error level CRITICAL (health watch) -> HALTED for the rest of the run
DAILY_LOSS_LIMIT = "daily_loss_limit"   # REDUCING until the next UTC day
CONSECUTIVE_LOSSES = "consecutive_losses"  # no entries for consecutive_loss_pause_s or until a win

# Per-opportunity refusals.
INVALID = "invalid"                     # non-positive size or empty mint
EXPIRED = "expired"                     # the opportunity's deadline has passed
BLACKLISTED = "blacklisted"
DUPLICATE = "duplicate"                 # already holding or reserving that mint
COOLDOWN = "cooldown"                   # the mint was exited less than token_cooldown_s ago
MAX_POSITION_SIZE = "max_position_size"  # only when clamp_to_max_position is False
MAX_OPEN_POSITIONS = "max_open_positions"
CONCENTRATION = "concentration"
PORTFOLIO_HEAT = "portfolio_heat"
LEVERAGE = "leverage"
INSUFFICIENT_CAPITAL = "insufficient_capital"
