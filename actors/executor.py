"""Executor actor: the host that turns approved entries and exit signals into orders and hands each order to its
execution client (actors/execution: paper, dry_run, live), then records the outcome and books the fill.

Every order's intent is in the ledger before anything is sent: an entry's live transaction is built and signed
while its intent commits (that sends nothing), and simulated and sent only once claim_intent answered. One buy
per (strategy, mint) at a time is enforced by the ledger itself (schema v4), beside one entry per opportunity.
Entries come from the RiskSupervisor, which hands each approved one over itself (approve_and_execute).
Answers are pipelines/execution_report.ExecutionReport, crossing Ray as its as_dict().

Open orders are reconciled with the chain when this actor starts and, in live mode, every RECONCILE_EVERY_S
while any is unresolved or confirmed without its fill (getTransaction null after confirmation): a confirmed
buy is never lost. An exit that failed or expired (429, timeout, Jupiter error, blockhash expired) hands the
position back to the PositionTracker (exit_failed) and its next attempt takes a new order id; an exit whose last
attempt is still unresolved is reconciled first and never sent twice.
Planning (refusal or the order with its slippage bound) and the paper fill are pipelines/stages.plan_entry /
plan_exit / paper_fill, the functions the backtester runs.

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
from actors.execution.client import Market, Outcome, Remote, discard
from actors.execution.spans import EntrySpans
from actors.execution.dry_run import DryRunClient
from actors.execution.paper import PaperClient
from actors.logs import TRADES, log_event
from actors.metrics import count_fills, count_orders, tally
from pipelines import stages
from pipelines.config import Config
from pipelines.execution_report import Booked, ExecStatus, ExecutionReport
from pipelines.fills import PaperFillModel
from pipelines.ledger.store import UNBOOKED_FEE_WINDOW_S
from pipelines.messages import ExitSignal, Fill, Opportunity, Order, OrderState, Reservation, Side
from pipelines.orders import reconcile_steps, transition
from pipelines.risk.handoff import unpack

log = logging.getLogger("launchray.executor")

RECONCILE_EVERY_S = 10.0
RECONCILE_BUSY_S = 3.0        # while an order is unresolved or a confirmed one waits for its transaction
OPEN = (OrderState.INTENT, OrderState.SUBMITTED, OrderState.UNRESOLVED)


@ray.remote(num_cpus=0)
class Executor:
    def __init__(self, cfg: Config, chain: dict) -> None:
        """chain: the endpoints the driver decided, and for a live run its "live_opt_in" proof
        (pipelines/live_guard.LiveOptIn, made where `launchray run` checked the three opt-ins; no key in it)."""
        observe.init_observability(cfg, "executor")
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.mode = cfg.execution.mode
        self.ledger = self.peers(names.LEDGER)
        self.clock = ActorClock.for_config(cfg)
        self.rpc = None if self.clock.replay else self.peers(names.RPC_POOL)   # a replay has no chain to call
        self.reader = reader_for(cfg, self.peers)
        self.fill_model = PaperFillModel(cfg.execution)
        self.live = None
        if self.mode == "live":
            self.client = self.live = self._live_client(cfg, chain)
        elif self.mode == "dry_run":
            self.client = DryRunClient()
        else:
            self.client = PaperClient(self.reader, self.fill_model, cfg.execution.paper_latency_ms / 1000, self.clock)
        self.in_flight = 0          # entries being executed
        self.active = 0             # entries and exits being executed (what a graceful shutdown waits for)
        self.working: set[str] = set()   # order ids this process is executing (the reconciler leaves them alone)
        self.closed = False         # drained (graceful shutdown): nothing new is sent
        self.counts: dict[str, int] = {}
        self.detect_to_send_ms: list[float] = []
        self.detect_to_send_at: list[float] = []     # when each was detected (benchmarks split off the warm-up)
        self._reconciling = asyncio.Lock()
        self.pending = 0            # orders the last reconciliation (or an execution) left unsettled
        self._left_open = 0
        loop = asyncio.get_event_loop()
        self._reconciler = loop.create_task(self._reconcile_loop())
        self._static = None if self.clock.replay else loop.create_task(self._static_loop())
        self._warm = loop.create_task(self.peers.warm(names.LEDGER, names.RISK, names.POSITIONS))   # first snipe

    def _live_client(self, cfg: Config, chain: dict):
        from actors.execution.live import LiveClient
        from actors.execution.sender import LiveSender
        from actors.wallet import load_wallet
        ex = cfg.execution
        sender = LiveSender(
            Remote(self.rpc), load_wallet(ex, os.environ), jito_url=ex.jito_url or chain.get("jito", ""),
            jupiter_url=ex.jupiter_url or chain.get("jupiter", ""), use_jito=ex.use_jito,
            tip_lamports=ex.jito_tip_lamports, cu_limit=ex.compute_unit_limit,
            cu_price=ex.priority_fee_micro_lamports, simulate=ex.simulate_before_send)
        from pipelines.chain.swap_check import url_problem
        from pipelines.live_guard import opt_in_problem
        problem = opt_in_problem(chain.get("live_opt_in"), sender.address)
        if problem:      # said once, loudly, at start (ERROR lines are alerted); every order is refused unsent
            log.error("live mode: %s", problem)
        if sender.jupiter_url and url_problem(sender.jupiter_url):
            log.error("live mode: %s: sells after migration will be refused", url_problem(sender.jupiter_url))
        # a Jupiter transaction may pay up to 50x our own compute-unit price (its limit is fitted to the route)
        return LiveClient(sender, Remote(self.ledger), chain.get("live_opt_in"),
                          confirm_timeout_s=ex.confirm_timeout_s, slippage_bps=ex.slippage_bps,
                          max_cu_price=max(1_000_000, 50 * ex.priority_fee_micro_lamports),
                          fill_wait_s=min(10.0, ex.confirm_timeout_s))

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

    # --- reconciliation (on start, every RECONCILE_EVERY_S in live mode, at a graceful shutdown) -------------
    async def drain(self, timeout_s: float | None = None) -> dict:
        """Graceful shutdown, after entries stopped: wait for the orders in flight (up to the confirmation
        timeout), then reconcile what is still open with the chain, so the ledger flushed next matches the
        wallet (a sell that landed while we waited is booked now, not at the next start)."""
        self.closed = True      # the Orchestrator has stopped: a call arriving now is late and is refused
        deadline = time.time() + (self.cfg.execution.confirm_timeout_s if timeout_s is None else timeout_s)
        while self.active and time.time() < deadline:
            await asyncio.sleep(0.1)
        if not self.clock.replay:
            await self.reconcile_now()
        return {"active": self.active, "open_orders": len(await self.ledger.open_orders.remote())}

    async def _reconcile_loop(self) -> None:
        if not self.clock.replay:
            try:   # fills this Executor wrote before a crash but never handed to the tracker
                replayed = await self.peers(names.POSITIONS).replay_ledger.remote()
                if replayed:
                    self._count("fills_replayed_to_tracker")
                    log.warning("%d booked fill(s) had not reached the PositionTracker: replayed", replayed)
            except Exception as exc:   # noqa: BLE001 - a tracker not up yet replays the ledger itself at its start
                log.warning("fill replay to the PositionTracker skipped: %s", type(exc).__name__)
        await self.reconcile_now(startup=True)
        if self.live is None:
            return          # paper / dry-run orders settle in-process: only a crash leaves one open
        while True:
            await asyncio.sleep(RECONCILE_BUSY_S if self.pending else RECONCILE_EVERY_S)
            await self.reconcile_now()

    async def reconcile_now(self, startup: bool = False) -> int:
        """Settle open orders (and, live, confirmed ones without their fill) from the chain. Orders this process
        is executing are left to their own task, except at start-up when none is. Returns how many changed."""
        async with self._reconciling:
            try:
                orders = [o for o in await self.ledger.open_orders.remote() if startup or o.id not in self.working]
                unbooked, uncosted = [], []
                if self.live is not None:
                    unbooked = [o for o in await self.ledger.confirmed_without_fill.remote("live")
                                if o.id not in self.working]
                    uncosted = [o for o in await self.ledger.failed_without_cost.remote(
                        "live", time.time() - UNBOOKED_FEE_WINDOW_S) if o.id not in self.working]
                if not orders and not unbooked and not uncosted:
                    self.pending = 0
                    return 0
                changed = await self._reconcile(orders)
                booked = await self._book_unbooked(unbooked)
                costed = await self._book_uncosted(uncosted)
                self.pending = self._left_open + len(unbooked) - booked + len(uncosted) - costed
                return changed + booked + costed
            except Exception as exc:
                self._count("reconcile_error")
                log.error("reconciliation failed: %s: %s", type(exc).__name__, exc)
                return 0

    async def _reconcile(self, orders: list[Order]) -> int:
        view = await self.live.chain_view(orders) if self.live is not None else None
        if view is None:
            from pipelines.orders import StaticChainView
            view = StaticChainView()
        now = time.time()
        changed = 0
        self._left_open = 0
        for order in orders:
            steps = reconcile_steps(order, view, now)
            if not steps or not steps[-1].state.terminal:
                self._left_open += 1
            if not steps:
                continue
            await self.ledger.record_batch.remote(orders=steps)
            count_orders(steps)
            changed += 1
            final = steps[-1]
            self._count(f"reconciled_{final.state.value}")
            if final.state is OrderState.CONFIRMED and self.live is not None:
                if not await self._book_unbooked([final]):
                    self._left_open += 1
            elif final.state in (OrderState.FAILED, OrderState.EXPIRED):
                await self._undo(final)
                if final.state is OrderState.FAILED and final.signature and self.live is not None:
                    fee, slot = await self.live.fee_of(final.signature)
                    if fee:
                        await self._book_cost(final, final.signature, fee, slot)
        return changed

    async def _book_unbooked(self, orders: list[Order]) -> int:
        """Confirmed live orders whose fill is not booked: read their transactions (briefly retried) and book."""
        booked = 0
        for order in orders:
            fill = await self.live.fetch_fill(order, 2.0)
            if fill is None:
                self._count("fill_pending")
                continue
            await self.ledger.record_fill.remote(fill)
            count_fills((fill,), order.mode)
            await self.peers(names.POSITIONS).on_fill.remote(fill, order)
            self._count(f"filled_{fill.side.value}_late")
            self._trade_log("fill", order, fill=fill)
            booked += 1
        return booked

    async def _book_uncosted(self, orders: list[Order]) -> int:
        """Failed live orders whose fee could not be read when they failed: book it now if the chain serves it."""
        costed = 0
        for order in orders:
            fee, slot = await self.live.fee_of(order.signature)
            if fee <= 0:
                self._count("fee_pending")
                continue
            await self._book_cost(order, order.signature, fee, slot)
            costed += 1
        return costed

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
            return ExecutionReport(ExecStatus.REFUSED, reason="shutting_down").as_dict()
        request = unpack(entry)
        spans = EntrySpans(request.opportunity.trace_id)
        self.in_flight += 1
        self.active += 1
        try:
            report = await self._entry(request.opportunity, reservation, request.detected_at, request.launch,
                                       request.creator_trade, spans)
            return report.as_dict()
        finally:
            self.in_flight -= 1
            self.active -= 1
            spans.record()

    async def _entry(self, opp: Opportunity, reservation: Reservation, detected_at: float, launch, creator_trade,
                     spans: "EntrySpans") -> ExecutionReport:
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
            return ExecutionReport(ExecStatus.REFUSED, reason=f"state unavailable: {type(exc).__name__}")
        prepared = planned = None
        try:
            planned = stages.plan_entry(opp, reservation, view, self.fill_model, self.cfg.execution.slippage_bps,
                                        self.mode, self.clock.now())
            t1 = time.time()
            spans.add("quote", t0, t1, mint=opp.mint)
            if isinstance(planned, str):
                await risk.release.remote(reservation.id)
                self._count("not_on_curve")
                return ExecutionReport(ExecStatus.REFUSED, reason=planned)
            order = planned.order
            market = Market(curve=view, refresh=from_launch)
            # built and signed while the intent commits (live): nothing leaves the process before it is durable
            prepared = self.client.prepare(order, market)
            self.working.add(order.id)     # before the intent exists: the reconciler never takes it for a crash's
            # The duplicate checks and the durable intent in one ledger transaction, before anything is sent: a
            # call retried after a restart finds its opportunity claimed, and a strategy never holds two buys of a mint.
            claimed = await self.ledger.claim_intent.remote(pickle.dumps(order, pickle.HIGHEST_PROTOCOL))
            spans.add("intent", t1, time.time(), **{"order.id": order.id})
        except BaseException:     # no intent written (the ledger rolled back), nothing sent: the capital goes back
            discard(prepared)
            if planned is not None and not isinstance(planned, str):
                self.working.discard(planned.order.id)
            await risk.release.remote(reservation.id)
            raise
        if not claimed:
            discard(prepared)
            self.working.discard(order.id)
            # A retried call for the same opportunity: its order owns the reservation. Another opportunity of a
            # mint this strategy holds (the ledger's one buy per strategy and mint at a time): nothing owns it, release.
            if await self.ledger.entry_order_for.remote(opp.id) is None:
                await risk.release.remote(reservation.id)
            self._count("duplicate_entry")
            return ExecutionReport(ExecStatus.DUPLICATE, order_id=order.id)
        count_orders((order,))
        if detected_at:
            self.detect_to_send_ms.append((self.clock.now() - detected_at) * 1000)
            self.detect_to_send_at.append(detected_at)
            del self.detect_to_send_ms[:-10_000], self.detect_to_send_at[:-10_000]
            tally().observe("detect_to_send_ms", self.detect_to_send_ms[-1], strategy=opp.strategy)
        t2 = time.time()
        report = None
        try:
            report = await self._run(order, market, prepared)
        finally:
            if self.mode == "paper":
                spans.add("fill", t2, time.time(), **{"order.id": order.id, "mode": "paper",
                                                      "outcome": report.status.value if report else "error"})
        return report

    # --- exits -----------------------------------------------------------------------------------------------
    async def execute_exit(self, signal: ExitSignal) -> dict:
        if self.closed:     # the position stays open (reported at shutdown) and exits again after a restart
            await self.peers(names.POSITIONS).exit_failed.remote(signal.mint)
            return ExecutionReport(ExecStatus.REFUSED, reason="shutting_down").as_dict()
        self.active += 1
        try:
            return (await self._exit(signal)).as_dict()
        finally:
            self.active -= 1

    async def _exit(self, signal: ExitSignal) -> ExecutionReport:
        positions = self.peers(names.POSITIONS)
        pos = await positions.get.remote(signal.mint)
        if pos is None or not pos.is_open:        # nothing to sell: no chain read for it
            return ExecutionReport(ExecStatus.NO_POSITION)
        prior = [o for o in await self.ledger.orders.remote(None, signal.mint) if o.side is Side.SELL]
        stale = [o for o in prior if o.state in OPEN and o.id not in self.working]
        if stale:        # an earlier attempt left open (crash, confirm timeout): the chain says what became of it
            await self.reconcile_now()
            prior = [o for o in await self.ledger.orders.remote(None, signal.mint) if o.side is Side.SELL]
            pos = await positions.get.remote(signal.mint)
            if pos is None or not pos.is_open:    # it had landed: its fill closed the position
                return ExecutionReport(ExecStatus.NO_POSITION)
        if any(o.state in OPEN for o in prior):
            # still unresolved (or in flight here): a second sell could sell twice. Unless one is in flight here
            # (its own exit is pending in the tracker), the position goes back to the exit rules, which fire
            # again and find it settled by then.
            if not any(o.id in self.working for o in prior):
                await positions.exit_failed.remote(signal.mint)
            self._count("exit_waits_for_unresolved")
            return ExecutionReport(ExecStatus.REFUSED, reason="previous exit attempt unresolved")
        try:
            curve = await self.reader.curve(signal.mint)
            pool = await self.reader.pool(signal.mint) if curve is None or curve.curve.complete else None
        except Exception as exc:
            await positions.exit_failed.remote(signal.mint)
            return ExecutionReport(ExecStatus.REFUSED, reason=f"state unavailable: {type(exc).__name__}")
        # Exit ids are deterministic per attempt; an id any earlier attempt used (whatever became of it) is
        # never reused: the next attempt takes the next number.
        used = {o.id for o in prior}
        planned = stages.plan_exit(pos, signal, curve, pool, self.cfg.execution.slippage_bps, self.mode,
                                   self.clock.now(), lambda order_id: order_id not in used)
        if isinstance(planned, str):
            if planned == "no_position":
                return ExecutionReport(ExecStatus.NO_POSITION)
            await positions.exit_failed.remote(signal.mint)
            return ExecutionReport(ExecStatus.REFUSED, reason=planned)
        order = planned.order
        self.working.add(order.id)
        try:
            await self.ledger.record_order.remote(order)
            count_orders((order,))
            market = Market(curve=planned.curve, pool=planned.pool)
            return await self._run(order, market, self.client.prepare(order, market))
        except BaseException:
            self.working.discard(order.id)
            await positions.exit_failed.remote(signal.mint)
            raise

    # --- one order through its client ------------------------------------------------------------------------
    async def _run(self, order: Order, market: Market, prepared) -> ExecutionReport:
        """Execute a durable intent and record what became of it. Whatever goes wrong, the order is not left
        an intent by this process: an exception after the intent (ledger away mid-way) leaves it to the
        reconciler, which fails an intent without a signature and resolves one with a signature from the chain."""
        self.working.add(order.id)
        try:
            try:
                outcome = await self.client.execute(order, market, prepared)
            except Exception as exc:   # noqa: BLE001 - the client's own ledger write failed
                discard(prepared)
                self._count("execute_error")
                log.error("order %s: %s: %s", order.id, type(exc).__name__, exc)
                self.working.discard(order.id)
                asyncio.ensure_future(self.reconcile_now())
                return ExecutionReport(ExecStatus.UNRESOLVED, order_id=order.id, reason=type(exc).__name__)
            return await self._settle(outcome)
        finally:
            self.working.discard(order.id)

    async def _settle(self, out: Outcome) -> ExecutionReport:
        order, live = out.order, self.mode == "live"
        sig = order.signature
        if out.state is OrderState.CONFIRMED:
            if out.fill is not None:
                return await self._book(order, out.fill)
            confirmed = transition(order, OrderState.CONFIRMED, time.time())
            await self.ledger.record_order.remote(confirmed)
            count_orders((confirmed,))
            self._count("confirmed_fill_pending")   # the reconciler books it when the chain serves the tx
            self.pending += 1
            return ExecutionReport(ExecStatus.CONFIRMED, order.id, "fill pending", sig)
        if out.state is OrderState.FAILED:
            await self._fail(order, out.error)
            if out.fee_lamports > 0:
                await self._book_cost(order, sig, out.fee_lamports, out.fee_slot)
            if self.mode == "dry_run":
                return ExecutionReport(ExecStatus.DRY_RUN, order.id)
            status = ExecStatus.FAILED if live and out.sent else ExecStatus.REJECTED
            return ExecutionReport(status, order.id, out.error, sig)
        state = out.state
        final = transition(order, state, time.time(), error=out.error)
        await self.ledger.record_order.remote(final)
        self._count(f"live_{state.value}")
        count_orders((final,))
        if state is OrderState.EXPIRED:
            await self._undo(final)
            return ExecutionReport(ExecStatus.EXPIRED, order.id, out.error, sig)
        self.pending += 1
        return ExecutionReport(ExecStatus.UNRESOLVED, order.id, out.error, sig)

    async def _book(self, submitted: Order, fill: Fill) -> ExecutionReport:
        confirmed = transition(submitted, OrderState.CONFIRMED, fill.ts, signature=fill.signature or submitted.signature)
        await self.ledger.record_batch.remote(orders=[submitted, confirmed], fills=[fill])
        self._count(f"filled_{fill.side.value}")
        booked = await self.peers(names.POSITIONS).on_fill.remote(fill, confirmed)
        self._trade_log("fill", confirmed, fill=fill)     # after the booking: never delays it
        count_orders((confirmed,) if self.live is not None else (submitted, confirmed))  # live: counted at send
        count_fills((fill,), confirmed.mode)
        return ExecutionReport(ExecStatus.FILLED, confirmed.id, signature=confirmed.signature, tokens=fill.tokens,
                               lamports=fill.lamports, slot=fill.slot, booked=Booked.from_dict(booked or {}))

    async def _fail(self, order: Order, reason: str) -> None:
        failed = transition(order, OrderState.FAILED, self.clock.now(), error=reason)
        steps = [failed] if order.state is OrderState.INTENT or order.state is OrderState.SUBMITTED else []
        if order.state is OrderState.SUBMITTED:
            steps = [order, failed]
        await self.ledger.record_batch.remote(orders=steps)
        self._count(f"failed_{reason.split(':')[0] if self.live is not None else reason}")
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

    # --- status ----------------------------------------------------------------------------------------------
    def set_clock(self, now: float) -> float:
        return self.clock.advance(now)

    def flush_telemetry(self) -> None:
        """Graceful shutdown (Supervisor.shutdown): export the spans still batched before this actor is killed."""
        observe.flush()

    def status(self) -> dict:
        lat = sorted(self.detect_to_send_ms[-5000:])
        out = {"mode": self.mode, "in_flight": self.in_flight, "counts": dict(self.counts),
               "reconcile_pending": self.pending}
        if lat:
            out["detect_to_send_ms_p50"] = round(lat[len(lat) // 2], 2)
            out["detect_to_send_ms_p95"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.95))], 2)
        if self.live is not None:
            out["wallet"] = self.live.address
            out["live_counts"] = dict(self.live.counts)
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
