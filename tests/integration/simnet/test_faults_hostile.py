"""The faults a hostile chain adds: malformed notifications, a lagging getTransaction index, late and dropped
landings, method-limited 429s, hanging requests and a tampered Jupiter swap. Each against a real simnet."""
from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from pipelines.chain import programs as P
from simnet.faults import stranger_address
from simnet.hostile import HUGE_BYTES, KINDS, UNKNOWN_SUBSCRIPTION

from .chain import SOL, funded, launch_coin, rpc, transfer_tx


async def _faults(sn, body=None):
    async with aiohttp.ClientSession() as s:
        if body is None:
            async with s.get(sn.admin_url + "/faults") as r:
                return await r.json()
        async with s.post(sn.admin_url + "/faults", json=body) as r:
            assert r.status == 200, await r.text()
            return await r.json()


def _encoded(tx) -> str:
    return base64.b64encode(bytes(tx)).decode()


async def _send(sn, tx, **cfg):
    return await rpc(sn, "sendTransaction", [_encoded(tx), {"encoding": "base64", **cfg}])


async def _status(sn, sig: str):
    _, body = await rpc(sn, "getSignatureStatuses", [[sig]])
    return body["result"]["value"][0]


async def _advance(sn, n: int) -> int:
    async with aiohttp.ClientSession() as s:
        async with s.post(sn.admin_url + "/advance_slot", json={"slots": n}) as r:
            return (await r.json())["slot"]


def _transfer(sn, payer, lamports: int = 1):
    return transfer_tx(payer, Keypair().pubkey(), lamports, sn.bank.latest_blockhash()[0])


# --- malformed notifications ------------------------------------------------------------------------------

async def _next_frame(ws):
    return await asyncio.wait_for(ws.receive(), 5)


async def test_malformed_notifications_cycle_through_every_hostile_kind(sn):
    payer = funded(sn)
    async with aiohttp.ClientSession() as s, s.ws_connect(sn.ws_url, max_msg_size=16 * 2**20) as ws:
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                            "params": [{"mentions": [str(payer.pubkey())]}, {"commitment": "processed"}]})
        sub_id = (await _next_frame(ws)).json()["result"]
        await _faults(sn, {"malformed_notifications": 1.0})
        sigs = []
        for _ in KINDS:
            sigs.append(sn.bank.process_transaction(_transfer(sn, payer)).signature)
        frames = [await _next_frame(ws) for _ in KINDS]
        texts = [f.data for f in frames[:-1]]

        note = json.loads(texts[0])                       # logs_not_strings: the issue's `"logs": [1, 2, 3]`
        assert note["params"]["subscription"] == sub_id and note["params"]["result"]["value"]["logs"] == [1, 2, 3]
        assert note["params"]["result"]["value"]["signature"] == sigs[0]
        value = json.loads(texts[1])["params"]["result"]["value"]         # signature_list
        assert isinstance(value["signature"], list) and isinstance(value["logs"], list)
        assert json.loads(texts[2])["params"]["result"]["value"] is None    # null_value
        assert json.loads(texts[3])["params"]["result"]["value"]["logs"] is None   # null_logs
        with pytest.raises(ValueError):                                     # garbage_text
            json.loads(texts[4])
        unknown = json.loads(texts[5])["params"]                            # unknown_subscription
        assert unknown["subscription"] == UNKNOWN_SUBSCRIPTION and unknown["result"]["value"]["signature"] == sigs[5]
        with pytest.raises(RecursionError):                                 # deep_nesting
            json.loads(texts[6])
        assert len(texts[7]) > HUGE_BYTES                                   # huge_frame, still a valid notification
        assert json.loads(texts[7])["params"]["result"]["value"]["signature"] == sigs[7]
        assert frames[8].type == aiohttp.WSMsgType.BINARY                   # binary_frame
        assert json.loads(frames[8].data)["params"]["result"]["value"]["signature"] == sigs[8]

        shown = await _faults(sn)
        assert shown["fired"]["malformed_notifications"] == len(KINDS)
        assert shown["malformed_by_kind"] == dict.fromkeys(KINDS, 1)
        await _faults(sn, {})
        landed = sn.bank.process_transaction(_transfer(sn, payer)).signature
        clean = json.loads((await _next_frame(ws)).data)["params"]
        assert clean["subscription"] == sub_id and clean["result"]["value"]["signature"] == landed
        assert all(isinstance(line, str) for line in clean["result"]["value"]["logs"])


async def test_malformed_notifications_are_seeded_and_limited_to_the_chosen_kinds(sn):
    payer = funded(sn)

    async def pattern() -> list[str]:
        await _faults(sn, {"malformed_notifications": 0.5, "malformed_kinds": ["null_value"], "seed": 5})
        async with aiohttp.ClientSession() as s, s.ws_connect(sn.ws_url) as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                                "params": [{"mentions": [str(payer.pubkey())]}, {"commitment": "processed"}]})
            await _next_frame(ws)
            for _ in range(16):
                sn.bank.process_transaction(_transfer(sn, payer))
            values = [json.loads((await _next_frame(ws)).data)["params"]["result"]["value"] for _ in range(16)]
        return ["null" if v is None else "real" for v in values]

    first, second = await pattern(), await pattern()
    assert first == second and 0 < first.count("null") < 16
    bad = await rpc(sn, "", url=sn.admin_url + "/faults", raw=json.dumps({"malformed_kinds": ["nope"]}))
    assert bad[0] == 400 and "malformed_kinds" in bad[1]["error"]


# --- getTransaction lags confirmation ----------------------------------------------------------------------

async def test_get_transaction_is_null_for_a_while_after_confirmation(sn_manual):
    sn = sn_manual
    now = [1000.0]
    sn.node.slot_times.clock = lambda: now[0]            # the wall clock, held still by the test
    payer = funded(sn)
    await _faults(sn, {"null_transaction_after_confirm_s": 1.5})
    _, body = await _send(sn, _transfer(sn, payer))
    sig = body["result"]
    await _advance(sn, 1)                                # its slot is voted on: confirmed at t = 1000
    assert (await _status(sn, sig))["confirmationStatus"] == "confirmed"

    async def served() -> bool:
        _, tx = await rpc(sn, "getTransaction", [sig, {"commitment": "confirmed"}])
        return tx["result"] is not None and tx["result"]["transaction"]["signatures"] == [sig]
    assert not await served()                            # confirmed by its status, yet not served
    now[0] = 1001.49
    assert not await served()
    now[0] = 1001.5
    assert await served()
    assert (await _faults(sn))["fired"]["null_transactions"] == 2


# --- late and dropped landings ----------------------------------------------------------------------------

async def test_land_delay_slots_lands_the_transaction_n_slots_later(sn_manual):
    sn = sn_manual
    payer = funded(sn)
    before = sn.bank.get_balance(payer.pubkey())
    await _faults(sn, {"land_delay_slots": 5})
    sent_at = sn.bank.slot
    tx = _transfer(sn, payer, 1000)
    _, body = await _send(sn, tx)
    sig = body["result"]
    assert await _status(sn, sig) is None and sn.bank.get_balance(payer.pubkey()) == before
    await _advance(sn, 4)
    assert await _status(sn, sig) is None
    await _advance(sn, 1)
    st = await _status(sn, sig)
    assert st["slot"] == sent_at + 5 and st["err"] is None
    assert sn.bank.get_balance(payer.pubkey()) == before - 1000 - 5000
    _, again = await _send(sn, tx)                   # rebroadcast after it landed: refused, never held again
    assert again["error"]["code"] == -32002 and "already been processed" in again["error"]["message"]
    # a failing transaction is still refused by preflight at once, and never held
    _, body = await _send(sn, _transfer(sn, payer, 100 * SOL))
    assert body["error"]["code"] == -32002
    assert (await _faults(sn))["fired"]["delayed_transactions"] == 1


async def test_a_transaction_held_past_its_blockhash_never_lands(sn_manual):
    sn = sn_manual
    payer = funded(sn)
    before = sn.bank.get_balance(payer.pubkey())
    await _faults(sn, {"land_delay_slots": 200})
    _, body = await _send(sn, _transfer(sn, payer, 1000))
    await _advance(sn, 201)
    assert await _status(sn, body["result"]) is None and sn.bank.get_balance(payer.pubkey()) == before


async def test_drop_transactions_accepts_and_never_lands_even_when_rebroadcast(sn_manual):
    sn = sn_manual
    payer = funded(sn)
    before = sn.bank.get_balance(payer.pubkey())
    await _faults(sn, {"drop_transactions": 1.0})
    tx = _transfer(sn, payer, 1000)
    _, body = await _send(sn, tx)
    sig = body["result"]
    await _advance(sn, 3)
    _, again = await _send(sn, tx)                  # the client rebroadcasts: the same signature, still dropped
    assert again["result"] == sig
    await _advance(sn, 3)
    assert await _status(sn, sig) is None and sn.bank.get_balance(payer.pubkey()) == before
    assert (await _faults(sn))["fired"]["dropped_transactions"] == 1
    await _faults(sn, {})
    _, body = await _send(sn, _transfer(sn, payer, 1000))
    assert (await _status(sn, body["result"]))["err"] is None


# --- HTTP: method-limited 429s, hanging requests -------------------------------------------------------------

async def test_http_429_methods_limits_the_storm_to_those_methods(sn):
    payer = funded(sn)
    await _faults(sn, {"http_429_rate": 1.0, "http_429_methods": ["sendTransaction", "jupiter/quote"]})
    status, body = await rpc(sn, "getSlot")
    assert status == 200 and isinstance(body["result"], int)
    status, body = await _send(sn, _transfer(sn, payer))
    assert status == 429 and body["error"]["code"] == 429
    batch = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
                        {"jsonrpc": "2.0", "id": 2, "method": "sendTransaction", "params": ["x"]}])
    assert (await rpc(sn, "", raw=batch))[0] == 429
    async with aiohttp.ClientSession() as s:
        async with s.get(sn.jupiter_url + "/quote", params={"inputMint": P.WSOL_MINT, "outputMint": P.WSOL_MINT,
                                                            "amount": "1"}) as r:
            assert r.status == 429
    assert (await _faults(sn))["fired"]["http_429"] == 3


async def test_a_request_that_times_out_is_still_served_after_the_client_gave_up(sn):
    payer = funded(sn)
    before = sn.bank.get_balance(payer.pubkey())
    await _faults(sn, {"timeout_rate": 1.0, "timeout_s": 0.6, "timeout_methods": ["sendTransaction"]})
    status, _ = await rpc(sn, "getSlot")              # not a listed method: answered
    assert status == 200
    tx = _transfer(sn, payer, 1000)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as s:
        with pytest.raises(asyncio.TimeoutError):
            await s.post(sn.http_url, json={"jsonrpc": "2.0", "id": 1, "method": "sendTransaction",
                                            "params": [_encoded(tx), {"encoding": "base64"}]})
    sig = str(tx.signatures[0])
    for _ in range(100):                                # the provider sends it once its hang is over
        if await _status(sn, sig):
            break
        await asyncio.sleep(0.05)
    assert (await _status(sn, sig))["err"] is None and sn.bank.get_balance(payer.pubkey()) == before - 6000
    assert (await _faults(sn))["fired"]["timeouts"] == 1


# --- a compromised Jupiter --------------------------------------------------------------------------------

async def test_jupiter_tamper_adds_a_transfer_from_the_user_to_a_stranger(sn):
    mint = launch_coin(sn, funded(sn, 5))
    user = funded(sn, 3)
    shown = await _faults(sn, {"jupiter_tamper": True, "jupiter_tamper_lamports": 25_000_000})
    stranger = shown["stranger"]
    assert stranger == stranger_address(sn.cfg.seed)
    async with aiohttp.ClientSession() as s:
        async with s.get(sn.jupiter_url + "/quote", params={"inputMint": P.WSOL_MINT, "outputMint": mint,
                                                            "amount": str(SOL // 10), "slippageBps": "500"}) as r:
            quote = await r.json()
        async with s.post(sn.jupiter_url + "/swap", json={"userPublicKey": str(user.pubkey()),
                                                          "quoteResponse": quote}) as r:
            swap = await r.json()
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
    keys = [str(k) for k in unsigned.message.account_keys]
    theft = [ix for ix in unsigned.message.instructions
             if keys[ix.program_id_index] == P.SYSTEM and keys[ix.accounts[1]] == stranger]
    assert len(theft) == 1 and keys[theft[0].accounts[0]] == str(user.pubkey())
    assert int.from_bytes(bytes(theft[0].data)[4:12], "little") == 25_000_000
    # signed as it came, it pays the stranger: what a trader's verification must refuse to sign
    signed = VersionedTransaction(unsigned.message, [user])
    assert sn.bank.process_transaction(signed).err is None
    assert sn.bank.get_balance(stranger) == 25_000_000
    assert (await _faults(sn))["fired"]["tampered_swaps"] == 1


# --- the wallet's ground truth ----------------------------------------------------------------------------

async def test_admin_wallet_shows_each_transaction_and_the_balances(sn):
    payer = funded(sn, 2)
    landed = sn.bank.process_transaction(_transfer(sn, payer, 1234))
    async with aiohttp.ClientSession() as s:
        async with s.get(sn.admin_url + "/wallet", params={"address": str(payer.pubkey())}) as r:
            truth = await r.json()
        async with s.get(sn.admin_url + "/wallet", params={"address": "nope"}) as r:
            assert r.status == 400
    assert truth["lamports"] == 2 * SOL - 1234 - 5000 and truth["tokens"] == {}
    by_sig = {t["signature"]: t for t in truth["transactions"]}
    sent = by_sig[landed.signature]
    assert sent["signer"] is True and sent["err"] is None and sent["lamports_delta"] == -1234 - 5000
    airdrop = [t for t in truth["transactions"] if t["signature"] != landed.signature]
    assert len(airdrop) == 1 and airdrop[0]["signer"] is False and airdrop[0]["lamports_delta"] == 2 * SOL
