"""Who exists and who arrives: the market's wallets (real keypairs, funded by airdrop at the market's genesis)
and the Poisson process of launches.

Keys are derived from the seed (sha256 of "simnet-market:{seed}:{role}:{i}"), so a seed always gives the same
wallets and, with the bank's seeded blockhashes, the same signatures. Within a slot a wallet sends at most one
transaction (two identical transactions would share a signature, and a real wallet waits for its last one).
"""
from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field

from solders.keypair import Keypair

from .agents import BUNDLER, DEV, MOMENTUM, ORGANIC, SNIPER, WHALE, poisson

LAMPORTS_PER_SOL = 1_000_000_000

# role -> (wallets, SOL each at genesis). Organic wallets come from MarketConfig.organic_wallets.
ROLES: dict[str, tuple[int, int]] = {
    DEV: (96, 40), SNIPER: (24, 200), ORGANIC: (0, 40), MOMENTUM: (24, 100), WHALE: (12, 400), BUNDLER: (24, 100),
}
TOP_UP_LAMPORTS = 50 * LAMPORTS_PER_SOL
RESERVE_LAMPORTS = 30_000_000          # tx fees, priority fees and new token accounts' rent


def derive_keypair(seed: int, role: str, index: int) -> Keypair:
    return Keypair.from_seed(hashlib.sha256(f"simnet-market:{seed}:{role}:{index}".encode()).digest())


@dataclass(slots=True, eq=False)
class Wallet:
    role: str
    index: int
    keypair: Keypair
    address: str = ""
    busy_slot: int = -1            # the slot this wallet last sent a transaction in
    holdings: set[str] = field(default_factory=set)   # mints it bought and has not sold out of

    def __post_init__(self) -> None:
        self.address = str(self.keypair.pubkey())


class Population:
    def __init__(self, seed: int, organic_wallets: int) -> None:
        self.seed = seed
        self.wallets: dict[str, list[Wallet]] = {}
        for role, (count, _) in ROLES.items():
            n = organic_wallets if role == ORGANIC else count
            self.wallets[role] = [Wallet(role, i, derive_keypair(seed, role, i)) for i in range(n)]
        self.by_address = {w.address: w for pool in self.wallets.values() for w in pool}

    def fund(self, bank) -> int:
        """Airdrop every wallet its starting SOL (real faucet transfers); returns how many were sent."""
        sent = 0
        for role, pool in self.wallets.items():
            lamports = ROLES[role][1] * LAMPORTS_PER_SOL
            for w in pool:
                bank.airdrop(w.keypair.pubkey(), lamports)
                sent += 1
        return sent

    def pick(self, rng: random.Random, role: str, slot: int, *, avoid: str = "") -> Wallet | None:
        """A wallet of `role` free to send this slot, not holding `avoid` (a mint); None if none is found
        in a few tries (the caller defers)."""
        pool = self.wallets[role]
        if not pool:
            return None
        for _ in range(6):
            if role == DEV:
                # serial launchers: a few devs launch most coins (index ~ u^2 skews towards the first ones)
                w = pool[min(len(pool) - 1, int(len(pool) * rng.random() ** 2))]
            else:
                w = pool[rng.randrange(len(pool))]
            if w.busy_slot != slot and (not avoid or avoid not in w.holdings):
                return w
        return None


class LaunchArrivals:
    """Launches as a Poisson process: launches_per_minute, in slots of slot_ms."""

    def __init__(self, rng: random.Random, launches_per_minute: float, slot_ms: int) -> None:
        self.rng = rng
        self.rate_per_slot = launches_per_minute / 60.0 * slot_ms / 1000.0

    def draw(self) -> int:
        return poisson(self.rng, self.rate_per_slot) if self.rate_per_slot > 0 else 0

    def __repr__(self) -> str:
        gap = 1 / self.rate_per_slot if self.rate_per_slot else math.inf
        return f"LaunchArrivals({self.rate_per_slot:.4f}/slot, mean gap {gap:.1f} slots)"
