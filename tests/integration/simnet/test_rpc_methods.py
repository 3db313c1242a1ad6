"""Every read method through solana-py's AsyncClient, unchanged: if simnet's shapes were off, solders' response
parsers would raise. Expected values come from the setup (airdrops, mints, transfers), not from simnet."""
from __future__ import annotations

import base64

from solders.hash import Hash
from solders.rpc.requests import IsBlockhashValid
from solders.rpc.responses import IsBlockhashValidResp
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solana.rpc.models import DataSliceOpts, TokenAccountOpts

from pipelines.chain import programs as P

from .chain import SOL, confirmed, funded, give_tokens, make_mint, rpc, run, transfer_tx


async def test_slot_height_blockhash(sn, client):
    slot = (await client.get_slot()).value                # the client's commitment: confirmed, tip - 1
    height = (await client.get_block_height()).value
    assert slot >= 0 and height >= 0
    bh = (await client.get_latest_blockhash()).value
    assert bh.last_valid_block_height >= height + 150 - 1          # valid for 150 blocks
    # solana-py 0.41 has no is_blockhash_valid helper: send solders' request through the client's provider
    valid = await client._provider.make_request(IsBlockhashValid(bh.blockhash), IsBlockhashValidResp)
    assert valid.value is True
    invalid = await client._provider.make_request(IsBlockhashValid(Hash.new_unique()), IsBlockhashValidResp)
    assert invalid.value is False
    resp = await client.get_latest_blockhash()
    assert resp.context.api_version is not None and resp.context.slot >= slot


async def test_slot_per_commitment(sn_manual):
    from solana.rpc.async_api import AsyncClient
    for _ in range(40):
        sn_manual.bank.advance_slot()
    tip, height = sn_manual.bank.slot, sn_manual.bank.block_height
    async with AsyncClient(sn_manual.http_url) as c:
        levels = ("processed", "confirmed", "finalized")
        assert [(await c.get_slot(commitment=lv)).value for lv in levels] == [tip, tip - 1, tip - 32]
        assert [(await c.get_block_height(commitment=lv)).value for lv in levels] == [height, height - 1, height - 32]


async def test_health_and_version(client):
    assert await client.is_connected()
    version = (await client.get_version()).value
    assert version.solana_core.count(".") == 2 and version.feature_set > 0


async def test_balance_and_account_info(sn, client):
    kp = funded(sn, 3)
    assert (await client.get_balance(kp.pubkey())).value == 3 * SOL
    info = (await client.get_account_info(kp.pubkey())).value
    assert info.lamports == 3 * SOL and str(info.owner) == P.SYSTEM and bytes(info.data) == b""
    missing = Keypair().pubkey()
    assert (await client.get_account_info(missing)).value is None
    assert (await client.get_balance(missing)).value == 0


async def test_account_encodings_and_slice(sn, client):
    authority = funded(sn)
    mint = make_mint(sn, authority, decimals=6)
    raw = bytes(sn.bank.get_account(mint).data)
    assert len(raw) == 82 and raw[44] == 6                      # SPL mint layout: decimals at 44
    b64 = (await client.get_account_info(mint, encoding="base64")).value
    assert bytes(b64.data) == raw
    sliced = (await client.get_account_info(mint, encoding="base64",
                                            data_slice=DataSliceOpts(offset=36, length=9))).value
    assert bytes(sliced.data) == raw[36:45]
    _, body = await rpc(sn, "getAccountInfo", [str(mint), {"encoding": "base58"}])
    from pipelines.chain.base58 import b58decode
    data, enc = body["result"]["value"]["data"]
    assert enc == "base58" and b58decode(data) == raw
    _, body = await rpc(sn, "getAccountInfo", [str(mint)])          # default: legacy binary, a bare string
    assert b58decode(body["result"]["value"]["data"]) == raw
    parsed = (await client.get_account_info_json_parsed(mint)).value
    info = parsed.data.parsed["info"]
    assert parsed.data.program == "spl-token" and parsed.data.parsed["type"] == "mint"
    assert info == {"decimals": 6, "freezeAuthority": None, "isInitialized": True,
                    "mintAuthority": str(authority.pubkey()), "supply": "0"}


async def test_multiple_accounts(sn, client):
    a, b = funded(sn, 1), funded(sn, 2)
    missing = Keypair().pubkey()
    value = (await client.get_multiple_accounts([a.pubkey(), missing, b.pubkey()])).value
    assert [v.lamports if v else None for v in value] == [SOL, None, 2 * SOL]
    parsed = (await client.get_multiple_accounts_json_parsed([a.pubkey()])).value
    assert parsed[0].lamports == SOL


async def test_token_methods(sn, client):
    authority = funded(sn)
    mint = make_mint(sn, authority, decimals=6)
    holders = [Keypair().pubkey() for _ in range(3)]
    amounts = [5_000_000, 1_250_000, 70_000_000]
    atas = [give_tokens(sn, authority, mint, h, amt) for h, amt in zip(holders, amounts)]

    bal = (await client.get_token_account_balance(atas[1])).value
    assert (bal.amount, bal.decimals, bal.ui_amount, bal.ui_amount_string) == ("1250000", 6, 1.25, "1.25")
    supply = (await client.get_token_supply(mint)).value
    assert supply.amount == str(sum(amounts)) and supply.ui_amount_string == "76.25"
    largest = (await client.get_token_largest_accounts(mint)).value
    assert [(str(x.address), x.amount.amount) for x in largest] == [
        (str(atas[2]), "70000000"), (str(atas[0]), "5000000"), (str(atas[1]), "1250000")]

    by_mint = (await client.get_token_accounts_by_owner(holders[0], TokenAccountOpts(mint=mint))).value
    assert [str(x.pubkey) for x in by_mint] == [str(atas[0])]
    assert int.from_bytes(bytes(by_mint[0].account.data)[64:72], "little") == amounts[0]
    by_program = (await client.get_token_accounts_by_owner_json_parsed(
        holders[2], TokenAccountOpts(program_id=Pubkey.from_string(P.TOKEN)))).value
    info = by_program[0].account.data.parsed["info"]
    assert by_program[0].account.data.parsed["type"] == "account"
    assert info["mint"] == str(mint) and info["owner"] == str(holders[2]) and info["state"] == "initialized"
    assert info["tokenAmount"] == {"amount": "70000000", "decimals": 6, "uiAmount": 70.0, "uiAmountString": "70"}
    assert (await client.get_token_accounts_by_owner(Keypair().pubkey(), TokenAccountOpts(mint=mint))).value == []


async def test_signatures_for_address_and_statuses(sn, client):
    payer = funded(sn)
    dest = Keypair().pubkey()
    sigs = []
    for lamports in (1_000_000, 2_000_000, 3_000_000):
        res = sn.bank.process_transaction(transfer_tx(payer, dest, lamports, sn.bank.latest_blockhash()[0]))
        assert res.err is None
        sigs.append(res.signature)
    await confirmed(sn, sigs[-1])
    rows = (await client.get_signatures_for_address(dest)).value
    assert [str(r.signature) for r in rows] == sigs[::-1]                 # newest first
    assert all(r.err is None and r.block_time for r in rows)
    limited = (await client.get_signatures_for_address(dest, limit=1)).value
    assert [str(r.signature) for r in limited] == [sigs[2]]
    from solders.signature import Signature
    before = (await client.get_signatures_for_address(dest, before=Signature.from_string(sigs[2]))).value
    assert [str(r.signature) for r in before] == sigs[1::-1]

    unknown = Keypair().sign_message(b"never sent")
    statuses = (await client.get_signature_statuses([Signature.from_string(sigs[0]), unknown])).value
    assert statuses[1] is None
    st = statuses[0]
    assert st.err is None and st.slot == sn.bank.get_transaction(sigs[0]).slot
    # an old signature drops out of the status cache, but searchTransactionHistory still finds it
    for _ in range(301):
        sn.bank.advance_slot()
    old = (await client.get_signature_statuses([Signature.from_string(sigs[0])])).value
    assert old == [None]
    found = (await client.get_signature_statuses([Signature.from_string(sigs[0])],
                                                 search_transaction_history=True)).value[0]
    assert found is not None and found.confirmations is None and str(found.confirmation_status).endswith("Finalized")


async def test_history_reads_honour_commitment(sn_manual):
    """getSignaturesForAddress and getTransaction show a transaction only once it reaches the commitment."""
    sn = sn_manual
    payer = funded(sn)
    dest = Keypair().pubkey()
    res = sn.bank.process_transaction(transfer_tx(payer, dest, 9, sn.bank.latest_blockhash()[0]))

    async def visible(level):
        _, rows = await rpc(sn, "getSignaturesForAddress", [str(dest), {"commitment": level}])
        _, tx = await rpc(sn, "getTransaction", [res.signature, {"commitment": level}])
        return [r["signature"] for r in rows["result"]], tx["result"] is not None

    assert await visible("confirmed") == ([], False)                     # processed only
    sn.bank.advance_slot()
    assert await visible("confirmed") == ([res.signature], True)
    assert await visible("finalized") == ([], False)
    for _ in range(31):
        sn.bank.advance_slot()
    assert await visible("finalized") == ([res.signature], True)
    _, err = await rpc(sn, "getSignaturesForAddress", [str(dest), {"commitment": "processed"}])
    assert err["error"]["message"] == "Method does not support commitment below `confirmed`"


async def test_recent_prioritization_fees(sn, client):
    payer = funded(sn)
    from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
    from solders.system_program import TransferParams, transfer
    dest = Keypair().pubkey()
    result = run(sn, payer, [set_compute_unit_limit(10_000), set_compute_unit_price(12_345),
                             transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=SOL))])
    fees = (await client.get_recent_prioritization_fees([dest])).value
    by_slot = {f.slot: f.prioritization_fee for f in fees}
    assert by_slot[result.slot] == 12_345
    other = (await client.get_recent_prioritization_fees([Keypair().pubkey()])).value
    assert all(f.prioritization_fee == 0 for f in other)


async def test_base64_send_roundtrip_in_batch(sn):
    """A batch mixing methods answers each member in order, with its own id."""
    payer = funded(sn)
    tx = transfer_tx(payer, Keypair().pubkey(), 5, sn.bank.latest_blockhash()[0])
    batch = [{"jsonrpc": "2.0", "id": "a", "method": "getSlot"},
             {"jsonrpc": "2.0", "id": 7, "method": "sendTransaction",
              "params": [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]},
             {"jsonrpc": "2.0", "id": 8, "method": "getBalance", "params": [str(payer.pubkey())]}]
    import json
    status, body = await rpc(sn, "", raw=json.dumps(batch))
    assert status == 200 and [m["id"] for m in body] == ["a", 7, 8]
    assert body[1]["result"] == str(tx.signatures[0])
    assert body[2]["result"]["value"] == 10 * SOL - 5 - 5000          # transfer + one signature's fee
