"""simnet's live memecoin market: a seeded, deterministic population of agents calibrated to real pump.fun data,
trading real signed transactions on simnet's bank (see docs/simnet_market.md)."""
from __future__ import annotations

__all__ = ["Market", "GroundTruth"]


def __getattr__(name: str):
    # lazy, so `python -m simnet.market.calibration` does not import the driver first
    if name == "Market":
        from .driver import Market
        return Market
    if name == "GroundTruth":
        from .truth import GroundTruth
        return GroundTruth
    raise AttributeError(name)
