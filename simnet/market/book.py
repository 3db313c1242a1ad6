"""The market's shared state for a run: coins and their schedule, wallets, the chain view, ground truth and
counters, with the few operations every agent action needs (schedule, send, fund, note a trade)."""
from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass, field

from pipelines.chain.curve import CurveState

from . import agents as A
from .calibration import Parameters
from .execution import ChainView
from .population import RESERVE_LAMPORTS, TOP_UP_LAMPORTS, Population, Wallet
from .truth import GroundTruth

CURVE, COMPLETE, AMM = "curve", "complete", "amm"


@dataclass(frozen=True, slots=True)
class Action:
    kind: str                  # "buy" | "sell" | "migrate"
    mint: str
    agent: str
    wallet: str = ""           # "" = pick a wallet of the agent's role when it runs
    lamports: int = 0          # buy size (fees included)
    supply_share: float = 0.0  # whale buys: a share of the supply (exact-token buy)
    fraction: float = 1.0      # sells: share of the wallet's balance


@dataclass(slots=True, eq=False)
class Coin:
    mint: str
    dev: Wallet
    plan: A.CoinPlan
    rng: random.Random
    launch_slot: int
    phase: str = CURVE
    pending: int = 0
    holders: dict[str, str] = field(default_factory=dict)   # wallet address -> agent kind
    flow: A.FlowWindow = field(default_factory=A.FlowWindow)   # net buy flow, for momentum chasers
    chasers: int = 0
    rugged: bool = False
    runner_buys: int = 0
    migrate_attempts: int = 0
    last_trade_slot: int = 0


def error_key(err) -> str:
    """A short stable name for a transaction error: Custom(6042), InsufficientFundsForFee, ..."""
    if isinstance(err, dict) and "InstructionError" in err:
        detail = err["InstructionError"][1]
        if isinstance(detail, dict) and "Custom" in detail:
            return f"Custom({detail['Custom']})"
        return str(detail)
    return str(err)


class Book:
    def __init__(self, bank, *, params: Parameters, knobs: A.Knobs, population: Population, view: ChainView,
                 truth: GroundTruth, rng: random.Random) -> None:
        self.bank = bank
        self.params = params
        self.knobs = knobs
        self.population = population
        self.view = view
        self.truth = truth
        self.rng = rng                                   # wallet picks and momentum draws
        self.coins: dict[str, Coin] = {}
        self.heap: list[tuple[int, int, Action]] = []
        self.seq = 0
        self.slot = bank.slot
        self.blockhash = None
        self.sniper_states: dict[str, CurveState] = {}   # per slot: the curve snipers quoted
        self.hot: dict[str, None] = {}                   # coins with recent flow (an ordered set)
        self.emptied: dict[str, None] = {}               # coins whose schedule ran dry this slot
        self.counters: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.failures_by_agent: Counter[str] = Counter()

    def open_slot(self, slot: int) -> None:
        self.slot = slot
        self.blockhash = self.bank.latest_blockhash()[0]
        self.sniper_states = {}

    def schedule(self, coin: Coin, delay: int, action: Action) -> None:
        self.seq += 1
        coin.pending += 1
        heapq.heappush(self.heap, (self.slot + max(1, delay), self.seq, action))

    def failed(self, agent: str, err) -> None:
        key = error_key(err)
        self.failures[key] += 1
        self.failures_by_agent[f"{agent}:{key}"] += 1

    def send(self, tx, agent: str):
        """Execute one transaction; its result, or None (failure counted by error) when it failed."""
        self.counters["tx_sent"] += 1
        res = self.bank.process_transaction(tx)
        if res.err is not None:
            self.failed(agent, res.err)
            return None
        self.counters["tx_ok"] += 1
        return res

    def send_bundle(self, txs: list, agent: str):
        """Jito semantics: all land in order in this slot, or none does; the results, or None."""
        self.counters["tx_sent"] += len(txs)
        results = self.bank.process_bundle(txs)
        if len(results) != len(txs) or any(r.err is not None for r in results):
            self.failed(agent, "bundle:" + error_key(results[-1].err))
            return None
        self.counters["tx_ok"] += len(txs)
        self.counters["bundles"] += 1
        return results

    def fund(self, wallet: Wallet, need: int) -> None:
        """Top a wallet up from the faucet (a real airdrop) when it cannot afford `need` plus fees and rent."""
        if self.view.lamports(wallet.address) < need + RESERVE_LAMPORTS:
            # the slot in the amount keeps two top-ups of one wallet from being the same transaction
            self.bank.airdrop(wallet.keypair.pubkey(), max(TOP_UP_LAMPORTS, need + RESERVE_LAMPORTS) + self.slot)
            self.counters["top_ups"] += 1

    def note_trade(self, coin: Coin, w: Wallet, agent: str, signed_lamports: int) -> None:
        coin.flow.add(self.slot, signed_lamports)
        coin.last_trade_slot = self.slot
        self.hot[coin.mint] = None
        if signed_lamports > 0:
            coin.holders[w.address] = agent
            w.holdings.add(coin.mint)

    def record_buy(self, coin: Coin, w: Wallet, agent: str, signature: str, sol_cost: int, tokens: int,
                   spent: int) -> None:
        self.truth.trade(mint=coin.mint, slot=self.slot, signature=signature, side="buy", user=w.address,
                         venue="pumpfun", agent=agent, lamports=sol_cost, tokens=tokens)
        self.note_trade(coin, w, agent, spent)
