"""SimnetHost actor: runs the embedded chain (simnet server + market) inside Ray when no RPC is configured.

The market is attached only when `start_market()` is called, after the trading system has subscribed, so
every launch the market makes happens while launchray is watching (the summary compares the two counts).
"""
from __future__ import annotations

import ray

from actors import names

from pipelines.config import Config


@ray.remote(num_cpus=0)
class SimnetHost:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.sn = None
        self.market = None
        # the embedded chain stands in for the network: on a shared machine the trading path goes first
        from actors import priority
        priority.apply("simnet", cfg.ray.background_nice)

    async def start(self) -> dict:
        from simnet.bank import Bank
        from simnet.server import Simnet
        bank = Bank(seed=self.cfg.simnet.seed)
        self.sn = Simnet(self.cfg, bank=bank)
        await self.sn.start()
        return self.urls()

    def urls(self) -> dict:
        sn = self.sn
        return {"http": [sn.http_url], "ws": [sn.ws_url], "jupiter": sn.jupiter_url, "jito": sn.jito_url,
                "admin": sn.admin_url}

    def start_market(self) -> bool:
        try:
            from simnet.market import Market
        except ImportError:
            return False
        if self.market is None:
            self.market = Market(self.sn.bank, self.cfg.simnet, self.cfg.simnet.seed)
            self.sn.attach_market(self.market)
        return True

    def stop_market(self) -> None:
        if self.sn is not None and self.market is not None:
            self.sn.attach_market(None)

    def ground_truth(self) -> dict:
        if self.market is None:
            return {"launches": [], "trades": [], "rugs": [], "migrations": []}
        return self.market.ground_truth()

    def airdrop(self, address: str, lamports: int) -> str:
        return self.sn.bank.airdrop(address, lamports)

    def balance(self, address: str) -> int:
        acct = self.sn.bank.get_account(address)
        return 0 if acct is None else acct.lamports

    def curve_states_during(self, address: str, slot: int) -> list[bytes | None]:
        """Raw data of every state the account had during `slot` (tests check paper fills against them)."""
        return [None if a is None else bytes(a.data)
                for a in self.sn.history.versions_during(address, slot, self.sn.bank)]

    def set_faults(self, changes: dict) -> dict:
        return self.sn.faults.configure(changes).model_dump()

    def token_balance(self, owner: str, mint: str) -> int:
        from pipelines.chain.mint import decode_token_account
        return sum(decode_token_account(bytes(a.data), str(a.owner)).amount
                   for _, a in self.sn.bank.token_accounts_by_owner(owner, mint=mint))

    def slot(self) -> int:
        return self.sn.bank.slot

    async def stop(self) -> None:
        if self.sn is not None:
            await self.sn.stop()

    def ping(self) -> str:
        return names.incarnation()
