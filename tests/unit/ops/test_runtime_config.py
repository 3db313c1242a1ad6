"""Folding the ledger's recorded config changes over the profile (what a restarted actor starts with)."""
from __future__ import annotations

from solders.keypair import Keypair

from pipelines.config import Config
from pipelines.config_patch import apply_patch, fold_recorded

STARTED = 1_000.0


def _row(ts: float, cfg: Config, patch: dict) -> tuple[Config, tuple[float, str, dict]]:
    """Apply `patch` as the ControlPlane does and return the audit row it records."""
    p = apply_patch(cfg, patch)
    return p.config, (ts, "api", p.diff)


def test_only_this_runs_changes_are_folded_in_order():
    profile = Config()
    assert profile.risk.max_open_positions == 10 and profile.risk.blacklist == ()
    banned = str(Keypair().pubkey())
    _, earlier = _row(STARTED - 60, profile, {"risk.max_open_positions": 3})        # a previous run's change
    cfg, first = _row(STARTED + 1, profile, {"risk": {"max_open_positions": 4, "max_position_sol": 0.25}})
    cfg, second = _row(STARTED + 2, cfg, {"risk.max_open_positions": 2, "risk.blacklist": [banned]})
    cfg, third = _row(STARTED + 3, cfg, {"exits.stop_loss": 0.05, "scoring.feature_weights.velocity": 0.3})
    folded = fold_recorded(profile, [earlier, first, second, third], STARTED)
    assert folded.config == cfg                    # the same config the PATCHes left the ControlPlane with
    r = folded.config.risk
    assert (r.max_open_positions, r.max_position_sol, r.blacklist) == (2, 0.25, (banned,))
    assert folded.config.exits.stop_loss == 0.05 and folded.config.scoring.feature_weights["velocity"] == 0.3
    assert (folded.applied, folded.earlier, folded.skipped, folded.changed) == (3, 1, (), True)


def test_a_new_run_starts_from_its_profile():
    profile = Config()
    _, old = _row(STARTED - 1, profile, {"risk.max_open_positions": 1})
    folded = fold_recorded(profile, [old], STARTED)
    assert folded.config == profile and not folded.changed and folded.earlier == 1
    assert fold_recorded(profile, [], STARTED).config == profile


def test_bad_rows_and_stale_keys_are_skipped_not_raised():
    profile = Config()
    rows = [
        (STARTED + 1, "api", {"risk.max_open_positions": {"old": 10, "new": 5}}),
        (STARTED + 2, "api", {"risk.no_such_key": {"old": 1, "new": 2}}),         # the code changed underneath
        (STARTED + 3, "api", {"risk.max_open_positions": {"old": 5, "new": 0}}),  # no longer valid (must be > 0)
        (STARTED + 4, "api", "not a diff"),
        ("yesterday", "api", {}),
        None,
    ]
    folded = fold_recorded(profile, rows, STARTED)
    assert folded.config.risk.max_open_positions == 5       # the valid change stands, the invalid one is dropped
    assert folded.applied == 3
    assert sorted(folded.skipped) == sorted(["risk.no_such_key", "risk.max_open_positions", "(row)", "(row)",
                                             "(row)"])
