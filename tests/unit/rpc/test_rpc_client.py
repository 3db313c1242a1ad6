"""RpcClient against real aiohttp JSON-RPC servers on 127.0.0.1 (one healthy, one failing in chosen ways)."""
import asyncio
import base64

import pytest
from aiohttp import web

from actors.rpc_client import RpcClient, RpcError, RpcUnavailable
from pipelines.config import RpcConfig


class Endpoint:
    def __init__(self, mode="ok"):
        self.mode = mode
        self.requests: list[dict] = []
        self.runner = None
        self.url = ""

    async def handle(self, request):
        body = await request.json()
        self.requests.append(body)
        if self.mode == "500":
            return web.Response(status=503, text="down")
        if self.mode == "429":
            return web.Response(status=429, headers={"Retry-After": "30"})
        method, params = body["method"], body["params"]
        if method == "getMultipleAccounts":
            keys = params[0]
            value = [None if k.startswith("missing") else
                     {"lamports": len(k), "owner": "11111111111111111111111111111111", "executable": False,
                      "data": [base64.b64encode(k.encode()).decode(), "base64"], "rentEpoch": 0, "space": len(k)}
                     for k in keys]
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": {"context": {"slot": 42}, "value": value}})
        if method == "bad":
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32602, "message": "Invalid params"}})
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": 7})

    async def __aenter__(self):
        app = web.Application()
        app.router.add_post("/", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


CFG = RpcConfig(requests_per_second=1000, burst=1000, backoff_base_s=0.05, backoff_max_s=0.2, max_retries=3)


async def test_fails_over_from_a_5xx_endpoint_and_benches_it():
    async with Endpoint("500") as bad, Endpoint("ok") as good:
        client = RpcClient([bad.url, good.url], CFG)
        try:
            assert await client.call("getSlot") == 7
            assert len(bad.requests) == 1 and len(good.requests) == 1
            # the failing primary is benched: the next call goes straight to the healthy one
            assert await client.call("getSlot") == 7
            assert len(bad.requests) == 1 and len(good.requests) == 2
            assert client.health()["endpoints"][0]["calls"] == {"server_error": 1}
        finally:
            await client.close()


async def test_429_honours_retry_after_by_benching_the_endpoint():
    async with Endpoint("429") as limited, Endpoint("ok") as good:
        client = RpcClient([limited.url, good.url], CFG)
        try:
            assert await client.call("getSlot") == 7
            benched = client.endpoints.endpoints[0].benched_until - client._clock()
            assert benched > 25  # Retry-After: 30 s beats the 0.2 s backoff cap
        finally:
            await client.close()


async def test_all_endpoints_down_raises_unavailable_without_hanging():
    async with Endpoint("500") as a:
        client = RpcClient([a.url], CFG)
        try:
            with pytest.raises(RpcUnavailable, match="HTTP 503"):
                await asyncio.wait_for(client.call("getSlot"), 5)
            assert len(a.requests) == CFG.max_retries + 1
        finally:
            await client.close()


async def test_rpc_error_is_raised_not_retried():
    async with Endpoint("ok") as a:
        client = RpcClient([a.url], CFG)
        try:
            with pytest.raises(RpcError) as exc:
                await client.call("bad")
            assert exc.value.code == -32602 and len(a.requests) == 1
        finally:
            await client.close()


async def test_concurrent_reads_batch_into_one_request_coalesce_and_cache():
    async with Endpoint("ok") as a:
        client = RpcClient([a.url], CFG, batch_window_s=0.01)
        try:
            r1, r2, r3 = await asyncio.gather(client.get_account("key1"), client.get_account("key1"),
                                              client.get_accounts(["key22", "missing1"]))
            assert len(a.requests) == 1
            assert a.requests[0]["method"] == "getMultipleAccounts"
            assert sorted(a.requests[0]["params"][0]) == ["key1", "key22", "missing1"]  # key1 asked once
            assert r1 == r2 and r1["data"] == b"key1" and r1["lamports"] == 4 and r1["slot"] == 42
            assert r3["key22"]["data"] == b"key22" and r3["missing1"] is None
            # cached: no new request; fresh=True bypasses the cache
            assert (await client.get_account("key1"))["data"] == b"key1"
            assert len(a.requests) == 1
            await client.get_accounts(["key1"], fresh=True)
            assert len(a.requests) == 2
        finally:
            await client.close()


async def test_more_than_100_keys_split_into_several_requests():
    async with Endpoint("ok") as a:
        client = RpcClient([a.url], CFG)
        try:
            keys = [f"k{i}" for i in range(230)]
            res = await client.get_accounts(keys)
            assert len(res) == 230 and all(res[k]["data"] == k.encode() for k in keys)
            assert sorted(len(r["params"][0]) for r in a.requests) == [30, 100, 100]
        finally:
            await client.close()
