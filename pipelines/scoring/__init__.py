"""Scoring: normalized features, Kalman price filter, naive-Bayes rug model, momentum score, opportunities,
and the sniper strategy. Pure code hosted by the MomentumEngine actor and reused by the backtester."""
from .features import FEATURE_NAMES, feature_vector
from .filters import KalmanParams, LevelVelocityFilter
from .momentum import MomentumModel, ScoreBreakdown
from .opportunities import opportunity_from
from .rug_model import RugSignals, rug_probability, signals_from_features
from .sniper import Sniper, snipe

__all__ = [
    "FEATURE_NAMES", "KalmanParams", "LevelVelocityFilter", "MomentumModel", "RugSignals", "ScoreBreakdown",
    "Sniper", "feature_vector", "opportunity_from", "rug_probability", "signals_from_features", "snipe",
]
