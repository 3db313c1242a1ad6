"""Evaluate the account addresses an official Anchor IDL declares (fixed address or PDA seeds), straight from
the JSON in shared/idl: an independent check on pipelines/chain/pda.py and the builders' account lists."""
from __future__ import annotations

import json

from solders.pubkey import Pubkey

from tests.conftest import SHARED

IDL_DIR = SHARED / "idl"
PUMP_IDL = "pump_sdk-2.0.0_pump.json"
PUMP_AMM_IDL = "pump_swap_sdk-1.20.0_pump_amm.json"


def idl(name: str) -> dict:
    return json.loads((IDL_DIR / name).read_text())


def ix(idl_doc: dict, name: str) -> dict:
    return next(i for i in idl_doc["instructions"] if i["name"] == name)


def evaluate(idl_doc: dict, ix_doc: dict, acc_name: str, given: dict[str, Pubkey], args: dict[str, bytes]) -> Pubkey:
    """Address of `acc_name` in `ix_doc` from the IDL alone: a given value, a fixed address, or its PDA seeds."""
    if acc_name in given:
        return given[acc_name]
    spec = next(a for a in ix_doc["accounts"] if a["name"] == acc_name)
    if "address" in spec:
        return Pubkey.from_string(spec["address"])
    pda_spec = spec["pda"]
    seeds = []
    for s in pda_spec["seeds"]:
        if s["kind"] == "const":
            seeds.append(bytes(s["value"]))
        elif s["kind"] == "arg":
            seeds.append(args[s["path"]])
        else:
            path = s["path"]
            seeds.append(bytes(given[path] if path in given else evaluate(idl_doc, ix_doc, path, given, args)))
    prog = pda_spec.get("program")
    if prog is None:
        program = Pubkey.from_string(idl_doc["address"])
    elif prog["kind"] == "const":
        program = Pubkey.from_bytes(bytes(prog["value"]))
    else:
        program = evaluate(idl_doc, ix_doc, prog["path"], given, args)
    return Pubkey.find_program_address(seeds, program)[0]
