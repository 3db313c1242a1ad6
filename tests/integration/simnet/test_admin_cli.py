"""Admin endpoints (ground truth, airdrop, slots, status), SimnetThread, and `launchray simnet` itself."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import urllib.request
from solders.keypair import Keypair

from pipelines.config import SimnetConfig
from simnet.server import Simnet, SimnetThread

from .chain import SOL

ROOT = Path(__file__).resolve().parents[3]


def _http_json(url: str, body: dict | None = None):
    """Plain blocking HTTP (the sync caller's view): POST JSON when body is given, else GET."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    return json.loads(text) if body is not None else text


class FakeMarket:
    def ground_truth(self):
        return {"launches": [{"mint": "M1", "slot": 3}], "rugs": [{"mint": "M1", "slot": 9}]}


async def _get(url):
    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            return r.status, await r.json()


async def _post(url, body):
    async with aiohttp.ClientSession() as s:
        async with s.post(url, json=body) as r:
            return r.status, await r.json()


async def test_ground_truth_without_and_with_market(sn):
    assert await _get(sn.admin_url + "/ground_truth") == (
        200, {"launches": [], "trades": [], "rugs": [], "migrations": []})
    async with Simnet(SimnetConfig(speed=10.0), market=FakeMarket(), tick=False) as with_market:
        status, truth = await _get(with_market.admin_url + "/ground_truth")
    assert status == 200
    assert truth == {"launches": [{"mint": "M1", "slot": 3}], "trades": [], "rugs": [{"mint": "M1", "slot": 9}],
                     "migrations": []}


async def test_airdrop_and_advance_slot(sn_manual):
    sn = sn_manual
    kp = Keypair()
    status, body = await _post(sn.admin_url + "/airdrop", {"address": str(kp.pubkey()), "lamports": 3 * SOL})
    assert status == 200 and sn.bank.get_balance(kp.pubkey()) == 3 * SOL
    assert sn.bank.get_transaction(body["signature"]) is not None          # a real faucet transfer
    assert (await _post(sn.admin_url + "/airdrop", {"address": "bad", "lamports": 1}))[0] == 400
    assert (await _post(sn.admin_url + "/airdrop", {"address": str(kp.pubkey()), "lamports": -1}))[0] == 400
    slot = sn.bank.slot
    status, body = await _post(sn.admin_url + "/advance_slot", {"slots": 4})
    assert status == 200 and body["slot"] == slot + 4
    status, st = await _get(sn.admin_url + "/status")
    assert st["slot"] == slot + 4 and st["urls"]["ws"] == sn.ws_url


async def test_market_acts_before_each_slot_closes():
    seen = []

    class Recorder:
        bank = None

        def on_slot(self, slot):
            seen.append(slot)

        def ground_truth(self):
            return {}

    async with Simnet(SimnetConfig(speed=20.0), market=Recorder()) as sn:
        import asyncio
        while len(seen) < 3:
            await asyncio.sleep(0.02)
        assert seen[:3] == list(range(seen[0], seen[0] + 3)) and sn.bank.slot > seen[0]


def test_simnet_thread_for_sync_callers():
    with SimnetThread(SimnetConfig(speed=10.0)) as sn:
        kp = Keypair()
        sn.call(sn.bank.airdrop, kp.pubkey(), SOL)
        r = _http_json(sn.http_url, {"jsonrpc": "2.0", "id": 1, "method": "getBalance",
                                     "params": [str(kp.pubkey())]})
        assert r["result"]["value"] == SOL
        assert _http_json(sn.http_url + "/health") == "ok"
        assert sn.ws_url == f"ws://127.0.0.1:{sn.http_port + 1}"


def _free_pair() -> int:
    for _ in range(50):
        a, b = socket.socket(), socket.socket()
        try:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
        finally:
            a.close()
            b.close()
    raise RuntimeError("no free port pair")


def test_cli_runs_prints_urls_and_stops_on_ctrl_c():
    port = _free_pair()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "actors.cli", "simnet", "--port", str(port), "--seed", "3",
                             "--speed", "5"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl+C" in line:
                break
        out = "".join(lines)
        assert f"http://127.0.0.1:{port}" in out and f"ws://127.0.0.1:{port + 1}" in out, out
        assert "/jupiter" in out and "/jito" in out and "/admin" in out
        r = _http_json(f"http://127.0.0.1:{port}", {"jsonrpc": "2.0", "id": 1, "method": "getHealth"})
        assert r == {"jsonrpc": "2.0", "result": "ok", "id": 1}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_attach_market_later(sn):
    seen = []

    class Recorder:
        def on_slot(self, slot):
            seen.append(slot)

        def ground_truth(self):
            return {"launches": [{"mint": "X"}]}

    sn.attach_market(Recorder())
    assert sn.clock.before_advance is not None
    status, truth = await _get(sn.admin_url + "/ground_truth")
    assert truth["launches"] == [{"mint": "X"}]
    sn.attach_market(None)
    assert sn.clock.before_advance is None
    assert (await _get(sn.admin_url + "/ground_truth"))[1]["launches"] == []


async def test_account_history_versions_during_a_slot(sn_manual):
    sn = sn_manual
    kp = Keypair()
    sn.bank.airdrop(kp.pubkey(), SOL)
    sn.bank.advance_slot()
    slot = sn.bank.slot
    sn.bank.airdrop(kp.pubkey(), SOL)
    sn.bank.airdrop(kp.pubkey(), SOL + 1)                  # a different amount: a different transaction
    states = sn.history.versions_during(kp.pubkey(), slot, sn.bank)
    assert [a.lamports for a in states] == [SOL, 2 * SOL, 3 * SOL + 1]    # entered the slot with 1 SOL
    assert sn.history.versions_during(kp.pubkey(), slot - 1, sn.bank)[0] is None   # did not exist before
