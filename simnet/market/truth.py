"""Ground truth: what the market did, recorded from transactions that landed (never from decoding them), so
tests and analyzers can be scored against it. Served by simnet's GET /admin/ground_truth.

Each list is bounded (the newest entries are kept; `counts` has the totals): at the default rate a day of
launches is ~9k entries, trades ~30x that, so trades keep only the last `keep_trades`.
"""
from __future__ import annotations

from collections import Counter, deque


class GroundTruth:
    KINDS = ("launches", "trades", "rugs", "migrations", "completes", "dead")

    def __init__(self, *, keep_trades: int = 2_000, keep_records: int = 50_000) -> None:
        self.lists: dict[str, deque] = {k: deque(maxlen=keep_trades if k == "trades" else keep_records)
                                        for k in self.KINDS}
        self.counts: Counter[str] = Counter()

    def _add(self, kind: str, record: dict) -> None:
        self.lists[kind].append(record)
        self.counts[kind] += 1

    def launch(self, *, mint: str, slot: int, signature: str, creator: str, symbol: str, name: str,
               token_program: str, instruction: str, fate: str, traits: tuple[str, ...], bundled: bool) -> None:
        self._add("launches", {"mint": mint, "slot": slot, "signature": signature, "creator": creator,
                               "symbol": symbol, "name": name, "venue": "pumpfun", "instruction": instruction,
                               "token_program": token_program, "plan": fate, "traits": list(traits),
                               "bundled": bundled})

    def trade(self, *, mint: str, slot: int, signature: str, side: str, user: str, venue: str, agent: str,
              lamports: int, tokens: int, pool: str = "") -> None:
        self._add("trades", {"mint": mint, "slot": slot, "signature": signature, "side": side, "user": user,
                             "venue": venue, "agent": agent, "sol_amount": lamports, "token_amount": tokens,
                             "pool": pool})
        self.counts[f"trades.{venue}.{side}"] += 1
        self.counts[f"trades.agent.{agent}"] += 1

    def rug(self, *, mint: str, slot: int, signature: str, creator: str, tokens: int, lamports: int) -> None:
        self._add("rugs", {"mint": mint, "slot": slot, "signature": signature, "creator": creator,
                           "token_amount": tokens, "sol_amount": lamports})

    def complete(self, *, mint: str, slot: int, signature: str, user: str) -> None:
        self._add("completes", {"mint": mint, "slot": slot, "signature": signature, "user": user})

    def migration(self, *, mint: str, pool: str, slot: int, signature: str) -> None:
        self._add("migrations", {"mint": mint, "pool": pool, "slot": slot, "signature": signature,
                                 "venue": "pumpswap"})

    def dead(self, *, mint: str, slot: int, last_trade_slot: int, reason: str) -> None:
        self._add("dead", {"mint": mint, "slot": slot, "last_trade_slot": last_trade_slot, "reason": reason})

    def as_dict(self) -> dict[str, list[dict]]:
        return {k: [dict(r) for r in v] for k, v in self.lists.items()}
