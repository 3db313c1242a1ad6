"""live: the real-money path, readable on its own.

    prepare   build and sign the pump.fun transaction (blockhash from one endpoint): sends nothing, so it runs
              beside the intent write
    execute   after the intent is durable: refuse without the run's live opt-in proof; a Jupiter sell is
              fetched unsigned, checked (pipelines/chain/swap_check) and only then signed; simulate (the node
              sees the signed transaction, so never before the intent); record SUBMITTED with the signature;
              send and re-send every REBROADCAST_S (skipPreflight, maxRetries 0) until it is confirmed or the
              block height passes its lastValidBlockHeight, both asked of the endpoint that gave the blockhash;
              the wall-clock confirm timeout only makes it UNRESOLVED (the reconciler finds it by signature)
    fill      read from the landed transaction (getTransaction, retried with backoff while the node's index
              lags: null after confirmation); not readable within fill_wait_s -> CONFIRMED without a fill,
              booked by the reconciler later

Every failure before anything left the process is FAILED with sent=False: no order is left an intent.
"""
from __future__ import annotations

import asyncio
import logging
import time

from actors.execution.client import Market, Outcome, discard
from actors.execution.sender import LiveSender, SendError
from pipelines.chain import programs as P
from pipelines.chain.builders import build_buy_exact_sol_tx, build_sell_tx
from pipelines.chain.errors import DecodeError
from pipelines.chain.intents import PumpBuyExactSol, PumpSell
from pipelines.chain.swap_check import SwapExpectation, alt_addresses, allowed, check_swap, url_problem
from pipelines.fill_from_tx import fill_from_transaction
from pipelines.live_guard import opt_in_problem
from pipelines.messages import Fill, Order, OrderState, Side
from pipelines.orders import LANDED, StaticChainView, transition

log = logging.getLogger("launchray.executor.live")

CONFIRM_POLL_S = 0.4
REBROADCAST_S = 2.0
FILL_RETRY_FIRST_S = 0.25
FILL_RETRY_MAX_S = 4.0
RESEND_LIMIT_S = 120.0        # a blockhash lives ~60-90 s on mainnet: never re-send past this


class LiveClient:
    mode = "live"

    def __init__(self, sender: LiveSender, journal, opt_in, *, confirm_timeout_s: float, slippage_bps: int,
                 max_cu_price: int, extra_programs: tuple[str, ...] = (), fill_wait_s: float = 10.0) -> None:
        self.sender = sender
        self.journal = journal              # record_order(order), awaited
        self.opt_in = opt_in                # pipelines.live_guard.LiveOptIn, from the CLI (None: refuse)
        self.confirm_timeout_s = confirm_timeout_s
        self.slippage_bps = slippage_bps
        self.max_cu_price = max_cu_price
        self.allowed_programs = allowed(extra_programs)
        self.fill_wait_s = fill_wait_s
        self.counts: dict[str, int] = {}
        self._resending: set[asyncio.Future] = set()     # unresolved transactions still being re-sent

    @property
    def address(self) -> str:
        return self.sender.address

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    # --- build ---------------------------------------------------------------------------------------------
    def prepare(self, order: Order, market: Market):
        """The signed curve transaction as a task (a Jupiter sell is fetched and checked in execute)."""
        if market.curve is None or market.curve.curve.complete:
            return None
        return asyncio.ensure_future(self._build_curve_tx(order, market.curve))

    async def _build_curve_tx(self, order: Order, view):
        """(signed tx, last valid block height, endpoint) for `order` on the pump curve. Sends nothing."""
        s = self.sender
        creator = view.curve.creator
        if order.side is Side.BUY:
            intent = PumpBuyExactSol(mint=order.mint, user=s.address, fee_recipient=view.fee_recipient,
                                     creator=creator, spendable_sol_in=order.amount, min_tokens_out=order.limit,
                                     token_program=view.token_program)
            build = build_buy_exact_sol_tx
        else:
            intent = PumpSell(mint=order.mint, user=s.address, fee_recipient=view.fee_recipient, creator=creator,
                              amount=order.amount, min_sol_output=order.limit, token_program=view.token_program)
            build = build_sell_tx
        blockhash, last_valid, endpoint = await s.blockhash()
        tx = build(intent, s.keypair, blockhash, compute_unit_limit=s.cu_limit,
                   compute_unit_price=s.cu_price or None, tip=await s.tip())
        return tx, last_valid, endpoint

    async def _jupiter_sell_tx(self, order: Order):
        """(signed tx, last valid block height, endpoint) for a sell through Jupiter, checked before signing."""
        s = self.sender
        problem = url_problem(s.jupiter_url)
        if problem:
            raise SendError(problem)
        priority = -(-s.cu_limit * s.cu_price // 1_000_000)
        unsigned, last_valid = await s.jupiter_swap(order.mint, P.WSOL_MINT, order.amount, self.slippage_bps,
                                                    priority)
        message = unsigned.message
        tables = await self._lookup_tables(message)
        problems = check_swap(message, SwapExpectation(
            wallet=s.address, input_mint=order.mint, input_amount=order.amount, last_valid_block_height=last_valid,
            max_cu_price_micro_lamports=self.max_cu_price, allowed_programs=self.allowed_programs), tables)
        if problems:
            self._count("jupiter_refused")
            raise SendError("jupiter transaction refused: " + "; ".join(problems[:3]))
        endpoint = await _endpoint(s)
        return s.sign(message), last_valid, endpoint

    async def _lookup_tables(self, message) -> dict[str, list[str]] | None:
        lookups = list(getattr(message, "address_table_lookups", None) or [])
        if not lookups:
            return None
        keys = [str(lk.account_key) for lk in lookups]
        accounts = await self.sender.rpc.get_accounts(keys, "confirmed", True)
        out = {}
        for k in keys:
            acct = (accounts or {}).get(k)
            if acct is None or acct.get("owner") != "AddressLookupTab1e1111111111111111111111111":
                return None              # unresolved: check_swap refuses it
            out[k] = alt_addresses(acct["data"])
        return out

    # --- execute -------------------------------------------------------------------------------------------
    async def execute(self, order: Order, market: Market, prepared) -> Outcome:
        problem = opt_in_problem(self.opt_in, self.sender.address)
        if problem:
            discard(prepared)
            self._count("refused_no_opt_in")
            return Outcome(OrderState.FAILED, order, error=problem)
        try:
            if prepared is not None:
                tx, last_valid, endpoint = await prepared
            elif market.curve is not None and not market.curve.curve.complete:
                tx, last_valid, endpoint = await self._build_curve_tx(order, market.curve)
            else:
                tx, last_valid, endpoint = await self._jupiter_sell_tx(order)
            if last_valid <= 0:
                raise SendError("no lastValidBlockHeight for the transaction")
            await self.sender.simulate(tx)       # the intent is durable: the node may see the signed tx now
        except Exception as exc:   # noqa: BLE001 - 429s, timeouts, Jupiter errors: nothing was sent
            return Outcome(OrderState.FAILED, order, error=f"not sent: {_text(exc)}")
        submitted = transition(order, OrderState.SUBMITTED, time.time(), signature=str(tx.signatures[0]),
                               last_valid_block_height=last_valid)
        await self.journal.record_order(submitted)      # the signature is durable before the tx leaves
        outcome, err = await self._send_until_settled(submitted, tx, last_valid, endpoint)
        if outcome == "confirmed":
            fill = await self.fetch_fill(submitted, self.fill_wait_s)
            return Outcome(OrderState.CONFIRMED, submitted, fill=fill, sent=True)
        if outcome == "failed":
            fee, slot = await self.fee_of(submitted.signature, self.fill_wait_s)
            return Outcome(OrderState.FAILED, submitted, error=_text(err), sent=True, fee_lamports=fee,
                           fee_slot=slot)
        if outcome == "expired":
            return Outcome(OrderState.EXPIRED, submitted, error="blockhash_expired", sent=True)
        # unresolved by the clock, not expired: keep re-sending it until it is seen or its blockhash is gone
        task = asyncio.ensure_future(self._keep_sending(submitted, tx, last_valid, endpoint))
        self._resending.add(task)
        task.add_done_callback(self._resending.discard)
        return Outcome(OrderState.UNRESOLVED, submitted, error="confirm_timeout", sent=True)

    async def _keep_sending(self, order: Order, tx, last_valid: int, endpoint: str | None) -> None:
        """Re-send an unresolved transaction every REBROADCAST_S until the node has it or the block height is past
        its last valid one (the reconciler decides its state; this only gives it every chance to land)."""
        deadline = time.monotonic() + RESEND_LIMIT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(REBROADCAST_S)
            try:
                height = await self.sender.block_height(endpoint)
                if await self.sender.status(order.signature, endpoint) is not None or height > last_valid:
                    return
                await self.sender.send(tx, endpoint)
                self._count("resent_unresolved")
            except Exception as exc:   # noqa: BLE001 - a 429 / timeout: the next round tries again
                log.debug("re-send %s: %s", order.id, type(exc).__name__)

    async def _send_until_settled(self, order: Order, tx, last_valid: int, endpoint: str | None):
        """('confirmed'|'failed'|'expired'|'unresolved', err). The height is read BEFORE the status: a height
        past last_valid read first, then no status, means the tx can no longer land (it was not there when no
        block could take it any more); read the other way round it may have landed in between."""
        s = self.sender
        sig = order.signature
        deadline = time.monotonic() + self.confirm_timeout_s
        next_send = 0.0
        while True:
            now = time.monotonic()
            if now >= next_send:
                next_send = now + REBROADCAST_S
                try:
                    await s.send(tx, endpoint)
                except Exception as exc:   # noqa: BLE001 - a re-send fails: it may still land; the next one retries
                    self._count("send_error")
                    log.debug("send %s: %s", order.id, type(exc).__name__)
            try:
                height = await s.block_height(endpoint)
                status = await s.status(sig, endpoint)
            except Exception as exc:   # noqa: BLE001 - 429 / timeout while confirming: ask again
                self._count("confirm_poll_error")
                height, status = None, None
                log.debug("confirm %s: %s", order.id, type(exc).__name__)
            if status is not None and status.get("confirmationStatus") in LANDED:
                return ("failed", status.get("err")) if status.get("err") is not None else ("confirmed", None)
            if status is None and height is not None and height > last_valid:
                return "expired", None
            if time.monotonic() >= deadline:
                return "unresolved", None
            await asyncio.sleep(CONFIRM_POLL_S)

    async def fetch_fill(self, order: Order, wait_s: float) -> Fill | None:
        """The fill from the landed transaction; getTransaction retried with backoff for up to wait_s while it
        answers null (its index lags the status) or fails. None: not readable yet."""
        deadline = time.monotonic() + wait_s
        delay = FILL_RETRY_FIRST_S
        while True:
            try:
                tx = await self.sender.transaction(order.signature)
                if tx is not None:
                    return fill_from_transaction(tx, order.id, self.sender.address, order.mint, order.side,
                                                 time.time())
                self._count("get_transaction_null")
            except DecodeError as exc:
                log.error("order %s: landed transaction unreadable: %s", order.id, exc)
                return None
            except Exception as exc:   # noqa: BLE001 - 429 / timeout: retried like a null
                self._count("get_transaction_error")
                log.debug("getTransaction %s: %s", order.id, type(exc).__name__)
            if time.monotonic() + delay > deadline:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, FILL_RETRY_MAX_S)

    async def fee_of(self, signature: str, wait_s: float = 0.0) -> tuple[int, int]:
        """The fee a landed-but-failed transaction paid; getTransaction retried with backoff for up to wait_s
        while it answers null or fails, as for a fill. (0, 0) when it cannot be read now: the reconciler books
        it later (LedgerStore.failed_without_cost)."""
        deadline = time.monotonic() + wait_s
        delay = FILL_RETRY_FIRST_S
        while True:
            try:
                tx = await self.sender.transaction(signature)
            except Exception:   # noqa: BLE001 - 429 / timeout: retried like a null
                tx = None
            if isinstance(tx, dict):
                try:
                    return int((tx.get("meta") or {}).get("fee", 0)), int(tx.get("slot", 0))
                except (TypeError, ValueError, AttributeError):
                    return 0, 0
            if time.monotonic() + delay > deadline:
                return 0, 0
            await asyncio.sleep(delay)
            delay = min(delay * 2, FILL_RETRY_MAX_S)

    # --- reconciliation ------------------------------------------------------------------------------------
    async def chain_view(self, orders: list[Order]) -> StaticChainView:
        """The chain's word on these orders' signatures, and the block height (read first: see above)."""
        sigs = [o.signature for o in orders if o.signature]
        if not sigs:
            return StaticChainView({}, 0)
        height = await self.sender.block_height(None)
        statuses = {}
        for sig, st in zip(sigs, await self.sender.rpc.get_signature_statuses(sigs)):
            if isinstance(st, dict):
                statuses[sig] = (st.get("slot", 0), st.get("err"), st.get("confirmationStatus") or "")
        return StaticChainView(statuses, height)

    async def close(self) -> None:
        await self.sender.close()


async def _endpoint(sender: LiveSender) -> str:
    from actors.execution.sender import _value
    return await _value(sender.rpc.best_endpoint())


def _text(exc: object) -> str:
    if isinstance(exc, BaseException):
        text = str(exc) or type(exc).__name__
        return f"{type(exc).__name__}: {text}"[:300] if not isinstance(exc, SendError) else text[:300]
    return repr(exc)[:300]
