"""OpenTelemetry tracing: one trace per opportunity, across actors.

Stages: detect -> analyze -> score -> approve -> send -> fill. Each actor opens a span for its stage as a child of
the W3C `traceparent` string it received in the message (`Opportunity.trace_id`, `Order.trace_id`; the field
holds the whole traceparent, "00-<trace id>-<span id>-01", not just the 32-hex trace id) and puts its own
span's traceparent in the message it sends on. A plain string crosses Ray's serialisation untouched.

Export: OTLP/HTTP protobuf when `TelemetryConfig.otlp_endpoint` is set (a base URL gets `/v1/traces`), else
one JSON object per span appended to `TelemetryConfig.trace_file`.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pipelines.config import TelemetryConfig

log = logging.getLogger("launchray.tracing")

TRACER_NAME = "launchray"
STAGES = ("detect", "analyze", "score", "approve", "send", "fill")
_PROPAGATOR = TraceContextTextMapPropagator()


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file (the no-collector default)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        lines = "".join(json.dumps(span_to_dict(s), default=str) + "\n" for s in spans)
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as f:
                f.write(lines)
        except OSError as exc:
            log.warning("trace file %s not writable: %s", self.path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._closed = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def span_to_dict(span: ReadableSpan) -> dict:
    ctx = span.get_span_context()
    parent = span.parent
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "duration_ms": (span.end_time - span.start_time) / 1e6 if span.end_time and span.start_time else None,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": e.name, "ts_ns": e.timestamp, "attributes": dict(e.attributes or {})}
                   for e in span.events],
        "service": (span.resource.attributes or {}).get("service.name", ""),
    }


def otlp_traces_url(endpoint: str) -> str:
    """`http://collector:4318` -> `http://collector:4318/v1/traces`; a URL with a path is used as given."""
    parts = urlsplit(endpoint)
    return endpoint.rstrip("/") + "/v1/traces" if parts.path in ("", "/") else endpoint


def setup_tracing(cfg: TelemetryConfig, service_name: str, *, set_global: bool = True,
                  batch: bool = True, schedule_delay_ms: float = 5000) -> TracerProvider:
    """A TracerProvider exporting per `cfg`. `batch=False` exports each span as it ends (tests, short scripts);
    `schedule_delay_ms` is the batch processor's export period (what a killed process can lose)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name,
                                                        "service.namespace": "launchray"}))
    exporter: SpanExporter | None
    if cfg.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(cfg.otlp_endpoint), timeout=5)
    elif cfg.trace_file:
        exporter = JsonLinesSpanExporter(cfg.trace_file)
    else:
        exporter = None
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=schedule_delay_ms) if batch
                                    else SimpleSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)  # OTel allows this once per process; later calls only warn
    return provider


def get_tracer(provider: TracerProvider | None = None) -> trace.Tracer:
    return (provider or trace.get_tracer_provider()).get_tracer(TRACER_NAME)


def traceparent_of(span: trace.Span) -> str:
    """The W3C traceparent header value for `span` ("" for a non-recording, invalid span)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent", "")


def context_from(traceparent: str) -> Context | None:
    """The remote parent context carried by `traceparent`, or None (start a new trace) if absent or malformed."""
    if not traceparent:
        return None
    ctx = _PROPAGATOR.extract({"traceparent": traceparent})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def trace_id_hex(traceparent: str) -> str:
    """The 32-hex trace id inside a traceparent (for log lines and the API), "" if malformed."""
    ctx = context_from(traceparent)
    return format(trace.get_current_span(ctx).get_span_context().trace_id, "032x") if ctx else ""


@dataclass(frozen=True, slots=True)
class Stage:
    span: trace.Span
    traceparent: str  # put this in the message this stage sends on


@contextmanager
def stage(tracer: trace.Tracer, name: str, parent: str = "",
          attributes: Mapping[str, str | int | float | bool] | None = None) -> Iterator[Stage]:
    """A span for one pipeline stage, child of `parent` (a traceparent); without a valid parent, child of the
    span current in this thread, else the root of a new trace.

    An exception inside marks the span as an error and propagates.
    """
    with tracer.start_as_current_span(name, context=context_from(parent), attributes=dict(attributes or {}),
                                      kind=trace.SpanKind.INTERNAL) as span:
        yield Stage(span, traceparent_of(span))
