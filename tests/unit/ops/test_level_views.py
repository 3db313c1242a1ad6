"""Where the error level shows: the progress line `launchray run` prints every 5 s, the run summary, /health and
/api/v1/status (pipelines/api_models.level_fields), /metrics (control_metrics.derived_samples) and the dashboard
(pipelines/status_view.render). Inputs are Supervisor.status() as it reports them."""
from __future__ import annotations

from actors.control_metrics import derived_samples
from actors.system import build_summary, progress_line
from pipelines.api_models import health_status, level_fields
from pipelines.status_view import Frame, render

DEGRADED = {"level": "degraded", "code": 1, "summary": "degraded: stream stale, 180 slots behind",
            "reasons": [{"cause": "stream_stale", "level": "degraded", "detail": "stream stale, 180 slots behind",
                         "since": 100.0}]}
CRITICAL = {"level": "critical", "code": 2, "summary": "critical: ledger write failed: OperationalError",
            "reasons": [{"cause": "ledger_unwritable", "level": "critical",
                         "detail": "ledger write failed: OperationalError", "since": 5.0}]}
STALE = {"connected": True, "launches_seen": 3,
         "stream": {"state": "stale", "slots_behind": 180, "last_notification_slot": 20, "chain_slot": 200}}


def test_the_progress_line_shows_the_level_and_a_stale_stream():
    line = progress_line({"uptime_s": 42, "ingest": STALE, "health": DEGRADED})
    assert line.startswith("[    42s] health degraded: stream stale, 180 slots behind | stream stale "
                           "(180 slots behind) | launches 3 |")
    ok = progress_line({"uptime_s": 1, "ingest": {"connected": True, "stream": {"state": "live", "slots_behind": 0}},
                        "health": {"level": "ok", "summary": "ok", "reasons": []}})
    assert "health ok | stream live | launches 0" in ok
    # an Ingest without the stream section (older status): its connection says it
    assert "| stream disconnected |" in progress_line({"ingest": {"connected": False}})


def test_the_summary_carries_the_level_and_its_reasons():
    summary = build_summary({"health": {**CRITICAL, "problems": {}, "wallet": {}}}, None)
    assert summary["health"] == {"level": "critical", "summary": CRITICAL["summary"],
                                 "reasons": CRITICAL["reasons"]}


def test_health_and_status_fields():
    fields = level_fields({"health": DEGRADED})
    assert fields["level"] == "degraded"
    assert [(r.cause, r.level, r.detail, r.since) for r in fields["level_reasons"]] == [
        ("stream_stale", "degraded", "stream stale, 180 slots behind", 100.0)]
    assert level_fields({}) == {} and level_fields({"health": {"level": "bogus"}}) == {}
    # /health's status is the worse of its own view and the level (critical answers 503 "down")
    assert health_status("ok", "degraded") == "degraded"
    assert health_status("ok", "critical") == "down"
    assert health_status("down", "degraded") == "down"
    assert health_status("degraded", "ok") == "degraded"


def test_metrics_gauge_the_level_and_each_cause():
    samples = {(s.name, s.labels): s.value for s in derived_samples({"health": CRITICAL}, None, "paper")}
    assert samples[("launchray_health_level", ())] == 2
    assert samples[("launchray_health_reason", (("cause", "ledger_unwritable"),))] == 1
    assert samples[("launchray_health_reason", (("cause", "stream_stale"),))] == 0
    assert len([k for k in samples if k[0] == "launchray_health_reason"]) == 9      # every cause, alertable


def test_the_dashboard_shows_a_level_that_is_not_ok():
    status = {"status": "reducing", "level": "degraded", "level_reasons": DEGRADED["reasons"],
              "win_rate_today": None}
    text = render(Frame(status=status, health={}, positions=[], top=[]), now=0.0)
    assert "level     DEGRADED  stream stale, 180 slots behind" in text
    text = render(Frame(status={"status": "running", "level": "ok", "win_rate_today": None}, health={},
                        positions=[], top=[]), now=0.0)
    assert "level " not in text
