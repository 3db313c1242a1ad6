"""A launch: the dev's create (+ buy) transaction, alone or as a Jito bundle with its bundlers' buys, and the
schedule of everything that will happen to the coin (snipers, organic arrivals, the whale, the dev's dump or
exit, a runner's buyers)."""
from __future__ import annotations

import random

from solders.keypair import Keypair

from pipelines.chain.curve import apply_buy, slippage_min_out

from . import agents as A
from . import execution as X
from .book import Action, Book, Coin
from .trading import plan_exit

DEV_FEE_BUDGET = 50_000_000          # lamports a dev keeps for the create's rent and fees


def launch(book: Book, rng: random.Random) -> Coin | None:
    """Plan and send one launch with the coin's own rng; the new Coin, or None if it did not land."""
    plan = A.plan_coin(rng, book.params, book.knobs)
    mint_kp = Keypair.from_seed(rng.getrandbits(256).to_bytes(32, "little"))
    dev = book.population.pick(book.rng, A.DEV, book.slot)
    if dev is None:
        book.counters["launches_skipped"] += 1
        return None
    slot, mint, tp, view = book.slot, str(mint_kp.pubkey()), plan.token_program, book.view
    state = view.initial_state
    dev_buy = None
    quotes = []                       # (tx index in the bundle, wallet, agent, quote): the buys, as they will land
    if plan.dev_buy_lamports:
        q = view.quote_buy(state, plan.dev_buy_lamports)
        dev_buy = (plan.dev_buy_lamports, slippage_min_out(q.tokens, 100))
        quotes.append((0, dev, A.DEV, q))
        state = apply_buy(state, q)
    book.fund(dev, plan.dev_buy_lamports + DEV_FEE_BUDGET)
    dev.busy_slot = slot
    fee_recipient = rng.choice(view.fee_recipients)
    txs = [X.create_tx(dev.keypair, mint_kp, name=plan.name, symbol=plan.symbol, uri=plan.uri, token_program=tp,
                       fee_recipient=fee_recipient, dev_buy=dev_buy, blockhash=book.blockhash,
                       cu_price=A.cu_price(rng, A.BUNDLER if plan.bundled else A.DEV))]
    for _ in range(plan.bundled):
        w = book.population.pick(book.rng, A.BUNDLER, slot)
        if w is None:
            continue
        lamports = A.sol(A.lognormal(rng, book.params.sniper_buy_median_sol, 0.5))
        book.fund(w, lamports)
        w.busy_slot = slot
        q = view.quote_buy(state, lamports)
        txs.append(X.curve_buy_tx(w.keypair, mint=mint, creator=dev.address, token_program=tp,
                                  fee_recipient=fee_recipient, blockhash=book.blockhash,
                                  cu_price=A.cu_price(rng, A.BUNDLER), spendable=lamports,
                                  min_tokens=slippage_min_out(q.tokens, 100)))
        quotes.append((len(txs) - 1, w, A.BUNDLER, q))
        state = apply_buy(state, q)
    if len(txs) > 1:
        results = book.send_bundle(txs, A.BUNDLER)
    else:
        res = book.send(txs[0], A.DEV)
        results = None if res is None else [res]
    if results is None:
        return None
    coin = Coin(mint, dev, plan, rng, slot, last_trade_slot=slot)
    book.coins[mint] = coin
    book.truth.launch(mint=mint, slot=slot, signature=results[0].signature, creator=dev.address,
                      symbol=plan.symbol, name=plan.name, token_program=tp, instruction=plan.venue_program,
                      fate=plan.fate, traits=plan.traits, bundled=bool(plan.bundled))
    book.counters["launches"] += 1
    book.counters[f"launches.{plan.venue_program}"] += 1
    for i, w, agent, q in quotes:
        book.record_buy(coin, w, agent, results[i].signature, q.sol_cost, q.tokens, q.total_sol)
        if agent == A.BUNDLER:
            plan_exit(book, coin, w, agent)
    plan_life(book, coin)
    return coin


def plan_life(book: Book, coin: Coin) -> None:
    plan, rng, p, mint = coin.plan, coin.rng, book.params, coin.mint
    for _ in range(plan.snipers):
        size = A.sol(A.lognormal(rng, p.sniper_buy_median_sol, 0.6))
        book.schedule(coin, A.sniper_delay(rng), Action("buy", mint, A.SNIPER, lamports=size))
    for offset in A.organic_arrivals(rng, plan):
        book.schedule(coin, offset, Action("buy", mint, A.ORGANIC))
    if plan.whale_share:
        book.schedule(coin, rng.randint(1, 6), Action("buy", mint, A.WHALE, supply_share=plan.whale_share))
    if plan.rug_after_slots:
        book.schedule(coin, plan.rug_after_slots, Action("sell", mint, A.DEV, wallet=coin.dev.address))
    for i, offset in enumerate(plan.exit_slots):
        last = i == len(plan.exit_slots) - 1
        book.schedule(coin, offset, Action("sell", mint, A.DEV, wallet=coin.dev.address,
                                           fraction=1.0 if last else rng.uniform(0.3, 0.6)))
    if plan.fate == A.COMPLETE:
        book.schedule(coin, A.runner_interarrival(rng, p, book.knobs), Action("buy", mint, A.RUNNER))
