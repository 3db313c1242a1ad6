"""simnet servers for the integration tests: real sockets on free loopback ports, the real bank."""
from __future__ import annotations

import pytest
from solana.rpc.async_api import AsyncClient

from pipelines.config import SimnetConfig
from simnet.server import Simnet

# 40 ms slots: a transaction is finalized (32 slots) in ~1.3 s and a blockhash lives ~6 s.
FAST = SimnetConfig(speed=10.0)


@pytest.fixture
async def sn():
    async with Simnet(FAST) as s:
        yield s


@pytest.fixture
async def sn_manual():
    """No slot ticker: slots advance only when the test says so (POST /admin/advance_slot or the bank)."""
    async with Simnet(FAST, tick=False) as s:
        yield s


@pytest.fixture
async def client(sn):
    async with AsyncClient(sn.http_url, commitment="confirmed") as c:
        yield c
