"""RpcPool actor: the one place account reads, transaction fetches and sends go through.

Sharing one client across the system is what makes the TTL cache, request coalescing and per-endpoint rate
limits work: twenty shards asking for the same mint account cost one getMultipleAccounts.
"""
from __future__ import annotations

import ray

from actors import names, priority

from actors.rpc_client import RpcClient, RpcError, RpcUnavailable
from pipelines.config import RpcConfig


@ray.remote(num_cpus=0)
class RpcPool:
    def __init__(self, urls: list[str], cfg: RpcConfig) -> None:
        self.client = RpcClient(urls, cfg)
        priority.apply("rpc_pool", 0)          # on the decision path: default priority

    async def call(self, method: str, params: list | None = None):
        return await self.client.call(method, params)

    async def get_accounts(self, addresses: list[str], commitment: str = "confirmed", fresh: bool = False):
        return await self.client.get_accounts(addresses, commitment, fresh)

    async def get_transaction(self, signature: str, encoding: str = "json"):
        return await self.client.get_transaction(signature, encoding)

    async def get_signatures_for_address(self, address: str, until: str | None = None,
                                         before: str | None = None, limit: int = 1000):
        return await self.client.get_signatures_for_address(address, until, before, limit)

    async def get_latest_blockhash(self, commitment: str = "confirmed", endpoint: str | None = None):
        return await self.client.get_latest_blockhash(commitment, endpoint)

    async def get_block_height(self, endpoint: str | None = None) -> int:
        return await self.client.get_block_height(endpoint)

    def best_endpoint(self) -> str:
        """The endpoint to pin a blockhash's questions to (its height checks must come from the same node)."""
        return self.client.best_endpoint()

    async def get_slot(self) -> int:
        return await self.client.get_slot()

    async def send_transaction(self, tx_bytes: bytes, skip_preflight: bool = True, endpoint: str | None = None) -> str:
        return await self.client.send_transaction(tx_bytes, skip_preflight, endpoint)

    async def simulate_transaction(self, tx_bytes: bytes) -> dict:
        return await self.client.simulate_transaction(tx_bytes)

    async def get_signature_statuses(self, signatures: list[str], endpoint: str | None = None):
        return await self.client.get_signature_statuses(signatures, endpoint)

    async def get_balance(self, address: str) -> int:
        return await self.client.get_balance(address)

    async def get_token_largest_accounts(self, mint: str):
        return await self.client.get_token_largest_accounts(mint)

    def invalidate(self, address: str) -> None:
        self.client.invalidate(address)

    def health(self) -> dict:
        return self.client.health()

    def metrics_snapshot(self) -> list:
        """This process's launchray_ metric samples (the ControlPlane merges them into /metrics)."""
        from actors.metrics import snapshot
        return snapshot()

    def ping(self) -> str:
        return names.incarnation()


__all__ = ["RpcPool", "RpcError", "RpcUnavailable"]
