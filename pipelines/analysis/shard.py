"""ShardCore: the TokenStates of many mints, batch in, batch out (what one AnalyzerShard actor hosts).

- `apply(events, now)` folds a batch in and returns the mints it touched, once each, in first-touched order;
  `apply_columns(columns, now)` does the same for a batch of trades as their columns (what Ingest sends);
  `features_of(mints, now)` reads their features; `ingest(events, now)` is both (AnalyzerShard's replay-mode
  call). A host that batches its output (AnalyzerShard: every 20 ms) applies every batch but reads features
  once per flush, so a hot token costs one features() per flush instead of one per batch.
- `apply_states` / `refresh_states` are `ingest` / `refresh` with the reading left to the caller: the states
  to read, keyed by mint in output order. A host that uses features for scoring and held positions only (the
  backtester) reads just the states `wanted` by those (`features_for`), the rest would be thrown away.
  Events about nothing (SOL/USDC pools), with oversized mints, or that fail to apply (wrong types from a
  broken decoder) are skipped and counted, never raised.
- Re-delivered events (a Ray retry after an actor restart delivers a batch at least once) are dropped: the
  shard remembers a 64-bit digest (XXH3-64, `event_digest`) of the last `AnalysisConfig.dedupe_events` event
  keys.
- At most `max_tracked_tokens` are tracked; a new mint beyond that evicts the least recently active one.
- `evict(now)` drops dead tokens (idle past `evict_after_idle_s`, or rugged). A rugged mint is remembered
  (bounded) so that a later trade does not resurrect it as a fresh, clean-looking token.
- `snapshot()` / `restore()` carry everything across an actor restart as plain primitives and bytes.
- Warm-up (TokenFeatures.warm, AnalysisConfig.warmup_s): a token with a gap in its history (restored: the watch
  restarts at the first batch after the restore; first seen mid-life; or its launch learned late, more than
  late_launch_slots behind the newest slot: slot_watch.py) is not warm until watched warmup_s without a break:
  its windows hold a backfill's burst at one `now`, or nothing. A token seen from its launch is warm at once.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from collections import OrderedDict
from operator import attrgetter
from typing import Callable, Iterable

from xxhash import xxh3_64_intdigest as _xxh3_64

from pipelines.chain.events import Launch, Trade
from pipelines.config import AnalysisConfig
from pipelines.messages import TokenFeatures
from pipelines.wire import rebuilder

from .routing import event_mint
from .layout import CURVE_VENUES, LAST_ACTIVE, MAX_KEY_LEN, VSOL, VTOK, AnalysisParams
from .records import from_record, to_record
from .slot_watch import SlotWatch
from .token_state import TokenState
from .trade_batch import EXACT_MAX, TradeColumns, TradeKernel, run_columns, utf8

# 2: dedupe digests are XXH3-64 (1: blake2b-64; such a snapshot restores without its digests)
SNAPSHOT_VERSION = 2
RUGGED_MEMORY = 4096
MINT_RETRY_FIRST_S, MINT_RETRY_MAX_S = 0.5, 30.0      # a mint read that found no account: wait, doubling to the cap
_TRADE_FIELDS = [f.name for f in dataclasses.fields(Trade)]
T_SIGNATURE, T_MINT, T_SEQ, T_SLOT = (_TRADE_FIELDS.index(k) for k in ("signature", "mint", "seq", "slot"))
_trade_values = attrgetter(*_TRADE_FIELDS)
_make_trade = rebuilder(Trade)   # a Trade from its field values, as the wire rebuilds one
_event_key = "{}|trade|{}".format          # a trade's event key, as event_digest formats it (column by column)


class ShardCore:
    def __init__(self, cfg: AnalysisConfig, extra_blacklist: Iterable[str] = (), load_kernel: bool = True) -> None:
        """load_kernel=False: start on the Python path; the host calls `load_kernel()` when it suits it (the
        first compile on a machine takes seconds: an actor does it in a thread, not in its constructor)."""
        self.cfg = cfg
        self.params = AnalysisParams.from_config(cfg, tuple(extra_blacklist))
        self.kernel: TradeKernel | None = None
        if load_kernel:
            self.load_kernel()
        self.tokens: OrderedDict[str, TokenState] = OrderedDict()     # least recently active first
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._rugged: OrderedDict[str, None] = OrderedDict()
        self._mint_retry: dict[str, tuple[int, float]] = {}    # mint -> (reads that found no account, due again at)
        self.counters = {"events": 0, "skipped": 0, "bad": 0, "duplicates": 0,
                         "evicted_idle": 0, "evicted_rugged": 0, "evicted_cap": 0, "late_launches": 0}
        self.slots = SlotWatch()        # the newest slot seen (a launch far behind it was learned late)
        self._restored = False          # restored states wait for the first batch's `now` to start their warm-up

    def load_kernel(self) -> bool:
        """Take the compiled trade path for the current settings (AnalysisConfig.compiled_trades), or leave it.
        Safe from another thread: a batch reads `kernel` once, and either path gives the same state."""
        while True:
            params = self.params
            kernel = TradeKernel.for_params(params) if self.cfg.compiled_trades else None
            if self.params is params:             # settings unchanged meanwhile (update_config)
                self.kernel = kernel
                return kernel is not None

    # --- batches ----------------------------------------------------------------------------------------------
    def apply(self, events: Iterable, now: float) -> list[str]:
        """Fold a batch in; the mints it touched (an event changed their state), once each, first-touched first.
        A list, not a set: hosts emit features in this order and replays must not depend on string hashing.
        A trade may also come as its field values (a tuple in Trade's field order, as an EventBatch of trades
        carries it on the wire: zip(*EventBatch.columns_of(Trade))), so a host never has to build the Trade
        objects."""
        return list(self._apply(events, now))

    def apply_columns(self, columns: tuple, now: float) -> list[str]:
        """apply for a batch of trades given as their columns (Trade's field order: an EventBatch of trades as it
        arrives). The kernel's checks that do not depend on a token run once per column (TradeColumns); each
        row then needs only its token's (venue, creator, reserves). The same result as apply on the rows."""
        return list(self._apply_columns(columns, now))

    def apply_states(self, events: Iterable, now: float) -> dict[str, TokenState]:
        """apply, returning the touched states themselves (mint -> state, first-touched first): what `ingest`
        reads, including a state the cap evicted later in the same batch (its last state)."""
        return self._apply(events, now)

    def _apply(self, items: Iterable, now: float) -> dict[str, TokenState]:
        """The batch loop. An item is an event, or a Trade's field values (a tuple, as the wire carries it)."""
        if not math.isfinite(now):
            raise ValueError(f"now must be a finite time, got {now!r}")
        if self._restored:
            self._resume(now)
        touched: dict[str, TokenState] = {}
        tokens = self.tokens
        dedupe = self.cfg.dedupe_events
        kernel = self.kernel
        fast = kernel.row if kernel is not None else None
        n = skipped = bad = duplicates = 0
        for item in items:
            n += 1
            ev = None
            try:
                if type(item) is tuple:            # a trade's values
                    mint = item[T_MINT]
                else:
                    ev = item
                    mint = ev.mint if type(ev) is Trade else event_mint(ev)   # the common case first
                if not isinstance(mint, str) or not mint or len(mint) > MAX_KEY_LEN:
                    skipped += 1
                    continue
                if dedupe and self._seen_before(event_digest(item[T_SIGNATURE], "trade", item[T_SEQ]) if ev is None
                                                else event_digest(ev.signature, ev.kind, ev.seq)):
                    duplicates += 1
                    continue
                st = tokens.get(mint)
                if fast is not None and st is not None and (ev is None or type(ev) is Trade) and \
                        fast(item if ev is None else _trade_values(ev), st):
                    touched[mint] = st                 # queued for the compiled kernel (applied in order)
                    tokens.move_to_end(mint)
                    continue
                if ev is None:
                    ev = _make_trade(*item)
                if kernel is not None and kernel.pending:
                    bad += kernel.run(now)             # events before this one first: order holds
                self._apply_one(ev, st, mint, now, touched)
            except Exception:           # a malformed event must not take the shard down
                bad += 1
        if kernel is not None and kernel.pending:
            bad += kernel.run(now)
        self._count(n, skipped, bad, duplicates)
        return touched

    def _seen_before(self, digest: int) -> bool:
        """Whether an event's digest was seen already (a re-delivery); if not, it is remembered, the oldest of
        the last `dedupe_events` making room."""
        seen = self._seen
        if digest in seen:
            return True
        seen[digest] = None
        if len(seen) > self.cfg.dedupe_events:
            seen.popitem(last=False)
        return False

    def _apply_one(self, ev, st: TokenState | None, mint: str, now: float, touched: dict) -> None:
        """TokenState.apply for one event (the Python path). A first-seen mint gets a state, dropped again when
        the event said nothing about it or failed (created for this event alone: nothing is left behind)."""
        created = st is None
        if created:
            st = self._state_for(mint, now)
        try:
            changed = st.apply(ev, now)
        except Exception:
            if created:
                self.tokens.pop(mint, None)
            raise
        slot = ev.slot
        if created and type(ev) is Launch and type(slot) is int and \
                self.slots.late(slot, self.params.late_launch_slots):
            st.since = now                      # launched while nobody watched: its history has a gap
            self.counters["late_launches"] += 1
        self.slots.see(slot, now)
        if changed:
            touched[mint] = st
            self.tokens.move_to_end(mint)
        elif created:
            del self.tokens[mint]

    def _count(self, n: int, skipped: int, bad: int, duplicates: int) -> None:
        counters = self.counters
        counters["events"] += n
        counters["skipped"] += skipped
        counters["bad"] += bad
        counters["duplicates"] += duplicates

    def _apply_columns(self, cols: tuple, now: float) -> dict[str, TokenState]:
        """_apply's loop for columns. A row the kernel takes is queued; any other is applied by TokenState.apply
        after the rows queued before it, as in _apply (each token sees its events in order)."""
        kernel = self.kernel
        prep = (TradeColumns.of(cols) if kernel is not None and len(cols) == len(_TRADE_FIELDS) and cols[0]
                else None)
        if prep is None:                   # no kernel, or a column of odd types: the rows, one by one
            return self._apply(zip(*cols), now)
        if not math.isfinite(now):
            raise ValueError(f"now must be a finite time, got {now!r}")
        if self._restored:
            self._resume(now)
        try:
            self.slots.see(max(cols[T_SLOT]), now)
        except (TypeError, ValueError):    # a slot of another type: the rows are checked one by one anyway
            pass
        touched: dict[str, TokenState] = {}
        tokens = self.tokens
        digests = list(map(_xxh3_64, map(utf8, map(_event_key, cols[T_SIGNATURE], cols[T_SEQ])))) \
            if self.cfg.dedupe_events else None
        mints, venues, users, creators, vsols, vtoks = cols[T_MINT], cols[0], cols[7], cols[17], cols[11], cols[12]
        fit = prep.fit
        rows: list[int] = []
        ptrs: list[int] = []
        devs: list[int] = []
        curves: list[int] = []
        held: list[TokenState] = []        # the queued rows' states, alive until the kernel has run
        n = len(mints)
        skipped = bad = duplicates = 0
        for i in range(n):
            mint = mints[i]
            try:
                if not isinstance(mint, str) or not mint or len(mint) > MAX_KEY_LEN:
                    skipped += 1
                    continue
                if digests is not None and self._seen_before(digests[i]):
                    duplicates += 1
                    continue
                st = tokens.get(mint)
                if st is not None and fit[i]:
                    venue = st.venue
                    if venue and venues[i] == venue and (not creators[i] or st.creator) and (
                            (vsols[i] and vtoks[i]) or (st.ints[VSOL] < EXACT_MAX and st.ints[VTOK] < EXACT_MAX)):
                        rows.append(i)
                        ptrs.append(st.ints.buffer_info()[0])
                        held.append(st)
                        user = users[i]
                        devs.append(1 if user and user == st.creator else 0)
                        curves.append(1 if venue in CURVE_VENUES else 0)
                        touched[mint] = st
                        tokens.move_to_end(mint)
                        continue
                if rows:                           # rows before this one first: order holds
                    queued, keep = (rows, ptrs, devs, curves), held   # noqa: F841 - keep: states alive for the run
                    rows, ptrs, devs, curves, held = [], [], [], [], []
                    bad += run_columns(kernel, prep, *queued, now)
                self._apply_one(_make_trade(*[c[i] for c in cols]), st, mint, now, touched)
            except Exception:           # a malformed event must not take the shard down
                bad += 1
        if rows:
            bad += run_columns(kernel, prep, rows, ptrs, devs, curves, now)
        self._count(n, skipped, bad, duplicates)
        return touched

    @staticmethod
    def take_stalest(dirty: dict[str, None], limit: int, first: Iterable[str] = ()) -> list[str]:
        """Remove and return the mints of `first` that are dirty (held positions: their exits wait on these
        features), then the first `limit` others of `dirty` (insertion order: dirty longest first; marking an
        already dirty mint again keeps its place, so a hot token cannot starve a quiet one)."""
        out = [m for m in first if m in dirty]
        for mint in out:
            del dirty[mint]
        if len(dirty) <= limit:
            out += dirty
            dirty.clear()
            return out
        taken = 0
        for mint in dirty:
            if taken == limit:
                break
            out.append(mint)
            taken += 1
        for mint in out[len(out) - taken:]:
            del dirty[mint]
        return out

    def features_of(self, mints: Iterable[str], now: float) -> list[TokenFeatures]:
        """Features at `now` of those mints still tracked (an evicted one is skipped), in the given order."""
        tokens = self.tokens
        out = []
        for mint in mints:
            st = tokens.get(mint)
            if st is not None:
                out.append(st.features(now))
        return out

    def scorable(self, mint: str) -> bool:
        """TokenState.scorable of a tracked mint (False when it is not tracked)."""
        st = self.tokens.get(mint)
        return st is not None and st.scorable()

    def ingest(self, events: Iterable, now: float) -> list[TokenFeatures]:
        """apply + features: the features of every token the batch touched, once each, first-touched first
        (including a token the cap evicted later in the same batch: its last state)."""
        return [st.features(now) for st in self._apply(events, now).values()]

    @staticmethod
    def features_for(states: dict[str, TokenState], now: float,
                     wanted: Callable[[str, TokenState], bool] | None = None) -> list[TokenFeatures]:
        """Features at `now` of the states `wanted(mint, state)` accepts (all without it), in the dict's order.
        features() is pure, so reading a state later gives what reading it earlier gave as long as no event
        was applied to it in between."""
        if wanted is None:
            return [st.features(now) for st in states.values()]
        return [st.features(now) for mint, st in states.items() if wanted(mint, st)]

    def _state_for(self, mint: str, now: float) -> TokenState:
        st = self.tokens.get(mint)
        if st is not None:
            return st
        if len(self.tokens) >= self.cfg.max_tracked_tokens:
            old_mint, old = self.tokens.popitem(last=False)
            self._mint_retry.pop(old_mint, None)
            self.counters["evicted_cap"] += 1
            if old.rugged:
                self._remember_rugged(old_mint)
        st = TokenState(self.params, mint, now)
        if mint in self._rugged:
            st.rugged = True
        self.tokens[mint] = st
        return st

    # --- account reads ----------------------------------------------------------------------------------------
    def apply_mint_info(self, mint: str, info, now: float) -> TokenFeatures | None:
        st = self.tokens.get(mint)
        if st is None:
            return None
        self._mint_retry.pop(mint, None)
        st.apply_mint_info(info)
        return st.features(now)

    def apply_holders(self, mint: str, holders, now: float) -> TokenFeatures | None:
        st = self.tokens.get(mint)
        if st is None:
            return None
        st.apply_holders(holders)
        return st.features(now)

    def apply_lp_burn(self, mint: str, share: float, now: float) -> TokenFeatures | None:
        st = self.tokens.get(mint)
        if st is None:
            return None
        st.apply_lp_burn(share)
        return st.features(now)

    def pending_mint_reads(self, limit: int = 100, now: float | None = None) -> list[str]:
        """Mints still without a mint-account read, most recently active first (what to fetch next). Given `now`,
        a mint whose last read found no account waits for its retry time (`mint_read_missed`)."""
        out = []
        retry = self._mint_retry if now is not None else {}
        for mint in reversed(self.tokens):
            if not self.tokens[mint].flags:
                r = retry.get(mint)
                if r is not None and r[1] > now:
                    continue
                out.append(mint)
                if len(out) >= limit:
                    break
        return out

    def mint_read_missed(self, mint: str, now: float) -> float | None:
        """The chain gave no mint account for `mint` (not visible yet at the RPC's commitment, or not a mint at
        all): its next read waits MINT_RETRY_FIRST_S, doubling each miss up to MINT_RETRY_MAX_S, instead of
        asking the RPC again every round. Returns when it is due again (None: not tracked)."""
        if mint not in self.tokens:
            return None
        misses = self._mint_retry.get(mint, (0, 0.0))[0]
        at = now + min(MINT_RETRY_MAX_S, MINT_RETRY_FIRST_S * 2 ** min(misses, 16))
        self._mint_retry[mint] = (misses + 1, at)
        return at

    # --- reads ------------------------------------------------------------------------------------------------
    def update_config(self, cfg: AnalysisConfig, extra_blacklist: Iterable[str] = ()) -> None:
        """Runtime change of thresholds and blacklists (control API), applied to every tracked token. The state
        layout (windows, buckets, holder slots, sketch, trade ring) must not change: states hold buffers of it."""
        params = AnalysisParams.from_config(cfg, tuple(extra_blacklist))
        if params.layout_key != self.params.layout_key:
            raise ValueError("the analysis state layout cannot change at runtime")
        self.cfg, self.params = cfg, params
        if self.kernel is not None or not cfg.compiled_trades:
            self.load_kernel()
        for st in self.tokens.values():
            st.p = params

    def get(self, mint: str) -> TokenState | None:
        return self.tokens.get(mint)

    def refresh(self, now: float, active_within_s: float | None = None,
                wanted: Callable[[str], bool] | None = None) -> list[TokenFeatures]:
        """Features of every live token (windows decay with time even without trades), optionally only those
        active in the last `active_within_s` seconds, and only those `wanted(mint)` accepts (a host that uses
        features for scoring and held positions only can pass `lambda m: m in held or shard.scorable(m)`)."""
        return [st.features(now) for st in self.refresh_states(now, active_within_s, wanted).values()]

    def refresh_states(self, now: float, active_within_s: float | None = None,
                       wanted: Callable[[str], bool] | None = None) -> dict[str, TokenState]:
        """The states `refresh` reads (mint -> state, most recently active first)."""
        if self._restored and math.isfinite(now):
            self._resume(now)
        out: dict[str, TokenState] = {}
        for mint, st in reversed(self.tokens.items()):
            if active_within_s is not None and now - st.reals[LAST_ACTIVE] > active_within_s:
                break          # ordered by activity: the rest are older still
            if not st.is_dead(now) and (wanted is None or wanted(mint)):
                out[mint] = st
        return out

    def evictable(self, now: float) -> list[str]:
        """The mints `evict(now)` would drop: rugged, or idle past evict_after_idle_s (least recently active first)."""
        idle_after = self.cfg.evict_after_idle_s
        return [mint for mint, st in self.tokens.items() if st.rugged or now - st.last_active > idle_after]

    def evict(self, now: float) -> list[str]:
        return self.drop(self.evictable(now))

    def drop(self, gone: list[str]) -> list[str]:
        """Evict these mints (from `evictable`); a rugged one is remembered. Returns them."""
        for mint in gone:
            st = self.tokens.pop(mint, None)
            if st is None:
                continue
            self._mint_retry.pop(mint, None)
            if st.rugged:
                self.counters["evicted_rugged"] += 1
                self._remember_rugged(mint)
            else:
                self.counters["evicted_idle"] += 1
        return gone

    def _remember_rugged(self, mint: str) -> None:
        self._rugged[mint] = None
        self._rugged.move_to_end(mint)
        if len(self._rugged) > RUGGED_MEMORY:
            self._rugged.popitem(last=False)

    @property
    def max_slot(self) -> int:
        return self.slots.newest

    def note_chain_slot(self, slot, now: float) -> None:
        """The chain's slot as the host read it (getSlot): a launch far behind it was learned late, even when the
        gap's backfill is the first thing a fresh shard sees after a restart."""
        if math.isfinite(now):
            self.slots.see(slot, now)

    def stats(self) -> dict:
        n = len(self.tokens)
        sample = [st for _, st in zip(range(64), reversed(self.tokens.values()))]
        per_token = round(sum(state_bytes(st) for st in sample) / len(sample)) if sample else 0
        return {"tokens": n, "bytes_per_token": per_token, "bytes_estimate": per_token * n,
                "compiled_trades": self.kernel is not None,
                "dedupe_keys": len(self._seen), "rugged_remembered": len(self._rugged), **self.counters}

    # --- snapshot ---------------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """Everything needed to resume: plain Python values and bytes (pickle / msgpack ready)."""
        return {
            "version": SNAPSHOT_VERSION,
            "tokens": [to_record(st) for st in self.tokens.values()],
            "seen": list(self._seen),
            "rugged": list(self._rugged),
            "counters": dict(self.counters),
            **self.slots.snapshot(),
        }

    def restore(self, snap: dict) -> None:
        """Replace the state with a snapshot's. A snapshot of another version or shape raises ValueError and
        leaves the shard as it was; records from another window/ring layout restore with those parts empty."""
        try:
            version = snap.get("version")
            if version not in (1, SNAPSHOT_VERSION):
                raise ValueError(f"snapshot version {version!r}, expected {SNAPSHOT_VERSION}")
            tokens: OrderedDict[str, TokenState] = OrderedDict()
            for rec in snap["tokens"]:
                st = from_record(self.params, rec)
                tokens[st.mint] = st
            while len(tokens) > self.cfg.max_tracked_tokens:
                tokens.popitem(last=False)
            # a version 1 snapshot's digests are blake2b's: kept, they would never match again (an upgrade forgets
            # which events the shard had, as a cold start does; Ingest's own dedupe still stands in front)
            seen = OrderedDict((int(d), None) for d in snap.get("seen", ()) if version == SNAPSHOT_VERSION)
            rugged = OrderedDict((str(m), None) for m in snap.get("rugged", ()))
            counters = {k: int(v) for k, v in snap.get("counters", {}).items() if k in self.counters}
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"not a shard snapshot: {type(exc).__name__}: {exc}") from None
        self.tokens, self._seen, self._rugged = tokens, seen, rugged
        self._mint_retry = {}
        self.counters.update(counters)
        self._restored = True               # every restored state has a gap (records.py): see _resume
        self.slots.restore(snap)         # where the chain was: a launch made while the shard was down is late

    def _resume(self, now: float) -> None:
        """The first batch after a restore: the restored states' unbroken watch starts now, and the chain has
        moved on by the time the shard was down (SlotWatch.resume)."""
        self._restored = False
        self.slots.resume(now)
        for st in self.tokens.values():
            if st.since == math.inf:
                st.since = now


def event_digest(signature: str, kind: str, seq: int) -> int:
    """The 64-bit dedupe digest of an event key "signature|kind|seq": XXH3-64 of its UTF-8 (what snapshots keep;
    `_apply_columns` computes the same for a column of trades at once)."""
    return _xxh3_64(f"{signature}|{kind}|{seq}".encode("utf-8", "surrogatepass"))


def state_bytes(st: TokenState) -> int:
    """Memory held by one TokenState: the object, its arrays and sketches, the strings only it references
    (shared ones, e.g. interned venue and program names, are not counted)."""
    size = sys.getsizeof(st)
    for part in (st.ints, st.reals, st.cnt, st.owners, st.buf):
        size += sys.getsizeof(part)
    for v in (st.mint, st.creator, st.symbol, st.pool):
        if v:
            size += sys.getsizeof(v)
    return size
