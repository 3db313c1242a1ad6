"""Risk and decision-queue latency: `python benchmarks/risk.py` prints one JSON object.

approve_reserve_us_*: one RiskBook.approve_and_reserve that passes every check and reserves (the longest
path), on a book holding 5 open positions and 3 live reservations; the reservation is released again
(untimed) so the state stays the same. queue_ops_per_s: pushes plus handed-out entries per second through
DecisionQueue with 10 execution slots. evaluate_exit_us_p50: one exit evaluation of an open position.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.config import ExitConfig, OrchestratorConfig, RiskConfig, ScoringConfig  # noqa: E402
from pipelines.decision_queue import DecisionQueue  # noqa: E402
from pipelines.exits import ExitFlags, evaluate_exit  # noqa: E402
from pipelines.messages import Fill, Opportunity, Position, Side  # noqa: E402
from pipelines.risk import RiskBook  # noqa: E402
from pipelines.strategy_weights import StrategyWeights  # noqa: E402

SOL = 1_000_000_000
T0 = 1_750_000_000.0


def _opp(i: int, now: float, lamports: int = SOL // 4) -> Opportunity:
    return Opportunity(id=f"opp-{i}", mint=f"mint-{i}", strategy="momentum", score=0.5,
                       expected_profit=(i % 97) / 97, risk=(i % 13) / 13, capital_lamports=lamports,
                       created_at=now, expires_at=now + 30)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench_approve(n: int) -> tuple[float, float]:
    book = RiskBook(RiskConfig(), T0)
    for i in range(5):
        d = book.approve_and_reserve(_opp(-1 - i, T0), T0)
        book.on_fill(d.reservation.id, Fill(f"f{i}", d.reservation.mint, Side.BUY, SOL // 4, 1000, 0, 1.0, 1, T0))
    for i in range(3):
        book.approve_and_reserve(_opp(-10 - i, T0), T0)
    opps = [_opp(i, T0 + i * 1e-4) for i in range(n)]
    times = []
    clock = time.perf_counter_ns
    for i, o in enumerate(opps):
        now = T0 + i * 1e-4
        t = clock()
        d = book.approve_and_reserve(o, now)
        times.append((clock() - t) / 1000)
        assert d.approved, d.reason
        book.release(d.reservation.id)
    return _pct(times, 0.50), _pct(times, 0.99)


def bench_queue(n: int) -> float:
    scoring = ScoringConfig()
    q = DecisionQueue(OrchestratorConfig(), scoring, StrategyWeights(scoring, T0))
    q.set_available_capital(10 * SOL)
    opps = [_opp(i, T0) for i in range(n)]
    ops = 0
    t = time.perf_counter()
    for start in range(0, n, 50):                 # a burst of 50 scored opportunities per loop tick
        for o in opps[start:start + 50]:
            q.push_opportunity(o, T0)
            ops += 1
        for a in q.pop_ready(T0, 0):
            q.finish(a.mint)
            ops += 1
    while len(q):
        for a in q.pop_ready(T0, 0):
            q.finish(a.mint)
            ops += 1
    return ops / (time.perf_counter() - t)


def bench_exit(n: int) -> float:
    cfg = ExitConfig()
    pos = Position("mint", T0, 1000, 1000, 1000, 1.0, peak_price=1.3, last_price=1.2)
    flags = ExitFlags(sell_fee_bps=125)
    times = []
    clock = time.perf_counter_ns
    for i in range(n):
        t = clock()
        evaluate_exit(pos, 1.1 + (i % 50) / 1000, T0 + 10, cfg, flags)
        times.append((clock() - t) / 1000)
    return _pct(times, 0.50)


def main() -> None:
    bench_approve(2_000)                           # warm up
    p50, p99 = bench_approve(50_000)
    metrics = {
        "approve_reserve_us_p50": round(p50, 2),
        "approve_reserve_us_p99": round(p99, 2),
        "queue_ops_per_s": round(bench_queue(200_000)),
        "evaluate_exit_us_p50": round(bench_exit(20_000), 2),
    }
    print(json.dumps({"name": "risk", "metrics": metrics}))


if __name__ == "__main__":
    main()
