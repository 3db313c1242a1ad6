"""Live mode on simnet (real signing, real sends) under the faults a hostile chain adds: each run ends with no fill
lost, no buy doubled, no exit stuck, and the wallet's balances equal to the ledger's to the lamport.

Expected values come from the chain (simnet's balances, the transactions' own effects), never from the system's
reports; the faults are simnet's (simnet/faults.py), switched on and off while the system trades.
"""
from __future__ import annotations

import json

import pytest
import ray
from solders.keypair import Keypair

from actors import names
from pipelines.messages import OrderState, Side
from tests.acceptance.harness import open_ledger, run_for, running_system, system_config
from tests.acceptance.test_trading_system import assert_books_consistent

pytestmark = [pytest.mark.ray, pytest.mark.slow]
LAMPORTS = 1_000_000_000
START_SOL = 5 * LAMPORTS
S = OrderState


def live_config(tmp_path, **execution):
    wallet = Keypair()
    key_file = tmp_path / "wallet.json"
    key_file.write_text(json.dumps(list(bytes(wallet))))
    key_file.chmod(0o600)
    cfg = system_config(tmp_path, execution={"mode": "live", "wallet_key_file": str(key_file), "use_jito": False,
                                             "sniper_buy_sol": 0.05, **execution},
                        exits={"max_hold_s": 4.0}, orchestrator={"strategies": ["sniper"]},
                        risk={"balance_check_s": 1.0})     # funded after the start: capital follows at once
    return cfg, str(wallet.pubkey())


def trade(cfg, address: str, seconds: float, hooks=None, live: bool = True):
    """Run the system live for `seconds`, stop it gracefully; (store, wallet lamports, tokens by mint of every
    buy order sent, executor status before the stop)."""
    with running_system(cfg, n_shards=1, start_market=False, live=live) as system:
        ray.get(system.simnet.airdrop.remote(address, START_SOL))
        ray.get(system.simnet.start_market.remote())
        run_for(system, seconds, hooks)
        ray.get(system.simnet.set_faults.remote({}))          # the chain heals; what was left open settles
        executor = ray.get(system.actor(names.EXECUTOR).status.remote())
        system.stop()
        store = open_ledger(system.cfg.ledger.path)
        mints = {o.mint for o in store.orders() if o.side is Side.BUY}
        balance = ray.get(system.simnet.balance.remote(address))
        tokens = {m: ray.get(system.simnet.token_balance.remote(address, m)) for m in mints}
    return store, balance, tokens, executor


def assert_ledger_is_the_chain(store, balance: int, tokens: dict[str, int]) -> None:
    """Nothing lost (every token the wallet holds is in a booked fill), nothing doubled, nothing left open, and
    the SOL balance is the start less the buys, plus the sells, less the fees of landed-but-failed txs."""
    fills = store.fills()
    buys = [f for f in fills if f.side is Side.BUY]
    sells = [f for f in fills if f.side is Side.SELL]
    assert balance == START_SOL - sum(f.lamports for f in buys) + sum(f.lamports for f in sells) - \
        store.tx_costs_total()
    for mint, held in tokens.items():
        bought = sum(f.tokens for f in buys if f.mint == mint)
        sold = sum(f.tokens for f in sells if f.mint == mint)
        assert held == bought - sold, f"{mint}: chain holds {held}, ledger {bought} - {sold}"
    for o in store.orders(states=[S.CONFIRMED]):
        assert store.fills(o.id), f"confirmed order {o.id} has no fill (lost)"
    per_strategy_mint = {}
    for o in store.orders():
        if o.side is Side.BUY and o.state not in (S.FAILED, S.EXPIRED):
            per_strategy_mint.setdefault((o.reason, o.mint), []).append(o.id)
    # (a re-entry after a close waits out the risk book's 300 s cooldown, longer than these runs)
    assert all(len(ids) == 1 for ids in per_strategy_mint.values()), "a strategy bought a mint twice"
    assert store.open_orders() == []
    assert_books_consistent(store)


def tracked_exits(store, fills_before: float) -> tuple[int, list[str]]:
    """(positions opened, mints bought before `fills_before` that were never sold): a buy the system lost track
    of, or an exit stuck, shows here while the chain itself was healthy for the exit rules to act."""
    buys = [f for f in store.fills() if f.side is Side.BUY]
    sold = {f.mint for f in store.fills() if f.side is Side.SELL}
    return len(buys), [f.mint for f in buys if f.ts < fills_before and f.mint not in sold]


def test_a_live_run_without_the_opt_in_proof_sends_nothing(ray_session, tmp_path):
    cfg, address = live_config(tmp_path)
    store, balance, tokens, executor = trade(cfg, address, 12, live=False)
    buys = store.orders(side=Side.BUY)
    assert buys, "the sniper tried"
    assert all(o.state is S.FAILED and "live sends refused" in o.error and not o.signature for o in buys)
    assert store.fills() == [] and balance == START_SOL and not any(tokens.values())


def test_a_buy_whose_transaction_is_null_after_confirmation_is_booked_and_exited(ray_session, tmp_path):
    # getTransaction answers null for 5 s after each confirmation, beyond the Executor's own 3 s of retries:
    # those fills are booked by the reconciler, and the positions they open are exited like any other
    cfg, address = live_config(tmp_path, confirm_timeout_s=3.0)
    hooks = {0.0: lambda s: ray.get(s.simnet.set_faults.remote({"null_transaction_after_confirm_s": 5.0}))}
    store, balance, tokens, executor = trade(cfg, address, 30, hooks)
    assert executor["counts"].get("confirmed_fill_pending", 0) >= 1, executor["counts"]
    opened, unsold = tracked_exits(store, store.fills()[-1].ts - 15 if store.fills() else 0)
    assert opened >= 2 and unsold == [], f"{len(unsold)} of {opened} positions never exited"
    assert_ledger_is_the_chain(store, balance, tokens)


def test_a_sell_refused_with_429s_is_retried_under_a_new_order_id_until_it_fills(ray_session, tmp_path):
    cfg, address = live_config(tmp_path)
    storm = {"http_429_rate": 1.0, "http_429_methods": ["simulateTransaction"]}
    hooks = {8.0: lambda s: ray.get(s.simnet.set_faults.remote(storm)),
             16.0: lambda s: ray.get(s.simnet.set_faults.remote({}))}
    store, balance, tokens, executor = trade(cfg, address, 30, hooks)
    sells = store.orders(side=Side.SELL)
    refused = [o for o in sells if o.state is S.FAILED and o.error.startswith("not sent")]
    assert refused, "the storm hit no sell"
    for o in refused:   # each refused exit was tried again under another id, and that one sold
        later = [x for x in sells if x.mint == o.mint and x.id != o.id and x.state is S.CONFIRMED]
        assert later, f"exit of {o.mint} stuck after {o.error}"
    assert executor["counts"].get("execute_error", 0) == 0
    assert_ledger_is_the_chain(store, balance, tokens)


def test_transactions_landing_after_the_confirm_timeout_are_found_by_signature(ray_session, tmp_path):
    # every transaction lands 40 slots (4 s) after it is sent, past the 2 s confirm timeout: each is left
    # unresolved, found by its signature by the reconciler, and booked once
    cfg, address = live_config(tmp_path, confirm_timeout_s=2.0)
    hooks = {0.0: lambda s: ray.get(s.simnet.set_faults.remote({"land_delay_slots": 40})),
             22.0: lambda s: ray.get(s.simnet.set_faults.remote({}))}
    store, balance, tokens, executor = trade(cfg, address, 30, hooks)
    late = [o for o in store.orders(states=[S.CONFIRMED])
            if S.UNRESOLVED in [t.state for t in store.history(o.id)]]
    assert any(o.side is Side.BUY for o in late) and any(o.side is Side.SELL for o in late), \
        [(o.side, o.state) for o in late]
    late_buys = {o.mint for o in late if o.side is Side.BUY}
    sold = {f.mint for f in store.fills() if f.side is Side.SELL}
    assert late_buys & sold, "no position opened by a late buy was tracked and exited"
    for mint in {o.mint for o in store.orders()}:      # never sold twice: a sell per position, at most its tokens
        bought = sum(f.tokens for f in store.fills() if f.mint == mint and f.side is Side.BUY)
        assert sum(f.tokens for f in store.fills() if f.mint == mint and f.side is Side.SELL) <= bought
    assert_ledger_is_the_chain(store, balance, tokens)
