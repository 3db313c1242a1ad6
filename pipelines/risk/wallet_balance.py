"""The wallet's balance against the books, pure: how much capital the risk book may use, whether the balance is
low, and whether SOL left the wallet that the ledger cannot explain.

Capital: the risk book's cash (capital + realised - deployed) must never exceed what the wallet holds less a
reserve kept for fees (the sells need SOL too). The wallet holds cash + reservations not yet spent, so the cap on
the book's base capital is balance - reserve - realised + deployed, and capital = min(configured, that cap).

Unexplained outflow: the ledger books every lamport a trade moves (a buy's lamports left the wallet, fees
included; a sell's arrived net; a landed-but-failed transaction's fee is a tx cost). From a baseline (the first
balance read, with the ledger's flows then), the expected balance is baseline + (flows now - flows then). A
balance below that by more than the tolerance, seen while no order is unsettled (open, or landed with its fill or
fee not booked yet: it may explain the difference) and again `confirm_s` later, is an outflow nobody booked. A
balance above the expectation with nothing unsettled (a deposit) becomes the new baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipelines.messages import Fill, Side


def capital_cap(configured: int, balance: int, reserve: int, realized: int, deployed: int) -> int:
    """The risk book's base capital given the wallet's balance (never negative)."""
    return max(0, min(int(configured), int(balance) - int(reserve) - int(realized) + int(deployed)))


def fill_flow(fill: Fill) -> int:
    """What one booked fill moved through the wallet: a buy's lamports out, a sell's in."""
    return -int(fill.lamports) if fill.side is Side.BUY else int(fill.lamports)


@dataclass(frozen=True, slots=True)
class OutflowWatch:
    base_balance: int | None = None    # the balance the expectation starts from (None: not read yet)
    base_flows: int = 0                # the ledger's cumulative flows when it was read
    suspect_since: float | None = None
    suspect_lamports: int = 0


def check_outflow(watch: OutflowWatch, balance: int, flows: int, open_orders: int, now: float,
                  tolerance: int, confirm_s: float) -> tuple[OutflowWatch, int]:
    """(next watch, unexplained lamports: > 0 only once confirmed). `flows`: the ledger's cumulative wallet
    flows (sum of fill_flow minus tx costs) read with the balance; `open_orders`: orders not yet settled."""
    if watch.base_balance is None:
        return OutflowWatch(int(balance), int(flows)), 0
    expected = watch.base_balance + (int(flows) - watch.base_flows)
    missing = expected - int(balance)
    if missing < -tolerance:
        if open_orders:        # a sell landed that the ledger has not booked yet: rebasing now would count its
            return watch, 0    # proceeds as an outflow the moment they are booked
        return OutflowWatch(int(balance), int(flows)), 0   # a deposit (or a refund): start from here
    if missing <= tolerance:
        return OutflowWatch(watch.base_balance, watch.base_flows), 0
    if open_orders:                                # may be a trade the ledger is about to book: no verdict yet
        return watch, 0
    if watch.suspect_since is None:
        return OutflowWatch(watch.base_balance, watch.base_flows, now, missing), 0
    if now - watch.suspect_since >= confirm_s:
        return OutflowWatch(watch.base_balance, watch.base_flows, watch.suspect_since, missing), missing
    return OutflowWatch(watch.base_balance, watch.base_flows, watch.suspect_since, missing), 0
