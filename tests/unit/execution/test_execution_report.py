"""The Executor's typed answer and the dict its callers read across Ray (the keys they read before it was typed)."""
from pipelines.execution_report import Booked, ExecStatus, ExecutionReport
from pipelines.live_guard import LiveOptIn, make_opt_in, opt_in_problem


def test_a_filled_report_crosses_as_the_dict_the_callers_read():
    r = ExecutionReport(ExecStatus.FILLED, "o1", signature="sig", tokens=500, lamports=1_000, slot=7,
                        booked=Booked.from_dict({"opened": True, "closed": False, "duplicate": False, "tokens": 500,
                                                 "pnl_lamports": 0}))
    assert r.as_dict() == {"status": "filled", "order_id": "o1", "signature": "sig", "tokens": 500,
                           "lamports": 1_000, "slot": 7, "opened": True, "closed": False, "duplicate": False,
                           "pnl_lamports": 0}
    assert ExecutionReport(ExecStatus.REFUSED, reason="shutting_down").as_dict() == {
        "status": "refused", "reason": "shutting_down"}
    assert ExecutionReport(ExecStatus.UNRESOLVED, "o2", "confirm_timeout", "s").as_dict() == {
        "status": "unresolved", "order_id": "o2", "reason": "confirm_timeout", "signature": "s"}


def test_the_live_opt_in_proof_needs_all_three_and_names_the_wallet():
    assert make_opt_in("paper", True, "W") == "mode is 'paper', not live"
    assert "--confirm-live" in make_opt_in("live", False, "W")
    assert make_opt_in("live", True, "") == "live mode needs a wallet"
    proof = make_opt_in("live", True, "W")
    assert proof == LiveOptIn("live", "W", True) and opt_in_problem(proof, "W") is None
    assert "another wallet" in opt_in_problem(proof, "X")
    assert "not started with the live opt-ins" in opt_in_problem(None, "W")
    assert "not started with the live opt-ins" in opt_in_problem({"mode": "live", "wallet": "W"}, "W")
