"""Signed transactions through sendTransaction, read back with getTransaction in json, jsonParsed and base64;
simulateTransaction. Expected values are derived from what the test sent (amounts, keys, fees)."""
from __future__ import annotations

import base64

from solders.keypair import Keypair
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solana.rpc.models import TxOpts

from pipelines.chain import curve, pda
from pipelines.chain import programs as P
from pipelines.chain.base58 import b58decode

from .chain import SOL, confirmed, funded, launch_coin, rpc, transfer_tx

LAMPORTS_PER_SIGNATURE = 5000


async def _get(sn, sig, encoding):
    _, body = await rpc(sn, "getTransaction", [str(sig), {"encoding": encoding, "commitment": "confirmed",
                                                          "maxSupportedTransactionVersion": 0}])
    return body["result"]


async def test_transfer_in_all_encodings(sn, client):
    payer = funded(sn, 4)
    dest = Keypair().pubkey()
    tx = transfer_tx(payer, dest, 1_500_000_000, sn.bank.latest_blockhash()[0])
    sig = (await client.send_transaction(tx, opts=TxOpts(skip_confirmation=False,
                                                         preflight_commitment="confirmed"))).value
    assert sig == tx.signatures[0]

    j = await _get(sn, sig, "json")
    assert j["version"] == "legacy" and j["slot"] >= 1 and isinstance(j["blockTime"], int)
    msg = j["transaction"]["message"]
    assert msg["accountKeys"] == [str(payer.pubkey()), str(dest), P.SYSTEM]
    assert msg["header"] == {"numReadonlySignedAccounts": 0, "numReadonlyUnsignedAccounts": 1,
                             "numRequiredSignatures": 1}
    ix = msg["instructions"][0]
    assert ix["programIdIndex"] == 2 and ix["accounts"] == [0, 1] and ix["stackHeight"] is None
    assert b58decode(ix["data"]) == bytes([2, 0, 0, 0]) + (1_500_000_000).to_bytes(8, "little")
    meta = j["meta"]
    assert meta["err"] is None and meta["status"] == {"Ok": None} and meta["fee"] == LAMPORTS_PER_SIGNATURE
    assert meta["preBalances"] == [4 * SOL, 0, 1]
    assert meta["postBalances"] == [4 * SOL - 1_500_000_000 - LAMPORTS_PER_SIGNATURE, 1_500_000_000, 1]
    assert meta["logMessages"] == [f"Program {P.SYSTEM} invoke [1]", f"Program {P.SYSTEM} success"]
    assert meta["loadedAddresses"] == {"readonly": [], "writable": []} and meta["innerInstructions"] == []
    assert j["transaction"]["signatures"] == [str(sig)]

    p = await _get(sn, sig, "jsonParsed")
    keys = p["transaction"]["message"]["accountKeys"]
    assert keys[0] == {"pubkey": str(payer.pubkey()), "signer": True, "source": "transaction", "writable": True}
    assert keys[2] == {"pubkey": P.SYSTEM, "signer": False, "source": "transaction", "writable": False}
    assert p["transaction"]["message"]["instructions"][0] == {
        "parsed": {"info": {"destination": str(dest), "lamports": 1_500_000_000, "source": str(payer.pubkey())},
                   "type": "transfer"},
        "program": "system", "programId": P.SYSTEM, "stackHeight": None}
    assert "loadedAddresses" not in p["meta"]

    b = await _get(sn, sig, "base64")
    data, enc = b["transaction"]
    assert enc == "base64" and base64.b64decode(data) == bytes(tx)
    assert b["meta"]["postBalances"] == meta["postBalances"]

    # solana-py parses all three
    for enc in ("json", "jsonParsed", "base64"):
        resp = await client.get_transaction(sig, encoding=enc, commitment="confirmed",
                                            max_supported_transaction_version=0)
        assert resp.value.slot == j["slot"]


async def test_pump_buy_via_send_transaction(sn, client):
    """A real pump.fun buy: the curve math decides the tokens, jsonParsed shows the CPIs as Agave does."""
    from simnet.market.execution import ChainView, curve_buy_tx
    dev = funded(sn, 20)
    mint = launch_coin(sn, dev)
    view = ChainView(sn.bank)
    state = view.curve(mint).state()
    spend = SOL // 2
    quote = view.quote_buy(state, spend)
    assert quote.tokens > 0
    buyer = funded(sn, 5)
    tx = curve_buy_tx(buyer, mint=mint, creator=str(dev.pubkey()), token_program=P.TOKEN,
                      fee_recipient=view.fee_recipients[0], blockhash=sn.bank.latest_blockhash()[0], cu_price=0,
                      spendable=spend, min_tokens=curve.slippage_min_out(quote.tokens, 100))
    sig = (await client.send_transaction(tx)).value
    await confirmed(sn, sig)
    p = await _get(sn, sig, "jsonParsed")
    assert p["meta"]["err"] is None
    ata = str(pda.associated_token(buyer.pubkey(), mint, P.TOKEN))
    post = [b for b in p["meta"]["postTokenBalances"] if b["owner"] == str(buyer.pubkey())]
    assert post[0]["mint"] == mint and post[0]["uiTokenAmount"]["amount"] == str(quote.tokens)
    assert post[0]["uiTokenAmount"]["decimals"] == 6
    keys = [k["pubkey"] for k in p["transaction"]["message"]["accountKeys"]]
    assert post[0]["accountIndex"] == keys.index(ata)
    inner = [ix for group in p["meta"]["innerInstructions"] for ix in group["instructions"]]
    token_moves = [ix for ix in inner if ix.get("program") == "spl-token" and ix["parsed"]["type"].startswith("transfer")]
    assert any(ix["parsed"]["info"].get("destination") == ata for ix in token_moves)
    sol_moves = [ix["parsed"]["info"] for ix in inner
                 if ix.get("program") == "system" and ix["parsed"]["type"] == "transfer"]
    rent = sn.bank.minimum_balance_for_rent_exemption(165)
    created = [ix["parsed"]["info"] for ix in inner
               if ix.get("program") == "system" and ix["parsed"]["type"] == "createAccount"]
    assert {"source": str(buyer.pubkey()), "newAccount": ata, "lamports": rent, "space": 165,
            "owner": P.TOKEN} in created                                  # the ATA program made the buyer's ATA
    paid = sum(m["lamports"] for m in sol_moves if m["source"] == str(buyer.pubkey()))
    assert paid == quote.total_sol                                # curve cost + protocol fee + creator fee
    assert all(ix["stackHeight"] >= 2 for ix in inner)
    top = p["transaction"]["message"]["instructions"]
    pump_ix = [ix for ix in top if ix["programId"] == P.PUMP][0]
    assert "parsed" not in pump_ix and isinstance(pump_ix["data"], str) and len(pump_ix["accounts"]) >= 12
    budget = [ix for ix in top if ix["programId"] == P.COMPUTE_BUDGET]
    assert budget and all("parsed" not in ix for ix in budget)     # Agave does not parse ComputeBudget

    j = await _get(sn, sig, "json")
    ks = j["transaction"]["message"]["accountKeys"]
    for group in j["meta"]["innerInstructions"]:
        for ix in group["instructions"]:
            assert 0 <= ix["programIdIndex"] < len(ks) and all(0 <= a < len(ks) for a in ix["accounts"])
    assert any(line.startswith("Program data: ") for line in j["meta"]["logMessages"])   # the TradeEvent


async def test_base58_send_and_v0(sn, client):
    from pipelines.chain.base58 import b58encode
    payer = funded(sn)
    dest = Keypair().pubkey()
    tx = transfer_tx(payer, dest, 777, sn.bank.latest_blockhash()[0], v0=True)
    _, body = await rpc(sn, "sendTransaction", [b58encode(bytes(tx))])          # base58 is the default
    assert body["result"] == str(tx.signatures[0])
    assert await _get(sn, tx.signatures[0], "json") is None or sn.bank.slot > sn.bank.get_transaction(
        str(tx.signatures[0])).slot                                             # null until confirmed
    await confirmed(sn, tx.signatures[0])
    j = await _get(sn, tx.signatures[0], "json")
    assert j["version"] == 0 and j["transaction"]["message"]["addressTableLookups"] == []
    assert sn.bank.get_balance(dest) == 777


async def test_simulate_transaction(sn, client):
    payer = funded(sn)
    dest = Keypair().pubkey()
    tx = transfer_tx(payer, dest, SOL, sn.bank.latest_blockhash()[0], v0=True)
    sim = (await client.simulate_transaction(tx, sig_verify=True)).value
    assert sim.err is None and sim.units_consumed == 150 and sim.accounts is None and sim.return_data is None
    assert sim.logs == [f"Program {P.SYSTEM} invoke [1]", f"Program {P.SYSTEM} success"]
    assert sn.bank.get_balance(dest) == 0                                      # nothing persisted

    stale = VersionedTransaction(tx.message, [payer])
    _, body = await rpc(sn, "simulateTransaction", [base64.b64encode(bytes(stale)).decode(),
                                                     {"encoding": "base64", "replaceRecentBlockhash": True}])
    value = body["result"]["value"]
    assert value["err"] is None
    assert set(value["replacementBlockhash"]) == {"blockhash", "lastValidBlockHeight"}

    poor = funded(sn, 0.001)
    bad = transfer_tx(poor, dest, SOL, sn.bank.latest_blockhash()[0], v0=True)
    failed = (await client.simulate_transaction(bad)).value
    assert failed.err is not None and failed.logs[-1].endswith("failed: custom program error: 0x1")

    forged = bytearray(bytes(tx))
    forged[5] ^= 1
    _, body = await rpc(sn, "simulateTransaction", [base64.b64encode(bytes(forged)).decode(),
                                                     {"encoding": "base64", "sigVerify": True}])
    assert body["error"]["code"] == -32003

    # accounts: what the simulation left in the accounts it wrote (1 SOL moved, 5,000 lamports fee for one
    # signature), any other as the bank holds it; nothing persisted
    bystander = funded(sn, 2.0).pubkey()

    async def simulated_accounts(t, addresses):
        _, body = await rpc(sn, "simulateTransaction", [base64.b64encode(bytes(t)).decode(), {
            "encoding": "base64", "accounts": {"addresses": [str(a) for a in addresses], "encoding": "base64"}}])
        return body
    body = await simulated_accounts(tx, [dest, payer.pubkey(), bystander])
    got = body["result"]["value"]["accounts"]
    assert [a["lamports"] for a in got] == [SOL, 10 * SOL - SOL - 5000, 2 * SOL]
    assert got[0]["owner"] == P.SYSTEM and got[0]["data"] == ["", "base64"] and got[0]["space"] == 0
    assert sn.bank.get_balance(dest) == 0 and sn.bank.get_balance(payer.pubkey()) == 10 * SOL
    failed_body = await simulated_accounts(bad, [dest, poor.pubkey()])
    assert failed_body["result"]["value"]["err"] is not None
    assert failed_body["result"]["value"]["accounts"] == [None, None]          # Agave: nulls for a failed run
    too_many = await simulated_accounts(tx, [dest, payer.pubkey(), bystander, Keypair().pubkey()])
    assert too_many["error"]["code"] == -32602 and "max 3" in too_many["error"]["message"]   # payer, dest, system


async def test_signature_status_reaches_finalized(sn, client):
    payer = funded(sn)
    tx = transfer_tx(payer, Keypair().pubkey(), 1, sn.bank.latest_blockhash()[0])
    sig = (await client.send_transaction(tx)).value
    st = (await client.confirm_transaction(sig, commitment="finalized", sleep_seconds=0.05)).value[0]
    assert st.confirmations is None and str(st.confirmation_status).endswith("Finalized")
    assert sn.bank.slot - st.slot >= 32
    assert isinstance(Signature.from_string(str(sig)), Signature)
