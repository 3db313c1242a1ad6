"""pipelines/alert_feed.py: which alerts one poll of the running system owes, given the previous poll."""
import calendar

from pipelines.alert_feed import FeedPolicy, FeedState, Snapshot, feed, summary_due, summary_stats, utc_day
from pipelines.alerting import AlertKind
from pipelines.messages import Fill, Position, Side

MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"
T0 = calendar.timegm((2025, 3, 14, 12, 0, 0))      # 2025-03-14 12:00:00 UTC
POLICY = FeedPolicy(mode="paper", disconnect_after_s=30.0, daily_loss_limit=0.10)


def fill(order_id="o1", side=Side.BUY, ts=T0):
    return Fill(order_id=order_id, mint=MINT, side=side, lamports=250_000_000, tokens=8_000_000_000,
                fee_lamports=2_500_000, price=0.03125, slot=10, ts=ts, signature=f"sig-{order_id}")


def closed(opened_at=T0 - 60, cost=250_000_000, got=300_000_000):
    return Position(mint=MINT, opened_at=opened_at, tokens=0, initial_tokens=8_000_000_000, cost_lamports=cost,
                    entry_price=cost / 8_000_000_000, realized_lamports=got, closed_at=T0, exit_reason="take_profit",
                    strategy="momentum")


def risk(*breakers, state="active", daily_pnl=0, start=10_000_000_000):
    return {"state": state, "breakers": list(breakers), "daily_pnl": daily_pnl, "day_start_equity": start,
            "open_positions": 2, "equity": 9_500_000_000}


def run(snaps, state=FeedState()):
    out = []
    for s in snaps:
        state, alerts = feed(state, s, POLICY)
        out.append(alerts)
    return state, out


def test_each_new_fill_is_one_trade_alert_with_its_order_reason():
    state, [alerts] = run([Snapshot(T0, fills=((fill("o1"), "sniper"), (fill("o2", Side.SELL), "take_profit")))])
    assert [a.kind for a in alerts] == [AlertKind.TRADE, AlertKind.TRADE]
    assert alerts[0].title.startswith("BUY ") and alerts[1].title.startswith("SELL ")
    assert ("reason", "sniper") in alerts[0].fields and ("mode", "paper") in alerts[0].fields
    assert state.counts == {"trade": 2}


def test_a_closed_position_alerts_once_with_its_pnl_even_when_read_again():
    p = closed()
    state, out = run([Snapshot(T0, closed=(p,)), Snapshot(T0 + 1, closed=(p,))])
    assert [a.kind for a in out[0]] == [AlertKind.POSITION_CLOSED]
    assert out[1] == []
    pnl = dict(out[0][0].fields)["pnl"]
    assert pnl == "+0.0500 SOL (+20.0%)"          # 0.30 SOL back for 0.25 SOL in
    # An open position (closed_at 0) never alerts.
    _, [none] = run([Snapshot(T0, closed=(Position(MINT, T0, 5, 5, 1, 0.2),))])
    assert none == []


def test_breakers_alert_when_newly_tripped_urgent_for_loss_limit_and_halts():
    snaps = [Snapshot(T0, risk=risk()),
             Snapshot(T0 + 1, risk=risk("consecutive_losses", state="reducing")),
             Snapshot(T0 + 2, risk=risk("consecutive_losses", state="reducing")),      # still tripped: nothing
             Snapshot(T0 + 3, risk=risk("daily_loss_limit", "consecutive_losses", state="reducing",
                                        daily_pnl=-1_200_000_000)),
             Snapshot(T0 + 4, risk=None),                                              # read failed: nothing
             Snapshot(T0 + 5, risk=risk("drawdown_halt", "daily_loss_limit", state="halted")),
             Snapshot(T0 + 6, risk=risk("killed", "drawdown_halt", "daily_loss_limit", state="halted"))]
    state, out = run(snaps)
    assert out[0] == [] and out[2] == [] and out[4] == []
    [streak] = out[1]
    assert streak.kind is AlertKind.BREAKER_TRIP and not streak.urgent
    assert dict(streak.fields) == {"state": "reducing", "reason": "consecutive_losses"}
    [loss] = out[3]
    assert loss.kind is AlertKind.LOSS_LIMIT and loss.urgent
    # limit = 10% of the day's 10 SOL start equity; the loss is the day's realised P&L
    assert dict(loss.fields) == {"day": "2025-03-14", "loss": "-1.2000 SOL", "limit": "1.0000 SOL"}
    assert [(a.kind, a.urgent, dict(a.fields)["breaker"]) for a in out[5] + out[6]] == [
        (AlertKind.HALTED, True, "drawdown_halt"), (AlertKind.HALTED, True, "killed")]
    assert state.breakers == {"killed", "drawdown_halt", "daily_loss_limit"}


def test_a_breaker_that_clears_and_trips_again_alerts_again():
    _, out = run([Snapshot(T0, risk=risk("paused", state="reducing")), Snapshot(T0 + 1, risk=risk()),
                  Snapshot(T0 + 2, risk=risk("paused", state="reducing"))])
    assert [len(a) for a in out] == [1, 0, 1]


def test_disconnection_alerts_once_after_the_threshold_and_rearms_on_reconnect():
    down = {"connected": False, "ws_urls": ["wss://rpc.example.com/ws?api-key=SECRET123"]}
    up = {"connected": True, "ws_urls": ["wss://rpc.example.com/ws"]}
    snaps = [Snapshot(T0, ingest=down), Snapshot(T0 + 29, ingest=down), Snapshot(T0 + 30, ingest=down),
             Snapshot(T0 + 31, ingest=down), Snapshot(T0 + 40, ingest=None), Snapshot(T0 + 50, ingest=up),
             Snapshot(T0 + 60, ingest=down), Snapshot(T0 + 90, ingest=down)]
    _, out = run(snaps)
    assert [len(a) for a in out] == [0, 0, 1, 0, 0, 0, 0, 1]
    alert = out[2][0]
    assert alert.kind is AlertKind.DISCONNECTED and alert.urgent
    assert dict(alert.fields)["endpoint"] == "rpc.example.com"          # host only: never the key in the query
    assert "SECRET123" not in repr(alert)
    assert dict(alert.fields)["detail"] == "no WebSocket connection for 30 s"


def test_daily_summary_at_the_utc_day_change_for_the_day_that_ended():
    midnight = calendar.timegm((2025, 3, 15, 0, 0, 0))
    state, [first] = run([Snapshot(midnight - 1)])
    assert first == [] and state.day == "2025-03-14"
    assert summary_due(state, midnight - 0.5) is None
    assert summary_due(state, midnight) == "2025-03-14"
    # The stats could not be read: no summary yet, and it stays due.
    state2, none = feed(state, Snapshot(midnight), POLICY)
    assert none == [] and summary_due(state2, midnight + 1) == "2025-03-14"
    stats = summary_stats({"day": "2025-03-14", "trades": 7, "wins": 4, "losses": 3,
                           "realized_lamports": 150_000_000}, risk())
    state3, [summary] = feed(state2, Snapshot(midnight + 1, summary=stats), POLICY)
    assert summary.kind is AlertKind.DAILY_SUMMARY and summary.title == "Daily summary 2025-03-14"
    fields = dict(summary.fields)
    assert fields["trades"] == "7" and fields["wins"] == "4" and fields["realized"] == "0.1500 SOL"
    assert fields["open_positions"] == "2" and fields["equity"] == "9.5000 SOL"
    assert state3.day == "2025-03-15" and summary_due(state3, midnight + 2) is None


def test_first_poll_has_no_summary_and_days_are_utc():
    assert summary_due(FeedState(), T0) is None
    assert utc_day(calendar.timegm((2025, 12, 31, 23, 59, 59))) == "2025-12-31"
