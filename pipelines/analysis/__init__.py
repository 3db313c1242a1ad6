"""Token analysis: per-mint state from chain events and account reads, safety verdicts, shard routing.

Pure code hosted by the AnalyzerShard actors and reused unchanged by the backtester: callers pass `now`.
"""
from .metadata import MetadataCheck, check_metadata, display
from .routing import event_mint, partition, shard_for
from .safety import SafetyRules, assess, mint_flags
from .shard import ShardCore
from .layout import AnalysisParams
from .token_state import TokenState

__all__ = [
    "AnalysisParams", "MetadataCheck", "SafetyRules", "ShardCore", "TokenState", "assess", "check_metadata",
    "display", "event_mint", "mint_flags", "partition", "shard_for",
]
