"""RpcClient against providers that answer badly (real aiohttp servers on 127.0.0.1): a Retry-After of years,
an oversized body, a JSON-RPC answer of the wrong shape. Each is a counted, retried failure, never a crash and
never an endpoint parked for longer than rpc.retry_after_max_s."""
from __future__ import annotations

import email.utils
import time

import pytest
from aiohttp import web

from actors.metrics import flush_tallies, metrics
from actors.rpc_client import RpcClient, RpcError
from pipelines.config import RpcConfig
from pipelines.rpc.policy import retry_after_s

CFG = RpcConfig(requests_per_second=1000, burst=1000, backoff_base_s=0.05, backoff_max_s=0.2, max_retries=3,
                max_response_bytes=64 * 1024)


class Provider:
    def __init__(self, answer):
        self.answer = answer        # (request body) -> web.Response
        self.requests = 0

    async def handle(self, request):
        self.requests += 1
        return self.answer(await request.json())

    async def __aenter__(self):
        app = web.Application()
        app.router.add_post("/", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


def ok(body):
    return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": 7})


def decode_errors(source: str) -> float:
    flush_tallies()
    return sum(s.value for s in metrics().registry.snapshot()
               if s.name == "launchray_decode_errors" and dict(s.labels)["source"] == source)


def test_retry_after_is_read_safely_and_clamped():
    now = 1_700_000_000.0
    assert retry_after_s("2", now, 30) == 2.0
    assert retry_after_s("99999999", now, 30) == 30.0
    assert retry_after_s("-5", now, 30) == 0.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert retry_after_s(date, now, 30) == pytest.approx(12.0)
    assert retry_after_s(email.utils.formatdate(now - 60, usegmt=True), now, 30) == 0.0
    for garbage in (None, "", "soon", "nan", "1e999999x", "x" * 1000, "Mon, 99 Foo 2024 99:99:99 GMT"):
        assert retry_after_s(garbage, now, 30) is None, garbage
    assert retry_after_s("inf", now, 30) == 30.0


async def test_a_retry_after_of_years_benches_the_endpoint_for_the_clamp_only():
    cfg = RpcConfig(**{**CFG.model_dump(), "retry_after_max_s": 2.0})
    async with Provider(lambda b: web.Response(status=429, headers={"Retry-After": "99999999"})) as bad, \
            Provider(ok) as good:
        client = RpcClient([bad.url, good.url], cfg)
        try:
            assert await client.call("getSlot") == 7
            benched = client.endpoints.endpoints[0].benched_until - time.monotonic()
        finally:
            await client.close()
    assert 0 < benched <= 2.0


async def test_an_oversized_body_is_refused_counted_and_failed_over():
    big = {"jsonrpc": "2.0", "id": 0, "result": "x" * (200 * 1024)}
    before = decode_errors("rpc_too_large")
    async with Provider(lambda b: web.json_response({**big, "id": b["id"]})) as bad, Provider(ok) as good:
        client = RpcClient([bad.url, good.url], CFG)
        try:
            assert await client.call("getSlot") == 7
        finally:
            await client.close()
    assert bad.requests == 1 and good.requests == 1
    assert decode_errors("rpc_too_large") - before == 1
    assert client.endpoints.endpoints[0].calls == {"too_large": 1}


@pytest.mark.parametrize("answer,why", [
    (lambda b: {"jsonrpc": "2.0", "id": b["id"], "error": "boom"}, "error not an object"),
    (lambda b: {"jsonrpc": "2.0", "id": b["id"] + 1000, "result": 1}, "id mismatch"),
    (lambda b: {"jsonrpc": "2.0", "id": b["id"]}, "no result"),
    (lambda b: [1, 2, 3], "not an object"),
])
async def test_a_reply_of_the_wrong_shape_is_a_counted_retried_failure(answer, why):
    before = decode_errors("rpc_malformed")
    async with Provider(lambda b: web.json_response(answer(b))) as bad, Provider(ok) as good:
        client = RpcClient([bad.url, good.url], CFG)
        try:
            assert await client.call("getSlot") == 7, why
        finally:
            await client.close()
    assert decode_errors("rpc_malformed") - before == 1
    assert client.endpoints.endpoints[0].calls == {"malformed": 1}


async def test_a_well_formed_error_is_still_an_rpc_error():
    async with Provider(lambda b: web.json_response({"jsonrpc": "2.0", "id": b["id"],
                                                     "error": {"code": "x", "message": 5}})) as p:
        client = RpcClient([p.url], CFG)
        try:
            with pytest.raises(RpcError) as err:
                await client.call("getSlot")
        finally:
            await client.close()
    assert err.value.code == 0 and err.value.message == "5"
