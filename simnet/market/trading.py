"""Running a scheduled action: buys and sells on the curve or, after migration, on the PumpSwap pool, and the
migration itself. Every trade is quoted on the chain state it will execute on (snipers excepted: they quote
the state of the slot's opening and race), sent as a signed transaction, and recorded only once it landed."""
from __future__ import annotations

from pipelines.chain import pda
from pipelines.chain.curve import slippage_max_cost, slippage_min_out

from . import agents as A
from . import execution as X
from .book import AMM, COMPLETE, CURVE, Action, Book, Coin
from .population import LAMPORTS_PER_SOL, Wallet

RUNNER_MAX_BUYS = 800                 # a runner that still has not completed after this many buys gives up
RUG_FLEE_PROBABILITY = 0.85           # organic buyers scheduled after a rug mostly never come
MIGRATE_DELAY = (1, 3)                # slots from completion to the migration bot's transaction
MIGRATE_ATTEMPTS = 3
MIGRATOR_MIN_LAMPORTS = 10 * LAMPORTS_PER_SOL


def run(book: Book, coin: Coin, action: Action) -> None:
    if action.kind == "migrate":
        migrate(book, coin)
    elif coin.phase == COMPLETE:
        book.schedule(coin, 2, action)    # the curve is full and the pool not there yet: traders wait for it
    elif action.kind == "buy":
        buy(book, coin, action)
    else:
        sell(book, coin, action)


def _wallet_for(book: Book, coin: Coin, action: Action) -> Wallet | None:
    if action.wallet:
        w = book.population.by_address[action.wallet]
        return w if w.busy_slot != book.slot else None
    role = A.ORGANIC if action.agent in (A.RUNNER, A.AMM_TRADER) else action.agent
    return book.population.pick(book.rng, role, book.slot, avoid=coin.mint)


def buy(book: Book, coin: Coin, action: Action) -> None:
    rng = coin.rng
    if coin.rugged and action.agent == A.ORGANIC and rng.random() < RUG_FLEE_PROBABILITY:
        return
    w = _wallet_for(book, coin, action)
    if w is None:
        book.schedule(coin, 1, action)
        return
    lamports, micro = action.lamports, False
    if not lamports:
        lamports, micro = A.buy_lamports(rng, book.params, allow_micro=action.agent in (A.ORGANIC, A.AMM_TRADER))
    if coin.phase == AMM:
        _swap_buy(book, coin, w, action.agent, lamports, exits=not micro)
    else:
        _curve_buy(book, coin, w, action, lamports, exits=not micro)
    if action.agent == A.RUNNER and coin.phase == CURVE and coin.runner_buys < RUNNER_MAX_BUYS:
        coin.runner_buys += 1
        book.schedule(coin, A.runner_interarrival(rng, book.params, book.knobs), Action("buy", coin.mint, A.RUNNER))


def _curve_buy(book: Book, coin: Coin, w: Wallet, action: Action, lamports: int, *, exits: bool) -> None:
    rng, agent, mint, view = coin.rng, action.agent, coin.mint, book.view
    bc = view.curve(mint)
    if bc is None or bc.complete:
        return
    state = bc.state()
    if agent == A.SNIPER:
        # snipers decided on what they saw first in this slot: same-slot snipers race, the late ones can miss
        state = book.sniper_states.setdefault(mint, state)
        bps = A.sniper_slippage_bps(rng)
    else:
        bps = A.slippage_bps(rng)
    tokens = 0
    if action.supply_share:
        tokens = min(int(state.token_total_supply * action.supply_share), state.real_token_reserves)
        q = view.quote_buy_tokens(state, tokens)
        lamports = slippage_max_cost(q.total_sol, bps)
    else:
        q = view.quote_buy(state, lamports)
    if q.tokens <= 0:
        return
    book.fund(w, lamports)
    kw = dict(mint=mint, creator=coin.dev.address, token_program=coin.plan.token_program,
              fee_recipient=rng.choice(view.fee_recipients), blockhash=book.blockhash,
              cu_price=A.cu_price(rng, agent))
    if tokens:
        tx = X.curve_buy_tx(w.keypair, tokens=q.tokens, max_cost=lamports, **kw)
    else:
        tx = X.curve_buy_tx(w.keypair, spendable=lamports, min_tokens=slippage_min_out(q.tokens, bps), **kw)
    w.busy_slot = book.slot
    res = book.send(tx, agent)
    if res is None:
        return
    live = view.curve(mint)            # what landed (a sniper's stale quote can differ from it)
    tokens_got = bc.real_token_reserves - live.real_token_reserves
    if agent != A.SNIPER and tokens_got != q.tokens:
        book.counters["quote_mismatch"] += 1
    book.record_buy(coin, w, agent, res.signature, live.real_sol_reserves - bc.real_sol_reserves, tokens_got,
                    lamports)
    if exits:
        plan_exit(book, coin, w, agent)
    if live.complete:
        coin.phase = COMPLETE
        book.truth.complete(mint=mint, slot=book.slot, signature=res.signature, user=w.address)
        book.counters["completes"] += 1
        book.schedule(coin, rng.randint(*MIGRATE_DELAY), Action("migrate", mint, "migration"))


def _swap_buy(book: Book, coin: Coin, w: Wallet, agent: str, lamports: int, *, exits: bool) -> None:
    rng, view = coin.rng, book.view
    ps = view.pool(coin.mint)
    if ps is None:
        return
    q = view.quote_swap_buy(ps, lamports)
    if q.base_out <= 0:
        return
    book.fund(w, lamports)
    bps = A.slippage_bps(rng)
    tx = X.swap_buy_tx(w.keypair, ps, spendable=lamports, min_base=slippage_min_out(q.base_out, bps),
                       fee_recipient=rng.choice(view.amm_fee_recipients), blockhash=book.blockhash,
                       cu_price=A.cu_price(rng, agent))
    w.busy_slot = book.slot
    res = book.send(tx, agent)
    if res is None:
        return
    book.truth.trade(mint=coin.mint, slot=book.slot, signature=res.signature, side="buy", user=w.address,
                     venue="pumpswap", agent=agent, lamports=q.quote_in, tokens=q.base_out, pool=ps.key)
    book.note_trade(coin, w, agent, q.total_quote)
    if exits:
        plan_exit(book, coin, w, agent)


def plan_exit(book: Book, coin: Coin, w: Wallet, agent: str) -> None:
    """Schedule a buyer's sell (or nothing: a bag holder). Devs' sells are planned at launch."""
    rng, tau, p = coin.rng, coin.plan.tau_slots, book.params
    if agent == A.DEV:
        return
    if agent in (A.SNIPER, A.BUNDLER):
        delay = A.sniper_exit(rng, p, tau)
    elif agent == A.MOMENTUM:
        delay = A.momentum_hold(rng)
    elif agent == A.WHALE:
        delay = A.holder_exit(rng, p, tau, patience=3.0)
    elif agent == A.RUNNER:
        delay = A.holder_exit(rng, p, tau, patience=10.0)    # rides the run, mostly sells on the pool
    elif agent == A.AMM_TRADER:
        delay = A.holder_exit(rng, p, 3.0 * tau)
    else:
        delay = A.holder_exit(rng, p, tau)
    if delay is not None:
        book.schedule(coin, delay, Action("sell", coin.mint, agent, wallet=w.address))


def sell(book: Book, coin: Coin, action: Action) -> None:
    w = _wallet_for(book, coin, action)
    if w is None:
        book.schedule(coin, 1, action)
        return
    rng, mint, tp, view = coin.rng, coin.mint, coin.plan.token_program, book.view
    balance = view.token_balance(w.address, mint, tp)
    amount = balance if action.fraction >= 1.0 else int(balance * action.fraction)
    if amount <= 0:
        return
    bps = A.slippage_bps(rng)
    kw = dict(blockhash=book.blockhash, cu_price=A.cu_price(rng, action.agent))
    if coin.phase == AMM:
        ps = view.pool(mint)
        if ps is None:
            return
        try:
            q = view.quote_swap_sell(ps, amount)
        except ValueError:            # the pool cannot pay this sell
            return
        tx = X.swap_sell_tx(w.keypair, ps, amount=amount, min_quote=slippage_min_out(q.net_quote, bps),
                            fee_recipient=rng.choice(view.amm_fee_recipients), **kw)
        venue, lamports, pool, net = "pumpswap", q.quote_out_gross, ps.key, q.net_quote
    else:
        bc = view.curve(mint)
        if bc is None or bc.complete:
            return
        q = view.quote_sell(bc.state(), amount)
        if q.net_sol <= 0:
            return
        tx = X.curve_sell_tx(w.keypair, mint=mint, creator=coin.dev.address, token_program=tp,
                             fee_recipient=rng.choice(view.fee_recipients), amount=amount,
                             min_sol=slippage_min_out(q.net_sol, bps), close=amount == balance, **kw)
        venue, lamports, pool, net = "pumpfun", q.sol_out_gross, "", q.net_sol
    w.busy_slot = book.slot
    res = book.send(tx, action.agent)
    if res is None:
        return
    book.truth.trade(mint=mint, slot=book.slot, signature=res.signature, side="sell", user=w.address,
                     venue=venue, agent=action.agent, lamports=lamports, tokens=amount, pool=pool)
    book.note_trade(coin, w, action.agent, -net)
    if amount == balance:
        coin.holders.pop(w.address, None)
        w.holdings.discard(mint)
    if action.agent == A.DEV and coin.plan.fate == A.RUG:
        coin.rugged = True
        book.truth.rug(mint=mint, slot=book.slot, signature=res.signature, creator=w.address, tokens=amount,
                       lamports=net)
        book.counters["rugs"] += 1
    elif action.agent == A.MOMENTUM:
        coin.chasers = max(0, coin.chasers - 1)


def migrate(book: Book, coin: Coin) -> None:
    """pump's migration bot (Global.withdraw_authority) moves a completed curve into its PumpSwap pool."""
    authority = book.view.migration_authority
    if authority is None or coin.phase != COMPLETE:
        return
    if book.view.lamports(str(authority.pubkey())) < MIGRATOR_MIN_LAMPORTS:
        book.bank.airdrop(authority.pubkey(), 1_000 * LAMPORTS_PER_SOL + book.slot)
        book.counters["top_ups"] += 1
    tx = X.migrate_tx(authority, mint=coin.mint, token_program=coin.plan.token_program, blockhash=book.blockhash)
    coin.migrate_attempts += 1
    res = book.send(tx, "migration")
    if res is None:
        if coin.migrate_attempts < MIGRATE_ATTEMPTS:
            book.schedule(coin, 10, Action("migrate", coin.mint, "migration"))
        else:                         # give up: the coin's traders stop waiting and it dies
            coin.phase = CURVE
        return
    coin.phase = AMM
    pool = str(pda.canonical_pumpswap_pool(coin.mint))
    book.truth.migration(mint=coin.mint, pool=pool, slot=book.slot, signature=res.signature)
    book.counters["migrations"] += 1
    for offset in A.amm_activity(coin.rng, coin.plan):
        book.schedule(coin, offset, Action("buy", coin.mint, A.AMM_TRADER))
