"""The Market: a seeded population of agents trading real signed transactions on simnet's bank.

    market = Market(bank, cfg.simnet, seed=7)
    market.on_slot(bank.slot)      # the server's slot ticker: decide + execute this slot, then it advances
    market.run_slots(1000)         # tests and benchmarks: the market advances the bank itself

Each slot: Poisson launches arrive, the actions scheduled for this slot run (in the order they were scheduled),
momentum chasers look at the last window's buy flow, and coins with nothing left to do die. Everything random
comes from one random.Random(seed) tree (a child per coin), dicts are iterated in insertion order, sets are
never iterated, and no wall clock is read for decisions, so a seed replays the same transactions and therefore
the same events.
"""
from __future__ import annotations

import heapq
import logging
import random
import time

from pipelines.config import MarketConfig, SimnetConfig

from . import agents as A
from .book import AMM, COMPLETE, CURVE, Action, Book
from .calibration import Parameters, load as load_calibration
from .execution import ChainView
from .launches import launch
from .population import LaunchArrivals, Population
from .trading import run
from .truth import GroundTruth

log = logging.getLogger(__name__)


class Market:
    def __init__(self, bank, cfg: SimnetConfig | None = None, seed: int | None = None, *,
                 params: Parameters | None = None) -> None:
        cfg = cfg or SimnetConfig()
        self.bank = bank
        self.cfg = cfg
        self.mcfg: MarketConfig = cfg.market
        self.seed = cfg.seed if seed is None else seed
        self.params = params or load_calibration()
        knobs = A.Knobs(create_v2_share=self.mcfg.create_v2_share, bundle_share=self.mcfg.bundle_share,
                        whale_share=self.mcfg.whale_share, completion_share=self.mcfg.completion_share,
                        rug_share=self.mcfg.rug_share, slot_s=cfg.slot_ms / 1000.0)
        root = random.Random(self.seed)
        self.arrivals = LaunchArrivals(random.Random(root.getrandbits(64)), cfg.launches_per_minute, cfg.slot_ms)
        book_rng = random.Random(root.getrandbits(64))
        self._coin_seeds = random.Random(root.getrandbits(64))
        self.population = Population(self.seed, self.mcfg.organic_wallets)
        self.truth = GroundTruth(keep_trades=self.mcfg.keep_trades)
        self.book = Book(bank, params=self.params, knobs=knobs, population=self.population, view=ChainView(bank),
                         truth=self.truth, rng=book_rng)
        self.busy_s = 0.0
        self.slots = 0
        if self.mcfg.enabled:
            self.book.counters["airdrops"] += self.population.fund(bank)

    @classmethod
    def from_config(cls, cfg, bank=None) -> "Market":
        """A market for a whole Config (or SimnetConfig); builds the seeded bank when none is given."""
        scfg = getattr(cfg, "simnet", cfg)
        if bank is None:
            from simnet.bank import Bank
            bank = Bank(seed=scfg.seed)
        return cls(bank, scfg, scfg.seed)

    @property
    def coins(self) -> dict:
        return self.book.coins

    # --- the slot loop -----------------------------------------------------------------------------------------
    def on_slot(self, slot: int) -> None:
        """Decide and execute this slot's transactions (the caller advances the slot afterwards)."""
        if not self.mcfg.enabled:
            return
        started = time.perf_counter()     # only for stats(); never read by a decision
        book = self.book
        book.open_slot(slot)
        for _ in range(self.arrivals.draw()):
            try:
                launch(book, random.Random(self._coin_seeds.getrandbits(64)))
            except Exception:          # a market bug must not stop the chain
                log.exception("market launch failed")
                book.counters["action_errors"] += 1
        heap = book.heap
        while heap and heap[0][0] <= slot:
            action: Action = heapq.heappop(heap)[2]
            coin = book.coins.get(action.mint)
            if coin is None:
                continue
            coin.pending -= 1
            try:
                run(book, coin, action)
            except Exception:          # a market bug must not stop the chain
                log.exception("market action %s failed", action)
                book.counters["action_errors"] += 1
            if coin.pending == 0:
                book.emptied[coin.mint] = None
        self._momentum()
        self._bury()
        self.slots += 1
        self.busy_s += time.perf_counter() - started

    def run_slots(self, n: int) -> None:
        for _ in range(n):
            self.on_slot(self.bank.slot)
            self.bank.advance_slot()

    def _momentum(self) -> None:
        book = self.book
        now, cold = book.slot, []
        for mint in book.hot:
            coin = book.coins.get(mint)
            if coin is None or not coin.flow.advance(now):
                cold.append(mint)
                continue
            if coin.phase == COMPLETE:
                continue
            if A.momentum_wants(book.rng, now - coin.launch_slot, coin.flow.recent_sum, coin.flow.older_sum,
                                coin.chasers):
                coin.chasers += 1
                book.schedule(coin, 1, Action("buy", mint, A.MOMENTUM))
        for mint in cold:
            book.hot.pop(mint, None)

    def _bury(self) -> None:
        """Coins with nothing scheduled are dead: nobody trades them again (holders keep their bags)."""
        book = self.book
        for mint in book.emptied:
            coin = book.coins.get(mint)
            if coin is None or coin.pending or coin.phase == COMPLETE:
                continue
            reason = "rugged" if coin.rugged else ("migrated" if coin.phase == AMM else "faded")
            self.truth.dead(mint=mint, slot=book.slot, last_trade_slot=coin.last_trade_slot, reason=reason)
            book.counters["dead"] += 1
            for address in coin.holders:
                self.population.by_address[address].holdings.discard(mint)
            del book.coins[mint]
            book.hot.pop(mint, None)
        book.emptied = {}

    # --- operator actions ---------------------------------------------------------------------------------------
    def complete_curve(self, mint: str) -> int:
        """Send a whale to buy the rest of `mint`'s curve in the next slot (an exact-token buy of all its real
        token reserves), as a runner's last buyer would: the curve completes and the migration bot migrates it
        to PumpSwap 1-3 slots later, through the market's own code path. The slot it is scheduled for; raises
        ValueError when the coin is not a live market coin still on its curve."""
        coin = self.book.coins.get(mint)
        if coin is None:
            raise ValueError(f"{mint} is not a live market coin (unknown, or dead and buried)")
        if coin.phase != CURVE:
            raise ValueError(f"{mint}'s curve is already {coin.phase}")
        view = self.book.view.curve(mint)
        if view is None or view.complete:
            raise ValueError(f"{mint} has no open bonding curve on chain")
        self.book.schedule(coin, 1, Action("buy", mint, A.WHALE, supply_share=1.0))
        return self.book.slot + 1

    # --- reporting ---------------------------------------------------------------------------------------------
    def ground_truth(self) -> dict[str, list[dict]]:
        return self.truth.as_dict()

    def stats(self) -> dict:
        book = self.book
        c, counts = book.counters, self.truth.counts
        return {
            "seed": self.seed, "slots": self.slots, "busy_s": round(self.busy_s, 6),
            "launches": c["launches"], "launches_create": c["launches.create"],
            "launches_create_v2": c["launches.create_v2"], "launches_skipped": c["launches_skipped"],
            "bundles": c["bundles"], "trades": counts["trades"],
            "trades_by": {k[len("trades."):]: v for k, v in sorted(counts.items()) if k.startswith("trades.")},
            "rugs": c["rugs"], "completes": c["completes"], "migrations": c["migrations"], "dead": c["dead"],
            "live_coins": len(book.coins), "scheduled": len(book.heap),
            "tx_sent": c["tx_sent"], "tx_ok": c["tx_ok"], "tx_failed": sum(book.failures.values()),
            "failures": dict(sorted(book.failures.items())),
            "failures_by_agent": dict(sorted(book.failures_by_agent.items())),
            "airdrops": c["airdrops"], "top_ups": c["top_ups"], "action_errors": c["action_errors"],
            "quote_mismatch": c["quote_mismatch"],
        }


__all__ = ["Market"]
