"""AnalyzerShard actor: one of N hosts of ShardCore (pipelines/analysis), routed by a stable hash of the mint.

Events come in batches from Ingest and are applied as they arrive; the tokens they touch are remembered, and
every 20 ms the flush reads each touched token's features once and sends them, batched, to the MomentumEngine
(a token traded in many batches between two flushes costs one features() call, not one per batch). A flush
reads at most `analysis.max_features_per_flush` tokens, those waiting longest first: under a burst the features
lag (a token is read every few flushes) instead of reading them taking the shard's whole CPU. Every 5 s each live
token joins the wait as well (its windows decay without trades), so the refresh is read under the same cap. In the
background it reads each new mint's account (authorities, Token-2022 extensions) and, every 30 s, the real
largest holders of active tokens, through RpcPool; it evicts dead tokens and checkpoints its state to disk so
a restart resumes where it was.

Replay mode (chain.source = "replay"): no account reads (there is no chain; the backtester reads none either),
refresh and eviction when the replay driver says they are due (`maintain`), and each batch's features are sent
on, and awaited, within the `ingest` call instead of by the 20 ms flush loop.
"""
from __future__ import annotations

import asyncio
import logging
import os
import pickle
import threading
import time
from pathlib import Path

import ray

from actors import names, observe, runtime_config
from actors.clock import ActorClock
from actors.held_mints import HeldMints
from actors.metrics import metrics, snapshot
from pipelines.analysis.shard import ShardCore
from pipelines.chain.errors import DecodeError
from pipelines.chain.events import Trade
from pipelines.chain.mint import decode_mint, decode_token_account
from pipelines.config import Config
from pipelines.housekeeping import EVICT_EVERY_S, REFRESH_EVERY_S
from pipelines.wire import EventBatch, events_of

log = logging.getLogger("launchray.analyzer")
FEATURE_FLUSH_S = 0.02
MINT_READ_S = 0.25
HOLDERS_EVERY_S = 30.0
HOLDERS_PER_ROUND = 20
REFRESH_S = REFRESH_EVERY_S
EVICT_S = EVICT_EVERY_S
CHECKPOINT_S = 10.0
CHAIN_SLOT_S = 5.0


def checkpoint_path(cfg: Config, index: int) -> Path:
    return Path(cfg.ledger.path).parent / "checkpoints" / f"shard_{index}.pkl"


@ray.remote(num_cpus=0)
class AnalyzerShard:
    def __init__(self, cfg: Config, index: int, n_shards: int) -> None:
        observe.init_observability(cfg, names.shard_name(index))   # JSON-lines logs, like every other actor
        cfg = runtime_config.restore(cfg, names.shard_name(index))  # this run's PATCHed safety thresholds
        self.cfg = cfg
        self.peers = names.Peers(cfg.ray.namespace)
        self.clock = ActorClock.for_config(cfg)
        self.index, self.n_shards = index, n_shards
        # Python path until the compiled trade kernel is loaded (first compile on a machine: ~10-25 s; then
        # cached on disk, ~2 s): loaded in a thread, so the shard takes events from its first second
        self.core = ShardCore(cfg.analysis, cfg.risk.blacklist, load_kernel=False)
        threading.Thread(target=self._load_kernel, name="trade-kernel", daemon=True).start()
        self.path = checkpoint_path(cfg, index)
        self.restored = self._restore()
        self._out: dict[str, object] = {}
        self._touched: dict[str, None] = {}     # mints applied to since the last flush (live mode)
        # held positions' mints (the PositionTracker's, polled each second): their features go out every flush
        # they changed in, ahead of max_features_per_flush, so a burst never delays an exit's price
        self.held = HeldMints(lambda: self.peers(names.POSITIONS).held_mints.remote(), names.shard_name(index))
        self._holders_at: dict[str, float] = {}
        self.reads = {"mint": 0, "holders": 0, "errors": 0}
        loop = asyncio.get_event_loop()
        self._tasks = [loop.create_task(self._maintenance_loop())]
        if not self.clock.replay:
            self._tasks += [loop.create_task(self._flush_loop()), loop.create_task(self._reads_loop()),
                            loop.create_task(self._chain_slot_loop())]

    def _load_kernel(self) -> None:
        try:
            self.core.load_kernel()
        except Exception as exc:   # noqa: BLE001 - the Python path is the reference: the shard runs on without
            log.warning("shard %d: compiled trade path not loaded (%s); trades take the Python path", self.index, exc)

    def _restore(self) -> bool:
        try:
            with open(self.path, "rb") as fh:
                self.core.restore(pickle.load(fh))
            return True
        except FileNotFoundError:
            return False
        except Exception as exc:   # a bad checkpoint costs history, never the shard
            log.warning("shard %d: ignoring checkpoint %s: %s", self.index, self.path, exc)
            return False

    def checkpoint(self) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(self.core.snapshot(), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.path)
        return str(self.path)

    # --- events in, features out -------------------------------------------------------------------------------
    async def ingest(self, events, now: float | None = None) -> int:
        """A batch from Ingest (a list, or an EventBatch: columns on the wire)."""
        now = self.clock.at(now)
        if self.clock.replay:              # this batch's features, now (as the backtester reads them)
            events = events_of(events)
            for f in self.core.ingest(events, now):
                self._out[f.mint] = f      # a token's batch features replace its refreshed ones
            await self.flush()
            return len(events)
        # apply now, read features once per flush; a batch of trades alone is applied from its wire columns
        columns = events.columns_of(Trade) if isinstance(events, EventBatch) else None
        touched = self.core.apply(events_of(events), now) if columns is None else \
            self.core.apply_columns(columns, now)
        self._touched.update(dict.fromkeys(touched))
        return len(events)

    def _collect(self, now: float) -> None:
        """Features of up to max_features_per_flush of the tokens applied to since they were last read (those
        waiting longest), read once each at `now`; they replace the refreshed ones pending for the same tokens."""
        if self._touched:
            due = ShardCore.take_stalest(self._touched, self.cfg.analysis.max_features_per_flush, self.held.mints)
            for f in self.core.features_of(due, now):
                self._out[f.mint] = f

    async def flush(self, now: float | None = None) -> int:
        """Send the pending features to the MomentumEngine (live: every 20 ms; replay: awaited, per batch)."""
        self._collect(self.clock.at(now))
        if not self._out:
            return 0
        batch, self._out = list(self._out.values()), {}
        # as columns (EventBatch): ~40% cheaper to pickle than the objects one by one, every 20 ms
        call = self.peers(names.MOMENTUM).on_features.remote(EventBatch(batch), self.clock.sent())
        if self.clock.replay:
            await call
        return len(batch)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FEATURE_FLUSH_S)
            await self.flush()

    # --- account reads -----------------------------------------------------------------------------------------
    async def _reads_loop(self) -> None:
        while True:
            await asyncio.sleep(MINT_READ_S)
            try:
                await self._read_mints()
                await self._read_holders()
            except Exception as exc:
                self.reads["errors"] += 1
                log.debug("shard %d reads: %s", self.index, exc)

    async def _read_mints(self) -> None:
        mints = self.core.pending_mint_reads(100, time.time())
        if not mints:
            return
        accts = await self.peers(names.RPC_POOL).get_accounts.remote(mints)
        now = time.time()
        for mint in mints:
            acct = accts.get(mint)
            try:
                if acct is None:             # not visible yet at the RPC's commitment: asked again later
                    self.core.mint_read_missed(mint, now)
                    continue
                f = self.core.apply_mint_info(mint, decode_mint(acct["data"], acct["owner"]), now)
            except (DecodeError, KeyError, TypeError):   # not a mint account: asked again later, less often
                self.reads["errors"] += 1
                self.core.mint_read_missed(mint, now)
                continue
            self.reads["mint"] += 1
            if f is not None:
                self._out[mint] = f

    async def _read_holders(self) -> None:
        now = time.time()
        due = [m for m in list(reversed(self.core.tokens))[:200]
               if now - self._holders_at.get(m, 0.0) >= HOLDERS_EVERY_S][:HOLDERS_PER_ROUND]
        if not due:
            return
        rpc = self.peers(names.RPC_POOL)
        for mint in due:
            self._holders_at[mint] = now
            largest = await rpc.get_token_largest_accounts.remote(mint)
            accounts = [x["address"] for x in largest]
            accts = await rpc.get_accounts.remote(accounts)
            holders = []
            for x in largest:
                a = accts.get(x["address"])
                if a is None:
                    continue
                try:
                    holders.append((decode_token_account(a["data"], a["owner"]).owner, int(x["amount"])))
                except (DecodeError, ValueError, KeyError):
                    continue
            f = self.core.apply_holders(mint, holders, time.time())
            self.reads["holders"] += 1
            if f is not None:
                self._out[mint] = f
        for m in [m for m in self._holders_at if m not in self.core.tokens]:
            del self._holders_at[m]

    # --- maintenance -------------------------------------------------------------------------------------------
    def maintain(self, refresh: bool, evict: bool, now: float | None = None) -> int:
        """Refresh (features of every live token, pending for the next flush) and/or evict, at the clock's now;
        returns how many features the refresh produced. The replay driver calls it when pipelines/housekeeping
        says they are due (the backtester's own order); live, the maintenance loop queues the refresh instead."""
        now, n = self.clock.at(now), 0
        if refresh:                      # windows decay even when nobody trades
            for f in self.core.refresh(now, active_within_s=self.cfg.analysis.evict_after_idle_s):
                self._out.setdefault(f.mint, f)
                n += 1
        if evict:
            self._evict(now)
        return n

    def queue_refresh(self, now: float | None = None) -> int:
        """Live refresh: every live token not already waiting joins the tokens waiting for a flush, behind them,
        and is read there within max_features_per_flush like a traded one. Reading them all at once took this
        actor's loop for ~25 us a token (0.1-0.5 s every 5 s with 5,000-20,000 tokens): ingest calls and held
        positions' prices waited behind it. Returns how many joined."""
        now, n = self.clock.at(now), 0
        touched = self._touched
        for mint in self.core.refresh_states(now, active_within_s=self.cfg.analysis.evict_after_idle_s):
            if mint not in touched:
                touched[mint] = None
                n += 1
        return n

    def _evict(self, now: float) -> None:
        """Evict dead tokens; the features of one still waiting for a flush are read first, so a token evicted
        for a rug still reports it (the others keep waiting their turn)."""
        gone = self.core.evictable(now)
        doomed = [mint for mint in gone if mint in self._touched]
        for mint in doomed:
            del self._touched[mint]
        for f in self.core.features_of(doomed, now):
            self._out[f.mint] = f
        self.core.drop(gone)

    async def _maintenance_loop(self) -> None:
        last_refresh = last_evict = last_ckpt = time.time()
        while True:
            await asyncio.sleep(1.0)
            self._record_tokens()
            now = time.time()
            if not self.clock.replay:
                self.held.poll(now)
                refresh, evict = now - last_refresh >= REFRESH_S, now - last_evict >= EVICT_S
                if refresh:
                    self.queue_refresh(now)
                if evict:
                    self._evict(now)
                last_refresh = now if refresh else last_refresh
                last_evict = now if evict else last_evict
            if now - last_ckpt >= CHECKPOINT_S:
                await asyncio.get_event_loop().run_in_executor(None, self._checkpoint_quietly)
                last_ckpt = now

    async def _chain_slot_loop(self) -> None:
        """The chain's slot for ShardCore's warm-up (a launch far behind it was learned late): read first thing,
        before Ingest's backfill of a restart's gap can arrive, then every CHAIN_SLOT_S."""
        while True:
            try:
                slot = await asyncio.wait_for(self.peers(names.RPC_POOL).get_slot.remote(), 5.0)
                self.core.note_chain_slot(slot, self.clock.now())
                wait = CHAIN_SLOT_S
            except Exception:     # noqa: BLE001 - the pool not up yet, or every endpoint failing: again soon
                wait = 1.0
            await asyncio.sleep(wait)

    def _checkpoint_quietly(self) -> None:
        try:
            self.checkpoint()
        except OSError as exc:
            log.warning("shard %d checkpoint failed: %s", self.index, exc)

    def features(self, mint: str):
        st = self.core.get(mint)
        return None if st is None else st.features(self.clock.now())

    def update_config(self, cfg: Config) -> None:
        """Runtime change (control API): safety thresholds and blacklists apply to every tracked token."""
        self.cfg = cfg
        self.core.update_config(cfg.analysis, cfg.risk.blacklist)

    def stats(self) -> dict:
        return {"index": self.index, "restored": self.restored, "reads": dict(self.reads),
                "held": sum(1 for m in self.held.mints if self.core.get(m) is not None), **self.core.stats()}

    def _record_tokens(self) -> None:
        """launchray_tokens_tracked for this shard (a gauge: set once a second and when /metrics asks)."""
        metrics().tokens_tracked.set(len(self.core.tokens), tags={"shard": str(self.index)})

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        self._record_tokens()
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()
