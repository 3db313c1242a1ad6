"""Fixtures for simnet bank tests: a fresh bank on a fixed clock, funded wallets, and a signer of transactions."""
from __future__ import annotations

import json
import struct

import pytest
from solders.keypair import Keypair

from pipelines.chain import builders as B
from simnet.bank import Bank
from tests.conftest import SHARED

NOW = 1_750_000_000
SOL = 1_000_000_000
IDL_DIR = SHARED / "idl"


@pytest.fixture
def bank() -> Bank:
    return Bank(seed=11, clock=lambda: float(NOW))


@pytest.fixture
def wallet(bank):
    """wallet(sol) / wallet(lamports=n) -> a new keypair holding that much (airdropped by a real faucet transfer)."""
    def make(sol: float = 10, *, lamports: int | None = None) -> Keypair:
        kp = Keypair()
        bank.airdrop(kp.pubkey(), lamports if lamports is not None else round(sol * SOL))
        return kp
    return make


@pytest.fixture
def send(bank):
    """send(payer, instructions, *signers, v0=False, simulate=False) -> TxResult, with the latest blockhash."""
    def run(payer: Keypair, ixs, *signers: Keypair, v0: bool = False):
        tx = B.build_transaction(payer, list(ixs), bank.latest_blockhash()[0], signers, v0)
        return bank.process_transaction(tx)
    return run


# --- an independent reader of Anchor event payloads, driven by the official IDL JSON ----------------------------

def load_idl(name: str) -> dict:
    path = IDL_DIR / name
    if not path.exists():
        pytest.skip("shared/idl is not beside the checkout")
    return json.loads(path.read_text())


def decode_idl_event(idl: dict, payload: bytes) -> tuple[str, dict]:
    """(event name, fields) for an event payload (8-byte discriminator + borsh), reading the layout from the IDL."""
    events = {bytes(e["discriminator"]): e["name"] for e in idl["events"]}
    types = {t["name"]: t["type"] for t in idl["types"]}
    name = events[payload[:8]]
    pos = 8

    def read(ty):
        nonlocal pos
        if isinstance(ty, dict):
            if "vec" in ty:
                n = struct.unpack_from("<I", payload, pos)[0]
                pos += 4
                return [read(ty["vec"]) for _ in range(n)]
            if "defined" in ty:
                return read_struct(types[ty["defined"]["name"]])
            if "array" in ty:
                inner, n = ty["array"]
                return [read(inner) for _ in range(n)]
            raise AssertionError(f"unsupported IDL type {ty}")
        fmt = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q", "i64": "<q", "bool": "<?"}.get(ty)
        if fmt:
            v = struct.unpack_from(fmt, payload, pos)[0]
            pos += struct.calcsize(fmt)
            return v
        if ty in ("u128", "i128"):
            v = int.from_bytes(payload[pos:pos + 16], "little", signed=ty == "i128")
            pos += 16
            return v
        if ty == "pubkey":
            from solders.pubkey import Pubkey
            v = str(Pubkey.from_bytes(payload[pos:pos + 32]))
            pos += 32
            return v
        if ty == "string":
            n = struct.unpack_from("<I", payload, pos)[0]
            v = payload[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
            return v
        raise AssertionError(f"unsupported IDL type {ty}")

    def read_struct(t):
        return {f["name"]: read(f["type"]) for f in t["fields"]}

    fields = read_struct(types[name])
    assert pos == len(payload), f"{name}: {len(payload) - pos} bytes left after the IDL's last field"
    return name, fields


@pytest.fixture
def launch(bank, wallet):
    """launch(v2=False) -> (mint keypair, creator keypair, TxResult): a pump.fun coin created by a new creator."""
    from pipelines.chain.intents import PumpCreate, PumpCreateV2

    def make(v2: bool = False, name: str = "Simnet Coin", symbol: str = "SIM", uri: str = "https://sim.net/c.json"):
        creator, mint = wallet(5), Keypair()
        cls = PumpCreateV2 if v2 else PumpCreate
        intent = cls(str(mint.pubkey()), str(creator.pubkey()), name, symbol, uri, str(creator.pubkey()))
        res = bank.process_transaction(B.build_create_tx(intent, creator, mint, bank.latest_blockhash()[0]))
        assert res.err is None, res.logs
        return mint, creator, res
    return make
