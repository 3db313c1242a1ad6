"""Transaction building and quoting latency: `python benchmarks/chain_builders.py` prints one JSON object.

build_buy_tx_us_*: PumpBuy intent -> signed legacy transaction (compute budget, idempotent ATA, buy, tip) for a
fresh random mint/user each time (PDA caches cold: the worst case for a new coin), and again for a repeated
coin (caches warm). parse_buy_us_p50: parse_pump_instruction on a built buy. quote_*_us_p50: one curve
buy_exact_sol quote and one PumpSwap sell quote.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solders.hash import Hash  # noqa: E402
from solders.keypair import Keypair  # noqa: E402

from pipelines.chain import amm  # noqa: E402
from pipelines.chain.builders import build_buy_tx  # noqa: E402
from pipelines.chain.curve import CurveFees, CurveState, buy_exact_sol  # noqa: E402
from pipelines.chain.instructions import instruction_for, parse_pump_instruction  # noqa: E402
from pipelines.chain.intents import PumpBuy  # noqa: E402


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)


def _time(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def main() -> None:
    payer, blockhash = Keypair(), Hash.new_unique()
    tip_account, fee_recipient = str(Keypair().pubkey()), str(Keypair().pubkey())

    def fresh() -> PumpBuy:
        return PumpBuy(str(Keypair().pubkey()), str(payer.pubkey()), fee_recipient, 10**9, 10**8,
                       creator=str(Keypair().pubkey()))

    def build(intent: PumpBuy):
        return build_buy_tx(intent, payer, blockhash, compute_unit_limit=120_000, compute_unit_price=10_000,
                            tip=(tip_account, 10_000))

    cold = _time(lambda: build(fresh()), 300)
    warm_intent = fresh()
    warm = _time(lambda: build(warm_intent), 2000)
    ix = instruction_for(warm_intent)
    parse = _time(lambda: parse_pump_instruction(ix), 2000)
    state, fees = CurveState(600 * 10**12, 53 * 10**9, 320 * 10**12, 23 * 10**9, 10**15), CurveFees(95, 30)
    quote_curve = _time(lambda: buy_exact_sol(state, 10**9, fees), 5000)
    quote_amm = _time(lambda: amm.pumpswap_sell(10**12, 206 * 10**12, 85 * 10**9, 2, 93, 30), 5000)
    print(json.dumps({
        "build_buy_tx_us_p50_cold": _pct(cold, 0.5), "build_buy_tx_us_p99_cold": _pct(cold, 0.99),
        "build_buy_tx_us_p50_warm": _pct(warm, 0.5), "build_buy_tx_us_p99_warm": _pct(warm, 0.99),
        "parse_buy_us_p50": _pct(parse, 0.5),
        "quote_curve_buy_exact_sol_us_p50": _pct(quote_curve, 0.5),
        "quote_pumpswap_sell_us_p50": _pct(quote_amm, 0.5),
    }))


if __name__ == "__main__":
    main()
