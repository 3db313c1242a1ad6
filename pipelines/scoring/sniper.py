"""The sniper strategy: buy a launch in the first slots, before any trade history exists.

This is the detect-to-send path, so only instant checks run (no account reads, no history):
  not_a_launchpad         the launch did not come from a trusted launchpad curve (AnalysisConfig.trusted_launchpads)
  not_sol_quoted          the curve is quoted in another mint (we spend SOL)
  unknown_token_program   the mint is owned by neither SPL Token nor Token-2022
  mayhem_mode             pump.fun "mayhem mode" coins run under different curve rules: not sniped
  creator_blacklisted     the creator is on the blacklist
  bad_metadata:<what>     hostile name/symbol/uri (metadata.py)
  + the mint-account reasons (authorities, risky Token-2022 extensions) when a mint read is at hand.
A pump.fun create revokes the mint authority and sets no freeze authority by construction, so a launch from a
trusted launchpad passes without a read; a read, when given, always wins.

The Opportunity carries the configured prior (ScoringConfig.sniper_score / sniper_expected_profit, risk
1 - sniper_score) and a short life (sniper_ttl_s): a launch is only a launch for a few slots.

Age: the window is measured from the launch's OWN slot, not from when it reached us. A launch learned late (the
backfill of a gap after a reconnect or a restart) is `stale` when the chain's current slot (the host's best
knowledge: `chain_slot`, see `current_slot`) is more than ScoringConfig.sniper_max_age_slots past it, and is
not sniped: its curve has long moved on.
"""
from __future__ import annotations

import math

from pipelines.analysis.metadata import check_metadata
from pipelines.analysis.safety import SafetyRules, mint_flags, mint_reasons
from pipelines.chain.events import Launch
from pipelines.chain.programs import TOKEN, TOKEN_2022, WSOL_MINT
from pipelines.config import AnalysisConfig, ScoringConfig
from pipelines.messages import Opportunity, SafetyVerdict, stable_id

STRATEGY = "sniper"
MAX_SLOT = 1 << 62     # a slot at or above this is garbage, never the chain's
MAX_SLOT_JUMP = 1_000_000    # ~4.6 days of slots: a known slot never jumps further (a hostile value would stop
                             # every snipe)


def next_slot(known: int, slot) -> int:
    """`known` moved on to `slot` when that is a sane slot past it (not absurdly far: MAX_SLOT_JUMP)."""
    if type(slot) is not int or not known < slot < MAX_SLOT or (known > 0 and slot - known > MAX_SLOT_JUMP):
        return known
    return slot


class Sniper:
    def __init__(self, scoring: ScoringConfig | None = None, analysis: AnalysisConfig | None = None,
                 extra_blacklist=()) -> None:
        self.scoring = scoring or ScoringConfig()
        analysis = analysis or AnalysisConfig()
        self.rules = SafetyRules.from_config(analysis, extra_blacklist)
        self.trusted = frozenset(analysis.trusted_launchpads)

    def check(self, launch: Launch, mint_info=None) -> SafetyVerdict:
        reasons: list[str] = []
        trusted = launch.venue in self.trusted
        if not trusted:
            reasons.append("not_a_launchpad")
        if launch.quote_mint not in ("", WSOL_MINT):
            reasons.append("not_sol_quoted")
        if launch.token_program not in ("", TOKEN, TOKEN_2022):
            reasons.append("unknown_token_program")
        if launch.is_mayhem_mode:
            reasons.append("mayhem_mode")
        if mint_info is not None:
            reasons.extend(r for r in mint_reasons(mint_flags(mint_info), self.rules) if r not in reasons)
        if launch.creator in self.rules.creator_blacklist:
            reasons.append("creator_blacklisted")
        reasons.extend(check_metadata(launch.name, launch.symbol, launch.uri).problems)
        return SafetyVerdict(not reasons, tuple(reasons))

    def stale(self, launch: Launch, chain_slot: int) -> bool:
        """Whether the launch is older than the sniper's window at `chain_slot` (0: not known, nothing is stale).
        A launch without a usable slot cannot be aged: stale once the chain slot is known."""
        if chain_slot <= 0:
            return False
        slot = launch.slot
        if type(slot) is not int or not 0 < slot < MAX_SLOT:
            return True
        return chain_slot - slot > self.scoring.sniper_max_age_slots

    def on_launch(self, launch: Launch, now: float, capital_lamports: int, mint_info=None,
                  chain_slot: int = 0) -> Opportunity | None:
        """The launch's opportunity, or None (unsafe, stale at `chain_slot`, no capital)."""
        if capital_lamports <= 0 or not math.isfinite(now) or not isinstance(launch, Launch):
            return None
        if self.stale(launch, chain_slot):
            return None
        if not self.check(launch, mint_info).safe:
            return None
        s = self.scoring
        v_sol, v_tok = launch.virtual_sol_reserves, launch.virtual_token_reserves
        return Opportunity(
            id=stable_id(launch.mint, STRATEGY, launch.slot), mint=launch.mint, strategy=STRATEGY,
            score=s.sniper_score, expected_profit=s.sniper_expected_profit, risk=1.0 - s.sniper_score,
            capital_lamports=int(capital_lamports), created_at=now, expires_at=now + s.sniper_ttl_s,
            venue=launch.venue, price=v_sol / v_tok if v_sol > 0 and v_tok > 0 else 0.0, reason="sniper:launch",
        )


def current_slot(known: int, launches) -> int:
    """The chain's current slot as a host knows it: the highest of `known` (e.g. a recent getSlot) and the slots of
    the launches at hand (hostile slots ignored). A backfill batch thus ages its older launches against its newest
    even before any getSlot has answered."""
    best = known if type(known) is int and known > 0 else 0
    for launch in launches:
        best = next_slot(best, getattr(launch, "slot", 0))
    return best


def snipe(launch: Launch, now: float, capital_lamports: int, scoring: ScoringConfig | None = None,
          analysis: AnalysisConfig | None = None, mint_info=None) -> Opportunity | None:
    """One-shot form of Sniper(...).on_launch (build a Sniper once per actor for the hot path)."""
    return Sniper(scoring, analysis).on_launch(launch, now, capital_lamports, mint_info)
