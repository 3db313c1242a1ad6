"""The live path's transport: blockhash, simulate, send (RPC or Jito bundle), statuses and heights, all asked of
one endpoint per transaction, and the Jupiter API. Sends only what it is given; decides nothing (live.py does).

`rpc` is anything whose methods are awaited like the RpcClient's (the RpcPool through execution.client.Remote,
or an RpcClient in tests).
"""
from __future__ import annotations

import base64
import inspect
import random

import aiohttp
from solders.hash import Hash
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction


class SendError(Exception):
    """The transaction could not be built, checked or sent, or was refused before landing (safe to log)."""


async def _value(x):
    return await x if inspect.isawaitable(x) else x


class LiveSender:
    def __init__(self, rpc, keypair: Keypair, *, jito_url: str = "", jupiter_url: str = "",
                 use_jito: bool = False, tip_lamports: int = 0, cu_limit: int = 200_000, cu_price: int = 0,
                 simulate: bool = True) -> None:
        self.rpc = rpc
        self.keypair = keypair
        self.jito_url = jito_url.rstrip("/")
        self.jupiter_url = jupiter_url.rstrip("/")
        self.use_jito = use_jito and bool(self.jito_url)
        self.tip_lamports = tip_lamports
        self.cu_limit, self.cu_price = cu_limit, cu_price
        self.simulate_first = simulate
        self._tip_accounts: list[str] = []
        self._session: aiohttp.ClientSession | None = None

    @property
    def address(self) -> str:
        return str(self.keypair.pubkey())

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def blockhash(self) -> tuple[Hash, int, str]:
        """(blockhash, its last valid block height, the endpoint that gave them): that endpoint answers every
        later question about this transaction's expiry."""
        endpoint = await _value(self.rpc.best_endpoint())
        bh, last_valid = await self.rpc.get_latest_blockhash("confirmed", endpoint)
        return Hash.from_string(bh), int(last_valid), endpoint

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
        if not isinstance(data, dict) or "error" in data:
            raise SendError(f"jito {method}: {(data or {}).get('error') if isinstance(data, dict) else 'bad reply'}")
        return data["result"]

    async def simulate(self, tx) -> None:
        """Sends the signed transaction to the node: only after its intent is durable."""
        if not self.simulate_first:
            return
        sim = await self.rpc.simulate_transaction(bytes(tx))
        if not isinstance(sim, dict):
            raise SendError("simulation answered no result")
        if sim.get("err") is not None:
            raise SendError(f"simulation failed: {sim['err']}")

    async def send(self, tx, endpoint: str | None = None) -> None:
        if self.use_jito:
            await self._jito("sendBundle", [[base64.b64encode(bytes(tx)).decode()], {"encoding": "base64"}])
            return
        await self.rpc.send_transaction(bytes(tx), True, endpoint)

    async def status(self, signature: str, endpoint: str | None) -> dict | None:
        statuses = await self.rpc.get_signature_statuses([signature], endpoint)
        st = statuses[0] if isinstance(statuses, list) and statuses else None
        return st if isinstance(st, dict) else None

    async def block_height(self, endpoint: str | None) -> int:
        return int(await self.rpc.get_block_height(endpoint))

    async def transaction(self, signature: str) -> dict | None:
        tx = await self.rpc.get_transaction(signature, "json")
        return tx if isinstance(tx, dict) else None

    async def jupiter_swap(self, input_mint: str, output_mint: str, amount: int, slippage_bps: int,
                           priority_lamports: int) -> tuple[VersionedTransaction, int]:
        """The UNSIGNED swap transaction from the Jupiter API and its last valid block height."""
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
                "dynamicComputeUnitLimit": True, "prioritizationFeeLamports": int(priority_lamports)}) as resp:
            if resp.status != 200:
                raise SendError(f"jupiter swap: HTTP {resp.status}")
            swap = await resp.json(content_type=None)
        try:
            unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
            last_valid = int(swap.get("lastValidBlockHeight") or 0)
        except (KeyError, TypeError, ValueError) as exc:
            raise SendError(f"jupiter swap: malformed answer ({type(exc).__name__})") from None
        return unsigned, last_valid

    def sign(self, message) -> VersionedTransaction:
        return VersionedTransaction(message, [self.keypair])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
