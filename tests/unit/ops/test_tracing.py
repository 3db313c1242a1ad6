import asyncio
import dataclasses
import json

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from actors.tracing import (STAGES, context_from, get_tracer, otlp_traces_url, setup_tracing, stage, trace_id_hex)
from pipelines.config import TelemetryConfig
from pipelines.messages import Opportunity, Order, Side


def opportunity(trace_id=""):
    return Opportunity(id="op1", mint="Mint1111", strategy="momentum", score=0.9, expected_profit=0.2, risk=0.1,
                       capital_lamports=100_000_000, created_at=0.0, expires_at=30.0, trace_id=trace_id)


def run_pipeline(detector, analyzer, executor):
    """Three 'actors', each with its own TracerProvider: only the message's trace_id string links them."""
    with stage(detector, "detect", attributes={"mint": "Mint1111"}) as s:
        msg = opportunity(trace_id=s.traceparent)
    for name in ("analyze", "score"):
        with stage(analyzer, name, parent=msg.trace_id) as s:
            msg = dataclasses.replace(msg, trace_id=s.traceparent)
    with stage(analyzer, "approve", parent=msg.trace_id) as s:
        order = Order(id="ord1", mint=msg.mint, side=Side.BUY, venue="pumpfun", amount=1, limit=1, mode="paper",
                      opportunity_id=msg.id, trace_id=s.traceparent)
    with stage(executor, "send", parent=order.trace_id) as s:
        order = dataclasses.replace(order, trace_id=s.traceparent)
    with stage(executor, "fill", parent=order.trace_id, attributes={"lamports": 1}):
        pass
    return order


def test_spans_from_different_actors_form_one_trace_in_the_file(tmp_path):
    path = tmp_path / "traces.jsonl"
    cfg = TelemetryConfig(trace_file=str(path))
    providers = [setup_tracing(cfg, name, set_global=False, batch=False)
                 for name in ("ingest", "orchestrator", "executor")]
    order = run_pipeline(*(get_tracer(p) for p in providers))
    for p in providers:
        p.shutdown()

    spans = [json.loads(line) for line in path.read_text().splitlines()]
    assert [s["name"] for s in spans] == list(STAGES)
    assert len({s["trace_id"] for s in spans}) == 1
    assert spans[0]["trace_id"] == trace_id_hex(order.trace_id)
    # each stage is the child of the one before it; the first is the root
    assert spans[0]["parent_span_id"] is None
    for parent, child in zip(spans, spans[1:]):
        assert child["parent_span_id"] == parent["span_id"]
    assert [s["service"] for s in spans] == ["ingest", "orchestrator", "orchestrator", "orchestrator",
                                             "executor", "executor"]
    assert spans[0]["attributes"] == {"mint": "Mint1111"} and spans[-1]["duration_ms"] >= 0


def test_malformed_traceparent_starts_a_new_trace_instead_of_failing(tmp_path):
    path = tmp_path / "t.jsonl"
    provider = setup_tracing(TelemetryConfig(trace_file=str(path)), "x", set_global=False, batch=False)
    tracer = get_tracer(provider)
    assert context_from("garbage") is None and context_from("") is None
    assert trace_id_hex("00-zz-yy-01") == ""
    with stage(tracer, "score", parent="00-not-a-real-traceparent") as s:
        assert s.traceparent.startswith("00-") and len(s.traceparent) == 55
    with pytest.raises(ValueError):
        with stage(tracer, "send", parent=s.traceparent):
            raise ValueError("rpc down")
    provider.shutdown()
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert first["parent_span_id"] is None
    assert second["status"] == "ERROR" and second["parent_span_id"] == first["span_id"]
    assert second["events"][0]["name"] == "exception"


def test_otlp_url_gets_the_traces_path_only_when_missing():
    assert otlp_traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://c:4318/custom/v1/traces") == "http://c:4318/custom/v1/traces"


async def test_otlp_exporter_posts_protobuf_spans_to_a_local_collector():
    received = []

    async def traces(request: web.Request):
        received.append((request.headers.get("Content-Type"), await request.read()))
        return web.Response(status=200, body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        provider = setup_tracing(TelemetryConfig(otlp_endpoint=f"http://127.0.0.1:{port}"), "launchray-test",
                                 set_global=False, batch=False)
        tracer = get_tracer(provider)
        # the exporter is synchronous (blocking HTTP): run the two 'actors' off the event loop
        order = await asyncio.to_thread(run_pipeline, tracer, tracer, tracer)
        await asyncio.to_thread(provider.shutdown)
    finally:
        await runner.cleanup()

    assert received and all(ct == "application/x-protobuf" for ct, _ in received)
    names, trace_ids = [], set()
    for _, body in received:
        req = ExportTraceServiceRequest.FromString(body)
        for rs in req.resource_spans:
            service = {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"]
            assert service == "launchray-test"
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    names.append(sp.name)
                    trace_ids.add(sp.trace_id.hex())
    assert names == list(STAGES)
    assert trace_ids == {trace_id_hex(order.trace_id)}
