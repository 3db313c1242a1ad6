"""Executor actor: turns approved entries and exit signals into orders, and orders into fills.

Every order's intent is in the ledger before anything is sent. Modes: paper (fill at the quote computed from
fresh on-chain state, fees and the slippage model included), dry_run (record the decision only), live (build,
simulate, sign, send over RPC or as a Jito bundle, confirm; direct pump.fun instructions on the curve, Jupiter
after migration; an entry's transaction is built and simulated while its intent commits, and sent after).
Entries come from the RiskSupervisor, which hands each approved one over itself (approve_and_execute).
Open orders left by a crash are reconciled with the chain when this actor starts.
Planning (refusal or the order with its slippage bound) and the paper fill are pipelines/stages.plan_entry /
plan_exit / paper_fill, the functions the backtester runs; this actor does the I/O around them.

Replay mode (chain.source = "replay"): paper only; the state an order is planned and filled against comes from
the replay driver's market (actors/replay.ReplayReader, the ChainReader interface) and time from its clock.
"""
from __future__ import annotations

import asyncio
import logging
import os
import pickle
import time

import ray

from actors import names, observe
from actors.chain_reader import reader_for
from actors.clock import ActorClock
from actors.live_sender import LiveSender, SendError
from actors.logs import TRADES, log_event
from actors.metrics import count_fills, count_orders, tally
from pipelines import stages
from pipelines.chain import programs as P
from pipelines.chain.intents import PumpBuyExactSol, PumpSell
from pipelines.chain.builders import build_buy_exact_sol_tx, build_sell_tx
from pipelines.config import Config
from pipelines.fill_from_tx import fill_from_transaction
from pipelines.fills import PaperFillModel, Rejection
from pipelines.messages import ExitSignal, Fill, Opportunity, Order, OrderState, Reservation, Side
from pipelines.orders import StaticChainView, reconcile_steps, transition
from pipelines.risk.handoff import unpack

log = logging.getLogger("launchray.executor")


def _discard(task: asyncio.Future | None) -> None:
    """Drop a transaction built for an order that will not be sent (its exception, if any, retrieved)."""
    if task is None:
        return
    if task.done():
        if not task.cancelled():
            task.exception()
    else:
        task.cancel()


class _Spans:
    """An entry's quote, intent and fill spans, timed on the way and exported once the entry is done: making a span
    costs ~0.1 ms on the 2-core VM, which would otherwise sit between the approval and the send."""

    __slots__ = ("parent", "done")

    def __init__(self, parent: str) -> None:
        self.parent = parent      # the Orchestrator's traceparent for this opportunity ("" = not traced)
        self.done: list[tuple] = []

    def add(self, name: str, start: float, end: float, **attributes) -> None:
        if self.parent:
            self.done.append((name, start, end, attributes))

    def record(self) -> None:
        observe.past_spans_under(self.parent, self.done)
        self.done.clear()


@ray.remote(num_cpus=0)
class Executor:
    def __init__(self, cfg: Config, chain: dict) -> None:
        observe.init_observability(cfg, "executor")
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.mode = cfg.execution.mode
        self.ledger = self.peers(names.LEDGER)
        self.clock = ActorClock.for_config(cfg)
        self.rpc = None if self.clock.replay else self.peers(names.RPC_POOL)   # a replay has no chain to call
        self.reader = reader_for(cfg, self.peers)
        self.fill_model = PaperFillModel(cfg.execution)
        self.sender: LiveSender | None = None
        if self.mode == "live":
            from actors.wallet import load_wallet
            ex = cfg.execution
            self.sender = LiveSender(
                self.rpc, load_wallet(ex, os.environ), jito_url=ex.jito_url or chain.get("jito", ""),
                jupiter_url=ex.jupiter_url or chain.get("jupiter", ""), use_jito=ex.use_jito,
                tip_lamports=ex.jito_tip_lamports, cu_limit=ex.compute_unit_limit,
                cu_price=ex.priority_fee_micro_lamports, simulate=ex.simulate_before_send,
                confirm_timeout_s=ex.confirm_timeout_s)
        self.in_flight = 0          # entries being executed
        self.active = 0             # entries and exits being executed (what a graceful shutdown waits for)
        self.closed = False         # drained (graceful shutdown): nothing new is sent
        self.counts: dict[str, int] = {}
        self.detect_to_send_ms: list[float] = []
        self.detect_to_send_at: list[float] = []     # when each was detected (benchmarks split off the warm-up)
        loop = asyncio.get_event_loop()
        self._reconcile = loop.create_task(self._reconcile_open_orders())
        self._static = None if self.clock.replay else loop.create_task(self._static_loop())
        self._warm = loop.create_task(self.peers.warm(names.LEDGER, names.RISK, names.POSITIONS))   # first snipe

    async def _static_loop(self) -> None:
        """Global and the fee configs re-read every 20 s, inside the reader's 60 s cache: an entry never pays
        for an expired cache on its way to the send."""
        while True:
            try:
                await self.reader.refresh_static()
            except Exception as exc:   # the RpcPool restarting or the chain down: the next round retries
                log.warning("fee accounts not refreshed: %s", type(exc).__name__)
            await asyncio.sleep(20.0)

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    # --- reconciliation (on start, and at a graceful shutdown) -----------------------------------------------
    async def drain(self, timeout_s: float | None = None) -> dict:
        """Graceful shutdown, after entries stopped: wait for the orders in flight (up to the confirmation
        timeout), then reconcile what is still open with the chain, so the ledger flushed next matches the
        wallet (a sell that landed while we waited is booked now, not at the next start)."""
        self.closed = True      # the Orchestrator has stopped: a call arriving now is late and is refused
        deadline = time.time() + (self.cfg.execution.confirm_timeout_s if timeout_s is None else timeout_s)
        while self.active and time.time() < deadline:
            await asyncio.sleep(0.1)
        if not self.clock.replay:
            await self._reconcile_open_orders()
        return {"active": self.active, "open_orders": len(await self.ledger.open_orders.remote())}

    async def _reconcile_open_orders(self) -> None:
        try:
            orders = await self.ledger.open_orders.remote()
            if not orders:
                return
            sigs = [o.signature for o in orders if o.signature]
            statuses: dict = {}
            height = 0
            if sigs:
                for sig, st in zip(sigs, await self.rpc.get_signature_statuses.remote(sigs)):
                    if st is not None:
                        statuses[sig] = (st.get("slot", 0), st.get("err"), st.get("confirmationStatus") or "")
                height = await self.rpc.get_block_height.remote()
            view = StaticChainView(statuses, height)
            now = time.time()
            for order in orders:
                steps = reconcile_steps(order, view, now)
                if not steps:
                    continue
                await self.ledger.record_batch.remote(orders=steps)
                count_orders(steps)
                final = steps[-1]
                self._count(f"reconciled_{final.state.value}")
                if final.state is OrderState.CONFIRMED and self.sender is not None:
                    await self._book_live_fill(final)
                elif final.state in (OrderState.FAILED, OrderState.EXPIRED):
                    await self._undo(final)
                    if final.state is OrderState.FAILED and final.signature and self.sender is not None:
                        tx = await self.rpc.get_transaction.remote(final.signature, "json")
                        if tx is not None:
                            await self._book_cost(final, final.signature,
                                                  int((tx.get("meta") or {}).get("fee", 0)), int(tx.get("slot", 0)))
        except Exception as exc:
            log.error("reconciliation failed: %s", exc)

    async def _undo(self, order: Order) -> None:
        if order.side is Side.BUY and order.reservation_id:
            await self.peers(names.RISK).release.remote(order.reservation_id)
        elif order.side is Side.SELL:
            await self.peers(names.POSITIONS).exit_failed.remote(order.mint)

    # --- entries ---------------------------------------------------------------------------------------------
    async def execute_entry(self, entry: bytes, reservation: Reservation) -> dict:
        """An approved entry, handed over by the RiskSupervisor (approve_and_execute) the moment it reserved:
        `entry` is the packed EntryRequest (pipelines/risk/handoff.py) as the Orchestrator sent it. A sniper entry
        (with its create event and the last trade of its create transaction) is planned without an account read.

        The reservation: every answer without an order (refused, shutting_down) and every exception before the
        intent is durable release it here, before returning; from the intent on, the order owns it (_fail/_undo,
        reconciliation, or the fill's booking)."""
        if self.closed:     # drained (graceful shutdown): a late entry is refused and its capital given back
            await self.peers(names.RISK).release.remote(reservation.id)
            self._count("refused_shutting_down")
            return {"status": "refused", "reason": "shutting_down"}
        request = unpack(entry)
        spans = _Spans(request.opportunity.trace_id)
        self.in_flight += 1
        self.active += 1
        try:
            return await self._entry(request.opportunity, reservation, request.detected_at, request.launch,
                                     request.creator_trade, spans)
        finally:
            self.in_flight -= 1
            self.active -= 1
            spans.record()

    async def _entry(self, opp: Opportunity, reservation: Reservation, detected_at: float, launch, creator_trade,
                     spans: "_Spans") -> dict:
        risk = self.peers(names.RISK)
        t0 = time.time()
        try:
            # A sniper plans on the curve its create event made (cached Global and fee config, no read): the
            # slippage bound protects it, and the fill is on the state after the send (paper re-reads it).
            view = await self.reader.launch_curve(launch, creator_trade) \
                if launch is not None and not self.clock.replay else None
            from_launch = view is not None
            if view is None:
                view = await self.reader.curve(opp.mint)
        except Exception as exc:
            spans.add("quote", t0, time.time(), mint=opp.mint, error=type(exc).__name__)
            await risk.release.remote(reservation.id)
            self._count("state_unavailable")
            return {"status": "refused", "reason": f"state unavailable: {type(exc).__name__}"}
        built = None
        try:
            planned = stages.plan_entry(opp, reservation, view, self.fill_model, self.cfg.execution.slippage_bps,
                                        self.mode, self.clock.now())
            t1 = time.time()
            spans.add("quote", t0, t1, mint=opp.mint)
            if isinstance(planned, str):
                await risk.release.remote(reservation.id)
                self._count("not_on_curve")
                return {"status": "refused", "reason": planned}
            order = planned.order
            if self.mode == "live":   # built and simulated while the intent commits: neither sends anything
                built = asyncio.ensure_future(self._build_curve_tx(order, view))
            # The duplicate check and the durable intent in one ledger transaction, before anything is sent: a
            # call retried after a restart finds its opportunity claimed and never buys it twice.
            claimed = await self.ledger.claim_intent.remote(pickle.dumps(order, pickle.HIGHEST_PROTOCOL))
            spans.add("intent", t1, time.time(), **{"order.id": order.id})
        except BaseException:     # no intent written (the ledger rolled back), nothing sent: the capital goes back
            _discard(built)
            await risk.release.remote(reservation.id)
            raise
        if not claimed:
            _discard(built)
            self._count("duplicate_entry")
            return {"status": "duplicate", "order_id": order.id}
        count_orders((order,))
        if detected_at:
            self.detect_to_send_ms.append((self.clock.now() - detected_at) * 1000)
            self.detect_to_send_at.append(detected_at)
            del self.detect_to_send_ms[:-10_000], self.detect_to_send_at[:-10_000]
            tally().observe("detect_to_send_ms", self.detect_to_send_ms[-1], strategy=opp.strategy)
        if self.mode == "dry_run":
            await self._fail(order, "dry_run")
            return {"status": "dry_run", "order_id": order.id}
        if self.mode == "paper":
            t2 = time.time()
            out: dict = {}
            try:
                out = await self._paper(order, view, refresh=from_launch)
            finally:
                spans.add("fill", t2, time.time(), **{"order.id": order.id, "mode": "paper",
                                                      "outcome": str(out.get("status", "error"))})
            return out
        return await self._send_built(order, built)

    # --- exits -----------------------------------------------------------------------------------------------
    async def execute_exit(self, signal: ExitSignal) -> dict:
        if self.closed:     # the position stays open (reported at shutdown) and exits again after a restart
            await self.peers(names.POSITIONS).exit_failed.remote(signal.mint)
            return {"status": "refused", "reason": "shutting_down"}
        self.active += 1
        try:
            return await self._exit(signal)
        finally:
            self.active -= 1

    async def _exit(self, signal: ExitSignal) -> dict:
        positions = self.peers(names.POSITIONS)
        pos = await positions.get.remote(signal.mint)
        if pos is None or not pos.is_open:        # nothing to sell: no chain read for it
            return {"status": "no_position"}
        try:
            curve = await self.reader.curve(signal.mint)
            pool = await self.reader.pool(signal.mint) if curve is None or curve.curve.complete else None
        except Exception as exc:
            await positions.exit_failed.remote(signal.mint)
            return {"status": "refused", "reason": f"state unavailable: {type(exc).__name__}"}
        # Exit ids are deterministic; a retry after a failed attempt takes the next attempt number.
        prior = {o.id: o for o in await self.ledger.orders.remote(None, signal.mint)}
        planned = stages.plan_exit(
            pos, signal, curve, pool, self.cfg.execution.slippage_bps, self.mode, self.clock.now(),
            lambda order_id: order_id not in prior or prior[order_id].state not in (OrderState.FAILED,
                                                                                    OrderState.EXPIRED))
        if isinstance(planned, str):
            if planned == "no_position":
                return {"status": "no_position"}
            await positions.exit_failed.remote(signal.mint)
            return {"status": "refused", "reason": planned}
        order = planned.order
        await self.ledger.record_order.remote(order)
        count_orders((order,))
        if self.mode == "dry_run":
            await self._fail(order, "dry_run")
            return {"status": "dry_run", "order_id": order.id}
        if self.mode == "paper":
            return await self._paper(order, planned.curve, planned.pool)
        if pool is not None:
            return await self._live_jupiter_sell(order)
        return await self._live_curve(order, curve)

    # --- paper -----------------------------------------------------------------------------------------------
    async def _paper(self, order: Order, curve_view=None, pool_view=None, refresh: bool = False) -> dict:
        latency = self.cfg.execution.paper_latency_ms / 1000
        if latency > 0 or refresh:   # the state the order lands on is the state after our send (and latency)
            if latency > 0:
                await asyncio.sleep(latency)
            if curve_view is not None:
                curve_view = await self.reader.curve(order.mint) or curve_view
            elif pool_view is not None:
                pool_view = await self.reader.pool(order.mint) or pool_view
        now = self.clock.now()
        result = stages.paper_fill(order, self.fill_model, curve_view, pool_view, now)
        submitted = transition(order, OrderState.SUBMITTED, now)
        if isinstance(result, Rejection):
            await self._fail(submitted, result.reason)
            if result.fee_lamports > 0:   # the model says this one would have landed and failed
                await self._book_cost(order, "", result.fee_lamports, result.quote_slot)
            return {"status": "rejected", "reason": result.reason, "order_id": order.id}
        return await self._book(submitted, result)

    async def _book(self, submitted: Order, fill: Fill) -> dict:
        confirmed = transition(submitted, OrderState.CONFIRMED, fill.ts, signature=fill.signature or submitted.signature)
        await self.ledger.record_batch.remote(orders=[submitted, confirmed], fills=[fill])
        self._count(f"filled_{fill.side.value}")
        booked = await self.peers(names.POSITIONS).on_fill.remote(fill, confirmed)
        self._trade_log("fill", confirmed, fill=fill)     # after the booking: never delays it
        count_orders((confirmed,) if self.sender is not None else (submitted, confirmed))  # live: counted at send
        count_fills((fill,), confirmed.mode)
        return {"status": "filled", "order_id": confirmed.id, "tokens": fill.tokens, "lamports": fill.lamports,
                "slot": fill.slot, **booked}

    async def _fail(self, order: Order, reason: str) -> None:
        failed = transition(order, OrderState.FAILED, self.clock.now(), error=reason)
        steps = [failed] if order.state is OrderState.INTENT or order.state is OrderState.SUBMITTED else []
        if order.state is OrderState.SUBMITTED:
            steps = [order, failed]
        await self.ledger.record_batch.remote(orders=steps)
        self._count(f"failed_{reason}")
        count_orders(steps)
        await self._undo(failed)
        self._trade_log("order_failed", failed)

    @staticmethod
    def _trade_log(msg: str, order: Order, fill: Fill | None = None) -> None:
        """trades.jsonl: one record per fill and per failed order."""
        fields = {"order_id": order.id, "mint": order.mint, "side": order.side.value, "mode": order.mode,
                  "state": order.state.value, "reason": order.reason, "opportunity_id": order.opportunity_id,
                  "signature": order.signature, "error": order.error, "traceparent": order.trace_id}
        if fill is not None:
            fields.update(lamports=fill.lamports, tokens=fill.tokens, fee_lamports=fill.fee_lamports,
                          price=fill.price, slot=fill.slot, quote_slot=fill.quote_slot, fill_ts=fill.ts)
        log_event(TRADES, msg, **fields)

    async def _book_cost(self, order: Order, signature: str, lamports: int, slot: int) -> None:
        now = self.clock.now()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        if await self.ledger.record_tx_cost.remote(order.id, signature, lamports, slot, now, day):
            await self.peers(names.RISK).on_cost.remote(order.id, lamports)
            self._count("failed_tx_fees")

    # --- live ------------------------------------------------------------------------------------------------
    async def _live_curve(self, order: Order, view) -> dict:
        return await self._send_built(order, self._build_curve_tx(order, view))

    async def _build_curve_tx(self, order: Order, view):
        """The signed pump.fun transaction for `order`, simulated: (tx, last valid block height). Sends nothing."""
        s = self.sender
        assert s is not None
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
        blockhash, last_valid = await s.blockhash()
        tx = build(intent, s.keypair, blockhash, compute_unit_limit=s.cu_limit,
                   compute_unit_price=s.cu_price or None, tip=await s.tip())
        await s.simulate(tx)
        return tx, last_valid

    async def _send_built(self, order: Order, built) -> dict:
        """`built`: _build_curve_tx's awaitable (a task already running beside the intent write, for an entry)."""
        try:
            tx, last_valid = await built
        except (SendError, ValueError) as exc:
            await self._fail(order, f"build/simulate: {exc}")
            return {"status": "rejected", "reason": str(exc), "order_id": order.id}
        return await self._send_and_confirm(order, tx, last_valid)

    async def _live_jupiter_sell(self, order: Order) -> dict:
        s = self.sender
        assert s is not None
        try:
            tx, last_valid, _ = await s.jupiter_swap_tx(order.mint, P.WSOL_MINT, order.amount,
                                                        self.cfg.execution.slippage_bps)
            await s.simulate(tx)
        except (SendError, ValueError, KeyError) as exc:
            await self._fail(order, f"jupiter: {exc}")
            return {"status": "rejected", "reason": str(exc), "order_id": order.id}
        return await self._send_and_confirm(order, tx, last_valid)

    async def _send_and_confirm(self, order: Order, tx, last_valid: int) -> dict:
        s = self.sender
        submitted = transition(order, OrderState.SUBMITTED, time.time(), signature=str(tx.signatures[0]),
                               last_valid_block_height=last_valid)
        await self.ledger.record_order.remote(submitted)      # signature durable before the tx leaves
        count_orders((submitted,))
        try:
            with observe.span("send", order.trace_id, **{"order.id": order.id, "signature": submitted.signature}):
                await s.send(tx)
        except Exception as exc:   # not sent for sure? leave it to confirmation: it may still have landed
            log.warning("send %s: %s", submitted.id, type(exc).__name__)
        with observe.span("confirm", order.trace_id, **{"order.id": order.id}) as st:
            outcome, err = await s.confirm(submitted.signature, last_valid)
            if st is not None:
                st.span.set_attribute("outcome", outcome)
        now = time.time()
        if outcome == "confirmed":
            return await self._book_live_fill(submitted)
        state = {"failed": OrderState.FAILED, "expired": OrderState.EXPIRED}.get(outcome, OrderState.UNRESOLVED)
        final = transition(submitted, state, now, error=str(err) if err else outcome)
        await self.ledger.record_order.remote(final)
        self._count(f"live_{outcome}")
        count_orders((final,))
        if state is OrderState.FAILED:   # it landed with an error: its fee is gone all the same
            tx = await self.rpc.get_transaction.remote(submitted.signature, "json")
            if tx is not None:
                await self._book_cost(order, submitted.signature, int((tx.get("meta") or {}).get("fee", 0)),
                                      int(tx.get("slot", 0)))
        if state is not OrderState.UNRESOLVED:
            await self._undo(final)
        return {"status": outcome, "order_id": order.id, "signature": submitted.signature}

    async def _book_live_fill(self, order: Order) -> dict:
        s = self.sender
        tx = await self.rpc.get_transaction.remote(order.signature, "json")
        if tx is None:
            return {"status": "unresolved", "order_id": order.id}
        fill = fill_from_transaction(tx, order.id, s.address, order.mint, order.side, time.time())
        if order.state is OrderState.CONFIRMED:   # confirmed by reconciliation: record the fill only
            await self.ledger.record_fill.remote(fill)
            count_fills((fill,), order.mode)
            await self.peers(names.POSITIONS).on_fill.remote(fill, order)
            return {"status": "filled", "order_id": order.id}
        return await self._book(order, fill)

    # --- status ----------------------------------------------------------------------------------------------
    def set_clock(self, now: float) -> float:
        return self.clock.advance(now)

    def flush_telemetry(self) -> None:
        """Graceful shutdown (Supervisor.shutdown): export the spans still batched before this actor is killed."""
        observe.flush()

    def status(self) -> dict:
        lat = sorted(self.detect_to_send_ms[-5000:])
        out = {"mode": self.mode, "in_flight": self.in_flight, "counts": dict(self.counts)}
        if lat:
            out["detect_to_send_ms_p50"] = round(lat[len(lat) // 2], 2)
            out["detect_to_send_ms_p95"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.95))], 2)
        if self.sender is not None:
            out["wallet"] = self.sender.address
        return out

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def detect_to_send_samples(self) -> list[tuple[float, float]]:
        """(detected at, detect-to-send ms) of the latest entries, oldest first."""
        return list(zip(self.detect_to_send_at, self.detect_to_send_ms))

    def ping(self) -> str:
        return names.incarnation()
