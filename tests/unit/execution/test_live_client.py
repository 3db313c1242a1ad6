"""The live execution client against a real simnet on loopback (real signing, real sends, simnet's faults), with a
real RpcClient and a real SQLite ledger: what leaves the process when, and what each hostile answer becomes."""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from actors.chain_reader import ChainReader
from actors.execution.client import Market
from actors.execution.live import REBROADCAST_S, LiveClient
from actors.execution.sender import LiveSender
from actors.rpc_client import RpcClient, RpcUnavailable
from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.config import RpcConfig, SimnetConfig
from pipelines.ledger import LedgerStore
from pipelines.live_guard import LiveOptIn, make_opt_in
from pipelines.messages import Order, OrderState, Side
from pipelines.orders import reconcile_steps, transition
from simnet.server import Simnet
from tests.integration.simnet.chain import funded, launch_coin

SOL = 1_000_000_000
S = OrderState


class Handle:
    """An RpcClient called the way actors call the RpcPool (`h.method.remote(...)`), for the ChainReader."""

    def __init__(self, client) -> None:
        self._c = client

    def __getattr__(self, name):
        return SimpleNamespace(remote=getattr(self._c, name))


class Journal:
    """The ledger as the live client writes to it (the Ledger actor's record_order)."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    async def record_order(self, order: Order) -> Order:
        return self.store.record_order(order)


@pytest.fixture
async def chain(tmp_path):
    async with Simnet(SimnetConfig(speed=10.0)) as sn:          # 40 ms slots: a blockhash lives ~6 s
        rpc = RpcClient([sn.http_url], RpcConfig(max_retries=1, backoff_base_s=0.05, backoff_max_s=0.2,
                                                 timeout_s=2.0))
        store = LedgerStore(tmp_path / "ledger.sqlite")
        wallet = funded(sn, 5)
        mint = launch_coin(sn, funded(sn, 5))
        view = await ChainReader(Handle(rpc)).curve(mint)
        yield SimpleNamespace(sn=sn, rpc=rpc, store=store, wallet=wallet, mint=mint, view=view)
        await rpc.close()
        store.close()


def client(c, proof="ok", **kw) -> LiveClient:
    sender = LiveSender(c.rpc, c.wallet, jupiter_url=c.sn.jupiter_url, cu_limit=200_000, cu_price=100_000)
    if proof == "ok":
        proof = make_opt_in("live", True, str(c.wallet.pubkey()))
    opts = dict(confirm_timeout_s=15.0, slippage_bps=500, max_cu_price=5_000_000, fill_wait_s=10.0)
    opts.update(kw)
    return LiveClient(sender, Journal(c.store), proof, **opts)


def intent(c, oid="buy-1", amount=SOL // 10) -> Order:
    order = Order(id=oid, mint=c.mint, side=Side.BUY, venue="pumpfun", amount=amount, limit=1, mode="live",
                  reason="sniper", opportunity_id=f"opp-{oid}", created_at=time.time(), updated_at=time.time())
    assert c.store.claim_entry(order) is not None
    return order


def tokens_held(c) -> int:
    acc = c.sn.bank.get_account(pda.associated_token(c.wallet.pubkey(), c.mint, P.TOKEN))
    return 0 if acc is None else int.from_bytes(bytes(acc.data)[64:72], "little")


async def test_without_the_run_s_opt_in_proof_nothing_is_sent(chain):
    start = chain.sn.bank.get_balance(chain.wallet.pubkey())
    for proof in (None, LiveOptIn("live", str(Keypair().pubkey()), True), LiveOptIn("paper", "x", True)):
        live = client(chain, proof=proof)
        order = intent(chain, oid=f"buy-{id(proof)}")
        market = Market(curve=chain.view)
        out = await live.execute(order, market, live.prepare(order, market))
        assert out.state is S.FAILED and not out.sent and "live sends refused" in out.error
        assert chain.store.get_order(order.id).state is S.INTENT          # no signature was ever recorded
        chain.store.record_order(transition(out.order, S.FAILED, time.time(), error=out.error))  # as the host does
    await asyncio.sleep(0.3)
    assert chain.sn.bank.get_balance(chain.wallet.pubkey()) == start and tokens_held(chain) == 0


def _fields(order: Order) -> dict:
    return {f: getattr(order, f) for f in order.__dataclass_fields__}


async def test_the_signed_entry_reaches_the_node_only_after_its_intent(chain):
    # every simulate / send the node receives is answered 429 and counted by simnet: prepare (beside the intent
    # write) must not cause one; execute (after it) does, and a 429 before the send fails the order unsent
    chain.sn.faults.configure({"http_429_rate": 1.0, "http_429_methods": ["simulateTransaction", "sendTransaction"]})
    live = client(chain)
    order = intent(chain)
    market = Market(curve=chain.view)
    prepared = live.prepare(order, market)
    tx, last_valid, endpoint = await prepared
    await asyncio.sleep(0.2)
    assert chain.sn.faults.fired["http_429"] == 0 and last_valid > 0 and endpoint == chain.sn.http_url
    out = await live.execute(order, market, prepared)
    assert chain.sn.faults.fired["http_429"] >= 1
    assert out.state is S.FAILED and not out.sent and "RpcUnavailable" in out.error
    assert chain.store.get_order(order.id).state is S.INTENT and tokens_held(chain) == 0


async def test_a_buy_whose_transaction_is_null_after_confirmation_is_still_filled(chain):
    chain.sn.faults.configure({"null_transaction_after_confirm_s": 3.0})
    start = chain.sn.bank.get_balance(chain.wallet.pubkey())
    live = client(chain, fill_wait_s=0.5)
    order = intent(chain)
    market = Market(curve=chain.view)
    out = await live.execute(order, market, live.prepare(order, market))
    # landed, but the node will not serve the transaction yet: confirmed without a fill, not "unresolved"
    assert out.state is S.CONFIRMED and out.fill is None and out.sent
    assert chain.sn.faults.fired["null_transactions"] >= 1
    fill = await live.fetch_fill(out.order, 15.0)             # retried with backoff until the index catches up
    assert fill is not None and fill.signature == out.order.signature
    assert fill.tokens == tokens_held(chain) > 0
    assert fill.lamports == start - chain.sn.bank.get_balance(chain.wallet.pubkey())


async def test_a_late_landing_is_unresolved_then_found_by_signature_and_it_was_rebroadcast(chain):
    chain.sn.faults.configure({"land_delay_slots": 120})       # 4.8 s at 40 ms a slot; the confirm timeout is 2 s
    live = client(chain, confirm_timeout_s=2.0)
    order = intent(chain)
    market = Market(curve=chain.view)
    out = await live.execute(order, market, live.prepare(order, market))
    assert out.state is S.UNRESOLVED and out.error == "confirm_timeout"   # not expired: its blockhash is valid
    assert chain.sn.faults.fired["delayed_transactions"] >= 2             # sent, then re-sent ~2 s later
    submitted = chain.store.get_order(order.id)
    assert submitted.state is S.SUBMITTED and submitted.signature == out.order.signature
    sends = chain.sn.faults.fired["delayed_transactions"]
    await asyncio.sleep(REBROADCAST_S + 0.5)
    # unresolved with its blockhash valid, it is re-sent (~4 s) until the node has it (it lands at ~4.8 s)
    assert chain.sn.faults.fired["delayed_transactions"] > sends or tokens_held(chain) > 0
    deadline = time.time() + 15
    steps = []
    while time.time() < deadline:
        steps = reconcile_steps(submitted, await live.chain_view([submitted]), time.time())
        if steps and steps[-1].state is S.CONFIRMED:
            break
        await asyncio.sleep(0.3)
    assert steps and steps[-1].state is S.CONFIRMED
    fill = await live.fetch_fill(steps[-1], 5.0)
    assert fill is not None and fill.tokens == tokens_held(chain) > 0


async def test_a_dropped_transaction_expires_by_block_height_not_by_the_clock(chain):
    chain.sn.faults.configure({"drop_transactions": 1.0})
    live = client(chain, confirm_timeout_s=30.0)
    order = intent(chain)
    market = Market(curve=chain.view)
    out = await live.execute(order, market, live.prepare(order, market))
    assert out.state is S.EXPIRED and out.error == "blockhash_expired"
    assert await chain.rpc.get_block_height() > out.order.last_valid_block_height
    assert tokens_held(chain) == 0


async def test_a_429_on_a_sell_s_simulation_fails_it_unsent_and_a_timeout_while_confirming_is_survived(chain):
    live = client(chain)
    buy = intent(chain)
    market = Market(curve=chain.view)
    bought = await live.execute(buy, market, live.prepare(buy, market))
    assert bought.state is S.CONFIRMED and bought.fill is not None
    view = await ChainReader(Handle(chain.rpc)).curve(chain.mint)
    sell = Order(id="sell-1", mint=chain.mint, side=Side.SELL, venue="pumpfun", amount=bought.fill.tokens, limit=0,
                 mode="live", reason="stop_loss", created_at=time.time(), updated_at=time.time())
    chain.store.record_order(sell)
    chain.sn.faults.configure({"http_429_rate": 1.0, "http_429_methods": ["simulateTransaction"]})
    out = await live.execute(sell, Market(curve=view), None)
    assert out.state is S.FAILED and not out.sent and tokens_held(chain) == bought.fill.tokens
    # the statuses answer 429 half of the time while the sell confirms: it is still confirmed and filled
    chain.sn.faults.configure({"http_429_rate": 0.5, "http_429_methods": ["getSignatureStatuses", "getBlockHeight"],
                               "seed": 3})
    again = Order(**{**_fields(sell), "id": "sell-2"})
    chain.store.record_order(again)
    out = await live.execute(again, Market(curve=view), None)
    assert out.state is S.CONFIRMED and out.fill is not None and out.fill.tokens == bought.fill.tokens
    assert tokens_held(chain) == 0


async def test_a_pinned_call_asks_only_its_endpoint(chain):
    # a dead endpoint first in the pool: unpinned calls fail over to the live one; a call pinned to the dead one
    # does not (a blockhash's expiry must be judged by the node that gave it), and one pinned to the live one works
    rpc = RpcClient(["http://127.0.0.1:9", chain.sn.http_url],
                    RpcConfig(max_retries=2, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=1.0))
    try:
        assert await rpc.get_block_height() >= 0
        with pytest.raises(RpcUnavailable):
            await rpc.get_block_height("http://127.0.0.1:9")
        assert await rpc.get_block_height(chain.sn.http_url) >= 0
        assert rpc.best_endpoint() == chain.sn.http_url                 # the dead one is benched
        bh, last_valid = await rpc.get_latest_blockhash("confirmed", chain.sn.http_url)
        assert last_valid > await rpc.get_block_height(chain.sn.http_url)
    finally:
        await rpc.close()


async def test_a_jupiter_sell_is_checked_before_signing_and_a_tampered_one_never_leaves(chain):
    live = client(chain)
    buy = intent(chain)
    market = Market(curve=chain.view)
    bought = await live.execute(buy, market, live.prepare(buy, market))
    assert bought.state is S.CONFIRMED and bought.fill is not None
    half = bought.fill.tokens // 2

    def sell(oid: str) -> Order:
        order = Order(id=oid, mint=chain.mint, side=Side.SELL, venue="pumpfun", amount=half, limit=0, mode="live",
                      reason="migrated", created_at=time.time(), updated_at=time.time())
        chain.store.record_order(order)
        return order

    # a compromised Jupiter API: every swap carries a transfer to a stranger. Refused before signing, nothing sent
    chain.sn.faults.configure({"jupiter_tamper": 1.0})
    stranger_before = chain.sn.bank.get_balance(Pubkey.from_string(chain.sn.faults.stranger))
    out = await live.execute(sell("sell-1"), Market(pool=object()), None)
    assert out.state is S.FAILED and not out.sent and "jupiter transaction refused" in out.error
    assert chain.sn.faults.stranger in out.error and chain.sn.faults.fired["tampered_swaps"] >= 1
    assert chain.sn.bank.get_balance(Pubkey.from_string(chain.sn.faults.stranger)) == stranger_before
    assert tokens_held(chain) == bought.fill.tokens
    # an honest one is signed, sent and filled
    chain.sn.faults.configure({})
    out = await live.execute(sell("sell-2"), Market(pool=object()), None)
    assert out.state is S.CONFIRMED and out.fill is not None and out.fill.tokens == half
    assert tokens_held(chain) == bought.fill.tokens - half


async def test_a_transaction_that_landed_and_failed_has_its_fee_booked_when_the_chain_serves_it_late(chain):
    # a buy whose minimum out cannot be met lands and fails on chain (no simulation to stop it); getTransaction
    # answers null for 2 s after it is confirmed: the fee it paid is still read, not taken as 0
    chain.sn.faults.configure({"null_transaction_after_confirm_s": 2.0})
    sender = LiveSender(chain.rpc, chain.wallet, jupiter_url=chain.sn.jupiter_url, cu_limit=200_000,
                        cu_price=100_000, simulate=False)
    live = LiveClient(sender, Journal(chain.store), make_opt_in("live", True, str(chain.wallet.pubkey())),
                      confirm_timeout_s=15.0, slippage_bps=500, max_cu_price=5_000_000, fill_wait_s=6.0)
    order = Order(id="buy-unmet", mint=chain.mint, side=Side.BUY, venue="pumpfun", amount=SOL // 10,
                  limit=10**18, mode="live", reason="sniper", opportunity_id="opp-unmet", created_at=time.time(),
                  updated_at=time.time())                   # more tokens out than the curve holds
    assert chain.store.claim_entry(order) is not None
    start = chain.sn.bank.get_balance(chain.wallet.pubkey())
    market = Market(curve=chain.view)
    out = await live.execute(order, market, live.prepare(order, market))
    paid = start - chain.sn.bank.get_balance(chain.wallet.pubkey())
    assert out.state is S.FAILED and out.sent and chain.sn.faults.fired["null_transactions"] >= 1
    assert paid > 0 and out.fee_lamports == paid and tokens_held(chain) == 0
