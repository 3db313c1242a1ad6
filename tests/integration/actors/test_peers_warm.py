"""Peers.warm: looks up and pings the named peers that exist, retries those that do not yet, gives up in time."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import ray

from actors.names import Peers

pytestmark = pytest.mark.ray


@ray.remote(num_cpus=0)
class Pingable:
    def ping(self) -> str:
        return "ok"


def test_warm_reaches_the_peers_that_exist_and_gives_up_on_the_rest(ray_session):
    ns = f"lr-peers-{uuid.uuid4().hex[:6]}"
    there = Pingable.options(name="there", namespace=ns).remote()
    try:
        peers = Peers(ns)

        async def late_start():      # a peer created while warm() is already waiting for it
            await asyncio.sleep(0.7)
            return Pingable.options(name="late", namespace=ns).remote()

        async def main():
            late = asyncio.ensure_future(late_start())
            reached = await peers.warm("there", "late", "never", within_s=3.0)
            return reached, await late
        reached, late = asyncio.run(main())
        assert reached == {"there", "late"}
        assert "never" not in peers._handles and ray.get(peers("late").ping.remote()) == "ok"
        ray.kill(late)
    finally:
        ray.kill(there)
