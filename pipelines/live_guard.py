"""The proof that a run was started with all three live opt-ins, checked inside the Executor before any send.

`launchray run` makes it where it checks them (mode = "live" in the profile, a wallet key that loads,
--confirm-live on the command line) and the system hands it to the Executor at start. It holds the wallet's
PUBLIC key only: the Executor refuses to send if the proof is missing, is for another mode or names another
wallet than the one it loaded. This guards against a live Executor started any other way (a test harness, a
script, a restarted actor given a paper config's proof), not against someone forging it on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LiveOptIn:
    mode: str               # "live"
    wallet: str             # the wallet's public key (base58)
    confirmed: bool         # --confirm-live was given


def make_opt_in(mode: str, confirm_live: bool, wallet: str) -> LiveOptIn | str:
    """The proof, or why live mode may not start."""
    if mode != "live":
        return f"mode is {mode!r}, not live"
    if not confirm_live:
        return "mode = \"live\" trades real funds: add --confirm-live to the command line to proceed"
    if not wallet:
        return "live mode needs a wallet"
    return LiveOptIn(mode="live", wallet=wallet, confirmed=True)


def opt_in_problem(proof: object, wallet: str) -> str | None:
    """Why a live send must be refused (None when the proof covers this wallet)."""
    if not isinstance(proof, LiveOptIn):
        return "live sends refused: the run was not started with the live opt-ins (--confirm-live)"
    if proof.mode != "live" or not proof.confirmed:
        return "live sends refused: the opt-in proof is not for a confirmed live run"
    if proof.wallet != wallet:
        return "live sends refused: the opt-in proof names another wallet"
    return None
