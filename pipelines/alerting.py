"""Alert decisions, pure: which events alert and how urgently, the text they carry, rate limiting with
coalescing, de-duplication and retry delays. The sender in `actors/alerts.py` only does the HTTP.

Urgent alerts (loss limit, low wallet balance, disconnection, unhandled exception) skip the rate limit but are
de-duplicated like every other alert; normal alerts are sent at most once per `min_interval_s`, and whatever
arrives in between is queued (bounded) and goes out as ONE digest message when the interval has passed.
No clock here: callers pass `now`.
"""
from __future__ import annotations

import html
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from pipelines.messages import Fill, Position, RiskState
from pipelines.redaction import redact_patterns

LAMPORTS_PER_SOL = 1_000_000_000
TELEGRAM_MAX_CHARS = 4096  # Bot API sendMessage limit (after entity parsing; we stay well below it)


class AlertKind(str, Enum):
    TRADE = "trade"
    POSITION_CLOSED = "position_closed"
    BREAKER_TRIP = "breaker_trip"
    ERROR = "error"
    DAILY_SUMMARY = "daily_summary"
    LOSS_LIMIT = "loss_limit"
    LOW_BALANCE = "low_balance"
    DISCONNECTED = "disconnected"
    UNHANDLED_EXCEPTION = "unhandled_exception"
    HALTED = "halted"                # trading halted: kill switch, drawdown halt, operator halt
    DEGRADED = "degraded"            # error level DEGRADED: entries paused until the service recovers
    RECOVERED = "recovered"          # back to OK: entries resume
    CRITICAL = "critical"            # error level CRITICAL: trading stopped, the run ends

    @property
    def urgent(self) -> bool:
        return self in URGENT_KINDS


URGENT_KINDS = frozenset({AlertKind.LOSS_LIMIT, AlertKind.LOW_BALANCE, AlertKind.DISCONNECTED,
                          AlertKind.UNHANDLED_EXCEPTION, AlertKind.HALTED, AlertKind.CRITICAL})


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    title: str
    fields: tuple[tuple[str, str], ...]  # ordered (label, value) pairs
    key: str                             # de-duplication key: same key within the window = same alert
    ts: float

    @property
    def urgent(self) -> bool:
        return self.kind.urgent


def _sol(lamports: int, signed: bool = False) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:{'+' if signed else ''}.4f} SOL"


def _short(pubkey: str) -> str:
    return f"{pubkey[:4]}…{pubkey[-4:]}" if len(pubkey) > 12 else pubkey


# ---- builders: one per alerting event --------------------------------------------------------------------

def trade_alert(fill: Fill, mode: str, reason: str = "") -> Alert:
    fields = [("side", fill.side.value), ("mint", fill.mint), ("sol", _sol(fill.lamports)),
              ("tokens", f"{fill.tokens:,}"), ("price", f"{fill.price:.6g} lamports/unit"),
              ("fees", _sol(fill.fee_lamports)), ("mode", mode)]
    if reason:
        fields.append(("reason", reason))
    if fill.signature:
        fields.append(("signature", fill.signature))
    return Alert(AlertKind.TRADE, f"{fill.side.value.upper()} {_short(fill.mint)}", tuple(fields),
                 f"trade:{fill.order_id}:{fill.signature}", fill.ts)


def position_closed_alert(pos: Position, now: float) -> Alert:
    pnl = pos.realized_lamports - pos.cost_lamports
    pct = pnl / pos.cost_lamports * 100 if pos.cost_lamports else 0.0
    held = (pos.closed_at or now) - pos.opened_at
    fields = (("mint", pos.mint), ("pnl", f"{_sol(pnl, signed=True)} ({pct:+.1f}%)"), ("cost", _sol(pos.cost_lamports)),
              ("received", _sol(pos.realized_lamports)), ("held", f"{held:.0f} s"),
              ("exit", pos.exit_reason or "-"), ("strategy", pos.strategy or "-"))
    return Alert(AlertKind.POSITION_CLOSED, f"Closed {_short(pos.mint)} {pct:+.1f}%", fields,
                 f"closed:{pos.mint}:{pos.opened_at}", now)


def breaker_alert(state: RiskState, reason: str, now: float) -> Alert:
    return Alert(AlertKind.BREAKER_TRIP, f"Risk breaker: {state.value}", (("state", state.value), ("reason", reason)),
                 f"breaker:{state.value}:{reason}", now)


def halt_alert(breaker: str, detail: str, now: float) -> Alert:
    """Urgent twin of breaker_alert for the breakers that stop all trading until an operator resets them."""
    return Alert(AlertKind.HALTED, f"Trading halted: {breaker}", (("breaker", breaker), ("detail", detail)),
                 f"halted:{breaker}", now)


def error_alert(component: str, message: str, now: float) -> Alert:
    return Alert(AlertKind.ERROR, f"Error in {component}", (("component", component), ("error", message)),
                 f"error:{component}:{message[:120]}", now)


def daily_summary_alert(day: str, stats: Mapping[str, object], now: float) -> Alert:
    """`stats`: trades, wins, losses, realized_lamports, fees_lamports, open_positions, capital_lamports..."""
    fields = []
    for name, value in stats.items():
        text = _sol(int(value)) if name.endswith("_lamports") else str(value)
        fields.append((name.removesuffix("_lamports"), text))
    return Alert(AlertKind.DAILY_SUMMARY, f"Daily summary {day}", tuple(fields), f"daily:{day}", now)


def loss_limit_alert(day: str, loss_lamports: int, limit_lamports: int, now: float) -> Alert:
    return Alert(AlertKind.LOSS_LIMIT, "Daily loss limit hit: trading halted",
                 (("day", day), ("loss", _sol(-abs(loss_lamports))), ("limit", _sol(limit_lamports))),
                 f"loss_limit:{day}", now)


def low_balance_alert(balance_lamports: int, threshold_lamports: int, now: float) -> Alert:
    return Alert(AlertKind.LOW_BALANCE, "Wallet balance low",
                 (("balance", _sol(balance_lamports)), ("threshold", _sol(threshold_lamports))), "low_balance", now)


def disconnected_alert(endpoint: str, detail: str, now: float) -> Alert:
    return Alert(AlertKind.DISCONNECTED, f"Disconnected: {endpoint}", (("endpoint", endpoint), ("detail", detail)),
                 f"disconnected:{endpoint}", now)


def exception_alert(where: str, exc: BaseException | str, now: float) -> Alert:
    """`exc` an exception, or its text as reported from another process ("TypeName: message")."""
    if isinstance(exc, BaseException):
        kind, error = type(exc).__name__, f"{type(exc).__name__}: {exc}"
    else:
        head = str(exc).split(":", 1)[0]
        kind = head if head.isidentifier() else "Exception"
        error = str(exc) if kind != "Exception" else f"Exception: {exc}"
    return Alert(AlertKind.UNHANDLED_EXCEPTION, f"Unhandled {kind} in {where}",
                 (("where", where), ("error", error)), f"exception:{where}:{kind}", now)


def level_alert(level: str, reasons: Sequence[tuple[str, str]], action: str, now: float) -> Alert:
    """The error level changed (pipelines/health_levels.py). `reasons`: (cause, detail) pairs, most severe first;
    `action`: what the system does about it. DEGRADED and back to OK are normal alerts, CRITICAL urgent."""
    kind = {"critical": AlertKind.CRITICAL, "degraded": AlertKind.DEGRADED}.get(level, AlertKind.RECOVERED)
    title = {"critical": "CRITICAL: trading stopped", "degraded": "Degraded: new entries paused"}.get(
        level, "Recovered: entries resume")
    fields = tuple((cause, detail) for cause, detail in reasons) + (("action", action),)
    causes = ",".join(sorted(c for c, _ in reasons))
    return Alert(kind, title, fields, f"level:{level}:{causes}:{int(now)}", now)


# ---- text ---------------------------------------------------------------------------------------------------

def _clean(text: str, redact) -> str:
    return html.escape((redact or redact_patterns)(str(text)), quote=False)


def format_text(alert: Alert, redact=None) -> str:
    """Telegram HTML (parse_mode="HTML"): every dynamic part is redacted, then escaped."""
    head = ("🚨 <b>URGENT</b> " if alert.urgent else "") + f"<b>{_clean(alert.title, redact)}</b>"
    body = [f"{_clean(k, redact)}: <code>{_clean(v, redact)}</code>" for k, v in alert.fields]
    return _fit("\n".join([head, *body]))


def format_digest(alerts: Sequence[Alert], dropped: int = 0, redact=None) -> str:
    """One message for a coalesced burst: a line per alert, the count that did not fit or was dropped."""
    head = f"<b>{len(alerts) + dropped} alerts</b>"
    lines, budget = [head], TELEGRAM_MAX_CHARS - 64
    used = len(head)
    for i, a in enumerate(alerts):
        detail = ", ".join(f"{k}={v}" for k, v in a.fields[:4])
        line = f"• <b>{_clean(a.title, redact)}</b> {_clean(detail, redact)}"
        if used + len(line) + 1 > budget:
            dropped += len(alerts) - i
            break
        lines.append(line)
        used += len(line) + 1
    if dropped:
        lines.append(f"… and {dropped} more")
    return "\n".join(lines)


def _fit(text: str) -> str:
    return text if len(text) <= TELEGRAM_MAX_CHARS else text[:TELEGRAM_MAX_CHARS - 1] + "…"


def webhook_payload(alerts: Sequence[Alert], dropped: int = 0, redact=None) -> dict:
    """JSON for the generic webhook: one alert, or a digest of several."""
    clean = redact or redact_patterns

    def one(a: Alert) -> dict:
        return {"kind": a.kind.value, "urgent": a.urgent, "title": clean(a.title), "ts": a.ts,
                "fields": {k: clean(v) for k, v in a.fields}}

    if len(alerts) == 1 and not dropped:
        return one(alerts[0])
    return {"kind": "digest", "urgent": any(a.urgent for a in alerts), "alerts": [one(a) for a in alerts],
            "dropped": dropped}


# ---- rate limit, coalescing, dedup ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GatePolicy:
    min_interval_s: float = 1.0
    dedup_window_s: float = 300.0
    max_queue: int = 100
    muted: frozenset[str] = frozenset()  # kind values not to alert (urgent kinds cannot be muted)


class Verdict(str, Enum):
    SEND = "send"            # send now, on its own
    QUEUED = "queued"        # goes out in the next digest
    DUPLICATE = "duplicate"  # same key inside the dedup window
    DROPPED = "dropped"      # queue full (counted in the next digest)
    MUTED = "muted"


class AlertGate:
    """Decides when each alert goes out. Deterministic: time only comes in through `now`."""

    def __init__(self, policy: GatePolicy):
        self.policy = policy
        self._queue: deque[Alert] = deque()
        self._seen: dict[str, float] = {}
        self._last_sent = float("-inf")
        self.dropped = 0

    def offer(self, alert: Alert, now: float) -> Verdict:
        if not alert.urgent and alert.kind.value in self.policy.muted:
            return Verdict.MUTED
        seen = self._seen.get(alert.key)
        if seen is not None and now - seen < self.policy.dedup_window_s:
            return Verdict.DUPLICATE
        self._remember(alert.key, now)
        if alert.urgent:
            return Verdict.SEND
        if not self._queue and now - self._last_sent >= self.policy.min_interval_s:
            self._last_sent = now
            return Verdict.SEND
        if len(self._queue) >= self.policy.max_queue:
            self.dropped += 1
            return Verdict.DROPPED
        self._queue.append(alert)
        return Verdict.QUEUED

    def next_due(self) -> float | None:
        """When the queued alerts may go out, or None when nothing waits."""
        if not self._queue and not self.dropped:
            return None
        return self._last_sent + self.policy.min_interval_s

    def take_due(self, now: float) -> tuple[list[Alert], int]:
        """The queued alerts (and the count dropped) to send as one message now, or ([], 0) if not yet."""
        due = self.next_due()
        if due is None or now < due:
            return [], 0
        batch, dropped = list(self._queue), self.dropped
        self._queue.clear()
        self.dropped = 0
        self._last_sent = now
        return batch, dropped

    def drain(self) -> tuple[list[Alert], int]:
        """Everything still queued, regardless of the interval (shutdown)."""
        batch, dropped = list(self._queue), self.dropped
        self._queue.clear()
        self.dropped = 0
        return batch, dropped

    def pending(self) -> int:
        return len(self._queue)

    def _remember(self, key: str, now: float) -> None:
        self._seen[key] = now
        if len(self._seen) > 4096:  # keep memory bounded under a flood of distinct keys
            horizon = now - self.policy.dedup_window_s
            self._seen = {k: t for k, t in self._seen.items() if t >= horizon}


# ---- retries ---------------------------------------------------------------------------------------------------

def retry_delay(status: int | None, attempt: int, *, retry_after: float | None = None,
                base_s: float = 0.5, cap_s: float = 30.0) -> float | None:
    """Seconds to wait before retry number `attempt` (0-based), or None when retrying cannot help.

    status None = the request never got an answer (connection refused, timeout). 429 honours the server's
    retry_after (Telegram: `parameters.retry_after` in the JSON body; others: the Retry-After header); a wait
    longer than `cap_s` is not worth holding an alert for, so it gives up.
    """
    if status == 429:
        wait = retry_after if retry_after is not None and retry_after >= 0 else base_s * 2 ** attempt
        return wait if wait <= cap_s else None
    if status is None or 500 <= status < 600:
        return min(cap_s, base_s * 2 ** attempt)
    return None
