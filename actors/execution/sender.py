"""The live path: build, simulate, sign, send (RPC or Jito bundle), confirm. Used by the Executor actor.

The order is written to the ledger as `submitted` WITH its signature before the transaction leaves this
process (the signature is known as soon as it is signed), so a crash at any point leaves an order the start-up
reconciliation can settle from the chain: found -> confirmed/failed, not found past its blockhash -> expired.
"""
from __future__ import annotations

import asyncio
import base64
import random
import time

import aiohttp
from solders.hash import Hash
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from pipelines.chain import programs as P

CONFIRM_POLL_S = 0.4


class SendError(Exception):
    """The transaction could not be sent or was refused before landing (message is safe to log)."""


class LiveSender:
    def __init__(self, rpc, keypair: Keypair, *, jito_url: str = "", jupiter_url: str = "",
                 use_jito: bool = False, tip_lamports: int = 0, cu_limit: int = 200_000, cu_price: int = 0,
                 simulate: bool = True, confirm_timeout_s: float = 30.0) -> None:
        self.rpc = rpc
        self.keypair = keypair
        self.jito_url = jito_url.rstrip("/")
        self.jupiter_url = jupiter_url.rstrip("/")
        self.use_jito = use_jito and bool(self.jito_url)
        self.tip_lamports = tip_lamports
        self.cu_limit, self.cu_price = cu_limit, cu_price
        self.simulate_first = simulate
        self.confirm_timeout_s = confirm_timeout_s
        self._tip_accounts: list[str] = []
        self._session: aiohttp.ClientSession | None = None

    @property
    def address(self) -> str:
        return str(self.keypair.pubkey())

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def blockhash(self) -> tuple[Hash, int]:
        bh, last_valid = await self.rpc.get_latest_blockhash.remote()
        return Hash.from_string(bh), int(last_valid)

    async def tip(self) -> tuple[str, int] | None:
        if not self.use_jito or self.tip_lamports <= 0:
            return None
        if not self._tip_accounts:
            self._tip_accounts = await self._jito("getTipAccounts", [])
        return random.choice(self._tip_accounts), self.tip_lamports

    async def _jito(self, method: str, params: list):
        session = await self._http()
        async with session.post(f"{self.jito_url}/api/v1/bundles",
                                json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}) as resp:
            data = await resp.json(content_type=None)
        if "error" in data:
            raise SendError(f"jito {method}: {data['error'].get('message', data['error'])}")
        return data["result"]

    async def simulate(self, tx) -> None:
        if not self.simulate_first:
            return
        sim = await self.rpc.simulate_transaction.remote(bytes(tx))
        if sim.get("err") is not None:
            raise SendError(f"simulation failed: {sim['err']}")

    async def send(self, tx) -> str:
        if self.use_jito:
            await self._jito("sendBundle", [[base64.b64encode(bytes(tx)).decode()], {"encoding": "base64"}])
            return str(tx.signatures[0])
        return await self.rpc.send_transaction.remote(bytes(tx), True)

    async def confirm(self, signature: str, last_valid_block_height: int) -> tuple[str, object]:
        """('confirmed'|'failed'|'expired'|'unresolved', err) by polling getSignatureStatuses."""
        deadline = time.time() + self.confirm_timeout_s
        while time.time() < deadline:
            status = (await self.rpc.get_signature_statuses.remote([signature]))[0]
            if status is not None and status.get("confirmationStatus") in ("confirmed", "finalized"):
                return ("failed", status["err"]) if status.get("err") is not None else ("confirmed", None)
            if status is None and await self.rpc.get_block_height.remote() > last_valid_block_height:
                return "expired", None
            await asyncio.sleep(CONFIRM_POLL_S)
        return "unresolved", None

    async def jupiter_swap_tx(self, input_mint: str, output_mint: str, amount: int, slippage_bps: int) -> tuple[VersionedTransaction, int, dict]:
        """A signed swap transaction from the Jupiter API, its last valid block height, and the quote."""
        if not self.jupiter_url:
            raise SendError("no Jupiter URL configured (execution.jupiter_url)")
        session = await self._http()
        async with session.get(f"{self.jupiter_url}/quote", params={
                "inputMint": input_mint, "outputMint": output_mint, "amount": str(amount),
                "slippageBps": str(slippage_bps)}) as resp:
            if resp.status != 200:
                raise SendError(f"jupiter quote: HTTP {resp.status}")
            quote = await resp.json(content_type=None)
        async with session.post(f"{self.jupiter_url}/swap", json={
                "userPublicKey": self.address, "quoteResponse": quote, "wrapAndUnwrapSol": True,
                "dynamicComputeUnitLimit": True, "prioritizationFeeLamports": "auto"}) as resp:
            if resp.status != 200:
                raise SendError(f"jupiter swap: HTTP {resp.status}")
            swap = await resp.json(content_type=None)
        unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
        signed = VersionedTransaction(unsigned.message, [self.keypair])
        return signed, int(swap.get("lastValidBlockHeight", 0)), quote

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


WSOL = P.WSOL_MINT
