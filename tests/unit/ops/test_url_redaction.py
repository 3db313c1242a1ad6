"""RPC/WebSocket URLs with an API key in the path are redacted everywhere they can be printed (issue 14).

Styles (each provider's documented form): QuickNode puts a 40-hex token in the path of a per-account host,
Alchemy a 32-character key after /v2/, Triton a key (here a UUID) as the path of `<name>.rpcpool.com`, Helius an
`api-key=` query parameter; and a self-hosted node with a key as its path. The places: plain text
(redact_patterns: logs via RedactingFilter, alerts, task-watch and exception texts), RpcClient's error
messages (what reaches executor outcomes, the ledger and the API), metric labels (endpoint_label), traces.
"""
from __future__ import annotations

import json
import logging

import pytest
from aiohttp import web

from actors import observe
from actors.logs import setup_logging
from actors.metrics import endpoint_label
from actors.rpc_client import RpcClient, RpcUnavailable
from actors.tracing import get_tracer, setup_tracing
from pipelines.alerting import error_alert, format_text, webhook_payload
from pipelines.config import LoggingConfig, RpcConfig, TelemetryConfig
from pipelines.redaction import REDACTED, Redactor, redact_patterns, redact_url

QN_TOKEN = "0123456789abcdef0123456789abcdef01234567"
ALCHEMY_KEY = "AbCd-EfGhIjKlMnOpQrStUvWx_z012345"
TRITON_KEY = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
HELIUS_KEY = "9b1d4c7e-2a3f-4e5d-8c6b-7a9f0e1d2c3b"
SELF_KEY = "kX9fQ2pL7mN4vB8cR1tY6wZ3hJ5sD0gA"

STYLES = [
    # (url, the key in it, what is left readable)
    (f"https://example-name-123.solana-mainnet.quiknode.pro/{QN_TOKEN}/", QN_TOKEN,
     f"https://example-name-123.solana-mainnet.quiknode.pro/{REDACTED}/"),
    (f"wss://example-name-123.solana-mainnet.quiknode.pro/{QN_TOKEN}/", QN_TOKEN,
     f"wss://example-name-123.solana-mainnet.quiknode.pro/{REDACTED}/"),
    (f"https://solana-mainnet.g.alchemy.com/v2/{ALCHEMY_KEY}", ALCHEMY_KEY,
     f"https://solana-mainnet.g.alchemy.com/v2/{REDACTED}"),
    (f"wss://solana-mainnet.g.alchemy.com/v2/{ALCHEMY_KEY}", ALCHEMY_KEY,
     f"wss://solana-mainnet.g.alchemy.com/v2/{REDACTED}"),
    (f"https://acme-mainnet-1a2b.mainnet.rpcpool.com/{TRITON_KEY}", TRITON_KEY,
     f"https://acme-mainnet-1a2b.mainnet.rpcpool.com/{REDACTED}"),
    (f"wss://acme-mainnet-1a2b.mainnet.rpcpool.com/{TRITON_KEY}/whirligig", TRITON_KEY,
     f"wss://acme-mainnet-1a2b.mainnet.rpcpool.com/{REDACTED}/whirligig"),
    (f"https://mainnet.helius-rpc.com/?api-key={HELIUS_KEY}", HELIUS_KEY,
     f"https://mainnet.helius-rpc.com/?api-key={REDACTED}"),
    (f"https://rpc.example.net:8899/{SELF_KEY}", SELF_KEY, f"https://rpc.example.net:8899/{REDACTED}"),
    ("https://bob:s3cr3t-pass@rpc.example.net/", "s3cr3t-pass", f"https://{REDACTED}@rpc.example.net/"),
]
SIG = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"


@pytest.mark.parametrize("url,key,shown", STYLES)
def test_each_provider_style_is_redacted_in_urls_and_in_text(url, key, shown):
    assert redact_url(url) == shown
    text = f"websocket {url} ConnectionResetError (will retry)"
    out = redact_patterns(text)
    assert key not in out and out == f"websocket {shown} ConnectionResetError (will retry)"
    assert key not in Redactor()(f"({url}), then")                    # punctuation around it in prose
    assert key not in endpoint_label(url) and endpoint_label(url) != "unknown"    # metric label: host only


def test_what_is_not_a_key_stays_readable():
    for url in (f"https://solscan.io/tx/{SIG}", "http://127.0.0.1:8899", "ws://127.0.0.1:8900/",
                "https://quote-api.jup.ag/v6/quote?inputMint=So11111111111111111111111111111111111111112",
                "https://api.mainnet-beta.solana.com"):
        assert redact_url(url) == url and redact_patterns(f"see {url} now") == f"see {url} now"


def test_a_logged_warning_with_the_url_as_an_argument_is_written_redacted(tmp_path):
    setup = setup_logging(LoggingConfig(dir=str(tmp_path)), logger_name="launchray.test_url_redaction",
                          redact_existing_handlers=False)
    try:
        lg = logging.getLogger("launchray.test_url_redaction.stream")
        for url, _, _ in STYLES:
            lg.error("websocket %s: %s", url, "ConnectionResetError")
    finally:
        setup.close()
    written = (tmp_path / "system.jsonl").read_text() + (tmp_path / "errors.jsonl").read_text()
    assert written.count("websocket ") == 2 * len(STYLES)
    for _, key, shown in STYLES:
        assert key not in written and json.dumps(shown)[1:-1] in written


def test_alerts_carry_no_key():
    url, key, _ = STYLES[0]
    alert = error_alert("ingest", f"stream {url} stale for 150 slots", 0.0)
    assert key not in format_text(alert) and key not in json.dumps(webhook_payload([alert]))


async def test_rpc_client_errors_name_the_endpoint_without_its_key():
    async def limited(request):
        return web.Response(status=429)

    app = web.Application()
    app.router.add_post("/{key}/", limited)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = RpcClient([f"http://127.0.0.1:{port}/{QN_TOKEN}/"],
                       RpcConfig(max_retries=0, retry_after_max_s=0, backoff_max_s=0.01))
    try:
        with pytest.raises(RpcUnavailable) as err:
            await client.call("getSlot")
    finally:
        await client.close()
        await runner.cleanup()
    text = str(err.value)
    assert "HTTP 429" in text and QN_TOKEN not in text and f"127.0.0.1:{port}/{REDACTED}/" in text


def test_a_span_s_reason_is_redacted_in_the_trace_file(tmp_path):
    path = tmp_path / "traces.jsonl"
    provider = setup_tracing(TelemetryConfig(trace_file=str(path)), "executor", set_global=False, batch=False)
    url, key, _ = STYLES[2]
    span = get_tracer(provider).start_span("opportunity")
    observe.end_span(span, outcome="error", reason=f"RpcUnavailable: sendTransaction: {url}: HTTP 429")
    provider.shutdown()
    [record] = [json.loads(line) for line in path.read_text().splitlines()]
    assert key not in record["attributes"]["reason"] and "HTTP 429" in record["attributes"]["reason"]
