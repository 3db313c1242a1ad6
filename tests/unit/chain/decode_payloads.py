"""Payload and transaction builders for the decode tests, written from the IDL field lists (not from the decoder).

Each builder returns the payload and its field pieces [(name, bytes)], so tests can cut a payload at every field
boundary (the intermediate vintages) or inside a field (malformed).
"""
from __future__ import annotations

import base64
import copy
import re

from solders.pubkey import Pubkey

from pipelines.chain import programs as P
from pipelines.chain.borsh import Writer
from tests.conftest import load_fixture

CREATE_TX = "pumpfun/create_2024_getTransaction_jsonParsed.json"
BUY_SELL_TX = "pumpfun/buy_sell_2024_getTransaction_jsonParsed.json"


def key(i: int) -> str:
    """A distinct, valid, deterministic pubkey (bytes i, i+1, ...): readable in failures, never a real account."""
    return str(Pubkey.from_bytes(bytes((i + k) % 256 for k in range(32))))


def program_data(rel: str) -> list[bytes]:
    doc = load_fixture(rel)
    return [base64.b64decode(line[14:]) for line in doc["result"]["meta"]["logMessages"]
            if line.startswith("Program data: ")]


def w(*parts) -> bytes:
    return b"".join(parts)


def u8(v): return Writer().u8(v).bytes()
def u16(v): return Writer().u16(v).bytes()
def u32(v): return Writer().u32(v).bytes()
def u64(v): return Writer().u64(v).bytes()
def i64(v): return Writer().i64(v).bytes()
def i128(v): return v.to_bytes(16, "little", signed=True)
def pk(v): return Writer().pubkey(v).bytes()
def string(v): return Writer().string(v).bytes()


def trade_current(quote_mint: str | None = None, quote_amount: int = 0, vq: int = 0, rq: int = 0,
                  shareholders: int = 2) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A 2.0.0-layout TradeEvent: the real 2024 buy payload followed by every later field (IDL 2.0.0 order)."""
    base = program_data(BUY_SELL_TX)[0]
    pieces = [("head", base),
              ("fee_recipient", pk(key(1))), ("fee_basis_points", u64(95)), ("fee", u64(228_763)),
              ("creator", pk(key(2))), ("creator_fee_basis_points", u64(30)), ("creator_fee", u64(72_241)),
              ("track_volume", u8(1)), ("total_unclaimed_tokens", u64(11)), ("total_claimed_tokens", u64(12)),
              ("current_sol_volume", u64(13)), ("last_update_timestamp", i64(14)),
              ("ix_name", string("buy_exact_sol_in")),
              ("mayhem_mode", u8(0)), ("cashback_fee_basis_points", u64(0)), ("cashback", u64(0)),
              ("buyback_fee_basis_points", u64(0)), ("buyback_fee", u64(0)),
              ("shareholders", u32(shareholders) + b"".join(pk(key(40 + i)) + u16(5000) for i in range(shareholders))),
              ("quote_mint", pk(quote_mint) if quote_mint else bytes(32)), ("quote_amount", u64(quote_amount)),
              ("virtual_quote_reserves", u64(vq)), ("real_quote_reserves", u64(rq)),
              ("holder_rewards_bps", u64(0)), ("holder_rewards", u64(0))]
    return b"".join(p for _, p in pieces), pieces


def create_current(token_program: str = P.TOKEN_2022, mayhem: bool = True, quote_mint: str | None = None,
                   vq: int = 0) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A 2.0.0-layout CreateEvent (IDL order), fields chosen by hand."""
    pieces = [("disc", P.PUMP_EV_CREATE), ("name", string("Cat ✨")), ("symbol", string("CAT")),
              ("uri", string("https://ipfs.io/ipfs/x")), ("mint", pk(key(10))), ("bonding_curve", pk(key(11))),
              ("user", pk(key(12))), ("creator", pk(key(13))), ("timestamp", i64(1_760_000_000)),
              ("virtual_token_reserves", u64(1_073_000_000_000_000)), ("virtual_sol_reserves", u64(30_000_000_000)),
              ("real_token_reserves", u64(793_100_000_000_000)), ("token_total_supply", u64(10**15)),
              ("token_program", pk(token_program)), ("is_mayhem_mode", u8(int(mayhem))), ("is_cashback_enabled", u8(0)),
              ("quote_mint", pk(quote_mint) if quote_mint else bytes(32)), ("virtual_quote_reserves", u64(vq)),
              ("creator_fee_bps", u64(30)), ("is_holder_reward", u8(0))]
    return b"".join(p for _, p in pieces), pieces


def amm_trade(is_buy: bool, *, base_amount: int, quote_amount: int, pool_base: int, pool_quote: int,
              lp_bps: int = 20, lp_fee: int = 0, proto_bps: int = 5, proto_fee: int = 0, creator_fee: int = 0,
              pool: str | None = None, user: str | None = None, full: bool = True) -> bytes:
    """PumpSwap BuyEvent / SellEvent, pump_amm 1.20.0 IDL field order."""
    pool, user = pool or key(20), user or key(21)
    if is_buy:
        with_lp = quote_amount + lp_fee
        amounts = [base_amount, with_lp + proto_fee + creator_fee + 1000, 0, 0, pool_base, pool_quote, quote_amount,
                   lp_bps, lp_fee, proto_bps, proto_fee, with_lp, with_lp + proto_fee + creator_fee]
    else:
        without_lp = quote_amount - lp_fee
        amounts = [base_amount, 1, 0, 0, pool_base, pool_quote, quote_amount, lp_bps, lp_fee, proto_bps, proto_fee,
                   without_lp, without_lp - proto_fee - creator_fee]
    out = [P.AMM_EV_BUY if is_buy else P.AMM_EV_SELL, i64(1_750_000_000)] + [u64(a) for a in amounts]
    out += [pk(pool), pk(user), pk(key(22)), pk(key(23)), pk(key(24)), pk(key(25))]
    if full:
        out += [pk(key(26)), u64(30), u64(creator_fee)]
        if is_buy:
            out += [u8(1), u64(0), u64(0), u64(0), i64(0), u64(base_amount), string("buy")]
        out += [u64(0), u64(0), u64(0), u64(0), i128(0), u8(0), u64(10**15)]
    return b"".join(out)


def create_pool_event(pool: str, base_mint: str, quote_mint: str = P.WSOL_MINT, creator: str | None = None,
                      base_in: int = 206_900_000_000_000, quote_in: int = 84_990_359_679) -> bytes:
    """PumpSwap CreatePoolEvent, pump_amm 1.20.0 IDL field order."""
    return w(P.AMM_EV_CREATE_POOL, i64(1_750_000_000), u16(0), pk(creator or key(30)), pk(base_mint),
             pk(quote_mint), u8(6), u8(9), u64(base_in), u64(quote_in), u64(base_in), u64(quote_in), u64(100),
             u64(4_193_388_288_196), u64(4_193_388_287_196), u8(254), pk(pool), pk(key(31)), pk(key(32)),
             pk(key(33)), pk(key(34)), u8(0), u64(0), u8(0))


def migration_event(mint: str, pool: str, curve: str) -> bytes:
    """pump CompletePumpAmmMigrationEvent, 2.0.0 IDL order (with quote_mint)."""
    return w(P.PUMP_EV_COMPLETE_AMM_MIGRATION, pk(key(35)), pk(mint), u64(206_900_000_000_000),
             u64(84_990_359_679), u64(15_000_000), pk(curve), i64(1_750_000_001), pk(pool), bytes(32))


def bump_depth(lines: list[str], by: int = 1) -> list[str]:
    return [re.sub(r" invoke \[(\d+)\]$", lambda m: f" invoke [{int(m.group(1)) + by}]", ln) for ln in lines]


def instruction_logs(logs: list[str], program: str, nth: int) -> list[str]:
    """The log lines of the nth top-level invocation of `program`: its invoke [1] up to its last success."""
    start = [i for i, ln in enumerate(logs) if ln == f"Program {program} invoke [1]"][nth]
    nxt = next((i for i in range(start + 1, len(logs)) if logs[i].endswith(" invoke [1]")), len(logs))
    end = max(i for i in range(start, nxt) if logs[i] == f"Program {program} success")
    return logs[start:end + 1]


def to_json_encoding(result: dict, writable: tuple[str, ...] = (), readonly: tuple[str, ...] = ()) -> dict:
    """The same transaction as getTransaction(encoding="json"), v0, with `writable`/`readonly` keys moved
    out of the static keys into address-table lookups (meta.loadedAddresses). Parsed (system / token)
    instructions keep their program and position but lose their bytes (nothing decodes them)."""
    msg = result["transaction"]["message"]
    keys = [k["pubkey"] if isinstance(k, dict) else k for k in msg["accountKeys"]]
    moved = set(writable) | set(readonly)
    static = [k for k in keys if k not in moved]
    index = {k: i for i, k in enumerate(static + list(writable) + list(readonly))}

    def conv(ix: dict) -> dict:
        out = {"programIdIndex": index[ix["programId"]], "stackHeight": ix.get("stackHeight")}
        if "parsed" in ix:
            out.update(accounts=[], data="")
        else:
            out.update(accounts=[index[a] for a in ix["accounts"]], data=ix["data"])
        return out

    meta = copy.deepcopy(result["meta"])
    meta["innerInstructions"] = [{"index": g["index"], "instructions": [conv(i) for i in g["instructions"]]}
                                 for g in meta["innerInstructions"]]
    meta["loadedAddresses"] = {"writable": list(writable), "readonly": list(readonly)}
    lookups = [{"accountKey": key(99), "writableIndexes": list(range(len(writable))),
                "readonlyIndexes": list(range(len(writable), len(writable) + len(readonly)))}] if moved else []
    return {"slot": result["slot"], "blockTime": result.get("blockTime"), "version": 0, "meta": meta,
            "transaction": {"signatures": result["transaction"]["signatures"],
                            "message": {"accountKeys": static, "recentBlockhash": msg["recentBlockhash"],
                                        "header": {"numRequiredSignatures": 1, "numReadonlySignedAccounts": 0,
                                                   "numReadonlyUnsignedAccounts": 0},
                                        "instructions": [conv(i) for i in msg["instructions"]],
                                        "addressTableLookups": lookups}}}
