"""The Jupiter API: quotes over simnet's venues, swaps built unsigned, signed by the client, landed."""
from __future__ import annotations

import base64

import aiohttp
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction
from solana.rpc.models import TxOpts

from pipelines.chain import curve, pda
from pipelines.chain import programs as P

from .chain import SOL, funded, launch_coin

WSOL = P.WSOL_MINT


async def _quote(sn, **params):
    async with aiohttp.ClientSession() as s:
        async with s.get(sn.jupiter_url + "/quote", params={k: str(v) for k, v in params.items()}) as r:
            return r.status, await r.json()


async def _swap(sn, body):
    async with aiohttp.ClientSession() as s:
        async with s.post(sn.jupiter_url + "/swap", json=body) as r:
            return r.status, await r.json()


def _sign(swap: dict, kp: Keypair) -> VersionedTransaction:
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
    assert unsigned.message.account_keys[0] == kp.pubkey()            # the user pays
    return VersionedTransaction(unsigned.message, [kp])


def _token_balance(sn, owner, mint) -> int:
    acc = sn.bank.get_account(pda.associated_token(owner, mint, P.TOKEN))
    return 0 if acc is None else int.from_bytes(bytes(acc.data)[64:72], "little")


async def test_curve_buy_then_sell(sn, client):
    from simnet.market.execution import ChainView
    mint = launch_coin(sn, funded(sn, 5))
    user = funded(sn, 3)
    status, quote = await _quote(sn, inputMint=WSOL, outputMint=mint, amount=SOL // 4, slippageBps=150)
    assert status == 200
    view = ChainView(sn.bank)
    expected = view.quote_buy(view.curve(mint).state(), SOL // 4)
    assert quote["outAmount"] == str(expected.tokens) and quote["inAmount"] == str(SOL // 4)
    assert quote["otherAmountThreshold"] == str(curve.slippage_min_out(expected.tokens, 150))
    info = quote["routePlan"][0]["swapInfo"]
    assert info["label"] == "Pump.fun" and info["ammKey"] == str(pda.bonding_curve(mint))
    assert info["feeAmount"] == str(expected.protocol_fee + expected.creator_fee) and info["feeMint"] == WSOL
    assert float(quote["priceImpactPct"]) > 0 and quote["contextSlot"] >= 1 and quote["swapMode"] == "ExactIn"

    status, swap = await _swap(sn, {"userPublicKey": str(user.pubkey()), "quoteResponse": quote,
                                    "wrapAndUnwrapSol": True, "dynamicComputeUnitLimit": True,
                                    "prioritizationFeeLamports": 10_000})
    assert status == 200 and swap["simulationError"] is None
    assert swap["lastValidBlockHeight"] >= sn.bank.block_height
    sig = (await client.send_transaction(_sign(swap, user))).value
    landed = sn.bank.get_transaction(str(sig))
    assert landed.result.err is None
    assert _token_balance(sn, user.pubkey(), mint) == expected.tokens             # exactly as quoted
    assert landed.result.fee == 5000 + swap["prioritizationFeeLamports"]
    assert landed.result.compute_unit_price == swap["prioritizationType"]["computeBudget"]["microLamports"]

    held = _token_balance(sn, user.pubkey(), mint)
    status, sell_quote = await _quote(sn, inputMint=mint, outputMint=WSOL, amount=held, slippageBps=100)
    assert status == 200
    sol_before = sn.bank.get_balance(user.pubkey())
    status, swap = await _swap(sn, {"userPublicKey": str(user.pubkey()), "quoteResponse": sell_quote})
    assert status == 200
    sig = (await client.send_transaction(_sign(swap, user), opts=TxOpts(skip_preflight=True))).value
    assert sn.bank.get_transaction(str(sig)).result.err is None
    assert _token_balance(sn, user.pubkey(), mint) == 0
    fee = sn.bank.get_transaction(str(sig)).result.fee
    assert sn.bank.get_balance(user.pubkey()) == sol_before + int(sell_quote["outAmount"]) - fee


async def test_pumpswap_route_after_migration(sn, client):
    from simnet.market.execution import ChainView, curve_buy_tx, migrate_tx
    dev = funded(sn, 5)
    mint = launch_coin(sn, dev)
    view = ChainView(sn.bank)
    whale = funded(sn, 200)
    state = view.curve(mint).state()
    need = view.quote_buy_tokens(state, state.real_token_reserves)
    tx = curve_buy_tx(whale, mint=mint, creator=str(dev.pubkey()), token_program=P.TOKEN,
                      fee_recipient=view.fee_recipients[0], blockhash=sn.bank.latest_blockhash()[0], cu_price=0,
                      tokens=state.real_token_reserves, max_cost=need.total_sol + SOL)
    assert sn.bank.process_transaction(tx).err is None
    assert view.curve(mint).complete
    status, body = await _quote(sn, inputMint=WSOL, outputMint=mint, amount=SOL)
    assert status == 400 and body["errorCode"] == "TOKEN_NOT_TRADABLE"          # complete, not migrated yet
    mig = migrate_tx(sn.bank.genesis.migration_authority, mint=mint, token_program=P.TOKEN,
                     blockhash=sn.bank.latest_blockhash()[0])
    res = sn.bank.process_transaction(mig)
    assert res.err is None, res.logs

    user = funded(sn, 5)
    status, quote = await _quote(sn, inputMint=WSOL, outputMint=mint, amount=SOL, slippageBps=100)
    assert status == 200
    info = quote["routePlan"][0]["swapInfo"]
    assert info["label"] == "Pump.fun Amm" and info["ammKey"] == str(pda.canonical_pumpswap_pool(mint))
    expected = view.quote_swap_buy(view.pool(mint), SOL)
    assert quote["outAmount"] == str(expected.base_out)
    status, swap = await _swap(sn, {"userPublicKey": str(user.pubkey()), "quoteResponse": quote})
    assert status == 200
    sig = (await client.send_transaction(_sign(swap, user))).value
    assert sn.bank.get_transaction(str(sig)).result.err is None
    assert _token_balance(sn, user.pubkey(), mint) == expected.base_out
    assert sn.bank.get_account(pda.associated_token(user.pubkey(), WSOL, P.TOKEN)) is None   # unwrapped


async def test_quote_and_swap_errors(sn):
    status, body = await _quote(sn, inputMint="nope", outputMint=WSOL, amount=1)
    assert status == 400 and "inputMint" in body["error"]
    status, body = await _quote(sn, inputMint=WSOL, outputMint=str(Keypair().pubkey()), amount=SOL)
    assert status == 400 and body["errorCode"] == "TOKEN_NOT_TRADABLE"
    status, body = await _quote(sn, inputMint=WSOL, outputMint=WSOL, amount=SOL)
    assert status == 400
    status, body = await _quote(sn, inputMint=WSOL, outputMint=str(Keypair().pubkey()), amount="lots")
    assert status == 400 and "amount" in body["error"]
    status, body = await _swap(sn, {"userPublicKey": "x", "quoteResponse": {}})
    assert status == 400 and "userPublicKey" in body["error"]
    status, body = await _swap(sn, {"userPublicKey": str(Keypair().pubkey())})
    assert status == 400 and "quoteResponse" in body["error"]
