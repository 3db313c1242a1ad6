"""POST /admin/complete_curve: the market's whale buys the rest of a live coin's curve and its migration bot
moves the coin to PumpSwap, so a held coin can be made to migrate on demand (the drill's Jupiter-sell phase)."""
from __future__ import annotations

import aiohttp

from pipelines.config import Config, MarketConfig, SimnetConfig
from simnet.market import Market
from simnet.market.execution import ChainView
from simnet.server import Simnet


async def _post(http, url, body):
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.json()


async def test_complete_curve_completes_and_migrates_a_live_coin():
    # no slot ticker: the test advances the market slot by slot, so what happens is what the action caused
    cfg = Config(simnet=SimnetConfig(seed=9, speed=10.0, launches_per_minute=150.0,
                                     market=MarketConfig(organic_wallets=16, completion_share=0.0)))
    market = Market.from_config(cfg)
    async with Simnet(cfg, market=market, tick=False) as sn:
        market.run_slots(20)
        on_curve = [m for m, c in market.coins.items() if c.phase == "curve"]
        assert on_curve, "150 launches/min for 20 slots of 40 ms launch at least one coin"
        mint = on_curve[0]
        view = ChainView(market.bank)
        before = view.curve(mint)
        assert before is not None and not before.complete and view.pool(mint) is None
        async with aiohttp.ClientSession() as http:
            status, body = await _post(http, sn.admin_url + "/complete_curve", {"mint": mint})
            assert status == 200 and body == {"mint": mint, "slot": market.bank.slot}   # the next slot the market acts in
            # the whale buys next slot; the migration bot acts 1..3 slots after the completion
            market.run_slots(6)
            assert view.curve(mint).complete
            truth = market.ground_truth()
            assert [c["mint"] for c in truth["completes"]] == [mint]
            assert [m["mint"] for m in truth["migrations"]] == [mint]
            pool = view.pool(mint)
            assert pool is not None and truth["migrations"][0]["pool"] == pool.key
            assert market.coins[mint].phase == "amm"
            # twice is refused (409), and so are a mint the market never launched and a non-key
            status, body = await _post(http, sn.admin_url + "/complete_curve", {"mint": mint})
            assert status == 409 and "already amm" in body["error"]
            status, body = await _post(http, sn.admin_url + "/complete_curve",
                                       {"mint": "So11111111111111111111111111111111111111112"})
            assert status == 409 and "not a live market coin" in body["error"]
            status, body = await _post(http, sn.admin_url + "/complete_curve", {"mint": "nope"})
            assert status == 400


async def test_complete_curve_without_a_market_is_refused(sn_manual):
    async with aiohttp.ClientSession() as http:
        status, body = await _post(http, sn_manual.admin_url + "/complete_curve",
                                   {"mint": "So11111111111111111111111111111111111111112"})
    assert status == 409 and body["error"] == "simnet runs no market"
