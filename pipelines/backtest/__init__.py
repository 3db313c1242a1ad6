"""Backtesting on the live code path: replayed market state, the same pipeline stages, reports, sweeps.

    engine.py   BacktestEngine (one process, no actors, simulated clock; stage order in its docstring), driving
                pipelines/stages.py: the actor method bodies, the one copy the actor system runs too
    market.py   ReplayMarket + ChainFees: curve / pool state and fee rates rebuilt from the events
    latency.py  detection and send-to-land delays in slots (fills.LatencyModel), the slot clock
    report.py   metrics, fingerprint, trades table, equity plot
    sweep.py    parameter grids and ranking
"""
