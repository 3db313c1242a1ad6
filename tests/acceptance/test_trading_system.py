"""The trading system end to end on simnet: the real actors in the session's Ray, real RPC/WebSocket on loopback.

Expected values come from the chain itself (simnet's ground truth and account states) and the curve formula
from PROTOCOL.md, never from the system's own reports.
"""
from __future__ import annotations

import base64
import json
import math

import pytest
import ray
import asyncio

from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from actors import names
from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import decode_fee_config
from pipelines.chain.curve import buy_exact_sol, market_cap_lamports, sell
from pipelines.chain.pump_state import decode_bonding_curve
from pipelines.messages import OrderState, Side
from pipelines.recording import load_recording
from tests.acceptance.harness import open_ledger, run_for, running_system, system_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]
LAMPORTS = 1_000_000_000


def tx_fee(cfg) -> int:
    """5000 lamports per signature + the priority fee ceil(cu_limit * cu_price / 1e6) (+ tip with Jito)."""
    ex = cfg.execution
    return 5000 + math.ceil(ex.compute_unit_limit * ex.priority_fee_micro_lamports / 1_000_000) + (
        ex.jito_tip_lamports if ex.use_jito else 0)


def pump_fee_config(http_url: str):
    """The pump program's fee tiers, read from the chain like any client would."""
    async def read():
        async with AsyncClient(http_url) as client:
            return (await client.get_account_info(pda.fee_config(P.PUMP))).value.data
    return decode_fee_config(bytes(asyncio.run(read())))


def assert_every_launch_seen(system, summary) -> None:
    truth = system.ground_truth
    on_chain = {launch["mint"] for launch in truth["launches"]}
    seen = set(open_ledger(system.cfg.ledger.path).launch_mints())
    assert summary["launches_on_chain"] == len(on_chain) > 0
    assert seen == on_chain, f"missed {sorted(on_chain - seen)[:5]}, extra {sorted(seen - on_chain)[:5]}"
    assert summary["launches_seen"] == len(on_chain)


def assert_books_consistent(store) -> None:
    """Every position row equals what its fills say; every filled buy opened exactly one position."""
    fills = store.fills()
    orders = {o.id: o for o in store.orders()}
    positions = store.positions()
    for f in fills:
        assert orders[f.order_id].state is OrderState.CONFIRMED
    by_mint: dict[str, list] = {}
    for f in fills:
        by_mint.setdefault(f.mint, []).append(f)
    for p in positions:
        fs = by_mint.get(p.mint, [])
        buys = [f for f in fs if f.side is Side.BUY]
        bought = sum(f.tokens for f in buys)
        sold = sum(f.tokens for f in fs if f.side is Side.SELL)
        assert len(buys) == 1, f"{p.mint}: {len(buys)} buy fills for one position"
        assert p.initial_tokens == bought and p.tokens == bought - sold
        assert p.cost_lamports == buys[0].lamports
    assert {f.mint for f in fills if f.side is Side.BUY} == {p.mint for p in positions}
    assert store.summary()["duplicate_orders"] == 0
    assert store.open_orders() == []


def test_paper_run_detects_every_launch_and_fills_at_the_chain_quote(ray_session, tmp_path):
    cfg = system_config(tmp_path, exits={"max_hold_s": 6.0})
    with running_system(cfg) as system:
        run_for(system, 25)
        # the shards took the compiled trade path (loaded in the background while they ran on the Python path)
        assert [s.get("compiled_trades") for s in system.status()["shards"]] == [True] * system.n_shards
        summary = system.stop()
        store = open_ledger(system.cfg.ledger.path)
        fee_cfg = pump_fee_config(system.chain["http"][0])
        checked = {Side.BUY: 0, Side.SELL: 0}
        for fill in store.fills():
            order = store.get_order(fill.order_id)
            curve_key = str(pda.bonding_curve(fill.mint))
            states = ray.get(system.simnet.curve_states_during.remote(curve_key, fill.quote_slot))
            matches = []
            for raw in states:
                if raw is None:
                    continue
                curve = decode_bonding_curve(raw)
                if curve.complete:
                    continue
                st = curve.state()
                fees = fee_cfg.fee_tier_for(market_cap_lamports(st)).curve_fees()
                if fill.side is Side.BUY:
                    q = buy_exact_sol(st, order.amount, fees)
                    matches.append(fill.tokens == q.tokens and fill.lamports == q.total_sol + tx_fee(cfg))
                else:
                    q = sell(st, order.amount, fees)
                    matches.append(fill.tokens == q.tokens and fill.lamports == q.net_sol - tx_fee(cfg))
            assert any(matches), f"{fill.side.value} fill {fill.order_id} matches no state of slot {fill.quote_slot}"
            checked[fill.side] += 1
    assert checked[Side.BUY] >= 1 and checked[Side.SELL] >= 1, checked
    assert summary["orders"] >= summary["fills"] >= 2
    assert summary["positions_opened"] >= 1 and summary["positions_closed"] >= 1
    assert summary["duplicate_orders"] == 0 and summary["actor_restarts"] == 0
    assert_every_launch_seen(system, summary)
    assert_books_consistent(store)


def test_every_launch_detected_across_a_websocket_drop_and_a_429_storm(ray_session, tmp_path):
    # Also `run --record`: what Ingest records is the whole stream, the gap's backfill included.
    cfg = system_config(tmp_path, recording={"dir": str(tmp_path / "rec"), "flush_s": 2.0})
    faults = lambda changes: (lambda s: ray.get(s.simnet.set_faults.remote(changes)))  # noqa: E731
    with running_system(cfg) as system:
        run_for(system, 24, {6: faults({"ws_disconnect_now": True}), 9: faults({"http_429_rate": 0.6}),
                             15: faults({"ws_disconnect_now": True, "http_429_rate": 0.6}), 18: faults({})})
        ingest = ray.get(system.actor(names.INGEST).status.remote())
        rpc = ray.get(system.actor(names.RPC_POOL).health.remote())
        summary = system.stop()
    assert ingest["reconnects"] >= 2 and ingest["backfilled"] >= 0
    assert sum(e["calls"].get("rate_limited", 0) for e in rpc["endpoints"]) > 0   # the storm really happened
    assert_every_launch_seen(system, summary)
    assert_books_consistent(open_ledger(system.cfg.ledger.path))
    rec = load_recording(tmp_path / "rec")
    recorded = [ev.mint for ev in rec.events if ev.kind == "launch"]
    assert sorted(recorded) == sorted(launch["mint"] for launch in system.ground_truth["launches"])
    assert set(rec.meta["accounts"]) == {"pump_global", "pump_fee_config", "pumpswap_fee_config"}
    assert summary["recorded_events"] == len(rec.events)


VICTIMS = [names.INGEST, names.LEDGER, names.RISK, names.EXECUTOR, names.POSITIONS, names.ORCHESTRATOR,
           names.MOMENTUM, names.shard_name(0), names.RPC_POOL, names.SUPERVISOR]


def test_killing_each_actor_loses_no_order_or_position_and_never_buys_twice(ray_session, tmp_path):
    cfg = system_config(tmp_path, exits={"max_hold_s": 5.0})
    killed: list[str] = []

    def kill(name):
        def hook(system):
            ray.kill(system.actor(name), no_restart=False)
            killed.append(name)
        return hook

    hooks = {5 + 2.0 * i: kill(n) for i, n in enumerate(VICTIMS)}
    with running_system(cfg) as system:
        run_for(system, 5 + 2.0 * len(VICTIMS) + 10, hooks)
        status = system.status()
        summary = system.stop()
    assert killed == VICTIMS
    assert status["actor_restarts"] >= len(VICTIMS)
    assert summary["duplicate_orders"] == 0
    assert summary["fills"] >= 1
    assert_every_launch_seen(system, summary)
    assert_books_consistent(open_ledger(system.cfg.ledger.path))


def test_live_mode_on_simnet_lands_real_trades_and_the_ledger_matches_balances(ray_session, tmp_path):
    wallet = Keypair()
    key_file = tmp_path / "wallet.json"
    key_file.write_text(json.dumps(list(bytes(wallet))))
    key_file.chmod(0o600)
    cfg = system_config(tmp_path, execution={"mode": "live", "wallet_key_file": str(key_file), "use_jito": False,
                                             "sniper_buy_sol": 0.05},
                        exits={"max_hold_s": 5.0}, orchestrator={"strategies": ["sniper"]},
                        risk={"balance_check_s": 1.0})     # funded after the start: capital follows at once
    start_sol = 5 * LAMPORTS
    address = str(wallet.pubkey())
    with running_system(cfg, n_shards=1, start_market=False, live=True) as system:
        ray.get(system.simnet.airdrop.remote(address, start_sol))
        ray.get(system.simnet.start_market.remote())
        run_for(system, 30)
        summary = system.stop()
        store = open_ledger(system.cfg.ledger.path)
        fills = store.fills()
        balance = ray.get(system.simnet.balance.remote(address))
        tokens = {m: ray.get(system.simnet.token_balance.remote(address, m)) for m in {f.mint for f in fills}}
    buys = [f for f in fills if f.side is Side.BUY]
    sells = [f for f in fills if f.side is Side.SELL]
    assert buys and sells, f"{len(buys)} buys, {len(sells)} sells landed"
    assert store.open_orders() == [], "a graceful shutdown leaves no order in flight"
    for f in fills:
        order = store.get_order(f.order_id)
        assert order.mode == "live" and order.state is OrderState.CONFIRMED and order.signature == f.signature
    # live fills are the wallet's own balance changes, and the fees of transactions that landed and failed are
    # recorded as costs: the ledger and the chain agree to the lamport
    failed_fees = store.tx_costs_total()
    assert balance == start_sol - sum(f.lamports for f in buys) + sum(f.lamports for f in sells) - failed_fees
    for mint, held in tokens.items():
        assert held == sum(f.tokens for f in buys if f.mint == mint) - sum(f.tokens for f in sells if f.mint == mint)
    assert_books_consistent(store)
    assert summary["duplicate_orders"] == 0
