"""The market's window on the bank: the chain state agents quote against, and their signed transactions.

Quotes use the programs' own integer math (pipelines/chain/curve.py, amm.py) with fee rates read from chain
state the way the programs read them (the fee program's FeeConfig tier for the market cap), so a trade quoted
against the state it executes on lands exactly as quoted. Transactions are built with pipelines/chain/builders.py
(+ pump_migrate's instruction builder, + solana-py's SPL helpers for wrapping SOL).
"""
from __future__ import annotations

from dataclasses import dataclass

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from spl.token.instructions import close_account, sync_native
from spl.token.models import CloseAccountParams, SyncNativeParams

from pipelines.chain import builders as B
from pipelines.chain import curve, pda
from pipelines.chain import programs as P
from pipelines.chain.amm import PumpSwapBuyQuote, PumpSwapSellQuote, pumpswap_buy_exact_quote_in, pumpswap_sell
from pipelines.chain.amm_state import FeeConfig, Fees, Pool, decode_fee_config, decode_pumpswap_pool, pool_market_cap
from pipelines.chain.intents import PumpBuy, PumpBuyExactSol, PumpCreate, PumpCreateV2, PumpSell
from pipelines.chain.pump_state import BondingCurve, decode_bonding_curve, decode_global
from simnet.programs.pump_migrate import migrate_instruction
from simnet.programs.pumpswap import GLOBAL_CONFIG_KEY, decode_global_config

WSOL = Pubkey.from_string(P.WSOL_MINT)
TOKEN = Pubkey.from_string(P.TOKEN)

# compute unit limits with headroom over what simnet's programs meter (create+buy ~150k, buy ~50k)
CU_CREATE, CU_TRADE, CU_SWAP, CU_MIGRATE = 300_000, 150_000, 250_000, 400_000


@dataclass(frozen=True, slots=True)
class PoolState:
    key: str
    pool: Pool
    base_reserve: int
    quote_reserve: int
    fees: Fees
    base_token_program: str


def _u64_at(data: bytes, off: int) -> int:
    return int.from_bytes(data[off:off + 8], "little")


class ChainView:
    def __init__(self, bank) -> None:
        self.bank = bank
        acc, config = bank.get_account(P.PUMP_GLOBAL), bank.get_account(GLOBAL_CONFIG_KEY)
        if acc is None or config is None:
            raise ValueError("the bank has no pump Global / PumpSwap GlobalConfig: the market needs simnet's genesis")
        g = decode_global(bytes(acc.data))
        self.fee_recipients = g.all_fee_recipients()
        self.flat_fees = g.fees()
        self.initial_state = curve.CurveState(g.initial_virtual_token_reserves, g.initial_virtual_sol_reserves,
                                              g.initial_real_token_reserves, 0, g.token_total_supply)
        gc = decode_global_config(bytes(config.data))
        self.amm_fee_recipients = tuple(r for r in gc.protocol_fee_recipients if r != P.DEFAULT_PUBKEY)
        self.amm_flat_fees = gc.fees()
        genesis = getattr(bank, "genesis", None)
        self.migration_authority: Keypair | None = getattr(genesis, "migration_authority", None)
        self._fee_configs: dict[bytes, FeeConfig] = {}

    # --- reads -------------------------------------------------------------------------------------------------
    def _fee_config(self, program: str) -> FeeConfig | None:
        acc = self.bank.get_account(pda.fee_config(program))
        if acc is None or str(acc.owner) != P.PUMP_FEES or acc.data[:8] != P.PUMP_ACC_FEE_CONFIG:
            return None
        data = bytes(acc.data)
        cfg = self._fee_configs.get(data)
        if cfg is None:
            if len(self._fee_configs) > 8:
                self._fee_configs.clear()
            cfg = self._fee_configs[data] = decode_fee_config(data)
        return cfg

    def curve(self, mint: str) -> BondingCurve | None:
        acc = self.bank.get_account(pda.bonding_curve(mint))
        return None if acc is None or not acc.data else decode_bonding_curve(bytes(acc.data))

    def curve_fees(self, state: curve.CurveState) -> curve.CurveFees:
        cfg = self._fee_config(P.PUMP)
        if cfg is None:
            return self.flat_fees
        if not cfg.fee_tiers:
            return cfg.flat_fees.curve_fees()
        return cfg.fee_tier_for(curve.market_cap_lamports(state)).curve_fees()

    def token_balance(self, owner: str, mint: str, token_program: str) -> int:
        acc = self.bank.get_account(pda.associated_token(owner, mint, token_program))
        return _u64_at(bytes(acc.data), 64) if acc is not None and len(acc.data) >= 72 else 0

    def lamports(self, address: str) -> int:
        return self.bank.get_balance(address)

    def pool(self, mint: str) -> PoolState | None:
        key = pda.canonical_pumpswap_pool(mint)
        acc = self.bank.get_account(key)
        if acc is None or not acc.data:
            return None
        pool = decode_pumpswap_pool(bytes(acc.data))
        base_vault = self.bank.get_account(pool.pool_base_token_account)
        quote_vault = self.bank.get_account(pool.pool_quote_token_account)
        mint_acc = self.bank.get_account(mint)
        if base_vault is None or quote_vault is None or mint_acc is None:
            return None
        base, quote = _u64_at(bytes(base_vault.data), 64), _u64_at(bytes(quote_vault.data), 64)
        supply = _u64_at(bytes(mint_acc.data), 36)
        cfg = self._fee_config(P.PUMP_AMM)
        if cfg is None:
            fees = self.amm_flat_fees
        else:
            canonical = pool.creator == str(pda.pool_authority(pool.base_mint))
            fees = cfg.fees_for(pool_market_cap(supply, base, quote), is_pump_pool=canonical,
                                quote_mint=pool.quote_mint)
        return PoolState(str(key), pool, base, quote, fees, str(mint_acc.owner))

    # --- quotes ------------------------------------------------------------------------------------------------
    def quote_buy(self, state: curve.CurveState, spendable: int) -> curve.BuyQuote:
        return curve.buy_exact_sol(state, spendable, self.curve_fees(state))

    def quote_buy_tokens(self, state: curve.CurveState, tokens: int) -> curve.BuyQuote:
        return curve.buy_exact_tokens(state, tokens, self.curve_fees(state))

    def quote_sell(self, state: curve.CurveState, tokens: int) -> curve.SellQuote:
        return curve.sell(state, tokens, self.curve_fees(state))

    @staticmethod
    def quote_swap_buy(ps: PoolState, spendable: int) -> PumpSwapBuyQuote:
        f = ps.fees
        return pumpswap_buy_exact_quote_in(spendable, ps.base_reserve, ps.quote_reserve, f.lp_fee_bps,
                                           f.protocol_fee_bps, f.creator_fee_bps, has_creator=ps.pool.has_coin_creator)

    @staticmethod
    def quote_swap_sell(ps: PoolState, base_in: int) -> PumpSwapSellQuote:
        f = ps.fees
        return pumpswap_sell(base_in, ps.base_reserve, ps.quote_reserve, f.lp_fee_bps, f.protocol_fee_bps,
                             f.creator_fee_bps, has_creator=ps.pool.has_coin_creator)


# --- transactions ----------------------------------------------------------------------------------------------

def _budget(cu_limit: int, cu_price: int) -> list[Instruction]:
    ixs = [B.set_compute_unit_limit(cu_limit)]
    if cu_price:
        ixs.append(B.set_compute_unit_price(cu_price))
    return ixs


def create_tx(dev: Keypair, mint: Keypair, *, name: str, symbol: str, uri: str, token_program: str,
              fee_recipient: str, dev_buy: tuple[int, int] | None, blockhash: Hash, cu_price: int):
    """create / create_v2, then (dev_buy = (spendable, min_tokens_out)) the dev's ATA and buy, in one tx."""
    creator, mint_key = str(dev.pubkey()), str(mint.pubkey())
    if token_program == P.TOKEN_2022:
        create_ix = B.instruction_for(PumpCreateV2(mint_key, creator, name, symbol, uri, creator,
                                                   is_mayhem_mode=False))
    else:
        create_ix = B.instruction_for(PumpCreate(mint_key, creator, name, symbol, uri, creator))
    ixs = _budget(CU_CREATE, cu_price) + [create_ix]
    if dev_buy is not None:
        ixs.append(B.create_ata_idempotent(dev.pubkey(), dev.pubkey(), mint.pubkey(), token_program))
        ixs.append(B.instruction_for(PumpBuyExactSol(mint_key, creator, fee_recipient, dev_buy[0], dev_buy[1],
                                                     creator=creator, token_program=token_program)))
    return B.build_transaction(dev, ixs, blockhash, [mint])


def curve_buy_tx(wallet: Keypair, *, mint: str, creator: str, token_program: str, fee_recipient: str,
                 blockhash: Hash, cu_price: int, spendable: int = 0, min_tokens: int = 0, tokens: int = 0,
                 max_cost: int = 0):
    """buy_exact_sol_in (spendable, min_tokens) or, with tokens > 0, buy (tokens, max_cost); ATA created."""
    user = str(wallet.pubkey())
    if tokens:
        intent = PumpBuy(mint, user, fee_recipient, tokens, max_cost, creator=creator, token_program=token_program)
    else:
        intent = PumpBuyExactSol(mint, user, fee_recipient, spendable, min_tokens, creator=creator,
                                 token_program=token_program)
    return B.build_pump_tx(intent, wallet, blockhash, compute_unit_limit=CU_TRADE,
                           compute_unit_price=cu_price or None)


def curve_sell_tx(wallet: Keypair, *, mint: str, creator: str, token_program: str, fee_recipient: str,
                  amount: int, min_sol: int, blockhash: Hash, cu_price: int, close: bool = False):
    """pump `sell`; with close=True (selling out) the emptied token account is closed for its rent, as
    trading bots do, so long runs do not pile up empty accounts."""
    user = wallet.pubkey()
    intent = PumpSell(mint, str(user), fee_recipient, amount, min_sol, creator=creator, token_program=token_program)
    ixs = _budget(CU_TRADE, cu_price) + [B.instruction_for(intent)]
    if close:
        tp = Pubkey.from_string(token_program)
        ixs.append(close_account(CloseAccountParams(program_id=tp, account=pda.associated_token(user, mint, tp),
                                                    dest=user, owner=user)))
    return B.build_transaction(wallet, ixs, blockhash)


def migrate_tx(authority: Keypair, *, mint: str, token_program: str, blockhash: Hash):
    ix = migrate_instruction(Pubkey.from_string(mint), authority.pubkey(), authority.pubkey(),
                             Pubkey.from_string(token_program))
    if token_program == P.TOKEN_2022:
        # simnet's migrate CPIs into SPL Token (the pool's WSOL side) but lists only the coin's token program
        # among its 25 accounts: for a Token-2022 coin the SPL Token program rides along as a remaining account.
        ix = Instruction(ix.program_id, ix.data, [*ix.accounts, AccountMeta(TOKEN, False, False)])
    return B.build_transaction(authority, [B.set_compute_unit_limit(CU_MIGRATE), ix], blockhash)


def _wsol_account(owner: Pubkey) -> Pubkey:
    return pda.associated_token(owner, WSOL, TOKEN)


def _swap_accounts(ps: PoolState, user: Pubkey, fee_recipient: str) -> dict:
    p = ps.pool
    return dict(pool=ps.key, user=user, base_mint=p.base_mint, pool_base_token_account=p.pool_base_token_account,
                pool_quote_token_account=p.pool_quote_token_account, protocol_fee_recipient=fee_recipient,
                coin_creator=p.coin_creator, quote_mint=p.quote_mint, base_token_program=ps.base_token_program,
                quote_token_program=P.TOKEN)


def swap_buy_tx(wallet: Keypair, ps: PoolState, *, spendable: int, min_base: int, fee_recipient: str,
                blockhash: Hash, cu_price: int):
    """Wrap `spendable` lamports into the user's WSOL account, buy_exact_quote_in, unwrap what is left."""
    user = wallet.pubkey()
    wsol = _wsol_account(user)
    ixs = _budget(CU_SWAP, cu_price) + [
        B.create_ata_idempotent(user, user, ps.pool.base_mint, ps.base_token_program),
        B.create_ata_idempotent(user, user, WSOL, TOKEN),
        transfer(TransferParams(from_pubkey=user, to_pubkey=wsol, lamports=spendable)),
        sync_native(SyncNativeParams(program_id=TOKEN, account=wsol)),
        B.pumpswap_buy_exact_quote_in(spendable_quote_in=spendable, min_base_amount_out=min_base,
                                      **_swap_accounts(ps, user, fee_recipient)),
        close_account(CloseAccountParams(program_id=TOKEN, account=wsol, dest=user, owner=user)),
    ]
    return B.build_transaction(wallet, ixs, blockhash)


def swap_sell_tx(wallet: Keypair, ps: PoolState, *, amount: int, min_quote: int, fee_recipient: str,
                 blockhash: Hash, cu_price: int):
    user = wallet.pubkey()
    wsol = _wsol_account(user)
    ixs = _budget(CU_SWAP, cu_price) + [
        B.create_ata_idempotent(user, user, WSOL, TOKEN),
        B.pumpswap_sell(base_amount_in=amount, min_quote_amount_out=min_quote,
                        **_swap_accounts(ps, user, fee_recipient)),
        close_account(CloseAccountParams(program_id=TOKEN, account=wsol, dest=user, owner=user)),
    ]
    return B.build_transaction(wallet, ixs, blockhash)
