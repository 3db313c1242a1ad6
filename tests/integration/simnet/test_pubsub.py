"""WebSocket pubsub through solana-py's SolanaWsClient and the plain `websockets` client."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
import websockets
from solders.keypair import Keypair
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import (AccountNotification, LogsNotification, SignatureNotification,
                                   SlotNotification)
from solana.rpc.websocket_api import SolanaWsClient

from .chain import SOL, funded, transfer_tx


async def _recv_json(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _send_transfer(sn, payer, dest, lamports):
    result = sn.bank.process_transaction(transfer_tx(payer, dest, lamports, sn.bank.latest_blockhash()[0]))
    assert result.err is None
    return result


async def test_ws_port_is_http_port_plus_one(sn):
    assert sn.ws_port == sn.http_port + 1
    assert sn.ws_url.endswith(f":{sn.http_port + 1}")


async def test_signature_subscribe_fires_once(sn, client):
    payer = funded(sn)
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, sn.bank.latest_blockhash()[0])
    async with SolanaWsClient(sn.ws_url) as ws:
        sub = await ws.signature_subscribe(signature=tx.signatures[0], commitment="confirmed")
        await client.send_transaction(tx)
        note = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(note, SignatureNotification) and note.subscription == sub.subscription_id
        assert note.result.value.err is None
        assert note.result.context.slot == sn.bank.get_transaction(str(tx.signatures[0])).slot
        with pytest.raises(ValueError):                      # one-shot: the server already dropped it
            await ws.unsubscribe(sub)
        assert sub.subscription_id not in sn.pubsub.registry.by_id


async def test_signature_subscribe_after_landing(sn):
    """Subscribing to a signature that already reached the commitment notifies at once, like Agave."""
    payer = funded(sn)
    landed = await _send_transfer(sn, payer, Keypair().pubkey(), 1)
    async with websockets.connect(sn.ws_url) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "signatureSubscribe",
                                  "params": [landed.signature, {"commitment": "processed"}]}))
        reply = await _recv_json(ws)
        note = await _recv_json(ws)
    assert note == {"jsonrpc": "2.0", "method": "signatureNotification",
                    "params": {"result": {"context": {"slot": landed.slot}, "value": {"err": None}},
                               "subscription": reply["result"]}}


async def test_logs_subscribe_mentions_filter(sn):
    watched, other = Keypair().pubkey(), Keypair().pubkey()
    payer = funded(sn)
    async with SolanaWsClient(sn.ws_url) as ws:
        sub = await ws.logs_subscribe(filter_=RpcTransactionLogsFilterMentions(watched), commitment="processed")
        await _send_transfer(sn, payer, other, 1_000)            # does not mention `watched`
        hit = await _send_transfer(sn, payer, watched, 2_000)
        note = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(note, LogsNotification) and note.subscription == sub.subscription_id
        assert str(note.result.value.signature) == hit.signature
        assert note.result.value.logs == list(hit.logs) and note.result.value.err is None
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)               # nothing for the other transfer
        await ws.unsubscribe(sub)


async def test_logs_all_exact_shape_and_unsubscribe(sn):
    payer = funded(sn)
    async with websockets.connect(sn.ws_url) as ws:
        for i, f in enumerate(("all", "allWithVotes")):
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "logsSubscribe",
                                      "params": [f, {"commitment": "processed"}]}))
        ids = [(await _recv_json(ws))["result"] for _ in range(2)]
        landed = await _send_transfer(sn, payer, Keypair().pubkey(), 5)
        notes = [await _recv_json(ws), await _recv_json(ws)]
        assert {n["params"]["subscription"] for n in notes} == set(ids)
        assert notes[0] == {"jsonrpc": "2.0", "method": "logsNotification", "params": {
            "result": {"context": {"slot": landed.slot},
                       "value": {"err": None, "logs": list(landed.logs), "signature": landed.signature}},
            "subscription": notes[0]["params"]["subscription"]}}
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "logsUnsubscribe", "params": [ids[0]]}))
        assert await _recv_json(ws) == {"jsonrpc": "2.0", "result": True, "id": 9}
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 10, "method": "logsUnsubscribe", "params": [ids[0]]}))
        err = await _recv_json(ws)
        assert err["error"] == {"code": -32602, "message": "Invalid subscription id."} and err["id"] == 10


async def test_subscribe_errors(sn):
    async with websockets.connect(sn.ws_url) as ws:
        two = [str(Keypair().pubkey()), str(Keypair().pubkey())]
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                                  "params": [{"mentions": two}]}))
        assert (await _recv_json(ws))["error"] == {"code": -32602,
                                                   "message": "Invalid Request: Only 1 address supported"}
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "accountSubscribe", "params": ["nope"]}))
        assert (await _recv_json(ws))["error"]["code"] == -32602
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "blockSubscribeX", "params": []}))
        assert (await _recv_json(ws))["error"]["code"] == -32601
        await ws.send("{not json")
        assert (await _recv_json(ws))["error"]["code"] == -32700


async def test_account_subscribe(sn):
    payer = funded(sn)
    dest = Keypair().pubkey()
    async with SolanaWsClient(sn.ws_url) as ws:
        sub = await ws.account_subscribe(pubkey=dest, commitment="processed", encoding="base64")
        landed = await _send_transfer(sn, payer, dest, 3 * SOL)
        note = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(note, AccountNotification) and note.subscription == sub.subscription_id
        assert note.result.value.lamports == 3 * SOL and note.result.context.slot == landed.slot
        assert str(note.result.value.owner) == "11111111111111111111111111111111"
    async with websockets.connect(sn.ws_url) as raw:
        await raw.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "accountSubscribe",
                                   "params": [str(dest), {"commitment": "processed", "encoding": "base64"}]}))
        await _recv_json(raw)
        await _send_transfer(sn, payer, dest, 1)
        value = (await _recv_json(raw))["params"]["result"]["value"]
        assert value["lamports"] == 3 * SOL + 1 and value["data"] == ["", "base64"] and value["space"] == 0
        assert base64.b64decode(value["data"][0]) == b""


async def test_slot_subscribe(sn):
    async with SolanaWsClient(sn.ws_url) as ws:
        await ws.slot_subscribe()
        first = await asyncio.wait_for(ws.recv(), 5)
        second = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(first, SlotNotification) and second.result.slot == first.result.slot + 1
        assert first.result.parent == first.result.slot - 1 and first.result.root <= first.result.slot


async def test_confirmed_commitment_waits_for_the_next_slot(sn_manual):
    sn = sn_manual
    payer = funded(sn)
    async with websockets.connect(sn.ws_url) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                                  "params": ["all", {"commitment": "confirmed"}]}))
        await _recv_json(ws)
        landed = await _send_transfer(sn, payer, Keypair().pubkey(), 1)
        with pytest.raises(asyncio.TimeoutError):
            await _recv_json(ws, timeout=0.3)                  # still only processed
        sn.bank.advance_slot()
        note = await _recv_json(ws)
        assert note["params"]["result"]["value"]["signature"] == landed.signature
        assert note["params"]["result"]["context"]["slot"] == landed.slot
