"""Every fault kind observably happens, is deterministic for a seed, shows in GET /admin/faults and clears."""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
import websockets
from solders.keypair import Keypair
from solana.exceptions import SolanaRpcException

from pipelines.config import SimnetConfig
from simnet.faults import FaultSettings
from simnet.server import Simnet

from .chain import SOL, funded, rpc, transfer_tx


async def _faults(sn, body=None):
    async with aiohttp.ClientSession() as s:
        if body is None:
            async with s.get(sn.admin_url + "/faults") as r:
                return r.status, await r.json()
        async with s.post(sn.admin_url + "/faults", json=body) as r:
            return r.status, await r.json()


async def _statuses(sn, n: int) -> list[int]:
    out = []
    async with aiohttp.ClientSession() as s:
        for _ in range(n):
            async with s.post(sn.http_url, json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"}) as r:
                out.append(r.status)
    return out


async def test_latency(sn):
    await _faults(sn, {"latency_ms": 250})
    t0 = time.perf_counter()
    status, _ = await rpc(sn, "getSlot")
    assert status == 200 and time.perf_counter() - t0 >= 0.25
    _, shown = await _faults(sn)
    assert shown["settings"]["latency_ms"] == 250 and shown["fired"]["latency"] >= 1
    await _faults(sn, {})
    fired = shown["fired"]["latency"]
    await rpc(sn, "getSlot")
    assert (await _faults(sn))[1]["fired"]["latency"] == fired          # cleared: no delay applied any more


async def test_http_429_and_5xx(sn, client):
    await _faults(sn, {"http_429_rate": 1.0})
    status, body = await rpc(sn, "getSlot")
    assert status == 429 and body["error"]["code"] == 429
    with pytest.raises(SolanaRpcException):
        await client.get_slot()
    await _faults(sn, {"http_5xx_rate": 1.0})
    assert await _statuses(sn, 3) == [503, 503, 503]
    _, shown = await _faults(sn)
    assert shown["fired"]["http_429"] >= 2 and shown["fired"]["http_5xx"] == 3
    status, cleared = await _faults(sn, {})
    assert status == 200 and cleared["settings"] == json.loads(json.dumps(FaultSettings().model_dump()))
    assert not any(cleared["settings"][k] for k in ("http_429_rate", "http_5xx_rate", "latency_ms"))
    assert await _statuses(sn, 3) == [200, 200, 200]


async def test_rates_are_seeded(sn):
    await _faults(sn, {"http_429_rate": 0.5, "seed": 11})
    first = await _statuses(sn, 40)
    await _faults(sn, {"http_429_rate": 0.5, "seed": 11})
    second = await _statuses(sn, 40)
    assert first == second and 5 < first.count(429) < 35


async def test_bad_fault_settings(sn):
    status, body = await _faults(sn, {"http_429_rate": 2})
    assert status == 400 and "http_429_rate" in body["error"]
    status, body = await _faults(sn, {"explode": 1})
    assert status == 400 and "explode" in body["error"]


async def _logs_ws(sn):
    ws = await websockets.connect(sn.ws_url)
    await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                              "params": ["all", {"commitment": "processed"}]}))
    json.loads(await ws.recv())
    return ws


def _transfer(sn, payer):
    res = sn.bank.process_transaction(transfer_tx(payer, Keypair().pubkey(), 1, sn.bank.latest_blockhash()[0]))
    assert res.err is None
    return res


async def test_dropped_notifications(sn):
    payer = funded(sn)
    ws = await _logs_ws(sn)
    await _faults(sn, {"drop_notifications": 1.0})
    for _ in range(3):
        _transfer(sn, payer)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.recv(), 0.4)
    _, shown = await _faults(sn)
    assert shown["fired"]["dropped_notifications"] == 3
    await _faults(sn, {})
    landed = _transfer(sn, payer)
    note = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert note["params"]["result"]["value"]["signature"] == landed.signature
    await ws.close()


async def test_delayed_notifications(sn):
    payer = funded(sn)
    ws = await _logs_ws(sn)
    await _faults(sn, {"delay_notifications_ms": 400})
    t0 = time.perf_counter()
    landed = _transfer(sn, payer)
    note = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert time.perf_counter() - t0 >= 0.4
    assert note["params"]["result"]["value"]["signature"] == landed.signature
    await ws.close()


async def test_ws_disconnect_now_and_at_a_rate(sn):
    payer = funded(sn)
    ws = await _logs_ws(sn)
    status, shown = await _faults(sn, {"ws_disconnect_now": True})
    assert status == 200 and shown["fired"]["ws_disconnects"] == 1
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)

    ws = await _logs_ws(sn)
    await _faults(sn, {"ws_disconnect_rate": 1.0})
    _transfer(sn, payer)                                     # the next notification batch cuts the connection
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert len(sn.pubsub.connections) == 0


async def test_ws_refuse_connections_is_an_outage_until_cleared(sn):
    ws = await _logs_ws(sn)
    status, shown = await _faults(sn, {"ws_refuse_connections": True, "ws_disconnect_now": True})
    assert status == 200 and shown["settings"]["ws_refuse_connections"] is True
    with pytest.raises(websockets.ConnectionClosed):            # the live connection is cut...
        await asyncio.wait_for(ws.recv(), 5)
    for _ in range(2):                                         # ...and every new one is refused
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(sn.ws_url)
        assert refused.value.response.status_code == 503
    assert (await _faults(sn))[1]["fired"]["ws_refused"] == 2
    await _faults(sn, {})                                      # cleared: the endpoint is back
    ws = await _logs_ws(sn)
    await ws.close()


async def test_stale_reads(sn_manual):
    sn = sn_manual
    await _faults(sn, {"stale_slots": 5})
    kp = Keypair()
    sn.bank.airdrop(kp.pubkey(), SOL)
    first_slot = sn.bank.slot
    for _ in range(10):
        sn.bank.advance_slot()
    sn.bank.airdrop(kp.pubkey(), SOL)                        # 2 SOL now, 1 SOL five slots ago
    _, body = await rpc(sn, "getBalance", [str(kp.pubkey())])
    assert body["result"]["value"] == SOL and body["result"]["context"]["slot"] == sn.bank.slot - 5
    newcomer = Keypair()
    sn.bank.airdrop(newcomer.pubkey(), SOL)
    _, body = await rpc(sn, "getAccountInfo", [str(newcomer.pubkey()), {"encoding": "base64"}])
    assert body["result"]["value"] is None                   # did not exist five slots ago
    for _ in range(5):
        sn.bank.advance_slot()
    _, body = await rpc(sn, "getBalance", [str(kp.pubkey())])
    assert body["result"]["value"] == 2 * SOL
    _, shown = await _faults(sn)
    assert shown["fired"]["stale_reads"] >= 3 and first_slot < sn.bank.slot
    await _faults(sn, {})
    _, body = await rpc(sn, "getAccountInfo", [str(newcomer.pubkey()), {"encoding": "base64"}])
    assert body["result"]["value"]["lamports"] == SOL


async def test_faults_from_config():
    async with Simnet(SimnetConfig(speed=10.0, faults={"http_5xx_rate": 1.0})) as sn:
        assert await _statuses(sn, 2) == [503, 503]
        async with aiohttp.ClientSession() as s:           # admin endpoints are never faulted
            async with s.get(sn.admin_url + "/faults") as r:
                assert r.status == 200 and (await r.json())["settings"]["http_5xx_rate"] == 1.0
