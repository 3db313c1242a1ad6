"""The agents do what they are for, seen on chain and in the decoded events, not only in the market's records."""
from __future__ import annotations

from collections import defaultdict

from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import decode_pumpswap_pool
from pipelines.chain.events import Launch, Trade
from pipelines.chain.pump_state import decode_bonding_curve

SUPPLY = 1_000_000_000_000_000


def _ata_balance(bank, owner: str, mint: str, token_program: str) -> int:
    acc = bank.get_account(pda.associated_token(owner, mint, token_program))
    return int.from_bytes(bytes(acc.data)[64:72], "little") if acc is not None else 0


def test_rugs_dump_the_creator_bag_on_chain(behaviour_run):
    bank, truth = behaviour_run.bank, behaviour_run.market.ground_truth()
    launches = {t["mint"]: t for t in truth["launches"]}
    sells = {e.signature: e for e in behaviour_run.events() if isinstance(e, Trade) and e.side == "sell"}
    assert len(truth["rugs"]) >= 5
    for rug in truth["rugs"]:
        launch = launches[rug["mint"]]
        assert rug["creator"] == launch["creator"]
        assert "creator_dump" in launch["traits"]
        ev = sells[rug["signature"]]                       # the dump is a real sell by the creator
        assert (ev.mint, ev.user, ev.token_amount) == (rug["mint"], rug["creator"], rug["token_amount"])
        assert _ata_balance(bank, rug["creator"], rug["mint"], launch["token_program"]) == 0


def test_runners_complete_migrate_and_keep_trading_on_pumpswap(behaviour_run):
    bank, truth = behaviour_run.bank, behaviour_run.market.ground_truth()
    assert truth["completes"] and truth["migrations"]
    events = behaviour_run.events()
    swaps_by_pool = defaultdict(list)
    for e in events:
        if isinstance(e, Trade) and e.venue == "pumpswap":
            swaps_by_pool[e.pool].append(e)
    for m in truth["migrations"]:
        curve = decode_bonding_curve(bytes(bank.get_account(pda.bonding_curve(m["mint"])).data))
        assert curve.complete and curve.real_sol_reserves == 0 and curve.real_token_reserves == 0
        pool = decode_pumpswap_pool(bytes(bank.get_account(m["pool"]).data))
        assert pool.base_mint == m["mint"] and pool.quote_mint == P.WSOL_MINT
        assert pool.creator == str(pda.pool_authority(m["mint"]))
    # the pools are traded after the migration, both ways
    traded = [m for m in truth["migrations"] if swaps_by_pool[m["pool"]]]
    assert traded
    sides = {e.side for m in traded for e in swaps_by_pool[m["pool"]]}
    assert sides == {"buy", "sell"}
    assert all(e.slot > m["slot"] for m in traded for e in swaps_by_pool[m["pool"]])


def test_dead_coins_stop_trading(behaviour_run):
    truth = behaviour_run.market.ground_truth()
    dead = {d["mint"]: d for d in truth["dead"]}
    assert len(dead) >= 50
    assert {"faded", "rugged"} <= {d["reason"] for d in dead.values()}
    mint_of_pool = {m["pool"]: m["mint"] for m in truth["migrations"]}
    last = defaultdict(int)
    for e in behaviour_run.events():
        if isinstance(e, Trade):
            mint = e.mint or mint_of_pool[e.pool]       # logs name a PumpSwap trade's pool, not its mint
            last[mint] = max(last[mint], e.slot)
    for mint, d in dead.items():
        assert last[mint] == d["last_trade_slot"] <= d["slot"], mint
    # and nothing of theirs is left in the market's schedule
    assert not set(dead) & set(behaviour_run.market.coins)


def test_launch_mix_and_risky_traits(behaviour_run):
    truth = behaviour_run.market.ground_truth()
    events = behaviour_run.events()
    launches = [e for e in events if isinstance(e, Launch)]
    assert {e.token_program for e in launches} == {P.TOKEN, P.TOKEN_2022}
    trades = [t for t in truth["trades"] if t["venue"] == "pumpfun" and t["side"] == "buy"]
    by_mint = defaultdict(list)
    for t in trades:
        by_mint[t["mint"]].append(t)
    bundled = [l for l in truth["launches"] if l["bundled"]]
    assert bundled
    for launch in bundled:     # bundle buys land in the create's own slot, right behind it
        assert [t for t in by_mint[launch["mint"]] if t["agent"] == "bundler" and t["slot"] == launch["slot"]]
    concentrated = [l for l in truth["launches"] if "concentrated" in l["traits"]]
    assert concentrated
    whale_buys = [t for l in concentrated for t in by_mint[l["mint"]] if t["agent"] == "whale"]
    assert whale_buys and all(t["token_amount"] >= 0.06 * SUPPLY - 1 for t in whale_buys)


def test_only_intended_failures(behaviour_run):
    stats = behaviour_run.market.stats()
    assert stats["action_errors"] == 0 and stats["quote_mismatch"] == 0
    # snipers quoting the state they saw when the slot opened lose same-slot races (BuySlippageBelowMinTokensOut)
    assert set(stats["failures_by_agent"]) <= {"sniper:Custom(6042)"}
    assert 0 < stats["tx_failed"] < 0.1 * stats["tx_sent"]
    failed = [st for st in behaviour_run.txs if st.result.err is not None]
    assert len(failed) == stats["tx_failed"]          # failed transactions land (and pay fees), like mainnet
