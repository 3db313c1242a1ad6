"""The market's agents and their decision rules, as pure functions of a `random.Random` and the calibration.

Agent kinds (docs/simnet_market.md has the numbers):
- launcher (dev): creates a coin (create = SPL Token, create_v2 = Token-2022), usually buying in the same tx;
  a "rug" dev later sells the whole bag (creator dump);
- sniper: buys in the first slots after a create with a tight slippage bound (so same-slot snipers race and
  some fail), then mostly flips within seconds;
- organic buyer: arrives at a decaying rate (exponential inter-arrival ages, mean tau), buys a mixture of
  "bump" micro buys and real buys, and sells later with the calibrated probability;
- momentum chaser: buys coins whose net buy flow over the last window is above a threshold and rising, exits
  after a short hold;
- whale (risky trait "concentrated"): one wallet buys a large share of the supply early;
- bundler (risky trait "bundled"): wallets that buy in the create's own slot inside the creator's Jito bundle;
- runner coins attract buyers until the curve completes; the migration authority then migrates them to PumpSwap,
  where AMM traders keep swapping for a while.
Nothing here touches the chain: the driver turns the Actions into signed transactions.
"""
from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from pipelines.chain import programs as P

from .calibration import Parameters

LAMPORTS_PER_SOL = 1_000_000_000

# Agent kinds (also the `agent` field of ground-truth trades)
DEV, SNIPER, ORGANIC, MOMENTUM, WHALE, BUNDLER, RUNNER, AMM_TRADER = (
    "dev", "sniper", "organic", "momentum", "whale", "bundler", "runner", "amm_trader")

# Fates
NORMAL, RUG, COMPLETE = "normal", "rug", "runner"


@dataclass(frozen=True, slots=True)
class Knobs:
    """The non-calibrated choices (MarketConfig) the plans need; see pipelines.config.MarketConfig."""
    create_v2_share: float = 0.3
    bundle_share: float = 0.1
    whale_share: float = 0.1
    completion_share: float | None = None
    rug_share: float | None = None
    slot_s: float = 0.4


@dataclass(frozen=True, slots=True)
class CoinPlan:
    """Everything decided about a coin at its launch."""
    name: str
    symbol: str
    uri: str
    token_program: str
    fate: str
    dev_buy_lamports: int          # 0: the dev does not buy
    snipers: int
    organic_buyers: int
    tau_slots: float               # mean age (slots) of organic arrivals: activity decays with this constant
    bundled: int                   # bundle wallets buying in the create slot (0: not bundled)
    whale_share: float             # share of the supply one wallet buys early (0: none)
    rug_after_slots: int           # when a rug dev dumps its whole bag in one sell (0: never)
    exit_slots: tuple[int, ...] = ()   # when a non-rug dev sells out in chunks as activity fades (last = all)

    @property
    def traits(self) -> tuple[str, ...]:
        out = []
        if self.fate == RUG:
            out.append("creator_dump")
        if self.whale_share:
            out.append("concentrated")
        if self.bundled:
            out.append("bundled")
        return tuple(out)

    @property
    def venue_program(self) -> str:
        return "create_v2" if self.token_program == P.TOKEN_2022 else "create"


# --- draws --------------------------------------------------------------------------------------------------------

def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method (the rates here are small); deterministic for a given rng state."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def lognormal(rng: random.Random, median: float, log_sd: float) -> float:
    return median * math.exp(rng.gauss(0.0, log_sd))


def sol(x: float) -> int:
    return max(1, int(x * LAMPORTS_PER_SOL))


_SYLLABLES = ("mo", "on", "pe", "pe", "do", "ge", "ka", "wi", "fu", "zo", "ra", "ti", "bo", "nk", "ch", "ad",
              "sh", "ib", "cat", "dog", "frog", "pump", "moon", "bonk", "chad", "wif", "ai", "gm", "based")


def coin_name(rng: random.Random) -> tuple[str, str, str]:
    parts = [rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))]
    name = "".join(parts).capitalize() + rng.choice(("", " Coin", " AI", " Inu", " on Sol", ""))
    symbol = "".join(parts).upper()[:rng.randint(3, 6)]
    cid = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(52))
    return name[:32], symbol[:10], f"https://ipfs.io/ipfs/bafkrei{cid}"


def plan_coin(rng: random.Random, p: Parameters, k: Knobs) -> CoinPlan:
    name, symbol, uri = coin_name(rng)
    token_program = P.TOKEN_2022 if rng.random() < k.create_v2_share else P.TOKEN
    dev_buy = 0
    if rng.random() < p.dev_buy_share:
        dev_buy = sol(min(p.dev_buy_max_sol, max(0.01, lognormal(rng, p.dev_buy_median_sol, p.dev_buy_log_sd))))
    completion = p.completion_share if k.completion_share is None else k.completion_share
    rug_share = p.rug_share if k.rug_share is None else k.rug_share
    if rng.random() < completion:
        fate = COMPLETE
    elif dev_buy and rng.random() < rug_share:
        fate = RUG
    else:
        fate = NORMAL
    organic = max(1, round(lognormal(rng, p.organic_buyers_median, p.organic_buyers_log_sd)))
    tau_s = p.activity_tau_s * (p.long_lived_tau_factor if rng.random() < p.long_lived_share else 1.0)
    tau_slots = tau_s / k.slot_s
    bundled = rng.randint(2, 4) if rng.random() < k.bundle_share else 0
    whale = rng.uniform(0.06, 0.18) if rng.random() < k.whale_share else 0.0
    # tau * (ln N + gamma) is the expected age of the last organic arrival: the end of the coin's active life
    life = tau_slots * (math.log(organic) + 0.5772)
    rug_after, exits = 0, ()
    if fate == RUG:
        rug_after = max(8, round(life * rng.uniform(0.3, 1.2)))      # dumps while buyers are still coming
    elif dev_buy:
        # dead coins in the dataset are empty (0.09 SOL left per coin): the other devs sell out too, but in
        # chunks, as the activity fades
        at = max(10, round(life * rng.uniform(0.5, 1.2)))
        chunks = [at]
        for _ in range(rng.randint(1, 2)):
            at += rng.randint(10, 60)
            chunks.append(at)
        exits = tuple(chunks)
    return CoinPlan(name, symbol, uri, token_program, fate, dev_buy, poisson(rng, p.sniper_count_mean), organic,
                    tau_slots, bundled, whale, rug_after, exits)


def organic_arrivals(rng: random.Random, plan: CoinPlan) -> list[int]:
    """Slot offsets of the organic buyers: i.i.d. exponential ages, i.e. a Poisson process whose rate decays
    as exp(-t / tau), so the coin's activity dies out on its own."""
    return sorted(max(1, round(rng.expovariate(1.0 / plan.tau_slots))) for _ in range(plan.organic_buyers))


def buy_lamports(rng: random.Random, p: Parameters, *, allow_micro: bool = True) -> tuple[int, bool]:
    """(lamports, is_micro) from the calibrated size mixture: "bump" micro buys (bots that buy dust to bump the
    coin and never sell) and lognormal real buys."""
    if allow_micro and rng.random() < p.micro_buy_share:
        return sol(max(0.001, lognormal(rng, p.micro_buy_median_sol, 0.25))), True
    return sol(min(25.0, max(0.01, lognormal(rng, p.real_buy_median_sol, p.real_buy_log_sd)))), False


def sniper_delay(rng: random.Random) -> int:
    return rng.choice((1, 1, 1, 2, 2, 3))


def sniper_slippage_bps(rng: random.Random) -> int:
    """Tight bounds: several snipers in one slot quote the same pre-slot curve and the later ones can miss."""
    return rng.choice((300, 500, 1000, 1500, 2500))


def sniper_exit(rng: random.Random, p: Parameters, tau_slots: float) -> int | None:
    """Most snipers flip within seconds; the rest behave like holders."""
    if rng.random() < 0.8:
        return rng.randint(3, 40)
    return holder_exit(rng, p, tau_slots)


def holder_exit(rng: random.Random, p: Parameters, tau_slots: float, *, patience: float = 1.0) -> int | None:
    """Slots until a holder sells everything, or None (never sells: a bag holder)."""
    if rng.random() >= p.holder_sell_probability:
        return None
    return max(2, round(rng.expovariate(1.0 / (tau_slots * patience))))


def runner_interarrival(rng: random.Random, p: Parameters, k: Knobs) -> int:
    rate_per_slot = p.runner_buyer_rate_per_s * k.slot_s
    return max(1, round(rng.expovariate(rate_per_slot)))


def amm_activity(rng: random.Random, plan: CoinPlan) -> list[int]:
    """Post-migration swaps (not in the dataset, which has no migrated coins: a documented assumption):
    lognormal count around 25, ages exponential with 3x the coin's curve-phase tau."""
    n = max(3, round(lognormal(rng, 25.0, 0.7)))
    tau = 3.0 * plan.tau_slots
    return sorted(max(1, round(rng.expovariate(1.0 / tau))) for _ in range(n))


# --- momentum ---------------------------------------------------------------------------------------------------

MOMENTUM_WINDOW_SLOTS = 25          # 10 s of buy flow
MOMENTUM_MIN_AGE_SLOTS = 12         # the launch rush (dev, bundle, snipers) is not momentum
MOMENTUM_MIN_NET_LAMPORTS = 1_500_000_000
MOMENTUM_BUY_PROBABILITY = 0.06
MOMENTUM_MAX_PER_COIN = 3


class FlowWindow:
    """Net buy flow (buys +, sells -, lamports) over the last window and the window before it, kept as running
    sums so a slot costs O(trades that aged) rather than O(trades in the window)."""
    __slots__ = ("recent", "older", "recent_sum", "older_sum")

    def __init__(self) -> None:
        self.recent: deque[tuple[int, int]] = deque()
        self.older: deque[tuple[int, int]] = deque()
        self.recent_sum = 0
        self.older_sum = 0

    def add(self, slot: int, lamports: int) -> None:
        self.recent.append((slot, lamports))
        self.recent_sum += lamports

    def advance(self, now: int, window: int = MOMENTUM_WINDOW_SLOTS) -> bool:
        """Age the entries to `now`; False once both windows are empty (the coin went quiet)."""
        while self.recent and self.recent[0][0] <= now - window:
            entry = self.recent.popleft()
            self.recent_sum -= entry[1]
            self.older.append(entry)
            self.older_sum += entry[1]
        while self.older and self.older[0][0] <= now - 2 * window:
            self.older_sum -= self.older.popleft()[1]
        return bool(self.recent or self.older)


def momentum_wants(rng: random.Random, age_slots: int, net_now: int, net_before: int, chasers: int) -> bool:
    """A chaser buys when the last window's net buy flow is strong and stronger than the window before."""
    if (age_slots < MOMENTUM_MIN_AGE_SLOTS or chasers >= MOMENTUM_MAX_PER_COIN
            or net_now < MOMENTUM_MIN_NET_LAMPORTS or net_now <= net_before):
        return False
    return rng.random() < MOMENTUM_BUY_PROBABILITY


def momentum_hold(rng: random.Random) -> int:
    return rng.randint(25, 150)


def slippage_bps(rng: random.Random) -> int:
    """Organic traders use wide bounds (UI defaults), so they only fail when something really moved."""
    return rng.choice((500, 1000, 1500, 2500))


def cu_price(rng: random.Random, agent: str) -> int:
    """Priority fee in micro-lamports per CU: snipers and bundlers pay up."""
    if agent in (SNIPER, BUNDLER):
        return rng.choice((500_000, 1_000_000, 2_000_000, 5_000_000))
    return rng.choice((0, 10_000, 50_000, 100_000, 200_000))
