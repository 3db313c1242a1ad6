"""`launchray record`'s own JSON-RPC reads see what the stream sees: a gap's backfill lists transactions at
"confirmed", not at the provider's default (finalized, ~32 slots behind the tip)."""
from __future__ import annotations

import aiohttp
from solders.keypair import Keypair

from actors.commands.record import _Rpc
from pipelines.chain import programs as P

from .chain import funded, transfer_tx


async def test_backfill_lists_a_transaction_before_it_is_finalized(sn_manual):
    sn = sn_manual
    payer = funded(sn)
    tx = transfer_tx(payer, Keypair().pubkey(), 1_000, sn.bank.latest_blockhash()[0])
    result = sn.bank.process_transaction(tx)
    assert result.err is None
    sn.bank.advance_slot()        # confirmed one slot on; finalized only 32 slots on (no ticker: it never gets there)
    async with aiohttp.ClientSession() as session:
        rpc = _Rpc(session, [sn.http_url], 5.0)
        listed = await rpc.signatures(P.SYSTEM, None, None, 10)
    assert str(tx.signatures[0]) in [e["signature"] for e in listed]
