"""Jito block engine: tip accounts, atomic bundles (all land or none), tip enforcement, bundle statuses."""
from __future__ import annotations

import base64
import hashlib

from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from pipelines.chain import builders as B

from .chain import SOL, funded, rpc, transfer_tx


def _b64(tx) -> str:
    return base64.b64encode(bytes(tx)).decode()


async def _jito(sn, method, params):
    status, body = await rpc(sn, method, params, url=sn.jito_url + "/api/v1/bundles")
    assert status == 200
    return body


async def test_tip_accounts(sn):
    body = await _jito(sn, "getTipAccounts", [])
    assert len(body["result"]) == 8 and len(set(body["result"])) == 8


async def test_bundle_with_tip_lands_atomically(sn):
    tips = (await _jito(sn, "getTipAccounts", []))["result"]
    a, b = funded(sn, 5), funded(sn, 5)
    dest = Keypair().pubkey()
    blockhash = sn.bank.latest_blockhash()[0]
    tx1 = transfer_tx(a, dest, SOL, blockhash)
    tx2 = Transaction([b], Message([B.jito_tip(b.pubkey(), tips[3], 10_000)], b.pubkey()), blockhash)
    body = await _jito(sn, "sendBundle", [[_b64(tx1), _b64(tx2)], {"encoding": "base64"}])
    sigs = [str(tx1.signatures[0]), str(tx2.signatures[0])]
    assert body["result"] == hashlib.sha256(",".join(sigs).encode()).hexdigest()
    assert sn.bank.get_balance(dest) == SOL and sn.bank.get_balance(tips[3]) >= 10_000
    landed = [sn.bank.get_transaction(s) for s in sigs]
    assert landed[0].slot == landed[1].slot and landed[0].seq < landed[1].seq      # same slot, in order
    status = (await _jito(sn, "getBundleStatuses", [[body["result"]]]))["result"]
    entry = status["value"][0]
    assert entry["bundle_id"] == body["result"] and entry["transactions"] == sigs
    assert entry["slot"] == landed[0].slot and entry["err"] == {"Ok": None}
    assert entry["confirmation_status"] in ("processed", "confirmed", "finalized")
    inflight = (await _jito(sn, "getInflightBundleStatuses", [[body["result"]]]))["result"]["value"][0]
    assert inflight["status"] == "Landed" and inflight["landed_slot"] == landed[0].slot


async def test_bundle_with_failing_tx_lands_nothing(sn):
    tips = (await _jito(sn, "getTipAccounts", []))["result"]
    rich, poor = funded(sn, 5), funded(sn, 0.01)
    dest = Keypair().pubkey()
    blockhash = sn.bank.latest_blockhash()[0]
    ok = transfer_tx(rich, dest, SOL, blockhash)
    tip = Transaction([rich], Message([B.jito_tip(rich.pubkey(), tips[0], 5_000)], rich.pubkey()), blockhash)
    failing = transfer_tx(poor, dest, 3 * SOL, blockhash)               # more than it has
    before = (sn.bank.get_balance(rich.pubkey()), sn.bank.get_balance(poor.pubkey()))
    body = await _jito(sn, "sendBundle", [[_b64(ok), _b64(tip), _b64(failing)], {"encoding": "base64"}])
    bundle_id = body["result"]
    assert sn.bank.get_balance(dest) == 0
    assert (sn.bank.get_balance(rich.pubkey()), sn.bank.get_balance(poor.pubkey())) == before   # not even fees
    for tx in (ok, tip, failing):
        assert sn.bank.get_transaction(str(tx.signatures[0])) is None
    assert (await _jito(sn, "getBundleStatuses", [[bundle_id]]))["result"]["value"] == [None]
    inflight = (await _jito(sn, "getInflightBundleStatuses", [[bundle_id]]))["result"]["value"][0]
    assert inflight == {"bundle_id": bundle_id, "status": "Failed", "landed_slot": None}


async def test_bundle_rules(sn):
    payer = funded(sn)
    blockhash = sn.bank.latest_blockhash()[0]
    no_tip = transfer_tx(payer, Keypair().pubkey(), 1, blockhash)
    body = await _jito(sn, "sendBundle", [[_b64(no_tip)], {"encoding": "base64"}])
    assert body["error"]["code"] == -32602 and "tip" in body["error"]["message"]
    assert sn.bank.get_transaction(str(no_tip.signatures[0])) is None
    six = [_b64(transfer_tx(payer, Keypair().pubkey(), i + 1, blockhash)) for i in range(6)]
    assert (await _jito(sn, "sendBundle", [six, {"encoding": "base64"}]))["error"]["code"] == -32602
    assert (await _jito(sn, "sendBundle", [[], {"encoding": "base64"}]))["error"]["code"] == -32602
    unknown = (await _jito(sn, "getInflightBundleStatuses", [["00" * 32]]))["result"]["value"][0]
    assert unknown["status"] == "Invalid"


async def test_jito_send_transaction_endpoint(sn):
    payer = funded(sn)
    dest = Keypair().pubkey()
    tx = transfer_tx(payer, dest, 42, sn.bank.latest_blockhash()[0])
    status, body = await rpc(sn, "sendTransaction", [_b64(tx), {"encoding": "base64"}],
                             url=sn.jito_url + "/api/v1/transactions")
    assert status == 200 and body["result"] == str(tx.signatures[0]) and sn.bank.get_balance(dest) == 42
