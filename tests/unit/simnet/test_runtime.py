"""The invoke machinery's rules, exercised by a small test program: account write rules, CPI privileges,
compute metering, log truncation, and a crashing program failing only its transaction."""
from __future__ import annotations

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from simnet.accounts import SYSTEM_ID
from simnet.bank import Bank
from simnet.programs import default_programs, system
from simnet.programs.runtime import Program

from .conftest import NOW, SOL

PROBE = Pubkey.new_unique()
LOADER = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")


def probe(ctx):
    """data[0] selects a behaviour; accounts are whatever the test passes."""
    op = ctx.data[0]
    ctx.consume(1000)
    if op == 0:        # take lamports from account 0 (owned by someone else)
        ctx.debit(0, 1)
        ctx.credit(1, 1)
    elif op == 1:      # credit a read-only account
        ctx.credit(1, 1)
    elif op == 2:      # write data of an account the probe does not own
        ctx.set_data(0, b"x")
    elif op == 3:      # create lamports from nothing
        ctx.recs[0].lamports += 5
    elif op == 4:      # ask the system program to move account 0's lamports without it having signed
        ctx.invoke(SYSTEM_ID, system.transfer_metas(ctx.keys[0], ctx.keys[1]), system.transfer_data(1))
    elif op == 5:      # burn compute
        ctx.consume(10**9)
    elif op == 6:      # log a lot
        for i in range(2000):
            ctx.log(f"line {i} " + "x" * 20)
    elif op == 7:      # a bug
        raise ZeroDivisionError("probe bug")
    elif op == 8:      # recurse into itself until the stack is too deep
        ctx.invoke(PROBE, [(k, False, False) for k in ctx.keys], bytes([8]))
    elif op == 9:      # sign for a PDA it is allowed to: the key passed as a pda signer
        ctx.invoke(SYSTEM_ID, system.transfer_metas(ctx.keys[0], ctx.keys[1]), system.transfer_data(1),
                   pda_signers=(ctx.keys[0],))


@pytest.fixture
def pbank():
    programs = default_programs()
    programs[PROBE] = Program("probe", probe)
    b = Bank(seed=5, clock=lambda: float(NOW), programs=programs)
    b.set_account(PROBE, Account(1, b"", LOADER, True, 0))
    return b


def run(bank, payer, op: int, metas, *signers):
    from pipelines.chain import builders as B
    ix = Instruction(PROBE, bytes([op]), metas)
    return bank.process_transaction(B.build_transaction(payer, [ix], bank.latest_blockhash()[0], signers))


def test_write_rules(pbank):
    payer, other = Keypair(), Keypair()
    pbank.airdrop(payer.pubkey(), SOL)
    pbank.airdrop(other.pubkey(), SOL)
    w = [AccountMeta(other.pubkey(), False, True), AccountMeta(payer.pubkey(), True, True)]
    assert run(pbank, payer, 0, w).err == {"InstructionError": [0, "ExternalAccountLamportSpend"]}
    ro = [AccountMeta(other.pubkey(), False, True), AccountMeta(Keypair().pubkey(), False, False)]
    assert run(pbank, payer, 1, ro).err == {"InstructionError": [0, "ReadonlyLamportChange"]}
    assert run(pbank, payer, 2, w).err == {"InstructionError": [0, "ExternalAccountDataModified"]}
    assert run(pbank, payer, 3, w).err == {"InstructionError": [0, "UnbalancedInstruction"]}
    assert pbank.get_balance(other.pubkey()) == SOL


def test_cpi_privileges(pbank):
    payer, victim = Keypair(), Keypair()
    pbank.airdrop(payer.pubkey(), SOL)
    pbank.airdrop(victim.pubkey(), SOL)
    metas = [AccountMeta(victim.pubkey(), False, True), AccountMeta(payer.pubkey(), True, True),
             AccountMeta(SYSTEM_ID, False, False)]
    res = run(pbank, payer, 4, metas)
    assert res.err == {"InstructionError": [0, "PrivilegeEscalation"]}
    assert f"{victim.pubkey()}'s signer privilege escalated" in res.logs
    # with the victim's signature the same CPI is legal, and shows as an inner instruction at height 2
    metas[0] = AccountMeta(victim.pubkey(), True, True)
    res = run(pbank, payer, 4, metas, victim)
    assert res.err is None
    [(top, [inner])] = [(i, list(ixs)) for i, ixs in res.inner_instructions]
    assert top == 0
    assert (inner.program_id, inner.accounts, inner.stack_height) == (
        str(SYSTEM_ID), (str(victim.pubkey()), str(payer.pubkey())), 2)
    # a program may sign for an address it passes as a PDA signer (the runtime trusts simnet's programs)
    pda_like = Keypair().pubkey()
    pbank.airdrop(pda_like, SOL)
    metas[0] = AccountMeta(pda_like, False, True)
    assert run(pbank, payer, 9, metas).err is None
    # a CPI needs the callee's account among the caller's accounts
    res = run(pbank, payer, 4, [AccountMeta(victim.pubkey(), True, True), AccountMeta(payer.pubkey(), True, True)],
              victim)
    assert res.err == {"InstructionError": [0, "MissingAccount"]}


def test_call_depth_is_limited(pbank):
    payer = Keypair()
    pbank.airdrop(payer.pubkey(), SOL)
    res = run(pbank, payer, 8, [AccountMeta(PROBE, False, False)])
    assert res.err == {"InstructionError": [0, "CallDepth"]}
    assert f"Program {PROBE} invoke [5]" in res.logs and f"Program {PROBE} invoke [6]" not in res.logs


def test_compute_budget_is_enforced(pbank):
    payer = Keypair()
    pbank.airdrop(payer.pubkey(), SOL)
    res = run(pbank, payer, 5, [])
    assert res.err == {"InstructionError": [0, "ComputationalBudgetExceeded"]}
    assert res.units_consumed == 200_000
    assert f"Program {PROBE} consumed 200000 of 200000 compute units" in res.logs


def test_logs_are_truncated_like_the_validator(pbank):
    payer = Keypair()
    pbank.airdrop(payer.pubkey(), SOL)
    res = run(pbank, payer, 6, [])
    assert res.err is None
    assert res.logs[-1] == "Log truncated"
    assert sum(len(line) for line in res.logs[:-1]) <= 10_000


def test_a_crashing_program_fails_only_its_transaction(pbank):
    payer = Keypair()
    pbank.airdrop(payer.pubkey(), SOL)
    res = run(pbank, payer, 7, [])
    assert res.err == {"InstructionError": [0, "ProgramFailedToComplete"]} and res.landed
    assert res.logs[-1] == f"Program {PROBE} failed: Program failed to complete"
    assert run(pbank, payer, 10, []).err is None       # op 10: does nothing but consume
