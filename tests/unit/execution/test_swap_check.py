"""Jupiter transactions checked before signing: real swaps built by simnet's Jupiter API pass; tampered copies of
them (and simnet's own tamper fault) are refused with the reason."""
from __future__ import annotations

import base64
import struct

import aiohttp
import pytest
from solders.hash import Hash
from solders.instruction import CompiledInstruction
from solders.keypair import Keypair
from solders.message import MessageAddressTableLookup, MessageHeader, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.swap_check import SwapExpectation, alt_addresses, check_swap, url_problem
from pipelines.config import SimnetConfig
from simnet.server import Simnet
from tests.integration.simnet.chain import funded, launch_coin

SOL = 1_000_000_000
CAP = 5_000_000


async def jupiter_swap(sn, user: Keypair, input_mint: str, output_mint: str, amount: int) -> tuple[MessageV0, int]:
    async with aiohttp.ClientSession() as s:
        async with s.get(sn.jupiter_url + "/quote", params={"inputMint": input_mint, "outputMint": output_mint,
                                                            "amount": str(amount), "slippageBps": "500"}) as r:
            quote = await r.json()
        async with s.post(sn.jupiter_url + "/swap", json={
                "userPublicKey": str(user.pubkey()), "quoteResponse": quote, "wrapAndUnwrapSol": True,
                "dynamicComputeUnitLimit": True, "prioritizationFeeLamports": 20_000}) as r:
            swap = await r.json()
    tx = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
    return tx.message, int(swap["lastValidBlockHeight"])


@pytest.fixture
async def swaps():
    """A real buy (SOL in, wrapped) and a real sell (tokens in) from simnet's Jupiter, and their expectations."""
    async with Simnet(SimnetConfig(speed=10.0)) as sn:
        user = funded(sn, 5)
        mint = launch_coin(sn, funded(sn, 5))
        wallet = str(user.pubkey())
        buy, lvh = await jupiter_swap(sn, user, P.WSOL_MINT, mint, SOL // 4)
        signed = VersionedTransaction(buy, [user])
        assert sn.bank.process_transaction(signed).err is None         # a real swap that lands
        sell, lvh2 = await jupiter_swap(sn, user, mint, P.WSOL_MINT, 1_000_000)
        yield {
            "sn": sn, "user": user, "mint": mint,
            "buy": (buy, SwapExpectation(wallet, P.WSOL_MINT, SOL // 4, lvh, CAP)),
            "sell": (sell, SwapExpectation(wallet, mint, 1_000_000, lvh2, CAP)),
        }


def rebuilt(msg: MessageV0, *, keys=None, instructions=None, header=None, lookups=None) -> MessageV0:
    return MessageV0(header or msg.header, keys if keys is not None else list(msg.account_keys),
                     msg.recent_blockhash, instructions if instructions is not None else list(msg.instructions),
                     lookups if lookups is not None else list(msg.address_table_lookups))


def with_program_call(msg: MessageV0, program: Pubkey, data: bytes, accounts: list[Pubkey]) -> MessageV0:
    """`msg` plus one instruction: new keys appended as read-only unsigned (the header's last section)."""
    keys = list(msg.account_keys)
    for k in (*accounts, program):
        if k not in keys:
            keys.append(k)
    added = len(keys) - len(msg.account_keys)
    h = msg.header
    header = MessageHeader(h.num_required_signatures, h.num_readonly_signed_accounts,
                           h.num_readonly_unsigned_accounts + added)
    ix = CompiledInstruction(keys.index(program), data, bytes(keys.index(a) for a in accounts))
    return rebuilt(msg, keys=keys, header=header, instructions=[*msg.instructions, ix])


async def test_real_jupiter_swaps_pass(swaps):
    for side in ("buy", "sell"):
        msg, expect = swaps[side]
        assert check_swap(msg, expect) == [], side


async def test_an_extra_transfer_to_a_stranger_is_refused(swaps):
    msg, expect = swaps["sell"]
    stranger = Keypair().pubkey()
    transfer = struct.pack("<IQ", 2, 10_000_000)
    tampered = with_program_call(msg, Pubkey.from_string(P.SYSTEM), transfer, [swaps["user"].pubkey(), stranger])
    assert any(f"to {stranger}" in p for p in check_swap(tampered, expect))
    # a SOL input may be wrapped into the wallet's own wSOL account, never more than the input
    bmsg, bexpect = swaps["buy"]
    wsol = pda.associated_token(swaps["user"].pubkey(), P.WSOL_MINT, P.TOKEN)
    wrap = with_program_call(bmsg, Pubkey.from_string(P.SYSTEM), struct.pack("<IQ", 2, SOL // 4),
                             [swaps["user"].pubkey(), wsol])
    assert check_swap(wrap, bexpect) == []
    assert any("more than the input" in p for p in check_swap(wrap, SwapExpectation(
        bexpect.wallet, P.WSOL_MINT, SOL // 8, bexpect.last_valid_block_height, CAP)))


async def test_simnet_s_tampered_swap_is_refused(swaps):
    sn = swaps["sn"]
    sn.faults.configure({"jupiter_tamper": 1.0})
    msg, lvh = await jupiter_swap(sn, swaps["user"], swaps["mint"], P.WSOL_MINT, 1_000_000)
    problems = check_swap(msg, SwapExpectation(str(swaps["user"].pubkey()), swaps["mint"], 1_000_000, lvh, CAP))
    assert any(sn.faults.stranger in p for p in problems), problems


async def test_a_swapped_fee_payer_an_unknown_program_and_a_huge_cu_price_are_refused(swaps):
    msg, expect = swaps["sell"]
    keys = list(msg.account_keys)
    other = Keypair().pubkey()
    payer_swapped = rebuilt(msg, keys=[other, *keys[1:]])
    assert any("fee payer" in p for p in check_swap(payer_swapped, expect))

    unknown = Keypair().pubkey()
    assert any(f"not allowed: {unknown}" in p for p in check_swap(with_program_call(msg, unknown, b"\x01", []), expect))

    budget = keys.index(Pubkey.from_string(P.COMPUTE_BUDGET))
    ixs = [CompiledInstruction(ix.program_id_index, bytes([3]) + struct.pack("<Q", 10**12), bytes(ix.accounts))
           if ix.program_id_index == budget and bytes(ix.data)[:1] == b"\x03" else ix for ix in msg.instructions]
    problems = check_swap(rebuilt(msg, instructions=ixs), expect)
    assert any("compute-unit price 1000000000000" in p for p in problems), problems

    approve = with_program_call(msg, Pubkey.from_string(P.TOKEN), bytes([4]) + struct.pack("<Q", 1),
                                [keys[1], other, swaps["user"].pubkey()])
    assert any("approve" in p for p in check_swap(approve, expect))


async def test_lookup_tables_must_be_resolved_and_last_valid_height_is_required(swaps):
    msg, expect = swaps["sell"]
    table = Keypair().pubkey()
    with_alt = rebuilt(msg, lookups=[MessageAddressTableLookup(table, bytes([0]), bytes())])
    assert any("lookup tables" in p for p in check_swap(with_alt, expect))
    stranger = str(Keypair().pubkey())
    assert check_swap(with_alt, expect, {str(table): [stranger]}) == []     # resolved: checked like the rest
    no_height = SwapExpectation(expect.wallet, expect.input_mint, expect.input_amount, 0, CAP)
    assert any("lastValidBlockHeight" in p for p in check_swap(msg, no_height))
    data = bytes(56) + bytes(Pubkey.from_string(stranger))
    assert alt_addresses(data) == [stranger]


def test_jupiter_url_must_be_https_unless_loopback():
    assert url_problem("https://quote-api.jup.ag/v6") is None
    assert url_problem("http://127.0.0.1:8899/jupiter") is None and url_problem("http://localhost:1/x") is None
    assert url_problem("http://quote-api.jup.ag/v6") is not None
    assert url_problem("ftp://x") is not None and url_problem("") is not None


def test_blockhash_only_message_is_refused_for_its_fee_payer():
    payer = Keypair().pubkey()
    msg = MessageV0.try_compile(payer, [], [], Hash.default())
    assert check_swap(msg, SwapExpectation(str(Keypair().pubkey()), P.WSOL_MINT, 1, 10, CAP)) != []
