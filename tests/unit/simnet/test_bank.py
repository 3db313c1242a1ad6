"""Bank transaction semantics: the validator's checks, fees, rollback, blocks, statuses and indexes."""
from __future__ import annotations

import pytest
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from pipelines.chain import builders as B
from simnet.accounts import rent_exempt_minimum

from .conftest import NOW, SOL

FEE = 5000


def pay(src: Keypair, dst: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=src.pubkey(), to_pubkey=dst, lamports=lamports))


def test_transfer_moves_lamports_and_charges_the_signature_fee(bank, wallet, send):
    alice, bob = wallet(2), Keypair()
    res = send(alice, [pay(alice, bob.pubkey(), SOL)])
    assert res.err is None and res.landed
    assert res.fee == FEE
    assert bank.get_balance(alice.pubkey()) == 2 * SOL - SOL - FEE
    assert bank.get_balance(bob.pubkey()) == SOL
    assert res.pre_balances[:2] == (2 * SOL, 0)
    assert res.post_balances[:2] == (SOL - FEE, SOL)
    assert res.logs == ("Program 11111111111111111111111111111111 invoke [1]",
                        "Program 11111111111111111111111111111111 success")
    stored = bank.get_transaction(res.signature)
    assert stored.slot == bank.slot and stored.block_time == NOW
    assert stored.account_keys[:2] == (str(alice.pubkey()), str(bob.pubkey()))


def test_priority_fee_is_ceil_of_limit_times_price(bank, wallet, send):
    alice = wallet(1)
    bank.advance_slot()     # alice's airdrop (price 0) stays in the previous slot
    res = send(alice, [set_compute_unit_limit(300_001), set_compute_unit_price(7),
                       pay(alice, Keypair().pubkey(), 10**6)])
    # ceil(300_001 * 7 / 1e6) = ceil(2.100007) = 3 lamports on top of one signature
    assert res.fee == FEE + 3
    assert res.compute_unit_price == 7
    fees = bank.recent_prioritization_fees([str(alice.pubkey())])
    assert fees[-1] == (bank.slot, 7) and fees[-2] == (bank.slot - 1, 0)
    # an untouched account gets the block's minimum, here the one priced transaction's
    assert bank.recent_prioritization_fees([str(Keypair().pubkey())])[-1] == (bank.slot, 7)
    assert bank.recent_prioritization_fees()[-2:] == [(bank.slot - 1, 0), (bank.slot, 7)]


def test_bad_signature_is_rejected_and_nothing_lands(bank, wallet):
    alice = wallet(1)
    msg = Message.new_with_blockhash([pay(alice, Keypair().pubkey(), 1000)], alice.pubkey(),
                                     bank.latest_blockhash()[0])
    tx = Transaction.populate(msg, [Signature.new_unique()])
    res = bank.process_transaction(tx)
    assert res.err == "SignatureFailure" and not res.landed
    assert bank.get_balance(alice.pubkey()) == SOL
    assert bank.get_transaction(res.signature) is None
    # without verification (simulation's default) the same bytes execute
    assert bank.simulate_transaction(tx).err is None


def test_blockhash_expires_after_150_blocks(bank, wallet):
    alice = wallet(1)
    blockhash, last_valid = bank.latest_blockhash()
    assert last_valid == bank.block_height + 150
    tx = B.build_transaction(alice, [pay(alice, Keypair().pubkey(), 1000)], blockhash)
    for _ in range(150):
        bank.advance_slot()
    assert bank.is_blockhash_valid(blockhash)
    bank.advance_slot()
    assert bank.block_height == last_valid + 1
    assert not bank.is_blockhash_valid(blockhash)
    assert bank.process_transaction(tx).err == "BlockhashNotFound"
    unknown = B.build_transaction(alice, [pay(alice, Keypair().pubkey(), 1000)], Hash.new_unique())
    assert bank.process_transaction(unknown).err == "BlockhashNotFound"
    # simulate can replace the blockhash, as simulateTransaction's replaceRecentBlockhash does
    assert bank.simulate_transaction(tx, replace_recent_blockhash=True).err is None


def test_duplicate_signature_is_already_processed(bank, wallet):
    alice = wallet(1)
    tx = B.build_transaction(alice, [pay(alice, Keypair().pubkey(), 1000)], bank.latest_blockhash()[0])
    assert bank.process_transaction(tx).err is None
    balance = bank.get_balance(alice.pubkey())
    bank.advance_slot()
    res = bank.process_transaction(tx)
    assert res.err == "AlreadyProcessed" and not res.landed
    assert bank.get_balance(alice.pubkey()) == balance


def test_fee_payer_checks(bank, wallet, send):
    ghost = Keypair()
    assert send(ghost, [pay(ghost, Keypair().pubkey(), 1)]).err == "AccountNotFound"
    poor = wallet(lamports=4000)     # less than the 5000 fee
    res = send(poor, [pay(poor, Keypair().pubkey(), 1)])
    assert res.err == "InsufficientFundsForFee" and res.fee == 0
    assert bank.get_balance(poor.pubkey()) == 4000
    # a payer must also stay rent-exempt after paying the fee (Agave's validate_fee_payer)
    edge = wallet(lamports=890_880 + FEE - 1)
    assert send(edge, [pay(edge, Keypair().pubkey(), 1)]).err == "InsufficientFundsForFee"
    enough = wallet(lamports=890_880 + FEE)
    assert send(enough, [pay(enough, Keypair().pubkey(), 0)]).err is None


def test_failed_instruction_charges_the_fee_and_rolls_back_the_rest(bank, wallet, send):
    alice, bob = wallet(1), Keypair()
    res = send(alice, [pay(alice, bob.pubkey(), 10**6), pay(alice, bob.pubkey(), 5 * SOL)])
    assert res.err == {"InstructionError": [1, {"Custom": 1}]}
    assert res.landed and res.fee == FEE
    assert bank.get_balance(alice.pubkey()) == SOL - FEE      # the first transfer was rolled back
    assert bank.get_balance(bob.pubkey()) == 0
    assert f"Transfer: insufficient lamports {SOL - FEE - 10**6}, need {5 * SOL}" in res.logs
    assert res.logs[-1] == "Program 11111111111111111111111111111111 failed: custom program error: 0x1"
    assert res.post_balances[0] == SOL - FEE and res.post_balances[1] == 0
    assert bank.signature_status(res.signature).err == res.err


def test_unknown_program_fails_only_that_transaction(bank, wallet, send):
    alice = wallet(1)
    nowhere = Pubkey.new_unique()
    res = send(alice, [Instruction(nowhere, b"\x01", [AccountMeta(alice.pubkey(), True, True)])])
    assert res.err == "ProgramAccountNotFound" and res.fee == FEE
    assert bank.get_balance(alice.pubkey()) == SOL - FEE
    # a real but unimplemented program (Raydium is not simnet's): an instruction error, not a crash
    from solders.account import Account
    raydium = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
    bank.set_account(raydium, Account(1, b"", Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111"),
                                      True, 0))
    res = send(alice, [Instruction(raydium, b"\x09", [AccountMeta(alice.pubkey(), True, True)])])
    assert res.err == {"InstructionError": [0, "UnsupportedProgramId"]}
    # and the next transaction is fine
    assert send(alice, [pay(alice, Keypair().pubkey(), 1000)]).err is None


def test_garbage_system_instruction_is_invalid_data(bank, wallet, send):
    alice = wallet(1)
    system = Pubkey.from_string("11111111111111111111111111111111")
    res = send(alice, [Instruction(system, b"\x02\x00", [AccountMeta(alice.pubkey(), True, True)])])
    assert res.err == {"InstructionError": [0, "InvalidInstructionData"]}
    res = send(alice, [Instruction(system, bytes(12), [AccountMeta(alice.pubkey(), True, True)])])
    assert res.err == {"InstructionError": [0, "NotEnoughAccountKeys"]}


def test_compute_budget_rules(bank, wallet, send):
    alice = wallet(1)
    res = send(alice, [set_compute_unit_price(1), set_compute_unit_price(2), pay(alice, Keypair().pubkey(), 1)])
    assert res.err == {"DuplicateInstruction": 1} and not res.landed
    budget = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
    res = send(alice, [Instruction(budget, b"\x09", []), pay(alice, Keypair().pubkey(), 1)])
    assert res.err == {"InstructionError": [0, "InvalidInstructionData"]}


def test_rent_state_rule_for_debited_wallets(bank, wallet, send):
    alice = wallet(1)
    keep = 1000                     # leaving 1000 lamports is rent-paying: the validator refuses it
    res = send(alice, [pay(alice, Keypair().pubkey(), SOL - FEE - keep)])
    assert res.err == {"InsufficientFundsForRent": {"account_index": 0}}
    assert bank.get_balance(alice.pubkey()) == SOL - FEE
    # draining to exactly zero is fine, and the account disappears
    res = send(alice, [pay(alice, Keypair().pubkey(), SOL - 2 * FEE)])
    assert res.err is None
    assert bank.get_account(alice.pubkey()) is None
    assert rent_exempt_minimum(0) == 890_880 and rent_exempt_minimum(165) == 2_039_280


def test_simulation_persists_nothing(bank, wallet):
    alice, bob = wallet(1), Keypair()
    tx = B.build_transaction(alice, [pay(alice, bob.pubkey(), 10**6)], bank.latest_blockhash()[0])
    sim = bank.simulate_transaction(tx, sig_verify=True)
    assert sim.err is None and not sim.landed and sim.post_balances[1] == 10**6
    assert bank.get_balance(bob.pubkey()) == 0 and bank.get_transaction(sim.signature) is None
    assert bank.process_transaction(tx).err is None      # not AlreadyProcessed: the simulation left no trace


def test_signature_status_confirmation_by_slot_distance(bank, wallet, send):
    alice = wallet(1)
    res = send(alice, [pay(alice, Keypair().pubkey(), 1000)])
    st = bank.signature_status(res.signature)
    assert (st.slot, st.confirmations, st.confirmation_status) == (res.slot, 0, "processed")
    bank.advance_slot()
    assert bank.signature_status(res.signature).confirmation_status == "confirmed"
    for _ in range(31):
        bank.advance_slot()
    st = bank.signature_status(res.signature)
    assert st.confirmation_status == "finalized" and st.confirmations is None
    assert bank.signature_status(str(Signature.new_unique())) is None


def test_signatures_for_address_newest_first_with_before_and_until(bank, wallet, send):
    alice, bob = wallet(5), Keypair()
    sigs = []
    for i in range(5):
        sigs.append(send(alice, [pay(alice, bob.pubkey(), 10**6 + i)]).signature)
        bank.advance_slot()
    got = [s.signature for s in bank.signatures_for_address(str(bob.pubkey()))]
    assert got == sigs[::-1]
    assert [s.signature for s in bank.signatures_for_address(bob.pubkey(), limit=2)] == [sigs[4], sigs[3]]
    assert [s.signature for s in bank.signatures_for_address(bob.pubkey(), before=sigs[3])] == [sigs[2], sigs[1],
                                                                                                sigs[0]]
    assert [s.signature for s in bank.signatures_for_address(bob.pubkey(), until=sigs[1])] == [sigs[4], sigs[3],
                                                                                               sigs[2]]
    assert [s.signature for s in bank.signatures_for_address(bob.pubkey(), before=sigs[4], until=sigs[2])] == [
        sigs[3]]
    info = bank.signatures_for_address(bob.pubkey(), limit=1)[0]
    assert info.slot == bank.slot - 1 and info.err is None and info.block_time == NOW
    # alice also has her airdrop; the faucet has both airdrops
    assert len(bank.signatures_for_address(alice.pubkey())) == 6


def test_listeners_see_accounts_transactions_and_slots(bank, wallet, send):
    seen = {"accounts": [], "txs": [], "slots": []}

    class Listener:
        def on_account(self, address, account, slot):
            seen["accounts"].append((address, account.lamports, slot))

        def on_transaction(self, stored):
            seen["txs"].append(stored.signature)

        def on_slot(self, slot):
            seen["slots"].append(slot)

    alice, bob = wallet(1), Keypair()
    bank.add_listener(Listener())
    res = send(alice, [pay(alice, bob.pubkey(), 10**6)])
    assert seen["txs"] == [res.signature]
    assert (str(bob.pubkey()), 10**6, bank.slot) in seen["accounts"]
    assert (str(alice.pubkey()), SOL - 10**6 - FEE, bank.slot) in seen["accounts"]
    assert bank.advance_slot() == seen["slots"][-1]


def test_a_broken_listener_does_not_break_the_bank(bank, wallet, send):
    class Broken:
        def on_transaction(self, stored):
            raise RuntimeError("subscriber bug")

    bank.add_listener(Broken())
    alice = wallet(1)
    assert send(alice, [pay(alice, Keypair().pubkey(), 1000)]).err is None


def test_bundle_is_all_or_nothing(bank, wallet, send):
    alice, bob = wallet(1), Keypair()
    bh = bank.latest_blockhash()[0]
    ok = B.build_transaction(alice, [pay(alice, bob.pubkey(), 10**6)], bh)
    bad = B.build_transaction(alice, [pay(alice, bob.pubkey(), 10 * SOL)], bh)
    results = bank.process_bundle([ok, bad])
    assert [r.err for r in results] == [None, {"InstructionError": [0, {"Custom": 1}]}]
    assert not any(r.landed for r in results)
    assert bank.get_balance(alice.pubkey()) == SOL and bank.get_balance(bob.pubkey()) == 0   # no fee either
    assert bank.get_transaction(results[0].signature) is None
    # the first transaction was not consumed: it can land on its own now
    assert bank.process_transaction(ok).err is None
    ok2 = B.build_transaction(alice, [pay(alice, bob.pubkey(), 2 * 10**6)], bh)
    ok3 = B.build_transaction(alice, [pay(alice, bob.pubkey(), 3 * 10**6)], bh)
    results = bank.process_bundle([ok2, ok3])
    assert all(r.err is None and r.landed for r in results)
    assert bank.get_balance(bob.pubkey()) == 6 * 10**6
    assert bank.signature_status(results[1].signature).slot == bank.slot
    # the same transaction twice in one bundle: the second is already processed
    dup = B.build_transaction(alice, [pay(alice, bob.pubkey(), 4 * 10**6)], bh)
    assert [r.err for r in bank.process_bundle([dup, dup])] == [None, "AlreadyProcessed"]


def test_v0_transaction_with_lookup_table(bank, wallet, send):
    from solders.account import Account
    from solders.address_lookup_table_account import AddressLookupTableAccount
    from solders.message import MessageV0
    from solders.transaction import VersionedTransaction

    alice = wallet(1)
    dests = [Keypair().pubkey() for _ in range(3)]
    table = Pubkey.new_unique()
    meta = bytes(56)
    data = meta + b"".join(bytes(k) for k in dests)
    bank.set_account(table, Account(10**7, data, Pubkey.from_string("AddressLookupTab1e1111111111111111111111111"),
                                    False, 0))
    ixs = [pay(alice, d, 10**6 + i) for i, d in enumerate(dests)]
    msg = MessageV0.try_compile(alice.pubkey(), ixs, [AddressLookupTableAccount(table, dests)],
                                bank.latest_blockhash()[0])
    res = bank.process_transaction(VersionedTransaction(msg, [alice]))
    assert res.err is None
    assert [bank.get_balance(d) for d in dests] == [10**6, 10**6 + 1, 10**6 + 2]
    stored = bank.get_transaction(res.signature)
    # loaded keys follow the lookup's writable indexes, after the static keys
    expected = tuple(str(dests[i]) for i in msg.address_table_lookups[0].writable_indexes)
    assert sorted(expected) == sorted(str(d) for d in dests)
    assert stored.loaded_addresses == (expected, ())
    assert stored.account_keys[-3:] == expected and len(stored.account_keys) == len(msg.account_keys) + 3
    assert stored.version == 0
    assert res.signature in {s.signature for s in bank.signatures_for_address(dests[1])}


@pytest.mark.parametrize("junk", [b"", b"\x00" * 10, b"\x01\x02\x03"])
def test_token_and_pump_programs_reject_junk_without_crashing(bank, wallet, send, junk):
    alice = wallet(1)
    for program in ("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P",
                    "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA", "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"):
        res = send(alice, [Instruction(Pubkey.from_string(program), junk, [AccountMeta(alice.pubkey(), True, True)])])
        assert res.landed and res.err is not None and "InstructionError" in res.err


def test_stored_history_is_bounded_but_duplicates_stay_refused():
    from simnet.bank import Bank
    bank = Bank(seed=2, max_stored_txs=10)
    alice, bob = Keypair(), Keypair()
    bank.airdrop(alice.pubkey(), SOL)
    txs = [B.build_transaction(alice, [pay(alice, bob.pubkey(), 1000 + i)], bank.latest_blockhash()[0])
           for i in range(30)]
    sigs = [bank.process_transaction(tx).signature for tx in txs]
    assert bank.get_transaction(sigs[0]) is None and bank.get_transaction(sigs[-1]) is not None
    kept = [s.signature for s in bank.signatures_for_address(bob.pubkey())]
    assert kept == sigs[::-1][:len(kept)] and 9 <= len(kept) <= 10
    # the status cache still knows the evicted signature: a replay is refused, not re-executed
    assert bank.process_transaction(txs[0]).err == "AlreadyProcessed"
    assert bank.get_balance(bob.pubkey()) == sum(1000 + i for i in range(30))


def test_only_budget_instructions_and_junk_objects(bank, wallet, send):
    alice = wallet(1)
    res = send(alice, [set_compute_unit_price(1)])        # default limit 0: the builtin still runs
    assert res.err is None and res.fee == FEE
    for junk in (object(), None, b"\x00" * 64):
        res = bank.process_transaction(junk)
        assert res.err == "SanitizeFailure" and not res.landed
