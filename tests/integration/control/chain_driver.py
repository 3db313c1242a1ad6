"""Real chain activity for the control-plane tests: signed pump.fun transactions sent to the embedded simnet over
its JSON-RPC, exactly as any wallet would send them (throwaway keypairs, SOL from SimnetHost.airdrop).

The tests need a known story rather than the random market: a launch the sniper buys, buyers that lift the
price, a dev who dumps (so the stop-loss sells at a loss), and a launch made while the system is paused (so it
is tracked but not bought, for manual targeting).
"""
from __future__ import annotations

import base64
import json
import time
import urllib.request

import ray
from solders.hash import Hash
from solders.keypair import Keypair

from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.pump_state import decode_bonding_curve, decode_global
from simnet.market.execution import create_tx, curve_buy_tx, curve_sell_tx

LAMPORTS = 1_000_000_000


class ChainDriver:
    def __init__(self, rpc_url: str, simnet_actor) -> None:
        self.url = rpc_url
        self.simnet = simnet_actor
        self._id = 0
        g = decode_global(base64.b64decode(self.account(P.PUMP_GLOBAL)["data"][0]))
        self.fee_recipient = g.all_fee_recipients()[0]
        self.fees = g.fees()

    def rpc(self, method: str, params: list | None = None):
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or []}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            out = json.loads(resp.read())
        if "error" in out:
            raise RuntimeError(f"{method}: {out['error']}")
        return out["result"]

    def account(self, address: str) -> dict | None:
        return self.rpc("getAccountInfo", [str(address), {"encoding": "base64"}])["value"]

    def blockhash(self) -> Hash:
        return Hash.from_string(self.rpc("getLatestBlockhash")["value"]["blockhash"])

    def wallet(self, sol: float) -> Keypair:
        kp = Keypair()
        ray.get(self.simnet.airdrop.remote(str(kp.pubkey()), int(sol * LAMPORTS)))
        return kp

    def send(self, tx) -> str:
        raw = base64.b64encode(bytes(tx)).decode()
        return self.rpc("sendTransaction", [raw, {"encoding": "base64", "skipPreflight": False}])

    def confirm(self, sig: str, timeout: float = 10.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.rpc("getSignatureStatuses", [[sig]])["value"][0]
            if st is not None and st.get("confirmationStatus") in ("confirmed", "finalized"):
                if st.get("err") is not None:
                    raise RuntimeError(f"{sig} failed: {st['err']}")
                return
            time.sleep(0.1)
        raise TimeoutError(f"{sig} not confirmed in {timeout} s")

    def curve(self, mint: str):
        acct = self.account(str(pda.bonding_curve(mint)))
        return None if acct is None else decode_bonding_curve(base64.b64decode(acct["data"][0]))

    def launch(self, dev: Keypair, symbol: str, dev_buy_sol: float) -> str:
        mint = Keypair()
        spend = int(dev_buy_sol * LAMPORTS)
        tx = create_tx(dev, mint, name=f"{symbol} coin", symbol=symbol, uri=f"https://example.com/{symbol}.json",
                       token_program=P.TOKEN, fee_recipient=self.fee_recipient, dev_buy=(spend, 0) if spend else None,
                       blockhash=self.blockhash(), cu_price=0)
        self.confirm(self.send(tx))
        return str(mint.pubkey())

    def buy(self, wallet: Keypair, mint: str, creator: str, sol: float) -> str:
        tx = curve_buy_tx(wallet, mint=mint, creator=creator, token_program=P.TOKEN, fee_recipient=self.fee_recipient,
                          blockhash=self.blockhash(), cu_price=0, spendable=int(sol * LAMPORTS), min_tokens=0)
        sig = self.send(tx)
        self.confirm(sig)
        return sig

    def token_balance(self, owner: Keypair, mint: str) -> int:
        acct = self.account(str(pda.associated_token(str(owner.pubkey()), mint, P.TOKEN)))
        if acct is None:
            return 0
        return int.from_bytes(base64.b64decode(acct["data"][0])[64:72], "little")

    def sell_all(self, wallet: Keypair, mint: str, creator: str) -> str:
        amount = self.token_balance(wallet, mint)
        tx = curve_sell_tx(wallet, mint=mint, creator=creator, token_program=P.TOKEN, fee_recipient=self.fee_recipient,
                           amount=amount, min_sol=0, blockhash=self.blockhash(), cu_price=0)
        sig = self.send(tx)
        self.confirm(sig)
        return sig


__all__ = ["ChainDriver"]
