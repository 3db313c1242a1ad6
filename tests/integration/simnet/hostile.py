"""A hostile provider for the stream tests: a real aiohttp WebSocket (logsSubscribe) + JSON-RPC server on 127.0.0.1.

Each WebSocket connection runs the test's script for that connection (the n-th connection, n from 0). JSON-RPC
requests are passed to a real simnet (`upstream`); the test's `rpc_override(method, params, upstream)` may answer
instead (a 1-tuple: the result to send) or return None to pass the request on; `await upstream()` is simnet's
result for this request, so an override can corrupt a real answer.
Launches are real: pump.fun create transactions executed by simnet's bank, their notifications rendered as
simnet's pubsub renders them (tests/integration/simnet/test_pubsub.py checks that shape).
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Awaitable, Callable

import aiohttp
from aiohttp import web
from solders.keypair import Keypair

from pipelines.chain import programs as P

SUB_ID = 7001       # the subscription id this provider hands out


@dataclass(frozen=True)
class Landed:
    mint: str
    signature: str
    slot: int
    logs: tuple[str, ...]


def launch(bank) -> Landed:
    """A pump.fun coin created on simnet's bank the way the market's agents create one."""
    from simnet.market.execution import ChainView, create_tx
    dev, mint = Keypair(), Keypair()
    bank.airdrop(dev.pubkey(), 10**10)
    tx = create_tx(dev, mint, name="Hostile Test", symbol="HOST", uri="https://example.invalid/m.json",
                   token_program=P.TOKEN, fee_recipient=ChainView(bank).fee_recipients[0], dev_buy=None,
                   blockhash=bank.latest_blockhash()[0], cu_price=0)
    r = bank.process_transaction(tx)
    assert r.err is None, (r.err, r.logs)
    return Landed(str(mint.pubkey()), r.signature, r.slot, tuple(r.logs))


def notification(sub: int, signature, slot, logs, err=None) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "logsNotification", "params": {
        "result": {"context": {"slot": slot}, "value": {"err": err, "logs": logs, "signature": signature}},
        "subscription": sub}})


def of(landed: Landed, sub: int = SUB_ID) -> str:
    return notification(sub, landed.signature, landed.slot, list(landed.logs))


Script = Callable[[web.WebSocketResponse, int], Awaitable[None]]


class HostileProvider:
    def __init__(self, script: Script, upstream: str = "",
                 rpc_override: Callable[[str, list, Callable], Awaitable[tuple | None]] | None = None) -> None:
        self.script, self.upstream, self.rpc_override = script, upstream, rpc_override
        self.connections = 0
        self.rpc_requests: list[tuple[str, list]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.ws_url = self.http_url = ""

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        n, self.connections = self.connections, self.connections + 1
        try:
            await self.script(ws, n)
            async for _ in ws:           # hold the connection until the client leaves
                pass
        except (ConnectionError, asyncio.CancelledError):
            pass
        return ws

    async def _rpc(self, request: web.Request) -> web.Response:
        body = await request.json()
        method, params = body["method"], body.get("params") or []
        self.rpc_requests.append((method, params))
        async def upstream():
            async with self._session.post(self.upstream, json=body) as resp:
                return (await resp.json())["result"]

        if self.rpc_override is not None:
            answer = await self.rpc_override(method, params, upstream)
            if answer is not None:
                return web.Response(text=json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": answer[0]}),
                                    content_type="application/json")
        async with self._session.post(self.upstream, json=body) as resp:
            return web.Response(body=await resp.read(), content_type="application/json")

    async def __aenter__(self) -> "HostileProvider":
        app = web.Application()
        app.router.add_get("/ws", self._ws)
        app.router.add_post("/", self._rpc)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.ws_url, self.http_url = f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}/"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._session.close()
        await self._runner.cleanup()


async def answer_subscribes(ws: web.WebSocketResponse, n_programs: int = 1, reply=None) -> None:
    """Read our client's logsSubscribe requests and answer each (with `reply(request)` when given)."""
    for _ in range(n_programs):
        req = json.loads((await ws.receive()).data)
        await ws.send_str(reply(req) if reply else json.dumps({"jsonrpc": "2.0", "result": SUB_ID, "id": req["id"]}))
