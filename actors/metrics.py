"""The one catalogue of metrics launchray exports, and the accessor every actor records through.

Each update goes two ways:
- to `ray.util.metrics` (only when Ray is initialised in this process), which the per-node Ray metrics agent
  serves to Prometheus. Ray 2.60's agent re-exports through OpenTelemetry's Prometheus exporter and prefixes
  every application metric with `ray_`; counters gain `_total`, histograms `_bucket`/`_sum`/`_count`.
  So `launchray_events_in` (a counter) is scraped as `ray_launchray_events_in_total`. `exported_names()` spells
  this out; the Grafana dashboards and their test use it.
- to a small in-process mirror, so the ControlPlane can serve `/metrics` itself: every actor hands its
  `snapshot()` (plain picklable samples) to the ControlPlane, which merges them with `render_prometheus`. The
  mirror uses the same exported names, so the same dashboards work whichever endpoint Prometheus scrapes
  (scrape one of them, not both, or sums double).

Hot paths record through `tally()`: a count or an observation is a dict update under a lock, and the tally hands
what it gathered to the metrics once a second, from a daemon thread (`snapshot()` flushes first, so /metrics is
exact): a counter costs one Ray call per series per second however many events it counted; a histogram's
observations are recorded together at the flush, off the hot path.

Importing this module needs neither Ray nor prometheus_client; `metrics()` builds the namespace on first use.
"""
from __future__ import annotations

import bisect
import logging
import sys
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from types import SimpleNamespace
from urllib.parse import urlsplit

log = logging.getLogger("launchray.metrics")

EXPORT_PREFIX = "ray_"  # added by Ray's metrics agent to every ray.util.metrics name

_LATENCY_MS = (1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)

# name -> (type, description, tag_keys). Counter names never end in "_total" (the exporter adds it).
METRIC_NAMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "launchray_events_in": ("counter", "Decoded chain events received, by event kind and venue", ("kind", "venue")),
    "launchray_decode_errors": ("counter", "Transactions or accounts that failed to decode", ("source",)),
    "launchray_tokens_tracked": ("gauge", "Tokens with live state in an analyzer shard", ("shard",)),
    "launchray_signals": ("counter", "Strategy signals raised", ("strategy",)),
    "launchray_opportunities": ("counter", "Opportunities queued for the orchestrator", ("strategy",)),
    "launchray_approvals": ("counter", "Opportunities approved and reserved by the risk supervisor", ("strategy",)),
    "launchray_rejections": ("counter", "Opportunities or orders refused, by reason", ("reason",)),
    "launchray_orders": ("counter", "Order state transitions, by new state", ("state", "side", "mode")),
    "launchray_fills": ("counter", "Fills recorded", ("side", "mode")),
    "launchray_realized_pnl_sol": ("gauge", "Realised P&L today in SOL", ("mode",)),
    "launchray_unrealized_pnl_sol": ("gauge", "Unrealised P&L of open positions in SOL", ("mode",)),
    "launchray_open_positions": ("gauge", "Open positions", ("mode",)),
    "launchray_capital_deployed_sol": ("gauge", "Capital in open positions and reservations, SOL", ("mode",)),
    "launchray_capital_available_sol": ("gauge", "Capital free for new entries, SOL", ("mode",)),
    "launchray_health_level": ("gauge", "Error level: 0 ok, 1 degraded (entries paused), 2 critical (run stops)", ()),
    "launchray_health_reason": ("gauge", "1 for each cause counted in the error level", ("cause",)),
    "launchray_risk_state": ("gauge", "Risk state: 0 active, 1 reducing (exits only), 2 halted", ()),
    "launchray_loop_period_ms": ("histogram", "Orchestrator loop period, ms", ()),
    "launchray_detect_to_send_ms": ("histogram", "From event detection to order sent, ms", ("strategy",)),
    "launchray_risk_reserve_ms": ("histogram", "Risk approve-and-reserve call latency, ms", ()),
    # outcome: pipelines.rpc.policy.Outcome: "ok" | "rpc_error" | "rate_limited" (429) | "server_error" (5xx or
    # another non-200) | "timeout" | "transport" (refused, reset)
    "launchray_rpc_calls": ("counter", "RPC calls by endpoint host, method and outcome",
                            ("endpoint", "method", "outcome")),
    "launchray_rpc_latency_ms": ("histogram", "RPC call latency by endpoint host, ms", ("endpoint",)),
    "launchray_ws_reconnects": ("counter", "WebSocket reconnects by endpoint host", ("endpoint",)),
    "launchray_actor_restarts": ("counter", "Actor restarts seen by the supervisor", ("actor",)),
    "launchray_task_restarts": ("counter", "Long-running actor tasks restarted after they ended or raised",
                                ("task",)),
    "launchray_stream_stale": ("gauge", "1 while the log stream is stale (the chain has activity it did not deliver)",
                               ()),
    "launchray_ledger_writes": ("counter", "Ledger rows written, by table", ("table",)),
    "launchray_alerts_sent": ("counter", "Alert deliveries by channel, kind and outcome (ok, retry, failed)",
                              ("channel", "kind", "outcome")),
}

HISTOGRAM_BOUNDARIES: dict[str, tuple[float, ...]] = {
    "launchray_loop_period_ms": (1.0, 2.0, 5.0, 10.0, 12.0, 15.0, 20.0, 50.0, 100.0, 250.0, 1000.0),
    "launchray_detect_to_send_ms": _LATENCY_MS,
    "launchray_risk_reserve_ms": (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 500.0),
    "launchray_rpc_latency_ms": _LATENCY_MS,
}

# Attribute on the metrics() namespace -> catalogue name.
ATTRIBUTES: dict[str, str] = {name.removeprefix("launchray_"): name for name in METRIC_NAMES}


def exported_names(name: str) -> tuple[str, ...]:
    """The series names Prometheus sees for catalogue metric `name` (from Ray's agent or our /metrics)."""
    kind = METRIC_NAMES[name][0]
    base = EXPORT_PREFIX + name
    if kind == "counter":
        return (base + "_total",)
    if kind == "histogram":
        return (base + "_bucket", base + "_sum", base + "_count")
    return (base,)


EXPORTED_NAMES: dict[str, str] = {e: n for n in METRIC_NAMES for e in exported_names(n)}


def endpoint_label(url: str) -> str:
    """An RPC endpoint as a metric label: host[:port] only (paths and query strings often hold API keys)."""
    try:
        parts = urlsplit(url)
        return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "unknown"
    except ValueError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of one metric from one process; what actors send to the ControlPlane."""
    name: str                                # catalogue name
    labels: tuple[tuple[str, str], ...]      # sorted (key, value)
    value: float                             # counter total, gauge value, or histogram sum
    count: int = 0                           # histogram observations
    buckets: tuple[int, ...] = ()            # histogram: non-cumulative counts per boundary, +Inf last


class _Instrument:
    """One catalogue metric: records into the local mirror and, when Ray is up, into ray.util.metrics."""

    __slots__ = ("name", "kind", "tag_keys", "boundaries", "_registry", "_ray", "_warned")

    def __init__(self, name: str, registry: "_Registry"):
        self.name = name
        self.kind, _, self.tag_keys = METRIC_NAMES[name]
        self.boundaries = HISTOGRAM_BOUNDARIES.get(name, ())
        self._registry = registry
        self._ray = None
        self._warned: set = set()

    def _labels(self, tags: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
        tags = tags or {}
        if set(tags) != set(self.tag_keys):
            # A wrong label set is a bug in the caller, but a metric must never take an actor down.
            key = frozenset(tags)
            if key not in self._warned:
                self._warned.add(key)
                log.warning("metric %s expects tags %s, got %s", self.name, self.tag_keys, sorted(tags))
        # Missing or empty values become "none": Ray rejects a record with a tag key missing.
        return tuple((k, str(tags.get(k, "")) or "none") for k in self.tag_keys)

    def _ray_metric(self):
        if self._ray is None:
            ray = sys.modules.get("ray")  # never import Ray just to record a metric
            if ray is None or not ray.is_initialized():
                return None
            from ray.util import metrics as ray_metrics

            description = METRIC_NAMES[self.name][1]
            if self.kind == "counter":
                self._ray = ray_metrics.Counter(self.name, description, self.tag_keys)
            elif self.kind == "gauge":
                self._ray = ray_metrics.Gauge(self.name, description, self.tag_keys)
            else:
                self._ray = ray_metrics.Histogram(self.name, description, list(self.boundaries), self.tag_keys)
        return self._ray

    def _record(self, value: float, tags) -> None:
        labels = self._labels(tags)
        self._registry.record(self, labels, float(value))
        try:
            metric = self._ray_metric()
            if metric is None:
                return
            ray_tags, value = dict(labels), float(value)  # Ray takes only int/float (not numpy, Decimal)
            if self.kind == "counter":
                metric.inc(value, tags=ray_tags)
            elif self.kind == "gauge":
                metric.set(value, tags=ray_tags)
            else:
                metric.observe(value, tags=ray_tags)
        except Exception:  # noqa: BLE001 - metrics are best effort
            log.debug("ray metric %s failed", self.name, exc_info=True)

    def inc(self, value: float = 1.0, tags: Mapping[str, object] | None = None) -> None:
        if self.kind != "counter":
            raise TypeError(f"{self.name} is a {self.kind}, not a counter")
        if value > 0:
            self._record(value, tags)

    def set(self, value: float, tags: Mapping[str, object] | None = None) -> None:
        if self.kind != "gauge":
            raise TypeError(f"{self.name} is a {self.kind}, not a gauge")
        self._record(value, tags)

    def observe(self, value: float, tags: Mapping[str, object] | None = None) -> None:
        if self.kind != "histogram":
            raise TypeError(f"{self.name} is a {self.kind}, not a histogram")
        self._record(value, tags)


class _Registry:
    """The in-process mirror: counter totals, last gauge values, histogram bucket counts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple], float] = {}
        self._hist: dict[tuple[str, tuple], list] = {}  # -> [bucket counts..., sum, count]

    def record(self, inst: _Instrument, labels: tuple, value: float) -> None:
        key = (inst.name, labels)
        with self._lock:
            if inst.kind == "counter":
                self._values[key] = self._values.get(key, 0.0) + value
            elif inst.kind == "gauge":
                self._values[key] = value
            else:
                h = self._hist.get(key)
                if h is None:
                    h = self._hist[key] = [0] * (len(inst.boundaries) + 1) + [0.0, 0]
                # Prometheus buckets are "le": a value equal to a boundary counts in that bucket.
                h[bisect.bisect_left(inst.boundaries, value)] += 1
                h[-2] += value
                h[-1] += 1

    def snapshot(self) -> list[Sample]:
        with self._lock:
            out = [Sample(n, lab, v) for (n, lab), v in self._values.items()]
            out += [Sample(n, lab, h[-2], h[-1], tuple(h[:-2])) for (n, lab), h in self._hist.items()]
        return out

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._hist.clear()


_lock = threading.Lock()
_namespace: SimpleNamespace | None = None


def metrics() -> SimpleNamespace:
    """The process-wide metrics namespace: `metrics().events_in.inc(tags={"kind": "trade", "venue": "pumpfun"})`."""
    global _namespace
    if _namespace is None:
        with _lock:
            if _namespace is None:
                registry = _Registry()
                ns = SimpleNamespace(**{attr: _Instrument(name, registry) for attr, name in ATTRIBUTES.items()})
                ns.registry = registry
                _namespace = ns
    return _namespace


FLUSH_EVERY_S = 1.0
MAX_PENDING_OBSERVATIONS = 10_000   # per series between two flushes (a stalled flusher must not grow memory)


class Tally:
    """What a hot path counts and observes, recorded into the metrics in one go per flush.

    `count("events_in", 3, kind="trade", venue="pumpfun")` adds to a pending total; `observe("loop_period_ms",
    10.2)` appends to a pending list; `flush()` records each pending total with one counter call and each
    observation into its histogram. Tag keyword order must be the same at every call site of a series (it is
    part of the pending key; the recorded labels are the catalogue's, whatever the order).
    """

    def __init__(self, background: bool = True) -> None:
        """`background=False`: recorded only by an explicit flush() (neither the thread nor snapshot() see it)."""
        self._lock = threading.Lock()
        self._counts: dict[tuple, float] = {}
        self._observed: dict[tuple, list[float]] = {}
        if background:
            _TALLIES.add(self)
            _start_flusher()

    def count(self, attr: str, n: float = 1, **tags: object) -> None:
        if n > 0:
            key = (attr, tuple(tags.items()))
            with self._lock:
                self._counts[key] = self._counts.get(key, 0) + n

    def observe(self, attr: str, value: float, **tags: object) -> None:
        key = (attr, tuple(tags.items()))
        with self._lock:
            pending = self._observed.get(key)
            if pending is None:
                self._observed[key] = [value]
            elif len(pending) < MAX_PENDING_OBSERVATIONS:
                pending.append(value)

    def flush(self) -> int:
        """Record everything pending; returns how many metric updates that took."""
        with self._lock:
            counts, self._counts = self._counts, {}
            observed, self._observed = self._observed, {}
        ns = metrics()
        for (attr, tags), n in counts.items():
            getattr(ns, attr).inc(n, tags=dict(tags))
        done = len(counts)
        for (attr, tags), values in observed.items():
            inst, tag_map = getattr(ns, attr), dict(tags)
            for i, v in enumerate(values, 1):
                inst.observe(v, tags=tag_map)
                if i % 32 == 0:
                    time.sleep(0)      # hand the GIL to the actor's event loop between short runs
            done += len(values)
        return done


_TALLIES: "weakref.WeakSet[Tally]" = weakref.WeakSet()
_tally: Tally | None = None
_flusher: threading.Thread | None = None
_flusher_lock = threading.Lock()


def tally() -> Tally:
    """The process-wide Tally (what actors record their hot paths through)."""
    global _tally
    if _tally is None:
        with _lock:
            if _tally is None:
                _tally = Tally()
    return _tally


def flush_tallies() -> None:
    for t in list(_TALLIES):
        try:
            t.flush()
        except Exception:  # noqa: BLE001 - metrics are best effort
            log.debug("metrics flush failed", exc_info=True)


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_EVERY_S)
        flush_tallies()


def _start_flusher() -> None:
    global _flusher
    with _flusher_lock:
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_forever, name="launchray-metrics", daemon=True)
            _flusher.start()


# --- what the actors count, per batch ---------------------------------------------------------------------
_KIND_VENUE = attrgetter("kind", "venue")


def count_events(events) -> None:
    """Ingest: one batch of decoded events, by kind and venue."""
    if events:
        t = tally()
        for (kind, venue), n in Counter(map(_KIND_VENUE, events)).items():   # counted in C: no Python step per event
            t.count("events_in", n, kind=kind, venue=venue)


def count_trade_columns(parts) -> None:
    """Ingest: trades routed as their wire columns (column 0: venue), by venue."""
    t = tally()
    venues: Counter = Counter()
    for columns in parts:
        venues.update(columns[0])
    for venue, n in venues.items():
        t.count("events_in", n, kind="trade", venue=venue)


def count_decision(strategy: str, approved: bool, reason: str, reserve_ms: float) -> None:
    """RiskSupervisor: one approve-and-reserve decision (approvals by strategy, rejections by reason)."""
    t = tally()
    if approved:
        t.count("approvals", 1, strategy=strategy)
    else:
        t.count("rejections", 1, reason=reason)
    t.observe("risk_reserve_ms", reserve_ms)


def count_orders(orders) -> None:
    """Executor: order states written to the ledger (each a transition to that state)."""
    t = tally()
    for o in orders:
        t.count("orders", 1, state=o.state.value, side=o.side.value, mode=o.mode)


def count_fills(fills, mode: str) -> None:
    t = tally()
    for f in fills:
        t.count("fills", 1, side=f.side.value, mode=mode)


def snapshot() -> list[Sample]:
    """This process's samples (to hand to the ControlPlane), with every tally's pending counts recorded first."""
    flush_tallies()
    return metrics().registry.snapshot()


def merge_samples(samples: Iterable[Sample]) -> list[Sample]:
    """Add up the same series reported by several processes (each shard owns its own gauge labels)."""
    merged: dict[tuple[str, tuple], Sample] = {}
    for s in samples:
        key = (s.name, s.labels)
        prev = merged.get(key)
        if prev is None:
            merged[key] = s
        elif len(prev.buckets) != len(s.buckets):
            log.warning("metric %s: histogram layouts differ between processes; keeping the first", s.name)
        else:
            merged[key] = Sample(s.name, s.labels, prev.value + s.value, prev.count + s.count,
                                 tuple(a + b for a, b in zip(prev.buckets, s.buckets)))
    return list(merged.values())


def render_prometheus(samples: Iterable[Sample]) -> str:
    """Prometheus text exposition (via prometheus_client) of samples from one or many processes."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    by_name: dict[str, list[Sample]] = {}
    for s in merge_samples(samples):
        if s.name in METRIC_NAMES:
            by_name.setdefault(s.name, []).append(s)

    class _Collector:
        def collect(self):
            for name in sorted(by_name):
                kind, description, tag_keys = METRIC_NAMES[name]
                exported = EXPORT_PREFIX + name
                if kind == "counter":
                    fam = CounterMetricFamily(exported, description, labels=tag_keys)
                elif kind == "gauge":
                    fam = GaugeMetricFamily(exported, description, labels=tag_keys)
                else:
                    fam = HistogramMetricFamily(exported, description, labels=tag_keys)
                for s in sorted(by_name[name], key=lambda x: x.labels):
                    values = [v for _, v in s.labels]
                    if kind == "histogram":
                        bounds = [*map(_le, HISTOGRAM_BOUNDARIES[name]), "+Inf"]
                        running, cumulative = 0, []
                        for le, n in zip(bounds, s.buckets):
                            running += n
                            cumulative.append((le, running))
                        fam.add_metric(values, cumulative, s.value)
                    else:
                        fam.add_metric(values, s.value)
                yield fam

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return generate_latest(registry).decode()


def _le(bound: float) -> str:
    return repr(float(bound))
