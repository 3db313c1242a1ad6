"""The market inside a running simnet: driven by the slot ticker, its ground truth served by
GET /admin/ground_truth and its transactions visible over JSON-RPC (loopback only)."""
from __future__ import annotations

import asyncio

import aiohttp

from pipelines.config import Config, MarketConfig, SimnetConfig
from simnet.market import Market
from simnet.server import Simnet

TRUTH_KEYS = {"launches", "trades", "rugs", "migrations", "completes", "dead"}


async def test_ticker_drives_the_market_and_admin_serves_its_truth():
    # 40 ms slots and one launch per slot on average: launches show up within a few ticks, and the market's
    # work per slot stays well inside the slot (the ticker does not yield while it is behind)
    cfg = Config(simnet=SimnetConfig(seed=9, speed=10.0, launches_per_minute=150.0,
                                     market=MarketConfig(organic_wallets=16)))
    market = Market.from_config(cfg)
    async with Simnet(cfg, market=market) as sn:
        assert sn.bank is market.bank
        async with aiohttp.ClientSession() as http:
            truth: dict = {}
            for _ in range(200):                      # liveness wait, not a timing assertion
                async with http.get(sn.admin_url + "/ground_truth") as resp:
                    assert resp.status == 200
                    truth = await resp.json()
                if len(truth["launches"]) >= 3 and truth["trades"]:
                    break
                await asyncio.sleep(0.05)
            assert TRUTH_KEYS <= set(truth)
            assert len(truth["launches"]) >= 3
            launch = truth["launches"][0]
            assert {"mint", "slot", "signature", "creator", "symbol", "venue"} <= set(launch)
            body = {"jsonrpc": "2.0", "id": 1, "method": "getTransaction",
                    "params": [launch["signature"], {"encoding": "json", "maxSupportedTransactionVersion": 0,
                                                     "commitment": "confirmed"}]}
            tx = None
            for _ in range(200):                      # until the launch's slot is confirmed
                async with http.post(sn.http_url, json=body) as resp:
                    tx = (await resp.json())["result"]
                if tx is not None:
                    break
                await asyncio.sleep(0.05)
            assert tx is not None and tx["slot"] == launch["slot"] and tx["meta"]["err"] is None
    assert market.slots > 0 and market.stats()["launches"] == len(market.ground_truth()["launches"])
