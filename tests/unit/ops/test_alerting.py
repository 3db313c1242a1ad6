import json

from solders.keypair import Keypair

from pipelines.alerting import (TELEGRAM_MAX_CHARS, AlertGate, AlertKind, GatePolicy, Verdict, breaker_alert,
                                daily_summary_alert, disconnected_alert, error_alert, exception_alert,
                                format_digest, format_text, loss_limit_alert, low_balance_alert,
                                position_closed_alert, retry_delay, trade_alert, webhook_payload)
from pipelines.messages import Fill, Position, RiskState, Side
from pipelines.redaction import Redactor

MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr"


def fill(order_id="o1", ts=100.0, side=Side.BUY):
    return Fill(order_id=order_id, mint=MINT, side=side, lamports=250_000_000, tokens=8_123_456_000_000,
                fee_lamports=2_500_000, price=3.0775e-05, slot=1234, ts=ts, signature="5sig")


def test_urgent_kinds_are_exactly_the_ones_the_operator_must_see():
    urgent = {k for k in AlertKind if k.urgent}
    assert urgent == {AlertKind.LOSS_LIMIT, AlertKind.LOW_BALANCE, AlertKind.DISCONNECTED,
                      AlertKind.UNHANDLED_EXCEPTION, AlertKind.HALTED, AlertKind.CRITICAL}
    assert not trade_alert(fill(), "paper").urgent
    assert loss_limit_alert("2025-01-01", 1_000_000_000, 1_000_000_000, 0).urgent
    assert exception_alert("executor", RuntimeError("boom"), 0).title == "Unhandled RuntimeError in executor"


def test_trade_text_carries_side_mint_amounts_and_is_html_safe():
    a = trade_alert(fill(), "paper", reason="momentum <fast>")
    text = format_text(a)
    assert text.splitlines()[0] == "<b>BUY 7GCi…W2hr</b>"
    assert f"mint: <code>{MINT}</code>" in text
    assert "sol: <code>0.2500 SOL</code>" in text          # 250_000_000 lamports
    assert "tokens: <code>8,123,456,000,000</code>" in text
    assert "fees: <code>0.0025 SOL</code>" in text
    assert "reason: <code>momentum &lt;fast&gt;</code>" in text   # escaped for parse_mode=HTML


def test_position_closed_reports_pnl_from_cost_and_proceeds():
    pos = Position(mint=MINT, opened_at=1000.0, tokens=0, initial_tokens=10, cost_lamports=1_000_000_000,
                   entry_price=1e8, realized_lamports=1_250_000_000, closed_at=1600.0, exit_reason="take_profit_1",
                   strategy="momentum")
    a = position_closed_alert(pos, now=1601.0)
    fields = dict(a.fields)
    assert fields["pnl"] == "+0.2500 SOL (+25.0%)"
    assert fields["held"] == "600 s"
    assert a.title == "Closed 7GCi…W2hr +25.0%"


def test_every_dynamic_part_is_redacted():
    kp = Keypair()
    a = error_alert("executor", f"failed with key {kp} and Bearer abcdefghijklmnop", 5.0)
    text = format_text(a)
    assert str(kp) not in text and "abcdefghijklmnop" not in text
    assert "[REDACTED]" in text
    payload = json.dumps(webhook_payload([a]))
    assert str(kp) not in payload
    # a known secret registered with the redactor (the bot token) is removed too
    r = Redactor(["123456:ABCDEFsecret"])
    assert "ABCDEFsecret" not in format_text(error_alert("alerts", "url /bot123456:ABCDEFsecret/x", 0), r)


def test_normal_alerts_are_rate_limited_and_coalesced_into_one_digest():
    gate = AlertGate(GatePolicy(min_interval_s=10, dedup_window_s=60, max_queue=100))
    verdicts = [gate.offer(trade_alert(fill(f"o{i}", ts=0), "paper"), now=0.0 + i * 0.1) for i in range(5)]
    assert verdicts == [Verdict.SEND] + [Verdict.QUEUED] * 4
    assert gate.next_due() == 10.0
    assert gate.take_due(9.9) == ([], 0)                   # not yet
    batch, dropped = gate.take_due(10.0)
    assert [a.key for a in batch] == [f"trade:o{i}:5sig" for i in range(1, 5)] and dropped == 0
    assert gate.next_due() is None
    # the digest just sent counts as the last send: the next alert waits for the next interval
    assert gate.offer(trade_alert(fill("o9"), "paper"), now=15.0) is Verdict.QUEUED
    assert gate.offer(trade_alert(fill("o10"), "paper"), now=20.0) is Verdict.QUEUED
    assert [a.key for a in gate.take_due(20.0)[0]] == ["trade:o9:5sig", "trade:o10:5sig"]


def test_urgent_alerts_bypass_the_rate_limit_but_are_deduplicated():
    gate = AlertGate(GatePolicy(min_interval_s=60, dedup_window_s=300, max_queue=10))
    assert gate.offer(trade_alert(fill(), "paper"), 0.0) is Verdict.SEND
    d = disconnected_alert("rpc.example", "ws closed", 1.0)
    assert gate.offer(d, 1.0) is Verdict.SEND                      # inside the 60 s interval: still sent
    assert gate.offer(disconnected_alert("rpc.example", "again", 2.0), 2.0) is Verdict.DUPLICATE
    assert gate.offer(disconnected_alert("other.example", "x", 2.0), 2.0) is Verdict.SEND
    assert gate.offer(low_balance_alert(1, 2, 3.0), 3.0) is Verdict.SEND
    assert gate.offer(disconnected_alert("rpc.example", "later", 302.0), 302.0) is Verdict.SEND  # window over


def test_queue_is_bounded_and_the_digest_says_how_many_were_dropped():
    gate = AlertGate(GatePolicy(min_interval_s=5, dedup_window_s=0, max_queue=3))
    gate.offer(error_alert("a", "first", 0), 0.0)
    verdicts = [gate.offer(error_alert("a", f"e{i}", 0), 0.1) for i in range(5)]
    assert verdicts == [Verdict.QUEUED] * 3 + [Verdict.DROPPED] * 2
    batch, dropped = gate.take_due(5.0)
    assert len(batch) == 3 and dropped == 2
    text = format_digest(batch, dropped)
    assert text.splitlines()[0] == "<b>5 alerts</b>" and text.endswith("… and 2 more")


def test_digest_stays_under_the_telegram_limit():
    alerts = [error_alert("c", "x" * 200 + str(i), 0) for i in range(100)]
    text = format_digest(alerts)
    assert len(text) <= TELEGRAM_MAX_CHARS
    shown = text.count("• ")
    assert 0 < shown < 100 and text.endswith(f"… and {100 - shown} more")
    assert len(format_text(error_alert("c", "y" * 10_000, 0))) <= TELEGRAM_MAX_CHARS


def test_muted_kinds_are_not_sent_but_urgent_ones_cannot_be_muted():
    gate = AlertGate(GatePolicy(min_interval_s=0, muted=frozenset({"trade", "low_balance"})))
    assert gate.offer(trade_alert(fill(), "paper"), 0) is Verdict.MUTED
    assert gate.offer(low_balance_alert(1, 2, 0), 0) is Verdict.SEND


def test_other_builders_and_webhook_digest_shape():
    s = daily_summary_alert("2025-01-02", {"trades": 12, "wins": 7, "realized_lamports": -150_000_000}, 0)
    assert dict(s.fields) == {"trades": "12", "wins": "7", "realized": "-0.1500 SOL"}
    b = breaker_alert(RiskState.HALTED, "drawdown 15%", 0)
    assert b.kind is AlertKind.BREAKER_TRIP and not b.urgent
    payload = webhook_payload([s, b], dropped=1)
    assert payload["kind"] == "digest" and payload["dropped"] == 1 and len(payload["alerts"]) == 2
    assert webhook_payload([b])["fields"] == {"state": "halted", "reason": "drawdown 15%"}


def test_retry_delay_honours_retry_after_and_backs_off_on_5xx():
    assert retry_delay(429, 0, retry_after=7) == 7
    assert retry_delay(429, 0, retry_after=600, cap_s=30) is None      # not worth holding an alert for
    assert retry_delay(429, 2, base_s=0.5) == 2.0                       # no hint: exponential
    assert [retry_delay(503, n, base_s=0.5, cap_s=3) for n in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert retry_delay(None, 1, base_s=1) == 2                          # no answer at all
    assert retry_delay(400, 0) is None and retry_delay(401, 0) is None and retry_delay(404, 0) is None
