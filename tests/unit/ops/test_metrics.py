import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from actors.metrics import (ATTRIBUTES, EXPORTED_NAMES, HISTOGRAM_BOUNDARIES, METRIC_NAMES, Sample, _Registry,
                            _Instrument, endpoint_label, exported_names, merge_samples, metrics, render_prometheus,
                            snapshot)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _fresh_registry():
    metrics().registry.clear()
    yield
    metrics().registry.clear()


def _families(text: str) -> dict:
    """exported sample name -> {labels tuple: value} (prometheus_client's own parser)."""
    out: dict = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_catalogue_covers_every_required_measure_with_valid_names():
    required = ["events_in", "decode_errors", "tokens_tracked", "signals", "opportunities", "approvals",
                "rejections", "orders", "fills", "realized_pnl_sol", "unrealized_pnl_sol", "open_positions",
                "capital_deployed_sol", "capital_available_sol", "loop_period_ms", "detect_to_send_ms",
                "risk_reserve_ms", "rpc_calls", "rpc_latency_ms", "ws_reconnects", "actor_restarts",
                "ledger_writes", "alerts_sent"]
    for attr in required:
        assert f"launchray_{attr}" in METRIC_NAMES, attr
    for name, (kind, description, tags) in METRIC_NAMES.items():
        assert re.fullmatch(r"launchray_[a-z0-9_]+", name)
        assert kind in ("counter", "gauge", "histogram") and description
        assert isinstance(tags, tuple) and all(re.fullmatch(r"[a-z_]+", t) for t in tags)
        # the exporter appends _total to counters; a name already ending in it would be exported mangled
        assert not name.endswith("_total")
        if kind == "histogram":
            bounds = HISTOGRAM_BOUNDARIES[name]
            assert list(bounds) == sorted(set(bounds)) and bounds[0] > 0
    assert METRIC_NAMES["launchray_rejections"][2] == ("reason",)
    assert METRIC_NAMES["launchray_orders"][2][0] == "state"
    assert METRIC_NAMES["launchray_rpc_calls"][2] == ("endpoint", "method", "outcome")


def test_exported_names_follow_rays_prefix_and_suffix_rules():
    assert exported_names("launchray_events_in") == ("ray_launchray_events_in_total",)
    assert exported_names("launchray_open_positions") == ("ray_launchray_open_positions",)
    assert exported_names("launchray_loop_period_ms") == ("ray_launchray_loop_period_ms_bucket",
                                                          "ray_launchray_loop_period_ms_sum",
                                                          "ray_launchray_loop_period_ms_count")
    assert EXPORTED_NAMES["ray_launchray_fills_total"] == "launchray_fills"


def test_importing_the_catalogue_and_recording_does_not_need_ray():
    code = textwrap.dedent("""
        import sys
        from actors.metrics import metrics, render_prometheus, snapshot
        metrics().fills.inc(tags={"side": "buy", "mode": "paper"})
        text = render_prometheus(snapshot())
        assert 'ray_launchray_fills_total{mode="paper",side="buy"} 1.0' in text, text
        print("ray" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_counter_gauge_and_histogram_render_as_prometheus_text():
    m = metrics()
    m.events_in.inc(tags={"kind": "trade", "venue": "pumpfun"})
    m.events_in.inc(2, tags={"kind": "trade", "venue": "pumpfun"})
    m.events_in.inc(tags={"kind": "launch", "venue": "pumpfun"})
    m.open_positions.set(4, tags={"mode": "paper"})
    m.open_positions.set(3, tags={"mode": "paper"})          # a gauge keeps the last value
    for v in (0.5, 10.0, 10.0, 3000.0):                      # boundaries 1, 2, 5, 10, ... 1000
        m.loop_period_ms.observe(v)
    fams = _families(render_prometheus(snapshot()))
    assert fams["ray_launchray_events_in_total"] == {(("kind", "trade"), ("venue", "pumpfun")): 3.0,
                                                     (("kind", "launch"), ("venue", "pumpfun")): 1.0}
    assert fams["ray_launchray_open_positions"] == {(("mode", "paper"),): 3.0}
    buckets = {dict(k)["le"]: v for k, v in fams["ray_launchray_loop_period_ms_bucket"].items()}
    # cumulative "less or equal": 0.5 -> le 1; both 10.0 count at le 10 (boundary inclusive); 3000 only at +Inf
    assert buckets["1.0"] == 1 and buckets["5.0"] == 1 and buckets["10.0"] == 3
    assert buckets["1000.0"] == 3 and buckets["+Inf"] == 4
    assert fams["ray_launchray_loop_period_ms_count"] == {(): 4.0}
    assert fams["ray_launchray_loop_period_ms_sum"] == {(): 3020.5}
    assert set(fams) <= set(EXPORTED_NAMES)


def test_samples_from_several_processes_are_added_up():
    a, b = _Registry(), _Registry()
    ia, ib = _Instrument("launchray_rpc_latency_ms", a), _Instrument("launchray_rpc_latency_ms", b)
    ca, cb = _Instrument("launchray_tokens_tracked", a), _Instrument("launchray_tokens_tracked", b)
    ia.observe(3.0, {"endpoint": "rpc.example"})
    ib.observe(30.0, {"endpoint": "rpc.example"})
    ib.observe(1.0, {"endpoint": "rpc.example"})
    ca.set(100, {"shard": "0"})
    cb.set(250, {"shard": "1"})
    shipped = pickle.loads(pickle.dumps(a.snapshot() + b.snapshot()))   # what crosses Ray
    merged = {s.name: s for s in merge_samples(shipped) if s.name.endswith("_ms")}
    h = merged["launchray_rpc_latency_ms"]
    assert (h.count, h.value) == (3, 34.0)
    assert sum(h.buckets) == 3
    fams = _families(render_prometheus(shipped))
    assert fams["ray_launchray_tokens_tracked"] == {(("shard", "0"),): 100.0, (("shard", "1"),): 250.0}


def test_wrong_tags_never_raise_and_wrong_method_is_a_type_error(caplog):
    m = metrics()
    m.rejections.inc(tags={"reasn": "typo"})         # a label typo must not take an actor down
    m.rejections.inc()
    fams = _families(render_prometheus(snapshot()))
    assert fams["ray_launchray_rejections_total"] == {(("reason", "none"),): 2.0}
    assert "expects tags" in caplog.text
    with pytest.raises(TypeError):
        m.rejections.set(1, tags={"reason": "x"})
    with pytest.raises(TypeError):
        m.open_positions.observe(1, tags={"mode": "paper"})


def test_namespace_has_one_attribute_per_metric():
    m = metrics()
    for attr, name in ATTRIBUTES.items():
        assert getattr(m, attr).name == name
    assert metrics() is m


def test_endpoint_label_drops_paths_and_api_keys():
    assert endpoint_label("https://mainnet.helius-rpc.com/?api-key=SECRET123") == "mainnet.helius-rpc.com"
    assert endpoint_label("http://127.0.0.1:8899") == "127.0.0.1:8899"
    assert endpoint_label("wss://rpc.example/ws/abc-secret-path") == "rpc.example"
    assert endpoint_label("not a url") == "unknown"


def test_render_ignores_samples_of_unknown_metrics():
    text = render_prometheus([Sample("not_ours", (), 1.0)])
    assert "not_ours" not in text


def test_rays_own_agent_exports_the_catalogue_under_the_names_we_document():
    """Drive Ray 2.60's metrics-agent recorder (no cluster needed) and read what Prometheus would scrape."""
    code = textwrap.dedent("""
        import json
        from prometheus_client import REGISTRY, generate_latest
        from prometheus_client.parser import text_string_to_metric_families
        from ray._private.telemetry.open_telemetry_metric_recorder import OpenTelemetryMetricRecorder
        from actors.metrics import HISTOGRAM_BOUNDARIES, METRIC_NAMES
        r = OpenTelemetryMetricRecorder(gauge_metric_ttl_seconds=600)
        for name, (kind, desc, tags) in METRIC_NAMES.items():
            labels = {t: "x" for t in tags}
            if kind == "counter":
                r.register_counter_metric(name, desc)
            elif kind == "gauge":
                r.register_gauge_metric(name, desc)
            else:
                r.register_histogram_metric(name, desc, list(HISTOGRAM_BOUNDARIES[name]))
            r.set_metric_value(name, labels, 1.0)
        names = sorted({s.name for f in text_string_to_metric_families(generate_latest(REGISTRY).decode())
                        for s in f.samples if "launchray" in s.name})
        print(json.dumps(names))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if out.returncode != 0 and ("ModuleNotFoundError" in out.stderr or "ImportError" in out.stderr):
        pytest.skip("this Ray has no OpenTelemetryMetricRecorder: " + out.stderr.strip().splitlines()[-1])
    assert out.returncode == 0, out.stderr
    import json
    assert set(json.loads(out.stdout.strip().splitlines()[-1])) == set(EXPORTED_NAMES)


def test_records_reach_ray_util_metrics_when_ray_is_up(monkeypatch):
    """No cluster here: pretend Ray is initialised and check every instrument builds and records a Ray metric."""
    import ray
    from ray.util import metrics as ray_metrics

    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    registry = _Registry()
    for name, (kind, _, tags) in METRIC_NAMES.items():
        inst = _Instrument(name, registry)
        labels = {t: "v" for t in tags}
        {"counter": inst.inc, "gauge": lambda v, tags: inst.set(v, tags),
         "histogram": lambda v, tags: inst.observe(v, tags)}[kind](1.0, tags=labels)
        made = inst._ray
        expected = {"counter": ray_metrics.Counter, "gauge": ray_metrics.Gauge,
                    "histogram": ray_metrics.Histogram}[kind]
        assert isinstance(made, expected), name
        assert made.info["name"] == name and made.info["tag_keys"] == tags
        if kind == "histogram":
            assert made.info["boundaries"] == list(HISTOGRAM_BOUNDARIES[name])
