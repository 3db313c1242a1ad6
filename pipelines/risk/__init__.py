"""The risk supervisor's rules: entry limits, capital reservations and circuit breakers (pure, clock-free)."""
from pipelines.risk import reasons
from pipelines.risk.book import RiskBook
from pipelines.risk.breakers import Breakers
from pipelines.risk.reservations import ReservationTable

__all__ = ["Breakers", "ReservationTable", "RiskBook", "reasons"]
