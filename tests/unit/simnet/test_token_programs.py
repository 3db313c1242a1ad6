"""SPL Token / Token-2022 / Associated Token Account programs, driven by solana-py's instruction builders
(an encoding independent of simnet's) and checked against the real account layouts."""
from __future__ import annotations

import spl.token.instructions as T
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.token.associated import get_associated_token_address
from solders.token.state import Mint, TokenAccount

from pipelines.chain import programs as P
from pipelines.chain.mint import decode_token_account
from simnet.accounts import rent_exempt_minimum

from .conftest import SOL

TOKEN = Pubkey.from_string(P.TOKEN)
TOKEN_2022 = Pubkey.from_string(P.TOKEN_2022)
WSOL = Pubkey.from_string(P.WSOL_MINT)
M = T.models


def make_mint(send, payer: Keypair, decimals: int = 6, program: Pubkey = TOKEN) -> Keypair:
    mint = Keypair()
    res = send(payer, [
        create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(),
                                           lamports=rent_exempt_minimum(82), space=82, owner=program)),
        T.initialize_mint2(M.InitializeMint2Params(decimals=decimals, program_id=program, mint=mint.pubkey(),
                                                   mint_authority=payer.pubkey(), freeze_authority=None)),
    ], mint)
    assert res.err is None, res.logs
    return mint


def ata_of(owner: Pubkey, mint: Pubkey, program: Pubkey = TOKEN) -> Pubkey:
    return get_associated_token_address(owner, mint, program)


def token_account(bank, address: Pubkey) -> TokenAccount:
    return TokenAccount.from_bytes(bytes(bank.get_account(address).data)[:165])


def test_mint_ata_mint_to_transfer_burn_close(bank, wallet, send):
    alice, bob = wallet(2), wallet(1)
    mint = make_mint(send, alice, decimals=6)
    m = Mint.from_bytes(bytes(bank.get_account(mint.pubkey()).data))
    assert (m.decimals, m.supply, m.mint_authority, m.is_initialized) == (6, 0, alice.pubkey(), True)

    a_ata, b_ata = ata_of(alice.pubkey(), mint.pubkey()), ata_of(bob.pubkey(), mint.pubkey())
    res = send(alice, [
        T.create_associated_token_account(alice.pubkey(), alice.pubkey(), mint.pubkey()),
        T.create_idempotent_associated_token_account(alice.pubkey(), bob.pubkey(), mint.pubkey()),
        T.mint_to(M.MintToParams(program_id=TOKEN, mint=mint.pubkey(), dest=a_ata, mint_authority=alice.pubkey(),
                                 amount=1_000_000, signers=[])),
        T.transfer_checked(M.TransferCheckedParams(program_id=TOKEN, source=a_ata, mint=mint.pubkey(), dest=b_ata,
                                                   owner=alice.pubkey(), amount=250_000, decimals=6, signers=[])),
        T.transfer(M.TransferParams(program_id=TOKEN, source=b_ata, dest=a_ata, owner=bob.pubkey(), amount=50_000,
                                    signers=[])),
    ], bob)
    assert res.err is None, res.logs
    assert bank.get_account(a_ata).lamports == 2_039_280 and len(bank.get_account(a_ata).data) == 165
    a, b = token_account(bank, a_ata), token_account(bank, b_ata)
    assert (a.mint, a.owner, a.amount) == (mint.pubkey(), alice.pubkey(), 800_000)
    assert (b.owner, b.amount) == (bob.pubkey(), 200_000)
    assert bank.token_supply(mint.pubkey()) == (1_000_000, 6)
    # token balances in the result: before, none of the accounts existed; after, both do
    assert res.pre_token_balances == ()
    post = {(t.owner, t.amount, t.decimals, t.program_id) for t in res.post_token_balances}
    assert post == {(str(alice.pubkey()), 800_000, 6, P.TOKEN), (str(bob.pubkey()), 200_000, 6, P.TOKEN)}

    res = send(bob, [
        T.burn(M.BurnParams(program_id=TOKEN, account=b_ata, mint=mint.pubkey(), owner=bob.pubkey(), amount=200_000,
                            signers=[])),
        T.close_account(M.CloseAccountParams(program_id=TOKEN, account=b_ata, dest=bob.pubkey(), owner=bob.pubkey(),
                                             signers=[])),
    ])
    assert res.err is None, res.logs
    assert bank.get_account(b_ata) is None
    # bob paid only this transaction's fee; the account's rent (paid by alice) came back to him
    assert bank.get_balance(bob.pubkey()) == SOL + 2_039_280 - 5000
    assert bank.token_supply(mint.pubkey()) == (800_000, 6)


def test_token_errors_are_spl_error_codes(bank, wallet, send):
    alice, mallory = wallet(2), wallet(1)
    mint = make_mint(send, alice, decimals=6)
    a_ata, m_ata = ata_of(alice.pubkey(), mint.pubkey()), ata_of(mallory.pubkey(), mint.pubkey())
    assert send(alice, [
        T.create_associated_token_account(alice.pubkey(), alice.pubkey(), mint.pubkey()),
        T.create_associated_token_account(alice.pubkey(), mallory.pubkey(), mint.pubkey()),
        T.mint_to(M.MintToParams(program_id=TOKEN, mint=mint.pubkey(), dest=a_ata, mint_authority=alice.pubkey(),
                                 amount=100, signers=[])),
    ]).err is None

    def xfer(owner, source, amount, decimals=6):
        return T.transfer_checked(M.TransferCheckedParams(program_id=TOKEN, source=source, mint=mint.pubkey(),
                                                          dest=m_ata if source == a_ata else a_ata, owner=owner,
                                                          amount=amount, decimals=decimals, signers=[]))

    res = send(alice, [xfer(alice.pubkey(), a_ata, 101)])
    assert res.err == {"InstructionError": [0, {"Custom": 1}]}          # InsufficientFunds
    assert "Program log: Error: insufficient funds" in res.logs
    res = send(mallory, [xfer(mallory.pubkey(), a_ata, 1)])
    assert res.err == {"InstructionError": [0, {"Custom": 4}]}          # OwnerMismatch
    res = send(alice, [xfer(alice.pubkey(), a_ata, 1, decimals=9)])
    assert res.err == {"InstructionError": [0, {"Custom": 18}]}         # MintDecimalsMismatch
    # revoke the mint authority: minting is over (FixedSupply)
    assert send(alice, [T.set_authority(M.SetAuthorityParams(
        program_id=TOKEN, account=mint.pubkey(), authority=T.AuthorityType.MINT_TOKENS,
        current_authority=alice.pubkey(), signers=[], new_authority=None))]).err is None
    assert Mint.from_bytes(bytes(bank.get_account(mint.pubkey()).data)).mint_authority is None
    res = send(alice, [T.mint_to(M.MintToParams(program_id=TOKEN, mint=mint.pubkey(), dest=a_ata,
                                                mint_authority=alice.pubkey(), amount=1, signers=[]))])
    assert res.err == {"InstructionError": [0, {"Custom": 5}]}
    assert token_account(bank, a_ata).amount == 100


def test_ata_create_twice_fails_idempotent_does_not_and_address_is_checked(bank, wallet, send):
    alice = wallet(2)
    mint = make_mint(send, alice)
    ix = T.create_associated_token_account(alice.pubkey(), alice.pubkey(), mint.pubkey())
    assert send(alice, [ix]).err is None
    bank.advance_slot()     # a new blockhash, so the same instruction makes a new transaction
    res = send(alice, [ix])
    assert res.err == {"InstructionError": [0, {"Custom": 0}]}          # system: account already in use
    assert send(alice, [T.create_idempotent_associated_token_account(alice.pubkey(), alice.pubkey(),
                                                                      mint.pubkey())]).err is None
    from solders.instruction import AccountMeta, Instruction
    wrong = Instruction(ix.program_id, bytes([1]), [AccountMeta(alice.pubkey(), True, True),
                                                     AccountMeta(Keypair().pubkey(), False, True),
                                                     *ix.accounts[2:]])
    assert send(alice, [wrong]).err == {"InstructionError": [0, "InvalidSeeds"]}


def test_wrapped_sol_sync_native_and_close(bank, wallet, send):
    alice = wallet(5)
    wsol = ata_of(alice.pubkey(), WSOL)
    res = send(alice, [
        T.create_associated_token_account(alice.pubkey(), alice.pubkey(), WSOL),
        transfer(TransferParams(from_pubkey=alice.pubkey(), to_pubkey=wsol, lamports=2 * SOL)),
        T.sync_native(M.SyncNativeParams(program_id=TOKEN, account=wsol)),
    ])
    assert res.err is None, res.logs
    acc = decode_token_account(bytes(bank.get_account(wsol).data), P.TOKEN)
    assert acc.amount == 2 * SOL and acc.is_native == 2_039_280
    assert bank.get_account(wsol).lamports == 2 * SOL + 2_039_280
    before = bank.get_balance(alice.pubkey())
    res = send(alice, [T.close_account(M.CloseAccountParams(program_id=TOKEN, account=wsol, dest=alice.pubkey(),
                                                            owner=alice.pubkey(), signers=[]))])
    assert res.err is None
    assert bank.get_balance(alice.pubkey()) == before + 2 * SOL + 2_039_280 - 5000


def test_token_2022_ata_has_immutable_owner_and_transfers(bank, wallet, send):
    alice, bob = wallet(2), wallet(1)
    mint = make_mint(send, alice, decimals=9, program=TOKEN_2022)
    a_ata, b_ata = ata_of(alice.pubkey(), mint.pubkey(), TOKEN_2022), ata_of(bob.pubkey(), mint.pubkey(), TOKEN_2022)
    res = send(alice, [
        T.create_associated_token_account(alice.pubkey(), alice.pubkey(), mint.pubkey(), TOKEN_2022),
        T.create_associated_token_account(alice.pubkey(), bob.pubkey(), mint.pubkey(), TOKEN_2022),
        T.mint_to(M.MintToParams(program_id=TOKEN_2022, mint=mint.pubkey(), dest=a_ata,
                                 mint_authority=alice.pubkey(), amount=10**9, signers=[])),
        T.transfer_checked(M.TransferCheckedParams(program_id=TOKEN_2022, source=a_ata, mint=mint.pubkey(),
                                                   dest=b_ata, owner=alice.pubkey(), amount=3, decimals=9,
                                                   signers=[])),
    ])
    assert res.err is None, res.logs
    data = bytes(bank.get_account(b_ata).data)
    assert len(data) == 170 and data[165] == 2 and data[166:170] == bytes([7, 0, 0, 0])   # ImmutableOwner TLV
    acc = decode_token_account(data, P.TOKEN_2022)
    assert (acc.amount, acc.owner, acc.extensions) == (3, str(bob.pubkey()), ((7, b""),))
    # a Tokenkeg instruction on a Token-2022 account is refused
    res = send(alice, [T.transfer(M.TransferParams(program_id=TOKEN, source=a_ata, dest=b_ata, owner=alice.pubkey(),
                                                   amount=1, signers=[]))])
    assert res.err == {"InstructionError": [0, "IncorrectProgramId"]}


def test_token_queries(bank, wallet, send):
    alice, bob, carol = wallet(2), wallet(1), wallet(1)
    mint, other = make_mint(send, alice), make_mint(send, alice)
    ixs = []
    for owner, amount in ((alice, 500), (bob, 300), (carol, 300)):
        ixs.append(T.create_associated_token_account(alice.pubkey(), owner.pubkey(), mint.pubkey()))
        ixs.append(T.mint_to(M.MintToParams(program_id=TOKEN, mint=mint.pubkey(),
                                            dest=ata_of(owner.pubkey(), mint.pubkey()),
                                            mint_authority=alice.pubkey(), amount=amount, signers=[])))
    ixs.append(T.create_associated_token_account(alice.pubkey(), bob.pubkey(), other.pubkey()))
    assert send(alice, ixs).err is None
    largest = bank.token_largest_accounts(mint.pubkey())
    assert largest[0] == (str(ata_of(alice.pubkey(), mint.pubkey())), 500)
    assert sorted(largest[1:]) == sorted([(str(ata_of(bob.pubkey(), mint.pubkey())), 300),
                                          (str(ata_of(carol.pubkey(), mint.pubkey())), 300)])
    assert {k for k, _ in bank.token_accounts_by_owner(bob.pubkey())} == {
        str(ata_of(bob.pubkey(), mint.pubkey())), str(ata_of(bob.pubkey(), other.pubkey()))}
    assert [k for k, _ in bank.token_accounts_by_owner(bob.pubkey(), mint=other.pubkey())] == [
        str(ata_of(bob.pubkey(), other.pubkey()))]
    assert bank.token_accounts_by_owner(bob.pubkey(), program_id=TOKEN_2022) == []
    assert bank.token_supply(mint.pubkey()) == (1100, 6)
