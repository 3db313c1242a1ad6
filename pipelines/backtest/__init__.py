"""Backtesting on the live code path: replayed market state, the same pipeline stages, reports, sweeps.

    engine.py   BacktestEngine (one process, no actors, simulated clock; stage order in its docstring)
    stages.py   the actor method bodies it shares with the live system
    market.py   ReplayMarket + ChainFees: curve / pool state and fee rates rebuilt from the events
    latency.py  detection and send-to-land delays in slots (fills.LatencyModel), the slot clock
    report.py   metrics, fingerprint, trades table, equity plot
    sweep.py    parameter grids and ranking
"""
