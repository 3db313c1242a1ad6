"""`launchray simnet`: run the embedded Solana cluster standalone until Ctrl+C."""
from __future__ import annotations

import argparse

HELP = "run simnet standalone: Solana JSON-RPC + WebSocket, Jupiter and Jito APIs on 127.0.0.1"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8899, help="HTTP port; WebSocket on port+1 (default 8899)")
    p.add_argument("--seed", type=int, default=None, help="RNG seed for genesis, market and faults")
    p.add_argument("--speed", type=float, default=None, help="slots per slot_ms multiplier (default 1.0)")
    p.add_argument("--profile", default="sim", help="config profile to read [simnet] from (default sim)")


def main(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from pipelines.config import config_with, load_config

    from pipelines.config import ConfigError

    if args.speed is not None and args.speed <= 0:
        print("--speed must be positive")
        return 2
    if not 0 < args.port < 65535:
        print("--port must be in 1..65534 (the WebSocket takes port+1)")
        return 2
    changes: dict = {"port": args.port}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.speed is not None:
        changes["speed"] = args.speed
    try:
        cfg = config_with(load_config(args.profile), {"simnet": changes})
    except ConfigError as exc:
        print(f"bad configuration: {exc}")
        return 2

    from .server import Simnet

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        market = _market(cfg)
        async with Simnet(cfg, market=market) as sn:
            print(f"simnet seed={cfg.simnet.seed} speed={cfg.simnet.speed} slot_ms={cfg.simnet.slot_ms}")
            print(f"  HTTP (JSON-RPC)  {sn.http_url}")
            print(f"  WebSocket        {sn.ws_url}")
            print(f"  Jupiter API      {sn.jupiter_url}" + ("" if sn.jupiter else "  (disabled)"))
            print(f"  Jito engine      {sn.jito_url}/api/v1/bundles")
            print(f"  Admin            {sn.admin_url}/status  /faults  /ground_truth  /airdrop")
            print("Ctrl+C to stop", flush=True)
            await stop.wait()
        print("simnet stopped")

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"simnet could not start: {exc}")
        return 1
    return 0


def _market(cfg):
    """The simulated market, when the market module is present (it is optional for simnet itself)."""
    try:
        from . import market as market_mod
        market_mod.Market  # noqa: B018 - resolve the lazy attribute now
    except (ImportError, AttributeError):
        return None
    return market_mod.Market.from_config(cfg)
