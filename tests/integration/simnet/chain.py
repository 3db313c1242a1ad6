"""Chain setup for the simnet tests: funded wallets, SPL mints and token accounts, pump.fun coins, raw RPC."""
from __future__ import annotations

import aiohttp
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import Transaction, VersionedTransaction
from spl.token.instructions import (create_idempotent_associated_token_account, get_associated_token_address,
                                    initialize_mint2, mint_to)
from spl.token.models import InitializeMint2Params, MintToParams

from pipelines.chain import programs as P

TOKEN = Pubkey.from_string(P.TOKEN)
SOL = 1_000_000_000


def funded(sn, sol: float = 10.0) -> Keypair:
    kp = Keypair()
    sn.bank.airdrop(kp.pubkey(), int(sol * SOL))
    return kp


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash, *, v0: bool = False):
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    if v0:
        return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash), [payer])
    return Transaction([payer], Message([ix], payer.pubkey()), blockhash)


def run(sn, payer: Keypair, ixs: list, signers: list[Keypair] = ()):
    """Execute instructions straight through the bank (test setup, not the RPC under test)."""
    tx = Transaction([payer, *signers], Message(ixs, payer.pubkey()), sn.bank.latest_blockhash()[0])
    result = sn.bank.process_transaction(tx)
    assert result.err is None, (result.err, result.logs)
    return result


def make_mint(sn, authority: Keypair, decimals: int = 6) -> Pubkey:
    mint = Keypair()
    rent = sn.bank.minimum_balance_for_rent_exemption(82)
    run(sn, authority, [
        create_account(CreateAccountParams(from_pubkey=authority.pubkey(), to_pubkey=mint.pubkey(), lamports=rent,
                                           space=82, owner=TOKEN)),
        initialize_mint2(InitializeMint2Params(decimals=decimals, program_id=TOKEN, mint=mint.pubkey(),
                                               mint_authority=authority.pubkey(), freeze_authority=None)),
    ], [mint])
    return mint.pubkey()


def give_tokens(sn, authority: Keypair, mint: Pubkey, owner: Pubkey, amount: int) -> Pubkey:
    ata = get_associated_token_address(owner, mint)
    run(sn, authority, [
        create_idempotent_associated_token_account(authority.pubkey(), owner, mint),
        mint_to(MintToParams(program_id=TOKEN, mint=mint, dest=ata, mint_authority=authority.pubkey(),
                             amount=amount)),
    ])
    return ata


def launch_coin(sn, dev: Keypair, dev_buy_lamports: int = 0) -> str:
    """A pump.fun coin created (and optionally bought by its dev) the way the market's agents do it."""
    from simnet.market.execution import ChainView, create_tx
    view = ChainView(sn.bank)
    mint = Keypair()
    dev_buy = (dev_buy_lamports, 1) if dev_buy_lamports else None
    tx = create_tx(dev, mint, name="Simnet Test", symbol="SIMT", uri="https://example.invalid/m.json",
                   token_program=P.TOKEN, fee_recipient=view.fee_recipients[0], dev_buy=dev_buy,
                   blockhash=sn.bank.latest_blockhash()[0], cu_price=0)
    result = sn.bank.process_transaction(tx)
    assert result.err is None, (result.err, result.logs)
    return str(mint.pubkey())


async def rpc(sn, method: str, params=None, *, raw: bytes | str | None = None, url: str | None = None):
    """POST one JSON-RPC request (or a raw body) and return (HTTP status, parsed JSON or text)."""
    body = raw if raw is not None else {"jsonrpc": "2.0", "id": 1, "method": method,
                                        **({"params": params} if params is not None else {})}
    async with aiohttp.ClientSession() as s:
        kw = {"data": body, "headers": {"Content-Type": "application/json"}} if raw is not None else {"json": body}
        async with s.post(url or sn.http_url, **kw) as r:
            text = await r.text()
            try:
                import json
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, text


async def confirmed(sn, signature, level: str = "confirmed", timeout: float = 10.0) -> None:
    """Wait until the bank reports the signature at `level` (the slot ticker must be running)."""
    import asyncio
    order = {"processed": 0, "confirmed": 1, "finalized": 2}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        st = sn.bank.signature_status(str(signature))
        if st is not None and order[st.confirmation_status] >= order[level]:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"{signature} not {level} after {timeout}s")
        await asyncio.sleep(0.01)
