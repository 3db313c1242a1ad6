"""Reads the on-chain state an order is quoted against, through the RpcPool actor.

Paper fills and live slippage bounds both need the freshest state: the bonding curve (and its mint, for the
token program) before migration, the PumpSwap pool and its vault balances after. Global and the fee config
change rarely and are cached. The views (pipelines/market_views.py) are the ones a replay builds from recorded
events, so the executor plans and fills the same way on either.
"""
from __future__ import annotations

import time

from actors import names
from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import FeeConfig, decode_fee_config, decode_pumpswap_pool
from pipelines.chain.curve import CurveFees
from pipelines.chain.errors import DecodeError
from pipelines.chain.fees import pump_curve_fees
from pipelines.chain.mint import decode_token_account
from pipelines.chain.pump_state import Global, decode_bonding_curve, decode_global
from pipelines.market_views import CurveView, PoolView, launch_curve_view

STATIC_TTL_S = 60.0


def reader_for(cfg, peers):
    """This system's reader of chain state: account reads through the RpcPool, or in replay mode
    (chain.source = "replay") the replayed market of the replay driver, behind the same interface."""
    if cfg.chain.source == "replay":
        from actors.replay import ReplayReader
        return ReplayReader(peers(names.REPLAY))
    return ChainReader(peers(names.RPC_POOL))


class ChainReader:
    def __init__(self, rpc) -> None:
        self.rpc = rpc                       # RpcPool actor handle
        self._global: tuple[float, Global] | None = None
        self._fee_config: tuple[float, FeeConfig | None] | None = None
        self._pump_fee_config: tuple[float, FeeConfig | None] | None = None

    async def _accounts(self, keys: list[str], fresh: bool) -> dict:
        return await self.rpc.get_accounts.remote(keys, "confirmed", fresh)

    async def global_state(self) -> Global:
        if self._global is None or time.time() - self._global[0] > STATIC_TTL_S:
            acct = (await self._accounts([P.PUMP_GLOBAL], False))[P.PUMP_GLOBAL]
            if acct is None:
                raise LookupError("pump Global account not found")
            self._global = (time.time(), decode_global(acct["data"]))
        return self._global[1]

    async def pool_fee_config(self) -> FeeConfig | None:
        if self._fee_config is None or time.time() - self._fee_config[0] > STATIC_TTL_S:
            key = str(pda.fee_config(P.PUMP_AMM))
            acct = (await self._accounts([key], False))[key]
            cfg = None
            if acct is not None:
                try:
                    cfg = decode_fee_config(acct["data"])
                except DecodeError:
                    cfg = None
            self._fee_config = (time.time(), cfg)
        return self._fee_config[1]

    async def pump_fee_config(self) -> FeeConfig | None:
        if self._pump_fee_config is None or time.time() - self._pump_fee_config[0] > STATIC_TTL_S:
            key = str(pda.fee_config(P.PUMP))
            acct = (await self._accounts([key], False))[key]
            cfg = None
            if acct is not None and acct["owner"] == P.PUMP_FEES:
                try:
                    cfg = decode_fee_config(acct["data"])
                except DecodeError:
                    cfg = None
            self._pump_fee_config = (time.time(), cfg)
        return self._pump_fee_config[1]

    async def refresh_static(self) -> None:
        """Re-read Global and both fee configs now (the executor calls this well inside STATIC_TTL_S, so an
        order never waits for an expired cache)."""
        self._global = self._fee_config = self._pump_fee_config = None
        await self.global_state()
        await self.pump_fee_config()
        await self.pool_fee_config()

    async def launch_curve(self, launch, creator_trade=None) -> CurveView | None:
        """A just-launched curve from its create transaction's events and the cached Global and fee config: no
        account read."""
        return launch_curve_view(launch, await self.global_state(), await self.pump_fee_config(), creator_trade)

    async def curve_fees(self, state=None) -> CurveFees:
        return pump_curve_fees(await self.global_state(), await self.pump_fee_config(), state)

    async def curve(self, mint: str, fresh: bool = True) -> CurveView | None:
        """The curve of `mint` as of now, or None if there is no such curve."""
        g = await self.global_state()
        curve_key = str(pda.bonding_curve(mint))
        accts = await self._accounts([curve_key, mint], fresh)
        acct, mint_acct = accts[curve_key], accts[mint]
        if acct is None:
            return None
        curve = decode_bonding_curve(acct["data"])
        program = mint_acct["owner"] if mint_acct is not None else P.TOKEN
        fees = pump_curve_fees(g, await self.pump_fee_config(), curve.state())
        return CurveView(curve, fees, acct.get("slot", 0), g.fee_recipient,
                         program if program in (P.TOKEN, P.TOKEN_2022) else P.TOKEN)

    async def pool(self, mint: str, fresh: bool = True) -> PoolView | None:
        """The canonical PumpSwap pool of a migrated `mint` with its vault balances, or None."""
        pool_key = str(pda.canonical_pumpswap_pool(mint))
        acct = (await self._accounts([pool_key], fresh))[pool_key]
        if acct is None:
            return None
        pool = decode_pumpswap_pool(acct["data"])
        vaults = await self._accounts([pool.pool_base_token_account, pool.pool_quote_token_account, mint], fresh)
        base_acct, quote_acct = vaults[pool.pool_base_token_account], vaults[pool.pool_quote_token_account]
        if base_acct is None or quote_acct is None:
            return None
        base = decode_token_account(base_acct["data"], base_acct["owner"]).amount
        quote = decode_token_account(quote_acct["data"], quote_acct["owner"]).amount
        cfg = await self.pool_fee_config()
        mcap = quote * 10**15 // base if base else 0   # pump coins: 10^15 base units of supply
        if cfg is None:
            raise LookupError("PumpSwap fee config account not found: fees come from chain state only")
        fees = cfg.fees_for(mcap, quote_mint=pool.quote_mint)
        mint_acct = vaults[mint]
        program = mint_acct["owner"] if mint_acct is not None else P.TOKEN
        return PoolView(pool_key, pool, base, quote, fees, acct.get("slot", 0), program)
