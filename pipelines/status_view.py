"""One frame of the terminal dashboard (`launchray status`), rendered as text from the control API's answers.

Pure: JSON dicts in (GET /api/v1/status, /health, /api/v1/positions, /api/v1/tokens/top), text out; the
caller passes `now` and whether to colour (plain ANSI SGR codes, no curses). Layout, per REQUIREMENTS: status,
uptime, capital and available; today's signals, trades, win rate and P&L; open positions with entry -> current
price and %; top momentum tokens with score and signal; health of RPC, streams, database; tracked tokens.
Prices are lamports per token base unit (what the ledger stores), so entry -> current compares like with like.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

WIDTH = 96
MAX_POSITIONS = 10

_STATE_COLOUR = {"running": "32", "paused": "33", "reducing": "33", "initializing": "36", "halted": "31",
                 "shutting_down": "35", "error": "31"}


@dataclass(frozen=True, slots=True)
class Frame:
    status: dict
    health: dict
    positions: list[dict]
    top: list[dict]
    url: str = ""


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def uptime(seconds: float) -> str:
    s = int(max(0, seconds))
    d, s = divmod(s, 86_400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def clean(text: object, limit: int = 64) -> str:
    """Printable characters only: symbols and names come from token metadata, which anyone can write (an
    escape sequence in a symbol must not repaint the operator's terminal)."""
    return "".join(ch for ch in str(text) if ch.isprintable())[:limit]


def short_mint(mint: str) -> str:
    mint = clean(mint)
    return mint if len(mint) <= 11 else f"{mint[:4]}..{mint[-4:]}"


def sol(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def price(p: float) -> str:
    return f"{p:.4g}" if p > 0 else "-"


def pct(x: float, colour: bool, width: int = 8) -> str:
    text = f"{x * 100:+.1f}%".rjust(width)      # pad before painting: escape codes have no width
    return _paint(text, "32" if x > 0 else "31" if x < 0 else "", colour)


def _ok(flag: bool, text: str, colour: bool) -> str:
    return _paint(text, "32" if flag else "31", colour)


def _ago(ts: float | None, now: float) -> str:
    if not ts:
        return "never"
    return f"{uptime(now - ts)} ago"


def render(frame: Frame, now: float, colour: bool = False) -> str:
    st, hl = frame.status, frame.health
    state = clean(st.get("status", "unknown"), 16)
    lines: list[str] = []
    head = f"launchray  {_paint(state.upper(), _STATE_COLOUR.get(state, ''), colour)}"
    head += f"   uptime {uptime(st.get('uptime_s', 0))}   mode {clean(st.get('mode', '?'), 12)}"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    lines.append(head + " " * max(3, WIDTH - _visible(head) - len(stamp)) + stamp)
    level = clean(st.get("level") or hl.get("level") or "ok", 12)
    if level != "ok":
        reasons = st.get("level_reasons") or hl.get("level_reasons") or []
        text = "; ".join(clean(r.get("detail", r.get("cause", "")), 80) for r in reasons if isinstance(r, dict))
        lines.append(_paint(f"level     {level.upper()}", "31" if level == "critical" else "33", colour)
                     + (f"  {clean(text, WIDTH - 20)}" if text else ""))
    if st.get("breakers"):
        lines.append(f"breakers  {clean(', '.join(map(str, st['breakers'])), WIDTH)}")
    lines.append(f"capital   {sol(st.get('capital_sol'))} SOL   equity {sol(st.get('equity_sol'))} SOL   "
                 f"deployed {sol(st.get('capital_deployed_sol'))} SOL   available "
                 f"{sol(st.get('capital_available_sol'))} SOL")
    win = st.get("win_rate_today")
    daily = float(st.get("daily_pnl_sol", 0.0))
    lines.append(f"today     signals {st.get('signals_today', 0)}   trades {st.get('trades_today', 0)}   "
                 f"closed {st.get('closed_today', 0)} ({st.get('wins_today', 0)}W/{st.get('losses_today', 0)}L)   "
                 f"win rate {'-' if win is None else f'{win * 100:.0f}%'}   P&L "
                 f"{_paint(sol(daily, True) + ' SOL', '32' if daily > 0 else '31' if daily < 0 else '', colour)}   "
                 f"unrealized {sol(st.get('unrealized_pnl_sol'), True)} SOL")
    lines.append(f"activity  tracked tokens {st.get('tracked_tokens', 0)}   open positions "
                 f"{st.get('open_positions', 0)}   last trade {_ago(st.get('last_trade_at'), now)}   "
                 f"errors {st.get('error_count', 0)}   restarts {st.get('actor_restarts', 0)}")
    lines.append(_health_line(hl, colour))
    lines.append("")
    lines += _positions(frame.positions, colour)
    lines.append("")
    lines += _top(frame.top, colour)
    return "\n".join(lines) + "\n"


def _visible(text: str) -> int:
    """Length without ANSI codes (for alignment)."""
    out, skip = 0, False
    for ch in text:
        if ch == "\x1b":
            skip = True
        elif skip and ch == "m":
            skip = False
        elif not skip:
            out += 1
    return out


def _health_line(hl: dict, colour: bool) -> str:
    rpc = hl.get("rpc") or {}
    eps = rpc.get("endpoints") or []
    good = sum(1 for e in eps if e.get("healthy"))
    lat = min((e.get("latency_ms", 0.0) for e in eps if e.get("healthy")), default=None)
    rpc_text = f"RPC {'ok' if rpc.get('ok') else 'DOWN'} ({good}/{len(eps)} endpoints"
    rpc_text += f", {lat:.0f} ms)" if lat is not None else ")"
    ws = hl.get("websocket") or {}
    ws_text = "stream " + ("connected" if ws.get("connected") else "DISCONNECTED")
    if ws.get("reconnects"):
        ws_text += f" ({ws['reconnects']} reconnects)"
    led = hl.get("ledger") or {}
    db_text = "database " + ("ok" if led.get("ok") else "DOWN")
    actors = hl.get("actors") or {}
    dead = sorted(clean(n) for n, a in actors.items() if not a.get("alive", True))
    act_text = f"actors {len(actors) - len(dead)}/{len(actors)} up" + (f" (down: {', '.join(dead)})" if dead else "")
    return ("health    " + _ok(bool(rpc.get("ok")), rpc_text, colour) + "   " + _ok(bool(ws.get("connected")), ws_text,
            colour) + "   " + _ok(bool(led.get("ok")), db_text, colour) + "   " + _ok(not dead, act_text, colour))


def _positions(positions: list[dict], colour: bool) -> list[str]:
    out = [f"OPEN POSITIONS ({len(positions)})"]
    if not positions:
        return out + ["  none"]
    out.append(f"  {'mint':<11}  {'strategy':<9} {'entry':>10} -> {'current':<10} {'change':>8}  {'unrealized':>11}  "
               f"{'cost':>8}")
    for p in sorted(positions, key=lambda p: -p.get("opened_at", 0.0))[:MAX_POSITIONS]:
        out.append(f"  {short_mint(p['mint']):<11}  {clean(p.get('strategy', ''), 9):<9} {price(p.get('entry_price', 0)):>10}"
                   f" -> {price(p.get('last_price', 0)):<10} {pct(p.get('pct', 0.0), colour)}  "
                   f"{sol(p.get('unrealized_pnl_sol'), True):>11}  {sol(p.get('cost_sol')):>8}")
    if len(positions) > MAX_POSITIONS:
        out.append(f"  ... and {len(positions) - MAX_POSITIONS} more")
    return out


def _top(tokens: list[dict], colour: bool) -> list[str]:
    out = ["TOP MOMENTUM"]
    if not tokens:
        return out + ["  no scored tokens yet"]
    out.append(f"  {'#':>2}  {'mint':<11}  {'symbol':<10} {'score':>6}  {'signal':<7} {'price':>10}  {'curve':>6}  "
               f"{'buyers':>6}  {'rug':>5}")
    for i, t in enumerate(tokens, start=1):
        sig = clean(t.get("signal", ""), 7)
        sig_text = _paint(f"{sig:<7}", {"buy": "32", "unsafe": "31"}.get(sig, ""), colour)
        out.append(f"  {i:>2}  {short_mint(t['mint']):<11}  {clean(t.get('symbol', ''), 10):<10} "
                   f"{t.get('score', 0.0):>6.3f}  {sig_text} {price(t.get('price', 0.0)):>10}  "
                   f"{t.get('curve_progress', 0.0) * 100:>5.1f}%  {t.get('unique_buyers', 0):>6}  "
                   f"{t.get('rug_probability', 0.0):>5.2f}")
    return out
