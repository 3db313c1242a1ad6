"""One trade through every piece, wired the way the actors host them (queue -> risk -> fills -> exits)."""
from __future__ import annotations

from pipelines.config import ExitConfig, OrchestratorConfig, ScoringConfig
from pipelines.decision_queue import ENTRY, EXIT, DecisionQueue
from pipelines.exits import ExitFlags, evaluate_exit, steps_done_after
from pipelines.positions import PositionBook, pnl_lamports
from pipelines.risk import RiskBook
from tests.unit.trading.factories import SOL, T0, buy, opp, risk_cfg, sell


def test_entry_take_profit_then_stop_keeps_risk_and_positions_in_agreement():
    risk, book = RiskBook(risk_cfg(), T0), PositionBook()
    q = DecisionQueue(OrchestratorConfig(), ScoringConfig())
    q.set_available_capital(risk.available)
    q.push_opportunity(opp("M", SOL, T0), T0)

    [entry] = q.pop_ready(T0, in_flight=0)
    assert entry.kind == ENTRY
    d = risk.approve_and_reserve(entry.opportunity, T0)
    assert d.approved
    f = buy("M", SOL, 1_000_000, fee=12_000_000, order="b", ts=T0 + 1)   # entry price 1000 lamports/token
    book.settle(f, T0 + 1, strategy="momentum")
    risk.on_fill(d.reservation.id, f)
    q.finish("M")

    # +100%: the first ladder step sells 25% of the original position
    pos = book.mark("M", 2_000.0, T0 + 2)
    sig = evaluate_exit(pos, 2_000.0, T0 + 2, ExitConfig(), ExitFlags())
    assert (sig.reason, sig.tokens) == ("take_profit_1", 250_000)
    book.begin_exit(sig, steps_done_after(sig))
    q.push_exit(sig)
    [act] = q.pop_ready(T0 + 2, in_flight=0)
    assert act.kind == EXIT
    ch = book.settle(sell("M", 490_000_000, 250_000, order="s1"), T0 + 3)
    assert (ch.basis_released, ch.pnl_lamports) == (250_000_000, 240_000_000)
    risk.on_partial_exit(sell("M", 490_000_000, 250_000, order="s1"), ch.basis_released, T0 + 3)
    risk.mark_to_market(book.unrealized_all(), T0 + 3)
    assert evaluate_exit(book.get("M"), 2_000.0, T0 + 3, ExitConfig()) is None   # the step fired once

    # the price collapses to 800: the stop-loss sells the rest
    pos = book.mark("M", 800.0, T0 + 4)
    sig = evaluate_exit(pos, 800.0, T0 + 4, ExitConfig())
    assert (sig.reason, sig.tokens) == ("stop_loss", 750_000)
    ch = book.settle(sell("M", 600_000_000, 750_000, order="s2"), T0 + 5, reason=sig.reason)
    assert ch.closed and (ch.basis_released, ch.pnl_lamports) == (750_000_000, -150_000_000)
    total = pnl_lamports(ch.position)                                   # 1_090_000_000 - 1_000_000_000
    assert total == 90_000_000 == 240_000_000 - 150_000_000
    risk.on_position_closed("M", total, T0 + 5)

    s = risk.status()
    assert (s["deployed"], s["cash"], s["realized_pnl"], s["wins"]) == (0, 10 * SOL + total, total, 1)
    assert s["unrealized_pnl"] == 0
