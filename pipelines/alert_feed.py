"""Which alerts the running system owes, pure: the previous poll's state + what this poll read -> alert events.

The ControlPlane polls about once a second (actors/control_alerts.py) and hands the result here; the alerts
then go through the AlertGate (rate limit, digest, de-duplication) in actors/alerts.py. Rules:
- every fill recorded since the last poll -> a trade alert;
- every position seen closed for the first time -> a position-closed alert with its P&L;
- every risk breaker newly tripped -> an alert: urgent for the daily loss limit and for the breakers that halt
  trading (kill switch, drawdown halt, operator halt), a normal breaker alert for the others (pause, streak);
- Ingest without its WebSocket for `disconnect_after_s` -> one urgent alert per outage;
- the UTC day changed -> a summary of the day that ended (the caller reads its stats when `summary_due` says so).
A read that failed arrives as None and concludes nothing (no breaker "cleared", no outage ended).
No clock here: `Snapshot.now` is the poll's time.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipelines.alerting import (Alert, breaker_alert, daily_summary_alert, disconnected_alert, halt_alert,
                                loss_limit_alert, position_closed_alert, trade_alert)
from pipelines.messages import Fill, Position, RiskState

HALTING_BREAKERS = frozenset({"killed", "drawdown_halt", "halted"})
DAILY_LOSS_LIMIT = "daily_loss_limit"
MAX_CLOSED_REMEMBERED = 2000


@dataclass(frozen=True, slots=True)
class FeedPolicy:
    mode: str = "paper"
    disconnect_after_s: float = 30.0
    daily_loss_limit: float = 0.10     # RiskConfig.daily_loss_limit (fraction of the day's start equity)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one poll read. None = that read failed."""
    now: float
    fills: tuple[tuple[Fill, str], ...] = ()   # fills recorded since the last poll, each with its order's reason
    closed: tuple[Position, ...] = ()          # positions closed recently (repeats are fine: de-duplicated here)
    risk: Mapping | None = None                # RiskSupervisor.status()
    ingest: Mapping | None = None              # Ingest.status()
    summary: Mapping | None = None             # stats of the day summary_due() named, when it named one


@dataclass(frozen=True, slots=True)
class FeedState:
    day: str = ""                                      # UTC day of the last poll ("" before the first)
    breakers: frozenset[str] = frozenset()             # tripped at the last successful risk read
    closed_seen: tuple[tuple[str, float], ...] = ()    # (mint, opened_at) already alerted, oldest first
    disconnected_since: float | None = None
    disconnect_alerted: bool = False
    counts: Mapping[str, int] = field(default_factory=dict)


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def summary_due(state: FeedState, now: float) -> str | None:
    """The UTC day to summarize in this poll (the day that just ended), or None."""
    return state.day if state.day and utc_day(now) != state.day else None


def summary_stats(daily: Mapping, risk: Mapping | None) -> dict:
    """The day summary's fields from the ledger's DailyPnl (as a dict) and, if read, the risk book's status."""
    stats = {"trades": int(daily.get("trades", 0)), "wins": int(daily.get("wins", 0)),
             "losses": int(daily.get("losses", 0)), "realized_lamports": int(daily.get("realized_lamports", 0))}
    if risk:
        stats["open_positions"] = int(risk.get("open_positions", 0))
        stats["equity_lamports"] = int(risk.get("equity", 0))
    return stats


def _endpoint(ingest: Mapping) -> str:
    """Host of the first WebSocket URL: never its path or query, where providers put API keys."""
    urls = ingest.get("ws_urls") or ()
    host = urlsplit(str(urls[0])).hostname if urls else None
    return host or "websocket"


def _breaker_alerts(tripped: list[str], risk: Mapping, policy: FeedPolicy, now: float) -> list[Alert]:
    out = []
    for name in tripped:
        if name == DAILY_LOSS_LIMIT:
            start = int(risk.get("day_start_equity") or 0)
            out.append(loss_limit_alert(utc_day(now), int(risk.get("daily_pnl") or 0),
                                        round(policy.daily_loss_limit * start), now))
        elif name in HALTING_BREAKERS:
            out.append(halt_alert(name, f"risk state {risk.get('state', '?')}; reset_halt needed to trade again",
                                  now))
        else:
            try:
                state = RiskState(risk.get("state", "reducing"))
            except ValueError:
                state = RiskState.REDUCING
            out.append(breaker_alert(state, name, now))
    return out


def feed(state: FeedState, snap: Snapshot, policy: FeedPolicy) -> tuple[FeedState, list[Alert]]:
    """The alerts this poll owes, and the state the next poll compares with."""
    now = snap.now
    alerts: list[Alert] = [trade_alert(f, policy.mode, reason) for f, reason in snap.fills]

    seen = list(state.closed_seen)
    known = set(seen)
    for p in snap.closed:
        key = (p.mint, p.opened_at)
        if p.closed_at and key not in known:
            alerts.append(position_closed_alert(p, now))
            known.add(key)
            seen.append(key)
    seen = seen[-MAX_CLOSED_REMEMBERED:]

    breakers = state.breakers
    if snap.risk is not None:
        current = [b for b in (snap.risk.get("breakers") or ()) if isinstance(b, str)]
        alerts += _breaker_alerts([b for b in current if b not in state.breakers], snap.risk, policy, now)
        breakers = frozenset(current)

    since, alerted = state.disconnected_since, state.disconnect_alerted
    if snap.ingest is not None:
        if snap.ingest.get("connected") is False:
            since = now if since is None else since
            if not alerted and now - since >= policy.disconnect_after_s:
                alerts.append(disconnected_alert(_endpoint(snap.ingest),
                                                 f"no WebSocket connection for {now - since:.0f} s", now))
                alerted = True
        elif snap.ingest.get("connected") is True:
            since, alerted = None, False

    day = state.day
    ended = summary_due(state, now)
    if ended is None:
        day = utc_day(now)
    elif snap.summary is not None:      # without its stats the summary is retried at the next poll
        alerts.append(daily_summary_alert(ended, snap.summary, now))
        day = utc_day(now)

    counts = dict(state.counts)
    for a in alerts:
        counts[a.kind.value] = counts.get(a.kind.value, 0) + 1
    return FeedState(day, breakers, tuple(seen), since, alerted, counts), alerts
