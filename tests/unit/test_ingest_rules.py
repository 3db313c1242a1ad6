from pipelines.ingest import BackfillPlan, GapTracker, SignatureDedupe, backfill_order


def test_dedupe_reports_each_signature_once_and_stays_bounded():
    d = SignatureDedupe(capacity=3)
    assert [d.first_time(s) for s in ("a", "b", "a", "c", "d")] == [True, True, False, True, True]
    assert len(d) == 3 and "a" not in d      # oldest evicted at capacity
    assert d.first_time("a")                 # forgotten signatures count as new


def test_gap_tracker_plans_backfill_from_last_seen():
    g = GapTracker()
    assert g.reconnected("P") is None        # first connect: nothing to backfill
    g.seen("P", "s1", 10)
    g.seen("P", "s0", 9)                     # an older, late notification does not move the cursor back
    g.disconnected("P")
    plan = g.reconnected("P")
    assert plan == BackfillPlan(program="P", until="s1", min_slot=10)
    assert g.cursor("P").disconnects == 1


def test_backfill_order_is_oldest_first_stops_at_cursor_and_skips_failed():
    plan = BackfillPlan("P", until="s1", min_slot=10)
    pages = [[{"signature": "s5", "err": None}, {"signature": "s4", "err": {"x": 1}}],
             [{"signature": "s3", "err": None}, {"signature": "s1", "err": None}, {"signature": "s0", "err": None}]]
    assert [e["signature"] for e in backfill_order(pages, plan)] == ["s3", "s5"]
