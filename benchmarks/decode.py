"""Decode latency: `python benchmarks/decode.py` prints one JSON object.

Per-event microseconds, median of RUNS runs over a stream of N_EVENTS distinct events built from the REAL
fixture payloads (2024 CreateEvent / TradeEvent from the pump.fun fixtures; the current 2.0.0 layouts are the
same real heads with the later IDL fields appended). Mints, users, amounts, reserves and timestamps vary per
event: trades pick their mint from N_MINTS by a Zipf law (a few hot coins, a long tail) and their user from
N_USERS (Zipf 0.8); every create is a fresh mint, bonding curve and name. The base58 cache is emptied before
every run, so each run pays the first-sight encoding of every key it meets, as a live session does.

*_from_log_us: one `Program data:` line to one event (base64, dispatch on the discriminator, decode, build).
logs_notification_*_us: decode_logs over a whole transaction's log lines (invoke/success tracking included),
per event. *_from_transaction_us: decode_transaction on the real getTransaction (jsonParsed) fixtures, per event.
Floors (python_loop_iteration_ns, base64_current_*_line_us, base58_new_key_us, build_*_event_us and their sum for a
current create, create_current_floor_us) say how fast this machine is at the moment and how much of a decode is
base64, base58 of keys never seen before, and object construction. Timer: process CPU time (the machine is
shared; wall time would mostly measure the neighbours).
"""
from __future__ import annotations

import base64
import json
import os
import random
import statistics
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.chain import borsh  # noqa: E402
from pipelines.chain import programs as P  # noqa: E402
from pipelines.chain.decode import decode_document, decode_logs, decode_transaction  # noqa: E402
from pipelines.chain.logs import _a2b as logs_a2b  # noqa: E402
from pipelines.chain.logs import decode_data_line  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures"
RUNS = 7
N_EVENTS = 20_000
N_MINTS = 2_000
N_USERS = 20_000
SIG = "5" * 88


def _fixture(rel: str) -> dict:
    return json.loads((FIXTURES / rel).read_text())


def _program_data(rel: str) -> list[bytes]:
    return [base64.b64decode(ln[14:]) for ln in _fixture(rel)["result"]["meta"]["logMessages"]
            if ln.startswith("Program data: ")]


def _zipf(rng: random.Random, n: int, s: float, k: int) -> list[int]:
    return rng.choices(range(n), weights=[1 / (i + 1) ** s for i in range(n)], k=k)


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<I", len(b)) + b


_TRADE_TAIL = struct.Struct("<32sQQ32sQQBQQQq")  # fee recipient .. creator fee, track_volume, 4 volume fields


def build_streams(rng: random.Random) -> dict[str, list[str]]:
    create_raw, trade_raw = _program_data("pumpfun/create_2024_getTransaction_jsonParsed.json")
    mints = [rng.randbytes(32) for _ in range(N_MINTS)]
    creators = [rng.randbytes(32) for _ in range(N_MINTS)]
    users = [rng.randbytes(32) for _ in range(N_USERS)]
    fee_recipients = [rng.randbytes(32) for _ in range(8)]
    mint_ix = _zipf(rng, N_MINTS, 1.1, N_EVENTS)
    user_ix = _zipf(rng, N_USERS, 0.8, N_EVENTS)
    words = ["cat", "dog", "pepe", "moon", "based", "frog", "sol", "wif", "bonk", "ai", "trump", "elon"]
    streams: dict[str, list[str]] = {"trade_2024": [], "trade_current": [], "create_2024": [], "create_current": []}
    ts = 1_750_000_000
    for i in range(N_EVENTS):
        ts += rng.randint(0, 2)
        t = bytearray(trade_raw)
        is_buy = rng.random() < 0.7
        sol = rng.randint(10_000_000, 5_000_000_000)
        vsol = rng.randint(30_000_000_000, 115_000_000_000)
        vtok = 32_190_005_730 * 10**15 // vsol
        struct.pack_into("<32sQQB32sqQQQQ", t, 8, mints[mint_ix[i]], sol, sol * vtok // vsol, is_buy,
                         users[user_ix[i]], ts, vsol, vtok, vsol - 30_000_000_000, vtok - 279_900_000_000_000)
        streams["trade_2024"].append("Program data: " + base64.b64encode(t).decode())
        tail = _TRADE_TAIL.pack(fee_recipients[i % 8], 95, sol * 95 // 10_000, creators[mint_ix[i]], 30,
                                sol * 30 // 10_000, 1, 0, 0, rng.randint(0, 10**12), ts - 5)
        tail += _string(rng.choice(["buy", "sell", "buy_exact_sol_in"])) + struct.pack("<BQQQQ", 0, 0, 0, 0, 0)
        tail += struct.pack("<I", 0) + bytes(32) + struct.pack("<QQQQQ", 0, 0, 0, 0, 0)
        streams["trade_current"].append("Program data: " + base64.b64encode(bytes(t) + tail).decode())
        name = f"{rng.choice(words)} {rng.choice(words)} {i}"
        # the real 2024 CreateEvent with its strings and keys replaced (its last 96 bytes: mint, curve, user)
        head = (create_raw[:8] + _string(name) + _string(name[:8].upper()) +
                _string(f"https://ipfs.io/ipfs/Qm{rng.randbytes(22).hex()}") + rng.randbytes(32) + rng.randbytes(32)
                + users[user_ix[i]])
        streams["create_2024"].append("Program data: " + base64.b64encode(head).decode())
        current = head + users[user_ix[i]] + struct.pack("<qQQQQ", ts, 1_073_000_000_000_000, 30_000_000_000,
                                                         793_100_000_000_000, 10**15)
        current += (bytes(P.pk(P.TOKEN_2022 if i % 2 else P.TOKEN)) + bytes([i % 7 == 0, 0]) + bytes(32) +
                    struct.pack("<QQB", 0, 0, 0))
        streams["create_current"].append("Program data: " + base64.b64encode(current).decode())
    return streams


def _per_event(fn, items: list, n_events: int) -> float:
    samples = []
    for _ in range(RUNS):
        borsh._B58_CACHE.clear()
        t0 = time.process_time_ns()  # CPU time: the machine is shared, wall time measures the neighbours
        fn(items)
        samples.append((time.process_time_ns() - t0) / 1000 / n_events)
    return round(statistics.median(samples), 3)


def _lines(lines: list[str]) -> None:
    for i, line in enumerate(lines):
        decode_data_line(P.PUMP, line, SIG, 1, i)


def bench_logs(streams: dict[str, list[str]]) -> dict[str, float]:
    out = {
        "create_from_log_us": _per_event(_lines, streams["create_2024"], N_EVENTS),
        "create_current_from_log_us": _per_event(_lines, streams["create_current"], N_EVENTS),
        "trade_from_log_us": _per_event(_lines, streams["trade_2024"], N_EVENTS),
        "trade_current_from_log_us": _per_event(_lines, streams["trade_current"], N_EVENTS),
    }
    # whole logsNotification of a buy (the fixture's 19 lines), its Program data line swapped per event
    buy_logs = _fixture("pumpfun/buy_sell_2024_getTransaction_jsonParsed.json")["result"]["meta"]["logMessages"][:20]
    at = next(i for i, ln in enumerate(buy_logs) if ln.startswith("Program data: "))
    notes = [buy_logs[:at] + [line] + buy_logs[at + 1:] for line in streams["trade_current"]]

    def run(ns):
        for logs in ns:
            decode_logs(SIG, 1, logs, None)
    out["logs_notification_trade_us"] = _per_event(run, notes, N_EVENTS)
    create_logs = _fixture("pumpfun/create_2024_getTransaction_jsonParsed.json")["result"]["meta"]["logMessages"]
    end = next(i for i, ln in enumerate(create_logs) if ln.startswith("Program data: ")) + 3
    at = end - 3
    cnotes = [create_logs[:at] + [line] + create_logs[at + 1:end] for line in streams["create_current"][:5000]]
    out["logs_notification_create_us"] = _per_event(run, cnotes, len(cnotes))
    return out


def bench_transactions() -> dict[str, float]:
    cases = {
        "create_from_transaction_us": _fixture("pumpfun/create_2024_getTransaction_jsonParsed.json")["result"],
        "trade_from_transaction_us": _fixture("pumpfun/buy_sell_2024_getTransaction_jsonParsed.json")["result"],
    }
    out = {}
    for name, tx in cases.items():
        n_events = len(decode_transaction(tx))
        out[name] = _per_event(lambda _: [decode_transaction(tx) for _ in range(500)], None, 500 * n_events)
    notes = _fixture("raydium_amm_v4/initialize2_transactionNotifications.json")
    out["pool_created_from_notification_us"] = _per_event(
        lambda _: [decode_document(notes) for _ in range(500)], None, 500 * 2)
    return out


def bench_floors(streams: dict[str, list[str]]) -> dict[str, float]:
    """What the machine gives: an empty Python loop iteration, base64 of one current trade / create line, base58 of
    one key never seen before (solders, the encoder every decoder uses), building one Trade (the frozen 23-field
    dataclass) and one Launch. create_current_floor_us adds up what a current-layout create must do whatever the
    decoder: its base64, its two new keys (mint, bonding curve: never cached) and its Launch."""
    from solders.pubkey import Pubkey

    from pipelines.chain.event_fields import make_launch, make_trade
    lines = streams["trade_current"]
    args = ("pumpfun", SIG, 1, "m", "buy", 1, 2, "u", "q", 1, 3, 4, 5, 6, 7, 8, 9, "c", 10, 11, "", "buy", 1)
    launch_args = ("pumpfun", SIG, 1, "m", "b", "c", "name", "SYM", "uri", "t", "q", "u", 1, 2, 3, 4, 5, False, 1)
    key_rng = random.Random(7)
    keys = [key_rng.randbytes(32) for _ in range(N_EVENTS)]

    def loop(_):
        for _i in range(N_EVENTS):
            pass

    def a2b(ls):               # the base64 decoder the log path uses (pipelines/chain/logs.py)
        decode = logs_a2b
        for line in ls:
            decode(line[14:])

    def base58(ks):
        from_bytes = Pubkey.from_bytes
        for k in ks:
            str(from_bytes(k))

    def build(_):
        for _i in range(N_EVENTS):
            make_trade(*args)

    def build_launch(_):
        for _i in range(N_EVENTS):
            make_launch(*launch_args)
    out = {"python_loop_iteration_ns": round(_per_event(loop, None, N_EVENTS) * 1000, 1),
           "base64_current_trade_line_us": _per_event(a2b, lines, N_EVENTS),
           "base64_current_create_line_us": _per_event(a2b, streams["create_current"], N_EVENTS),
           "base58_new_key_us": _per_event(base58, keys, N_EVENTS),
           "build_trade_event_us": _per_event(build, None, N_EVENTS),
           "build_launch_event_us": _per_event(build_launch, None, N_EVENTS)}
    out["create_current_floor_us"] = round(out["base64_current_create_line_us"] + 2 * out["base58_new_key_us"]
                                           + out["build_launch_event_us"], 3)
    return out


def main() -> dict:
    load_before = round(os.getloadavg()[0], 2)
    rng = random.Random(20240820)
    streams = build_streams(rng)
    metrics = bench_logs(streams)
    metrics.update(bench_transactions())
    metrics.update(bench_floors(streams))
    trades = streams["trade_2024"]
    return {
        "name": "decode",
        "metrics": metrics,
        "mix": {
            "events_per_run": N_EVENTS, "runs": RUNS, "statistic": "median of runs", "timer": "process CPU time",
            "trade_mints": N_MINTS, "trade_mint_popularity": "zipf s=1.1",
            "trade_users": N_USERS, "trade_user_popularity": "zipf s=0.8",
            "distinct_lines": len(set(trades)) == len(trades),
            "creates": "fresh mint, bonding curve and name each; users as for trades",
            "base58_cache": "emptied before each run",
            "trade_sides": "70% buy", "current_layout": "real 2024 head + pump 2.0.0 IDL tail fields",
            # CPU time still grows when the 2 cores are oversubscribed (shared caches, SMT): read the figures with it
            "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        },
        "target_us_per_event_from_log": 5.0,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
