"""simnet market throughput: `python benchmarks/market.py [slots]` prints one JSON object.

For the default launch rate (SimnetConfig.launches_per_minute) and a 10x stress rate, the market runs `slots`
slots on a fresh bank (after a warm-up of 300 slots so the population of live coins is in steady state) and
reports: slots_per_s and tx_per_s it generates and executes (market decisions + building + signing + the bank
executing them), and cpu_share_at_real_time = market+bank busy time / the wall time those slots last at 400 ms
per slot (the share of one core the market needs when simnet runs in real time; the target is well under 0.5).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.config import SimnetConfig  # noqa: E402
from simnet.bank import Bank  # noqa: E402
from simnet.market import Market  # noqa: E402

WARM_UP = 300


def bench(launches_per_minute: float, slots: int, seed: int = 7) -> dict:
    cfg = SimnetConfig(launches_per_minute=launches_per_minute)
    bank = Bank(seed=seed)
    t = time.perf_counter()
    market = Market(bank, cfg, seed)
    genesis_s = time.perf_counter() - t
    market.run_slots(WARM_UP)
    before = market.stats()
    t = time.perf_counter()
    cpu = time.process_time()
    market.run_slots(slots)
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu
    after = market.stats()
    tx = after["tx_sent"] - before["tx_sent"]
    real_time_s = slots * cfg.slot_ms / 1000.0
    return {
        "launches_per_minute": launches_per_minute,
        "slots": slots,
        "market_genesis_s": round(genesis_s, 3),
        "slots_per_s": round(slots / wall, 1),
        "tx_per_s": round(tx / wall, 1),
        "tx_per_slot": round(tx / slots, 3),
        "launches": after["launches"] - before["launches"],
        "trades": after["trades"] - before["trades"],
        "tx_failed": after["tx_failed"] - before["tx_failed"],
        "live_coins": after["live_coins"],
        "cpu_s": round(cpu, 3),
        "cpu_share_at_real_time": round(cpu / real_time_s, 4),
    }


def main() -> None:
    slots = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000
    default_rate = SimnetConfig().launches_per_minute
    out = {"default": bench(default_rate, slots), "stress_10x": bench(10 * default_rate, slots // 2)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
