"""Market runs shared by the simnet_market tests: a bank with a deterministic clock, a recorder of every
executed transaction, and the decoded events of each (decode_logs, as a logsSubscribe client would)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pipelines.chain.decode import decode_logs
from pipelines.config import MarketConfig, SimnetConfig
from simnet.bank import Bank
from simnet.market import Market

T0 = 1_750_000_000


class Recorder:
    """A bank listener keeping every landed transaction in execution order."""

    def __init__(self) -> None:
        self.txs = []

    def on_transaction(self, stored) -> None:
        self.txs.append(stored)


@dataclass
class Run:
    market: Market
    bank: Bank
    txs: list = field(default_factory=list)

    def events(self) -> list:
        out = []
        for st in self.txs:
            out.extend(decode_logs(st.signature, st.slot, list(st.result.logs), st.result.err))
        return out


def make_bank(seed: int = 5) -> Bank:
    box: list[Bank] = []
    bank = Bank(seed=seed, clock=lambda: T0 + (box[0].slot * 0.4 if box else 0.0))
    box.append(bank)
    return bank


def market_run(seed: int, slots: int, *, bank_seed: int = 5, launches_per_minute: float = 6.0,
               **market: object) -> Run:
    bank = make_bank(bank_seed)
    recorder = Recorder()
    bank.add_listener(recorder)
    cfg = SimnetConfig(seed=seed, launches_per_minute=launches_per_minute,
                       market=MarketConfig(keep_trades=10**7, **market))
    m = Market(bank, cfg, seed)
    m.run_slots(slots)
    return Run(m, bank, recorder.txs)


@pytest.fixture(scope="package")
def behaviour_run() -> Run:
    """Enough launches, with runners boosted, to see every fate: rugs, completions, migrations, swaps, deaths."""
    return market_run(21, 2_000, launches_per_minute=12.0, completion_share=0.08)


@pytest.fixture(scope="package")
def calibrated_run() -> Run:
    """The calibrated market (no knob changed except the launch rate, which only scales the sample)."""
    return market_run(3, 2_500, launches_per_minute=30.0)
