"""The live wallet watch (actors/health_watch.py) on real parts: a simnet chain on loopback, the Ledger, RpcPool and
RiskSupervisor actors in the session's Ray, the watch on this test's event loop as the Supervisor hosts it.

The wallet (its public key only is given to the watch) holds 5 SOL: the risk book's capital becomes
min(10 SOL configured, 5 - 0.05 reserve) = 4.95 SOL. Then 1 SOL leaves it in a plain transfer the ledger knows
nothing about: the balance falls under the low-balance threshold (an urgent low_balance alert, a warning), and once
the shortfall (1 SOL + the transfer's 5,000-lamport fee) has stood for outflow_confirm_s with no order open, the
level is CRITICAL (unexplained_outflow) and the capital follows the balance down.
"""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from actors import names
from actors.health_watch import HealthWatch
from pipelines.alerting import AlertKind
from pipelines.config import load_config
from pipelines.health_levels import Level
from simnet.server import Simnet
from tests.integration.simnet.conftest import FAST

pytestmark = pytest.mark.ray
SOL = 1_000_000_000
FEE = 5_000            # simnet's signature fee, paid by the wallet for its transfer


async def _send_transfer(sn: Simnet, wallet: Keypair, lamports: int) -> None:
    import aiohttp
    async with aiohttp.ClientSession() as http:
        async def rpc(method, params):
            async with http.post(sn.http_url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                    "params": params}) as resp:
                body = await resp.json()
                assert "error" not in body, body
                return body["result"]
        blockhash = Hash.from_string((await rpc("getLatestBlockhash", []))["value"]["blockhash"])
        ix = transfer(TransferParams(from_pubkey=wallet.pubkey(), to_pubkey=Keypair().pubkey(), lamports=lamports))
        tx = Transaction([wallet], Message([ix], wallet.pubkey()), blockhash)
        import base64
        sig = await rpc("sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])
        for _ in range(100):
            st = (await rpc("getSignatureStatuses", [[sig]]))["value"][0]
            if st is not None and st.get("confirmationStatus") in ("confirmed", "finalized"):
                assert st.get("err") is None
                return
            await asyncio.sleep(0.05)
        raise AssertionError("transfer not confirmed")


async def test_the_wallet_caps_capital_and_an_outflow_nobody_booked_is_critical(ray_session, tmp_path):
    ray = ray_session
    from actors.ledger import LedgerActor
    from actors.risk import RiskSupervisor
    from actors.rpc_pool import RpcPool

    ns = f"lr-wallet-{uuid.uuid4().hex[:8]}"
    async with Simnet(FAST) as sn:
        wallet = Keypair()
        sn.bank.airdrop(wallet.pubkey(), 5 * SOL)
        cfg = load_config("sim", env={}, overrides={
            "ray": {"namespace": ns}, "ledger": {"path": str(tmp_path / "ledger.sqlite")},
            "logging": {"dir": str(tmp_path / "logs")}, "execution": {"mode": "live"},
            "risk": {"starting_capital_sol": 10.0, "balance_reserve_sol": 0.05, "outflow_tolerance_sol": 0.01,
                     "outflow_confirm_s": 0.5, "balance_check_s": 0.2},
            "alerts": {"low_balance_sol": 4.5}, "errors": {"degrade_after_s": 0.0}})
        opts = {"namespace": ns, "num_cpus": 0}
        handles = {names.LEDGER: LedgerActor.options(name=names.LEDGER, **opts).remote(cfg.ledger.path)}
        handles[names.RPC_POOL] = RpcPool.options(name=names.RPC_POOL, **opts).remote([sn.http_url], cfg.rpc)
        handles[names.RISK] = RiskSupervisor.options(name=names.RISK, **opts).remote(cfg)
        try:
            watch = HealthWatch(cfg, handles, wallet=str(wallet.pubkey()), ping_failed=set)
            # at start, before any entry: min(10 SOL configured, 5 SOL - 0.05 reserve)
            assert await watch.initial_balance() == 5 * SOL - SOL // 20
            a, alerts = await watch.check(time.time())
            assert watch.view()["wallet"]["balance_lamports"] == 5 * SOL
            assert (await handles[names.RISK].status.remote())["capital"] == 5 * SOL - SOL // 20
            assert a.level is Level.OK and alerts == []

            await _send_transfer(sn, wallet, SOL)
            seen, levels = [], []
            deadline = time.time() + 15
            while time.time() < deadline and (not levels or levels[-1] is not Level.CRITICAL):
                await asyncio.sleep(0.25)
                a, alerts = await watch.check(time.time())
                levels.append(a.level)
                seen += alerts
            assert levels[-1] is Level.CRITICAL, levels
            outflow = next(r for r in a.reasons if r.cause.value == "unexplained_outflow")
            assert outflow.detail == ("wallet is 1.000005 SOL below what the ledger explains "
                                      "(tolerance 0.010000 SOL)")
            kinds = [x.kind for x in seen]
            # the low balance is alerted first (a warning: the level stays OK), the confirmed outflow then
            assert kinds == [AlertKind.LOW_BALANCE, AlertKind.CRITICAL] and Level.DEGRADED not in levels
            low = next(x for x in seen if x.kind is AlertKind.LOW_BALANCE)
            assert dict(low.fields) == {"balance": "4.0000 SOL", "threshold": "4.5000 SOL"}   # 3.999995, to 4 places
            balance = 4 * SOL - FEE
            assert watch.view()["wallet"]["balance_lamports"] == balance
            risk = await handles[names.RISK].status.remote()
            assert risk["capital"] == balance - SOL // 20 and "critical" in risk["breakers"]
            watch.close()
        finally:
            for h in handles.values():
                ray.kill(h, no_restart=True)
