"""JSON-RPC error cases: codes and shapes as Solana's (and solana-py's typed errors where it has them)."""
from __future__ import annotations

import base64
import json

import pytest
from solders.keypair import Keypair
from solders.rpc.errors import (InvalidParamsMessage, MinContextSlotNotReachedMessage,
                                SendTransactionPreflightFailureMessage, UnsupportedTransactionVersionMessage)
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts

from .chain import SOL, confirmed, funded, rpc, transfer_tx


async def test_parse_error(sn):
    status, body = await rpc(sn, "", raw=b'{"jsonrpc": "2.0", "method": ')
    assert status == 200
    assert body == {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}


async def test_invalid_request_and_method_not_found(sn):
    _, body = await rpc(sn, "", raw=b'{"jsonrpc": "2.0", "id": 3}')
    assert body["error"]["code"] == -32600 and body["id"] == 3
    _, body = await rpc(sn, "", raw=b'"hello"')
    assert body["error"]["code"] == -32600
    _, body = await rpc(sn, "", raw=b'[]')
    assert body["error"] == {"code": -32600, "message": "Invalid request"}
    _, body = await rpc(sn, "getNothing")
    assert body["error"] == {"code": -32601, "message": "Method not found"} and body["id"] == 1


async def test_invalid_params(sn):
    cases = [
        ("getBalance", ["not-a-key"]),
        ("getBalance", []),
        ("getBalance", [12]),
        ("getAccountInfo", [str(Keypair().pubkey()), {"encoding": "hex"}]),
        ("getAccountInfo", [str(Keypair().pubkey()), {"commitment": "soon"}]),
        ("getMultipleAccounts", [[str(Keypair().pubkey())] * 101]),
        ("getSignatureStatuses", [["x"] * 257]),
        ("getSignaturesForAddress", [str(Keypair().pubkey()), {"limit": 1001}]),
        ("getTransaction", ["not-a-signature"]),
        ("getTransaction", [str(Keypair().sign_message(b"x")), {"commitment": "processed"}]),
        ("getTokenAccountBalance", [str(Keypair().pubkey())]),
        ("getTokenSupply", [str(Keypair().pubkey())]),
        ("getTokenAccountsByOwner", [str(Keypair().pubkey()), {"programId": str(Keypair().pubkey())}]),
        ("getTokenAccountsByOwner", [str(Keypair().pubkey()), {}]),
        ("sendTransaction", ["%%%not base58%%%"]),
        ("sendTransaction", [base64.b64encode(b"\x01garbage").decode(), {"encoding": "base64"}]),
        ("sendTransaction", ["AAAA", {"encoding": "hex"}]),
        ("simulateTransaction", ["AAAA", {"encoding": "base64", "sigVerify": True, "replaceRecentBlockhash": True}]),
        ("getRecentPrioritizationFees", [[str(Keypair().pubkey())] * 129]),
        ("getSlot", {"commitment": "confirmed"}),
    ]
    for method, params in cases:
        status, body = await rpc(sn, method, params)
        assert status == 200, (method, params)
        assert body["error"]["code"] == -32602, (method, params, body)
        assert body["error"]["message"], (method, params)
    _, body = await rpc(sn, "getBalance", ["not-a-key"])
    assert body["error"]["message"] == "Invalid param: Invalid"


async def test_invalid_params_through_async_client(sn, client):
    with pytest.raises(RPCException) as exc:
        await client.get_token_supply(Keypair().pubkey())
    assert isinstance(exc.value.args[0], InvalidParamsMessage)
    assert "could not find account" in exc.value.args[0].message


async def test_min_context_slot(sn):
    slot = sn.bank.slot
    _, body = await rpc(sn, "getBalance", [str(Keypair().pubkey()), {"minContextSlot": slot + 1000}])
    err = body["error"]
    assert err["code"] == -32016 and err["message"] == "Minimum context slot has not been reached"
    assert slot <= err["data"]["contextSlot"] < slot + 1000
    from solders.rpc.responses import GetBalanceResp
    parsed = GetBalanceResp.from_json(json.dumps(body))
    assert isinstance(parsed, MinContextSlotNotReachedMessage)
    _, ok = await rpc(sn, "getBalance", [str(Keypair().pubkey()), {"minContextSlot": slot}])
    assert ok["result"]["value"] == 0


async def test_batch_with_a_bad_member(sn):
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
             {"jsonrpc": "2.0", "id": 2, "method": "getBalance", "params": ["bad"]},
             42,
             {"jsonrpc": "2.0", "id": 4, "method": "noSuchMethod"},
             {"jsonrpc": "2.0", "method": "getSlot"}]                        # a notification: no answer
    _, body = await rpc(sn, "", raw=json.dumps(batch))
    assert isinstance(body, list) and len(body) == 4
    assert isinstance(body[0]["result"], int) and body[0]["id"] == 1
    assert body[1]["error"]["code"] == -32602 and body[1]["id"] == 2
    assert body[2] == {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request"}, "id": None}
    assert body[3]["error"]["code"] == -32601 and body[3]["id"] == 4


async def test_unknown_signature_is_null(sn, client):
    sig = Keypair().sign_message(b"never sent")
    assert (await client.get_transaction(sig, max_supported_transaction_version=0)).value is None
    assert (await client.get_signature_statuses([sig], search_transaction_history=True)).value == [None]


async def test_v0_transaction_needs_max_supported_version(sn, client):
    payer = funded(sn)
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, sn.bank.latest_blockhash()[0], v0=True)
    sig = (await client.send_transaction(tx)).value
    await confirmed(sn, sig)
    _, body = await rpc(sn, "getTransaction", [str(sig), {"encoding": "json", "commitment": "confirmed"}])
    assert body["error"]["code"] == -32015
    assert "maxSupportedTransactionVersion" in body["error"]["message"]
    from solders.rpc.responses import GetTransactionResp
    assert isinstance(GetTransactionResp.from_json(json.dumps(body)), UnsupportedTransactionVersionMessage)
    _, ok = await rpc(sn, "getTransaction", [str(sig), {"commitment": "confirmed",
                                                        "maxSupportedTransactionVersion": 0}])
    assert ok["result"]["version"] == 0


async def test_preflight_failure_and_signature_failure(sn, client):
    poor = funded(sn, 0.01)
    tx = transfer_tx(poor, Keypair().pubkey(), 5 * SOL, sn.bank.latest_blockhash()[0])
    with pytest.raises(RPCException) as exc:
        await client.send_transaction(tx)
    err = exc.value.args[0]
    assert isinstance(err, SendTransactionPreflightFailureMessage)
    assert err.message == "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    assert any("insufficient lamports" in line for line in err.data.logs)
    assert sn.bank.get_transaction(str(tx.signatures[0])) is None          # preflight failures never land
    assert sn.bank.get_balance(poor.pubkey()) == SOL // 100

    payer = funded(sn)
    good = transfer_tx(payer, Keypair().pubkey(), 1, sn.bank.latest_blockhash()[0])
    raw = bytearray(bytes(good))
    raw[10] ^= 0xFF                                                        # corrupt the signature
    _, body = await rpc(sn, "sendTransaction", [base64.b64encode(bytes(raw)).decode(), {"encoding": "base64"}])
    assert body["error"] == {"code": -32003, "message": "Transaction signature verification failure"}

    dup = await client.send_raw_transaction(bytes(good))
    with pytest.raises(RPCException) as again:
        await client.send_raw_transaction(bytes(good))
    assert "already been processed" in again.value.args[0].message
    assert str(dup.value) == str(good.signatures[0])


async def test_skip_preflight_lands_a_failing_transaction(sn, client):
    poor = funded(sn, 0.01)
    tx = transfer_tx(poor, Keypair().pubkey(), 5 * SOL, sn.bank.latest_blockhash()[0])
    sig = (await client.send_transaction(tx, opts=TxOpts(skip_preflight=True))).value
    stored = sn.bank.get_transaction(str(sig))
    assert stored is not None and stored.result.err == {"InstructionError": [0, {"Custom": 1}]}
    assert sn.bank.get_balance(poor.pubkey()) == SOL // 100 - 5000         # the fee is charged
