"""Instruction and transaction builders: pump.fun (via intents), PumpSwap, Raydium AMM v4, SPL ATA,
compute budget and Jito tips; `build_transaction` signs a legacy or v0 transaction.

Pure functions of their arguments (no RPC, no clock): the caller supplies the blockhash, the fee recipient
and the creator, read from chain state.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from . import pda
from . import programs as P
from .borsh import Writer
from .instructions import PUMP_PROGRAM, instruction_for, parse_pump_instruction, pump_intents_of
from .intents import (AccountRef, PumpBuy, PumpBuyExactSol, PumpCreate, PumpCreateV2, PumpIntent, PumpSell)
from .pda import PubkeyLike, to_pubkey

__all__ = [
    "buy", "buy_exact_sol_in", "sell", "create", "create_v2", "migrate", "instruction_for", "parse_pump_instruction",
    "pump_intents_of", "create_ata_idempotent", "set_compute_unit_limit", "set_compute_unit_price", "jito_tip",
    "pumpswap_buy", "pumpswap_buy_exact_quote_in", "pumpswap_sell", "raydium_swap_base_in",
    "raydium_swap_base_out", "build_transaction", "build_pump_tx", "build_buy_tx", "build_buy_exact_sol_tx",
    "build_sell_tx", "build_create_tx",
]


# --- pump.fun instructions ---

def buy(*, mint: PubkeyLike, user: PubkeyLike, fee_recipient: PubkeyLike, amount: int, max_sol_cost: int,
        track_volume: bool | None = None, creator: PubkeyLike | None = None, creator_vault: PubkeyLike = "",
        token_program: str = P.TOKEN, associated_user: PubkeyLike = "",
        remaining: Sequence[AccountRef] = ()) -> Instruction:
    """pump `buy` with the current 16-account list."""
    return instruction_for(PumpBuy(mint, user, fee_recipient, amount, max_sol_cost, track_volume, creator,
                                   creator_vault, token_program, associated_user, tuple(remaining)))


def buy_exact_sol_in(*, mint: PubkeyLike, user: PubkeyLike, fee_recipient: PubkeyLike, spendable_sol_in: int,
                     min_tokens_out: int, track_volume: bool | None = None, creator: PubkeyLike | None = None,
                     creator_vault: PubkeyLike = "", token_program: str = P.TOKEN, associated_user: PubkeyLike = "",
                     remaining: Sequence[AccountRef] = ()) -> Instruction:
    return instruction_for(PumpBuyExactSol(mint, user, fee_recipient, spendable_sol_in, min_tokens_out,
                                           track_volume, creator, creator_vault, token_program, associated_user,
                                           tuple(remaining)))


def sell(*, mint: PubkeyLike, user: PubkeyLike, fee_recipient: PubkeyLike, amount: int, min_sol_output: int,
         creator: PubkeyLike | None = None, creator_vault: PubkeyLike = "", token_program: str = P.TOKEN,
         associated_user: PubkeyLike = "", remaining: Sequence[AccountRef] = ()) -> Instruction:
    """pump `sell` with the 14-account list (creator_vault before token_program)."""
    return instruction_for(PumpSell(mint, user, fee_recipient, amount, min_sol_output, creator, creator_vault,
                                    token_program, associated_user, tuple(remaining)))


def create(*, mint: PubkeyLike, user: PubkeyLike, name: str, symbol: str, uri: str,
           creator: PubkeyLike) -> Instruction:
    """pump `create` (14 accounts; SPL Token mint with Metaplex metadata)."""
    return instruction_for(PumpCreate(mint, user, name, symbol, uri, creator))


def create_v2(*, mint: PubkeyLike, user: PubkeyLike, name: str, symbol: str, uri: str, creator: PubkeyLike,
              is_mayhem_mode: bool = False, is_cashback_enabled: bool | None = None,
              creator_fee_bps: int | None = None, is_holder_reward: bool | None = None,
              remaining: Sequence[AccountRef] = ()) -> Instruction:
    """pump `create_v2` (16 accounts; Token-2022 mint)."""
    return instruction_for(PumpCreateV2(mint, user, name, symbol, uri, creator, is_mayhem_mode,
                                        is_cashback_enabled, creator_fee_bps, is_holder_reward, tuple(remaining)))


def migrate(*, mint: PubkeyLike, user: PubkeyLike, withdraw_authority: PubkeyLike) -> Instruction:
    """pump `migrate` (25 accounts, IDL 2.0.0): moves a completed curve of an SPL Token coin into its canonical
    PumpSwap pool. Permissionless: `user` pays; `withdraw_authority` is Global.withdraw_authority. The IDL
    writes "mint" where the ATA seeds take the mint's token program (an Anchor quirk): SPL Token here."""
    mint_pk, user_pk = to_pubkey(mint), to_pubkey(user)
    token, wsol, t22 = (Pubkey.from_string(x) for x in (P.TOKEN, P.WSOL_MINT, P.TOKEN_2022))
    bc, authority = pda.bonding_curve(mint_pk), pda.pool_authority(mint_pk)
    pool = pda.canonical_pumpswap_pool(mint_pk)
    lp_mint = pda.pumpswap_lp_mint(pool)
    ro = lambda k: AccountMeta(k, False, False)      # noqa: E731
    rw = lambda k: AccountMeta(k, False, True)       # noqa: E731
    return Instruction(PUMP_PROGRAM, P.PUMP_IX_MIGRATE, [
        ro(pda.pump_global()), rw(to_pubkey(withdraw_authority)), ro(mint_pk), rw(bc),
        rw(pda.associated_token(bc, mint_pk, token)), AccountMeta(user_pk, True, True), ro(_SYSTEM), ro(token),
        ro(_AMM), rw(pool), rw(authority), rw(pda.associated_token(authority, mint_pk, token)),
        rw(pda.associated_token(authority, wsol, token)), ro(pda.pumpswap_global_config()), ro(wsol), rw(lp_mint),
        rw(pda.associated_token(authority, lp_mint, t22)), rw(pda.associated_token(pool, mint_pk, token)),
        rw(pda.associated_token(pool, wsol, token)), ro(t22), ro(_ATA_PROGRAM), ro(pda.event_authority(P.PUMP_AMM)),
        ro(pda.event_authority()), ro(PUMP_PROGRAM), ro(Pubkey.from_string(P.RENT_SYSVAR)),
    ])


# --- SPL / system / compute budget ---

_ATA_PROGRAM = Pubkey.from_string(P.ASSOCIATED_TOKEN)
_SYSTEM = Pubkey.from_string(P.SYSTEM)


def create_ata_idempotent(payer: PubkeyLike, owner: PubkeyLike, mint: PubkeyLike,
                          token_program: PubkeyLike = P.TOKEN) -> Instruction:
    """Associated Token program instruction 1 (CreateIdempotent): a no-op if the account already exists."""
    payer, owner, mint, tp = to_pubkey(payer), to_pubkey(owner), to_pubkey(mint), to_pubkey(token_program)
    return Instruction(_ATA_PROGRAM, bytes((1,)), [
        AccountMeta(payer, True, True),
        AccountMeta(pda.associated_token(owner, mint, tp), False, True),
        AccountMeta(owner, False, False),
        AccountMeta(mint, False, False),
        AccountMeta(_SYSTEM, False, False),
        AccountMeta(tp, False, False),
    ])


def jito_tip(payer: PubkeyLike, tip_account: PubkeyLike, lamports: int) -> Instruction:
    """A Jito tip: a plain SOL transfer to one of the block engine's tip accounts (getTipAccounts)."""
    if lamports <= 0:
        raise ValueError("a tip must be positive")
    return transfer(TransferParams(from_pubkey=to_pubkey(payer), to_pubkey=to_pubkey(tip_account),
                                   lamports=lamports))


# --- PumpSwap (pump_amm IDL 1.20.0) ---

_AMM = Pubkey.from_string(P.PUMP_AMM)


def _pumpswap_accounts(*, pool: PubkeyLike, user: PubkeyLike, base_mint: PubkeyLike, quote_mint: PubkeyLike,
                       pool_base_token_account: PubkeyLike, pool_quote_token_account: PubkeyLike,
                       protocol_fee_recipient: PubkeyLike, coin_creator: PubkeyLike, base_token_program: str,
                       quote_token_program: str, with_volume: bool) -> list[AccountMeta]:
    user_pk, base, quote = to_pubkey(user), to_pubkey(base_mint), to_pubkey(quote_mint)
    btp, qtp = to_pubkey(base_token_program), to_pubkey(quote_token_program)
    recipient = to_pubkey(protocol_fee_recipient)
    vault_auth = pda.pumpswap_creator_vault_authority(coin_creator)
    metas = [
        AccountMeta(to_pubkey(pool), False, True),
        AccountMeta(user_pk, True, True),
        AccountMeta(pda.pumpswap_global_config(), False, False),
        AccountMeta(base, False, False),
        AccountMeta(quote, False, False),
        AccountMeta(pda.associated_token(user_pk, base, btp), False, True),
        AccountMeta(pda.associated_token(user_pk, quote, qtp), False, True),
        AccountMeta(to_pubkey(pool_base_token_account), False, True),
        AccountMeta(to_pubkey(pool_quote_token_account), False, True),
        AccountMeta(recipient, False, False),
        AccountMeta(pda.associated_token(recipient, quote, qtp), False, True),
        AccountMeta(btp, False, False),
        AccountMeta(qtp, False, False),
        AccountMeta(_SYSTEM, False, False),
        AccountMeta(_ATA_PROGRAM, False, False),
        AccountMeta(pda.event_authority(P.PUMP_AMM), False, False),
        AccountMeta(_AMM, False, False),
        AccountMeta(pda.associated_token(vault_auth, quote, qtp), False, True),
        AccountMeta(vault_auth, False, False),
    ]
    if with_volume:
        metas += [AccountMeta(pda.global_volume_accumulator(P.PUMP_AMM), False, False),
                  AccountMeta(pda.user_volume_accumulator(user_pk, P.PUMP_AMM), False, True)]
    metas += [AccountMeta(pda.fee_config(P.PUMP_AMM), False, False),
              AccountMeta(Pubkey.from_string(P.PUMP_FEES), False, False)]
    return metas


def pumpswap_buy(*, pool: PubkeyLike, user: PubkeyLike, base_mint: PubkeyLike, pool_base_token_account: PubkeyLike,
                 pool_quote_token_account: PubkeyLike, protocol_fee_recipient: PubkeyLike,
                 coin_creator: PubkeyLike, base_amount_out: int, max_quote_amount_in: int,
                 track_volume: bool | None = None, quote_mint: PubkeyLike = P.WSOL_MINT,
                 base_token_program: str = P.TOKEN, quote_token_program: str = P.TOKEN) -> Instruction:
    """PumpSwap `buy` (23 accounts). Pool fields (vaults, coin_creator) come from the decoded Pool account."""
    w = Writer().raw(P.AMM_IX_BUY).u64(base_amount_out).u64(max_quote_amount_in)
    if track_volume is not None:
        w.bool(track_volume)
    return Instruction(_AMM, w.bytes(), _pumpswap_accounts(
        pool=pool, user=user, base_mint=base_mint, quote_mint=quote_mint,
        pool_base_token_account=pool_base_token_account, pool_quote_token_account=pool_quote_token_account,
        protocol_fee_recipient=protocol_fee_recipient, coin_creator=coin_creator,
        base_token_program=base_token_program, quote_token_program=quote_token_program, with_volume=True))


def pumpswap_buy_exact_quote_in(*, pool: PubkeyLike, user: PubkeyLike, base_mint: PubkeyLike,
                                pool_base_token_account: PubkeyLike, pool_quote_token_account: PubkeyLike,
                                protocol_fee_recipient: PubkeyLike, coin_creator: PubkeyLike,
                                spendable_quote_in: int, min_base_amount_out: int, track_volume: bool | None = None,
                                quote_mint: PubkeyLike = P.WSOL_MINT, base_token_program: str = P.TOKEN,
                                quote_token_program: str = P.TOKEN) -> Instruction:
    w = Writer().raw(P.AMM_IX_BUY_EXACT_QUOTE_IN).u64(spendable_quote_in).u64(min_base_amount_out)
    if track_volume is not None:
        w.bool(track_volume)
    return Instruction(_AMM, w.bytes(), _pumpswap_accounts(
        pool=pool, user=user, base_mint=base_mint, quote_mint=quote_mint,
        pool_base_token_account=pool_base_token_account, pool_quote_token_account=pool_quote_token_account,
        protocol_fee_recipient=protocol_fee_recipient, coin_creator=coin_creator,
        base_token_program=base_token_program, quote_token_program=quote_token_program, with_volume=True))


def pumpswap_sell(*, pool: PubkeyLike, user: PubkeyLike, base_mint: PubkeyLike, pool_base_token_account: PubkeyLike,
                  pool_quote_token_account: PubkeyLike, protocol_fee_recipient: PubkeyLike,
                  coin_creator: PubkeyLike, base_amount_in: int, min_quote_amount_out: int,
                  quote_mint: PubkeyLike = P.WSOL_MINT, base_token_program: str = P.TOKEN,
                  quote_token_program: str = P.TOKEN) -> Instruction:
    """PumpSwap `sell` (21 accounts: no volume accumulators)."""
    data = Writer().raw(P.AMM_IX_SELL).u64(base_amount_in).u64(min_quote_amount_out).bytes()
    return Instruction(_AMM, data, _pumpswap_accounts(
        pool=pool, user=user, base_mint=base_mint, quote_mint=quote_mint,
        pool_base_token_account=pool_base_token_account, pool_quote_token_account=pool_quote_token_account,
        protocol_fee_recipient=protocol_fee_recipient, coin_creator=coin_creator,
        base_token_program=base_token_program, quote_token_program=quote_token_program, with_volume=False))


# --- Raydium AMM v4: the 8-account V2 swaps (tags 16/17), which need no OpenBook market accounts ---

_RAYDIUM_V4 = Pubkey.from_string(P.RAYDIUM_AMM_V4)


def _raydium_v2(tag: int, a: int, b: int, amm, coin_vault, pc_vault, user_source, user_destination, user,
                token_program) -> Instruction:
    data = Writer().u8(tag).u64(a).u64(b).bytes()
    return Instruction(_RAYDIUM_V4, data, [
        AccountMeta(to_pubkey(token_program), False, False),
        AccountMeta(to_pubkey(amm), False, True),
        AccountMeta(pda.raydium_amm_authority(), False, False),
        AccountMeta(to_pubkey(coin_vault), False, True),
        AccountMeta(to_pubkey(pc_vault), False, True),
        AccountMeta(to_pubkey(user_source), False, True),
        AccountMeta(to_pubkey(user_destination), False, True),
        AccountMeta(to_pubkey(user), True, False),
    ])


def raydium_swap_base_in(*, amm: PubkeyLike, coin_vault: PubkeyLike, pc_vault: PubkeyLike,
                         user_source: PubkeyLike, user_destination: PubkeyLike, user: PubkeyLike, amount_in: int,
                         minimum_amount_out: int, token_program: PubkeyLike = P.TOKEN) -> Instruction:
    """SwapBaseInV2 (tag 16): direction is inferred by the program from the user accounts' mints."""
    return _raydium_v2(P.RAY_V4_IX_SWAP_BASE_IN_V2, amount_in, minimum_amount_out, amm, coin_vault, pc_vault,
                       user_source, user_destination, user, token_program)


def raydium_swap_base_out(*, amm: PubkeyLike, coin_vault: PubkeyLike, pc_vault: PubkeyLike,
                          user_source: PubkeyLike, user_destination: PubkeyLike, user: PubkeyLike,
                          max_amount_in: int, amount_out: int, token_program: PubkeyLike = P.TOKEN) -> Instruction:
    """SwapBaseOutV2 (tag 17)."""
    return _raydium_v2(P.RAY_V4_IX_SWAP_BASE_OUT_V2, max_amount_in, amount_out, amm, coin_vault, pc_vault,
                       user_source, user_destination, user, token_program)


# --- transactions ---

def build_transaction(payer: Keypair, instructions: Sequence[Instruction], recent_blockhash: Hash,
                      signers: Iterable[Keypair] = (), v0: bool = False) -> Transaction | VersionedTransaction:
    """A signed transaction paid by `payer`; `signers` are the other keypairs the instructions need
    (e.g. a new mint). Raises ValueError if a required signer is missing."""
    payer_pk = payer.pubkey()                 # Keypair.pubkey() derives the key each call: ~20 us, so once
    by_key = {payer_pk: payer}
    for s in signers:
        by_key.setdefault(s.pubkey(), s)
    if v0:
        msg = MessageV0.try_compile(payer_pk, list(instructions), [], recent_blockhash)
    else:
        msg = Message.new_with_blockhash(list(instructions), payer_pk, recent_blockhash)
    required = list(msg.account_keys[:msg.header.num_required_signatures])
    missing = [str(k) for k in required if k not in by_key]
    if missing:
        raise ValueError(f"missing signers: {', '.join(missing)}")
    keypairs = [by_key[k] for k in required]
    if v0:
        return VersionedTransaction(msg, keypairs)
    return Transaction(keypairs, msg, recent_blockhash)


def _budget(cu_limit: int | None, cu_price: int | None) -> list[Instruction]:
    out = []
    if cu_limit is not None:
        out.append(set_compute_unit_limit(cu_limit))
    if cu_price is not None:
        out.append(set_compute_unit_price(cu_price))
    return out


def build_pump_tx(intent: PumpIntent, payer: Keypair, recent_blockhash: Hash, *, signers: Iterable[Keypair] = (),
                  compute_unit_limit: int | None = None, compute_unit_price: int | None = None,
                  create_ata: bool | None = None, tip: tuple[PubkeyLike, int] | None = None,
                  v0: bool = False) -> Transaction | VersionedTransaction:
    """[compute budget] [create user ATA (buys, by default)] <pump ix> [Jito tip], signed.

    The user of the intent must be `payer` or one of `signers`; create/create_v2 need the mint keypair."""
    ixs = _budget(compute_unit_limit, compute_unit_price)
    payer_pk = payer.pubkey()
    is_trade = isinstance(intent, (PumpBuy, PumpBuyExactSol, PumpSell))
    if create_ata is None:
        create_ata = isinstance(intent, (PumpBuy, PumpBuyExactSol))   # a buy needs somewhere to put the tokens
    if create_ata:
        if not is_trade:
            raise ValueError("create_ata only applies to trades")
        ixs.append(create_ata_idempotent(payer_pk, intent.user, intent.mint, intent.token_program))
    ixs.append(instruction_for(intent))
    if tip is not None:
        ixs.append(jito_tip(payer_pk, tip[0], tip[1]))
    return build_transaction(payer, ixs, recent_blockhash, signers, v0)


def build_buy_tx(intent: PumpBuy, payer: Keypair, recent_blockhash: Hash, **kw) -> Transaction | VersionedTransaction:
    if not isinstance(intent, PumpBuy):
        raise TypeError("build_buy_tx needs a PumpBuy")
    return build_pump_tx(intent, payer, recent_blockhash, **kw)


def build_buy_exact_sol_tx(intent: PumpBuyExactSol, payer: Keypair, recent_blockhash: Hash,
                           **kw) -> Transaction | VersionedTransaction:
    if not isinstance(intent, PumpBuyExactSol):
        raise TypeError("build_buy_exact_sol_tx needs a PumpBuyExactSol")
    return build_pump_tx(intent, payer, recent_blockhash, **kw)


def build_sell_tx(intent: PumpSell, payer: Keypair, recent_blockhash: Hash,
                  **kw) -> Transaction | VersionedTransaction:
    if not isinstance(intent, PumpSell):
        raise TypeError("build_sell_tx needs a PumpSell")
    return build_pump_tx(intent, payer, recent_blockhash, **kw)


def build_create_tx(intent: PumpCreate | PumpCreateV2, payer: Keypair, mint: Keypair, recent_blockhash: Hash,
                    *, signers: Iterable[Keypair] = (), **kw) -> Transaction | VersionedTransaction:
    if not isinstance(intent, (PumpCreate, PumpCreateV2)):
        raise TypeError("build_create_tx needs a PumpCreate or PumpCreateV2")
    if str(mint.pubkey()) != intent.mint:
        raise ValueError("the mint keypair does not match intent.mint")
    return build_pump_tx(intent, payer, recent_blockhash, signers=(mint, *signers), **kw)
