"""Program-derived addresses for pump.fun, PumpSwap, the fee program, Metaplex and Raydium.

Seeds come from the official IDLs in shared/idl (pump 2.0.0, pump_amm 1.20.0, pump_fees 2.0.0); every function
accepts base58 str or solders Pubkey and returns a solders Pubkey. Derivation walks bumps from 255 down, so
results are cached: the same mints, users and pools come back constantly on a hot path.
"""
from __future__ import annotations

from functools import lru_cache

from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address

from . import programs as P

PubkeyLike = str | Pubkey

_CACHE = 65_536


def to_pubkey(key: PubkeyLike) -> Pubkey:
    """A solders Pubkey from a Pubkey or base58 str (ValueError on bad input)."""
    return key if isinstance(key, Pubkey) else Pubkey.from_string(key)


@lru_cache(maxsize=256)
def _parse(address: str) -> Pubkey:
    return Pubkey.from_string(address)


def _program(program: PubkeyLike) -> Pubkey:
    return _parse(program) if isinstance(program, str) else program


@lru_cache(maxsize=_CACHE)
def _find(seeds: tuple[bytes, ...], program: Pubkey) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), program)[0]


def find(seeds: tuple[bytes, ...], program: PubkeyLike) -> Pubkey:
    """Cached Pubkey.find_program_address (address only)."""
    return _find(seeds, _program(program))


# --- SPL ---

@lru_cache(maxsize=_CACHE)
def _ata(owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    return get_associated_token_address(owner, mint, token_program)


def associated_token(owner: PubkeyLike, mint: PubkeyLike, token_program: PubkeyLike = P.TOKEN) -> Pubkey:
    """Associated token account of `owner` for `mint` under `token_program` (SPL Token or Token-2022)."""
    return _ata(to_pubkey(owner), to_pubkey(mint), to_pubkey(token_program))


def metadata(mint: PubkeyLike) -> Pubkey:
    """Metaplex metadata account: ["metadata", metaplex program id, mint]."""
    meta = _program(P.METAPLEX_METADATA)
    return _find((b"metadata", bytes(meta), bytes(to_pubkey(mint))), meta)


# --- pump.fun (bonding curve program) ---

def pump_global() -> Pubkey:
    return _find((b"global",), _program(P.PUMP))


def bonding_curve(mint: PubkeyLike) -> Pubkey:
    return _find((b"bonding-curve", bytes(to_pubkey(mint))), _program(P.PUMP))


def bonding_curve_v2(mint: PubkeyLike) -> Pubkey:
    """["bonding-curve-v2", mint]: not in the shared 2.0.0 IDL; later program versions ask for it as a
    remaining account of buy/sell (see the builders' `remaining` argument)."""
    return _find((b"bonding-curve-v2", bytes(to_pubkey(mint))), _program(P.PUMP))


def associated_bonding_curve(mint: PubkeyLike, token_program: PubkeyLike = P.TOKEN) -> Pubkey:
    return associated_token(bonding_curve(mint), mint, token_program)


def creator_vault(creator: PubkeyLike) -> Pubkey:
    return _find((b"creator-vault", bytes(to_pubkey(creator))), _program(P.PUMP))


def mint_authority() -> Pubkey:
    return _find((b"mint-authority",), _program(P.PUMP))


def event_authority(program: PubkeyLike = P.PUMP) -> Pubkey:
    """Anchor #[event_cpi] authority ["__event_authority"] of `program` (pump by default)."""
    return _find((b"__event_authority",), _program(program))


def global_volume_accumulator(program: PubkeyLike = P.PUMP) -> Pubkey:
    return _find((b"global_volume_accumulator",), _program(program))


def user_volume_accumulator(user: PubkeyLike, program: PubkeyLike = P.PUMP) -> Pubkey:
    return _find((b"user_volume_accumulator", bytes(to_pubkey(user))), _program(program))


def fee_config(program: PubkeyLike = P.PUMP) -> Pubkey:
    """The fee program's FeeConfig for `program`: ["fee_config", program id] under PUMP_FEES."""
    return _find((b"fee_config", bytes(_program(program))), _program(P.PUMP_FEES))


def pool_authority(mint: PubkeyLike) -> Pubkey:
    """pump's ["pool-authority", mint]: the `creator` of the canonical PumpSwap pool made by migrate."""
    return _find((b"pool-authority", bytes(to_pubkey(mint))), _program(P.PUMP))


# --- Mayhem program (create_v2) ---

def mayhem_global_params() -> Pubkey:
    return _find((b"global-params",), _program(P.PUMP_MAYHEM))


def mayhem_sol_vault() -> Pubkey:
    return _find((b"sol-vault",), _program(P.PUMP_MAYHEM))


def mayhem_state(mint: PubkeyLike) -> Pubkey:
    return _find((b"mayhem-state", bytes(to_pubkey(mint))), _program(P.PUMP_MAYHEM))


def mayhem_token_vault(mint: PubkeyLike) -> Pubkey:
    """Token-2022 ATA of the mayhem sol_vault for `mint` (pump-public-docs COIN_CREATION.md #14)."""
    return associated_token(mayhem_sol_vault(), mint, P.TOKEN_2022)


# --- PumpSwap (pump_amm) ---

def pumpswap_pool(index: int, creator: PubkeyLike, base_mint: PubkeyLike, quote_mint: PubkeyLike) -> Pubkey:
    """["pool", index u16 LE, creator, base_mint, quote_mint] under PUMP_AMM (create_pool in the IDL)."""
    if not 0 <= index <= 0xFFFF:
        raise ValueError(f"pool index {index} is not a u16")
    return _find((b"pool", index.to_bytes(2, "little"), bytes(to_pubkey(creator)), bytes(to_pubkey(base_mint)),
                  bytes(to_pubkey(quote_mint))), _program(P.PUMP_AMM))


def canonical_pumpswap_pool(mint: PubkeyLike, quote_mint: PubkeyLike = P.WSOL_MINT) -> Pubkey:
    """The pool pump's migrate creates: index 0, creator = pool_authority(mint)."""
    return pumpswap_pool(0, pool_authority(mint), mint, quote_mint)


def pumpswap_global_config() -> Pubkey:
    return _find((b"global_config",), _program(P.PUMP_AMM))


def pumpswap_lp_mint(pool: PubkeyLike) -> Pubkey:
    return _find((b"pool_lp_mint", bytes(to_pubkey(pool))), _program(P.PUMP_AMM))


def pumpswap_creator_vault_authority(coin_creator: PubkeyLike) -> Pubkey:
    """["creator_vault", pool.coin_creator] under PUMP_AMM (underscore, unlike pump's "creator-vault")."""
    return _find((b"creator_vault", bytes(to_pubkey(coin_creator))), _program(P.PUMP_AMM))


# --- Raydium AMM v4 ---

def raydium_amm_authority() -> Pubkey:
    return _find((b"amm authority",), _program(P.RAYDIUM_AMM_V4))
