"""Per-process observability: the JSON-lines logs (actors/logs.py) and the span exporter (actors/tracing.py),
installed once per actor process by `init_observability(cfg, component)` from the actor's constructor.

Idempotent per process: a restarted actor gets a fresh process (and installs again); a second actor in the
same process (tests) reuses the first one's setup. Never raises: an actor starts without logs/traces rather
than not at all. Tracing exports to OTLP when `telemetry.otlp_endpoint` is set, else to the JSON-lines
`telemetry.trace_file` (relative paths are under the ledger's directory); "" for both turns it off.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pipelines.config import Config
from pipelines.redaction import redact_patterns

log = logging.getLogger("launchray.observe")


_lock = threading.Lock()
_logs = None            # actors.logs.LogSetup
_provider = None        # opentelemetry TracerProvider
_tracer = None
_component = ""


def trace_path(cfg: Config) -> str:
    """`telemetry.trace_file`, under the ledger's directory when relative ("" = no trace file)."""
    raw = cfg.telemetry.trace_file
    if not raw:
        return ""
    p = Path(raw)
    return str(p if p.is_absolute() else Path(cfg.ledger.path).resolve().parent / p)


def init_observability(cfg: Config, component: str) -> None:
    global _logs, _provider, _tracer, _component
    try:    # no silently dead task: unhandled exceptions and ERROR logs reach the Supervisor's health watch
        from actors.task_watch import install
        install(cfg.ray.namespace, component)
    except Exception as exc:  # noqa: BLE001
        log.warning("task watch not installed for %s: %s", component, exc)
    with _lock:
        if _logs is None:
            try:
                from actors.logs import setup_logging
                secrets = [s for s in (cfg.alerts.telegram_bot_token, cfg.api.token) if s]
                _logs = setup_logging(cfg.logging, secrets=secrets)
            except Exception as exc:  # noqa: BLE001 - no logs is better than no actor
                log.warning("structured logs not installed for %s: %s", component, exc)
        if _provider is None:
            try:
                from actors.tracing import get_tracer, setup_tracing
                tcfg = cfg.telemetry.model_copy(update={"trace_file": trace_path(cfg)})
                if tcfg.otlp_endpoint or tcfg.trace_file:
                    # Batched export (telemetry.export_interval_ms): a killed actor loses at most about that
                    # much of its spans; a graceful shutdown flushes (Supervisor.shutdown -> flush()).
                    _provider = setup_tracing(tcfg, f"launchray.{component}", set_global=False,
                                              schedule_delay_ms=tcfg.export_interval_ms)
                    _tracer = get_tracer(_provider)
                    _component = component
            except Exception as exc:  # noqa: BLE001
                log.warning("tracing not installed for %s: %s", component, exc)
    # every actor calls this first thing: also the moment to set its CPU priority (actors/priority.py)
    from actors import priority
    # a replay runs on a simulated clock as fast as it can: nothing there is waiting on a wake-up
    realtime = 0 if cfg.chain.source == "replay" else cfg.ray.realtime_priority
    priority.apply(component, cfg.ray.background_nice, realtime=realtime)


def tracing_on() -> bool:
    return _tracer is not None


def start_trace(name: str, start_ts: float = 0.0, attributes: Mapping | None = None):
    """The root span of a new trace (ended by the caller: `end_span`), or None when tracing is off.
    `start_ts` (epoch seconds) backdates it, e.g. to when the opportunity was detected."""
    if _tracer is None:
        return None
    try:
        return _tracer.start_span(name, start_time=int(start_ts * 1e9) if start_ts > 0 else None,
                                  attributes=dict(attributes or {}))
    except Exception:  # noqa: BLE001
        return None


def past_span(name: str, root, start_ts: float, end_ts: float, **attributes) -> None:
    """A finished child of `root` for an interval that happened before it was known to be traced (e.g. the
    create event's way from Ingest to the Orchestrator). Nothing when tracing is off or the times are unknown."""
    if _tracer is None or root is None or not (0 < start_ts <= end_ts):
        return
    try:
        from opentelemetry import trace
        child = _tracer.start_span(name, context=trace.set_span_in_context(root), start_time=int(start_ts * 1e9),
                                   attributes={k: v for k, v in attributes.items() if v is not None})
        child.end(end_time=int(end_ts * 1e9))
    except Exception:  # noqa: BLE001
        pass


def past_spans_under(parent: str, spans) -> None:
    """past_span for each (name, start, end, attributes) of `spans`, under the traceparent `parent` (a span made
    in another actor). Nothing when tracing is off, there is no parent, or it cannot be read."""
    if _tracer is None or not parent or not spans:
        return
    from opentelemetry import trace
    from actors.tracing import context_from
    ctx = context_from(parent)
    if ctx is None:
        return
    root = trace.get_current_span(ctx)
    for name, start, end, attributes in spans:
        past_span(name, root, start, end, **attributes)


def traceparent(span) -> str:
    if span is None:
        return ""
    from actors.tracing import traceparent_of
    return traceparent_of(span)


def trace_hex(span) -> str:
    return format(span.get_span_context().trace_id, "032x") if span is not None else ""


def end_span(span, **attributes) -> None:
    if span is None:
        return
    try:
        for k, v in attributes.items():
            if v is not None:     # an outcome's reason may quote an error, e.g. an endpoint URL with its key
                span.set_attribute(k, redact_patterns(v) if isinstance(v, str) else v)
        span.end()
    except Exception:  # noqa: BLE001
        pass


@contextmanager
def span(name: str, parent: str, **attributes) -> Iterator[object]:
    """A child span of the traceparent `parent`; nothing when tracing is off or there is no parent (an order
    without a trace starts none). Yields the tracing.Stage or None."""
    if _tracer is None or not parent:
        yield None
        return
    from actors.tracing import stage
    with stage(_tracer, name, parent, {k: v for k, v in attributes.items() if v is not None}) as st:
        yield st


def flush(timeout_s: float = 2.0) -> None:
    """Export the spans still batched (call before a planned stop)."""
    if _provider is not None:
        try:
            _provider.force_flush(int(timeout_s * 1000))
        except Exception:  # noqa: BLE001
            pass
