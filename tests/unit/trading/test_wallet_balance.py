"""The wallet's balance against the books (pipelines/risk/wallet_balance.py) and the risk book's error-level
switches and balance cap (RiskBook.set_health / apply_balance)."""
from __future__ import annotations

import json

from pipelines.config import RiskConfig
from pipelines.messages import Fill, Opportunity, Side
from pipelines.risk import RiskBook
from pipelines.risk import reasons as R
from pipelines.risk.wallet_balance import OutflowWatch, capital_cap, check_outflow, fill_flow

SOL = 1_000_000_000
T0 = 1_700_000_000.0
TOL = 10_000_000          # 0.01 SOL


def opp(mint: str, sol: float = 0.5, t: float = T0) -> Opportunity:
    return Opportunity(id=f"o-{mint}", mint=mint, strategy="momentum", score=0.9, expected_profit=0.1, risk=0.1,
                       capital_lamports=int(sol * SOL), created_at=t, expires_at=t + 60)


def fill(side: Side, lamports: int, order: str = "x", mint: str = "M1") -> Fill:
    return Fill(order_id=order, mint=mint, side=side, lamports=lamports, tokens=1000, fee_lamports=0, price=1.0,
                slot=1, ts=T0)


def test_capital_is_the_smaller_of_the_configured_capital_and_what_the_wallet_backs():
    assert capital_cap(10 * SOL, 3 * SOL, SOL // 20, 0, 0) == 3 * SOL - SOL // 20
    assert capital_cap(2 * SOL, 3 * SOL, SOL // 20, 0, 0) == 2 * SOL
    # 1 SOL spent on a position (deployed) is no longer in the wallet but still backed by it
    assert capital_cap(10 * SOL, 2 * SOL, 0, 0, 1 * SOL) == 3 * SOL
    # 0.5 SOL of realised profit is in the wallet but already counted by the book
    assert capital_cap(10 * SOL, 3_500_000_000, 0, SOL // 2, 0) == 3 * SOL
    assert capital_cap(10 * SOL, SOL // 100, SOL // 20, 0, 0) == 0


def test_fill_flows():
    assert fill_flow(fill(Side.BUY, 1_000_000)) == -1_000_000
    assert fill_flow(fill(Side.SELL, 1_200_000)) == 1_200_000


def test_a_booked_trade_explains_the_balance_change():
    w, missing = check_outflow(OutflowWatch(), 5 * SOL, 0, 0, T0, TOL, 5.0)
    assert (w.base_balance, w.base_flows, missing) == (5 * SOL, 0, 0)
    # a buy of 1 SOL booked by the ledger, the wallet 1 SOL lighter: explained
    w, missing = check_outflow(w, 4 * SOL, -SOL, 0, T0 + 1, TOL, 5.0)
    assert missing == 0 and w.suspect_since is None


def test_an_unbooked_outflow_is_confirmed_only_when_it_persists_with_no_order_open():
    w, _ = check_outflow(OutflowWatch(), 5 * SOL, 0, 0, T0, TOL, 5.0)
    # 0.3 SOL gone, one order open: might be a trade not booked yet
    w, missing = check_outflow(w, 4_700_000_000, 0, 1, T0 + 1, TOL, 5.0)
    assert missing == 0 and w.suspect_since is None
    # no order open: suspected now, confirmed 5 s later
    w, missing = check_outflow(w, 4_700_000_000, 0, 0, T0 + 2, TOL, 5.0)
    assert missing == 0 and w.suspect_since == T0 + 2
    w, missing = check_outflow(w, 4_700_000_000, 0, 0, T0 + 6.9, TOL, 5.0)
    assert missing == 0
    w, missing = check_outflow(w, 4_700_000_000, 0, 0, T0 + 7, TOL, 5.0)
    assert missing == 300_000_000


def test_a_suspicion_the_ledger_then_explains_is_dropped():
    w, _ = check_outflow(OutflowWatch(), 5 * SOL, 0, 0, T0, TOL, 5.0)
    w, _ = check_outflow(w, 4 * SOL, 0, 0, T0 + 1, TOL, 5.0)
    assert w.suspect_since == T0 + 1
    w, missing = check_outflow(w, 4 * SOL, -SOL, 0, T0 + 10, TOL, 5.0)   # the buy booked late
    assert missing == 0 and w.suspect_since is None


def test_drift_within_the_tolerance_and_a_deposit_are_not_outflows():
    w, _ = check_outflow(OutflowWatch(), 5 * SOL, 0, 0, T0, TOL, 0.0)
    w, missing = check_outflow(w, 5 * SOL - TOL, 0, 0, T0 + 1, TOL, 0.0)
    assert missing == 0 and w.suspect_since is None
    w, missing = check_outflow(w, 8 * SOL, 0, 0, T0 + 2, TOL, 0.0)       # a deposit: the new baseline
    assert missing == 0 and w.base_balance == 8 * SOL
    w, _ = check_outflow(w, 7 * SOL, 0, 0, T0 + 3, TOL, 0.0)
    w, missing = check_outflow(w, 7 * SOL, 0, 0, T0 + 3, TOL, 0.0)
    assert missing == SOL


def test_degraded_refuses_entries_without_touching_the_operator_pause():
    book = RiskBook(RiskConfig(starting_capital_sol=10.0), T0)
    assert book.set_health(True, False) is True
    assert book.approve_and_reserve(opp("A"), T0).reason == R.DEGRADED
    assert book.status(T0)["state"] == "reducing" and "degraded" in book.status(T0)["breakers"]
    book.pause()
    book.set_health(False, False)                       # the service recovered
    assert book.approve_and_reserve(opp("B"), T0).reason == R.PAUSED   # the operator's pause stays
    book.resume()
    assert book.approve_and_reserve(opp("C"), T0).approved


def test_critical_halts_for_the_run_and_is_not_persisted():
    book = RiskBook(RiskConfig(starting_capital_sol=10.0), T0)
    book.set_health(False, True)
    assert book.approve_and_reserve(opp("A"), T0).reason == R.CRITICAL
    assert book.set_health(False, False) is False       # sticky: nothing lowers it
    book.reset_halt()                                   # nor the operator's halt reset
    assert book.status(T0)["state"] == "halted" and book.status(T0)["breakers"] == ["critical"]
    snap = json.loads(json.dumps(book.snapshot()))
    assert "critical" not in snap["breakers"] and "degraded" not in snap["breakers"]
    assert RiskBook.restore(snap, RiskConfig(starting_capital_sol=10.0), T0).approve_and_reserve(
        opp("B"), T0).approved                          # a new run starts from its own observations


def test_the_balance_caps_capital_without_tripping_a_breaker():
    book = RiskBook(RiskConfig(starting_capital_sol=10.0, drawdown_halt=0.15, max_concentration=1.0,
                               max_position_sol=5.0), T0)
    assert book.apply_balance(2 * SOL, SOL // 20) == 2 * SOL - SOL // 20
    st = book.status(T0)
    assert st["capital"] == st["available"] == st["peak_equity"] == 1_950_000_000
    assert st["breakers"] == [] and st["drawdown"] == 0.0
    # 1.6 SOL: fine against 10 SOL, over the heat limit against 1.95 (0.8 * 1.95 = 1.56)
    assert book.approve_and_reserve(opp("A", 1.6), T0).reason == R.PORTFOLIO_HEAT
    # topped up: back to the configured capital, never above it
    assert book.apply_balance(50 * SOL, SOL // 20) == 10 * SOL


def test_a_sell_that_landed_before_the_ledger_booked_it_is_not_taken_for_a_deposit():
    """The drill's false CRITICAL: a late-landing sell raised the balance while its order was still unsettled; the
    watch rebased on it as a deposit, and when the sell was booked its proceeds read as an outflow."""
    w, _ = check_outflow(OutflowWatch(), 5 * SOL, 0, 0, T0, TOL, 5.0)
    # the sell's 0.7 SOL arrived; the order is unresolved (or confirmed with its fill not readable yet)
    w, missing = check_outflow(w, 5_700_000_000, 0, 1, T0 + 1, TOL, 5.0)
    assert missing == 0 and (w.base_balance, w.base_flows) == (5 * SOL, 0)
    # booked: the ledger's flows now explain the balance, nothing is suspected, however long it stays so
    for t in (T0 + 2, T0 + 60, T0 + 120):
        w, missing = check_outflow(w, 5_700_000_000, 700_000_000, 0, t, TOL, 5.0)
        assert missing == 0 and w.suspect_since is None
    # a real deposit, with nothing unsettled, still becomes the new baseline
    w, missing = check_outflow(w, 6_700_000_000, 700_000_000, 0, T0 + 121, TOL, 5.0)
    assert missing == 0 and (w.base_balance, w.base_flows) == (6_700_000_000, 700_000_000)
