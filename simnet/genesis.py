"""simnet's genesis: program accounts, sysvars, the WSOL mint, pump's Global and fee config, PumpSwap's global
config and fee config, and a faucet. Keys simnet must sign with (faucet, migration authority, admins) are
derived from the seed, so a given seed always builds the same chain.

Values are mainnet's where we know them: the pump Global numbers and fee recipients (fixture
global_account.json), the PumpSwap fee tiers (fixture fee_config_account.json). pump's own FeeConfig is not
in the fixtures: it gets one tier, 0.95% protocol + 0.30% creator (PROTOCOL.md), which covers the whole
curve (its market cap never reaches mainnet's first PumpSwap threshold, 420 SOL). The withdraw authority is a
simnet key (mainnet's cannot sign here).
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import FeeConfig, Fees, FeeTier, encode_fee_config
from pipelines.chain.pump_state import Global, encode_global

from .accounts import Record, rent_exempt_minimum
from .programs import pumpswap, token

LAMPORTS_PER_SOL = 1_000_000_000
FAUCET_LAMPORTS = 100_000_000 * LAMPORTS_PER_SOL

NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
BPF_LOADER_2 = Pubkey.from_string("BPFLoader2111111111111111111111111111111111")
BPF_UPGRADEABLE = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")

# mainnet pump Global (fixture global_account.json)
PUMP_GLOBAL_AUTHORITY = "FFWtrEQ4B4PKQoVuHYzZq8FabGkVatYzDpEVHsK5rrhF"
PUMP_FEE_RECIPIENT = "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV"
PUMP_FEE_RECIPIENTS = (
    "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ", "7hTckgnGnLQR6sdH7YkqFTAA7VwTfYFaZ6EhEsU3saCX",
    "9rPYyANsfQZw3DnDmKE3YCQF5E8oD89UXoHn9JFEhJUz", "AVmoTthdrX6tKt4nDjco2D775W2YK3sDhxPcMmzUAmTY",
    "CebN5WGQ4jvEPvsVU4EoHEpgzq1VV7AbicfhtW4xC9iM", "FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz",
    "G5UZAVbAf46s7cKWoyKu8kYTip9DGTpbLZ2qa9Aq69dP",
)
INITIAL_VIRTUAL_TOKEN_RESERVES = 1_073_000_000_000_000
INITIAL_VIRTUAL_SOL_RESERVES = 30_000_000_000
INITIAL_REAL_TOKEN_RESERVES = 793_100_000_000_000
TOKEN_TOTAL_SUPPLY = 1_000_000_000_000_000
FEE_BASIS_POINTS = 95
CREATOR_FEE_BASIS_POINTS = 5
POOL_MIGRATION_FEE = 15_000_001

# pump's curve fee config (see the module docstring)
CURVE_FEES = Fees(lp_fee_bps=0, protocol_fee_bps=95, creator_fee_bps=30)

# mainnet PumpSwap FeeConfig (fixture fee_config_account.json): flat fees and the market-cap tiers
AMM_FLAT_FEES = Fees(25, 5, 0)
AMM_FEE_TIERS = tuple(FeeTier(sol * LAMPORTS_PER_SOL, Fees(lp, protocol, creator)) for sol, lp, protocol, creator in (
    (0, 2, 93, 30), (420, 20, 5, 95), (1470, 20, 5, 90), (2460, 20, 5, 85), (3440, 20, 5, 80), (4420, 20, 5, 75),
    (9820, 20, 5, 70), (14740, 20, 5, 65), (19650, 20, 5, 60), (24560, 20, 5, 55), (29470, 20, 5, 50),
    (34380, 20, 5, 45), (39300, 20, 5, 40), (44210, 20, 5, 35), (49120, 20, 5, 30), (54030, 20, 5, 28),
    (58940, 20, 5, 25), (63860, 20, 5, 23), (68770, 20, 5, 20), (73681, 20, 5, 18), (78590, 20, 5, 15),
    (83500, 20, 5, 13), (88400, 20, 5, 10), (93330, 20, 5, 8), (98240, 20, 5, 5)))
AMM_LP_FEE_BPS, AMM_PROTOCOL_FEE_BPS, AMM_CREATOR_FEE_BPS = 20, 5, 5   # GlobalConfig flat rates


def _keypair(seed: int, name: str) -> Keypair:
    return Keypair.from_seed(hashlib.sha256(f"simnet:{seed}:{name}".encode()).digest())


@dataclass(frozen=True)
class Genesis:
    accounts: dict[Pubkey, Record]
    faucet: Keypair
    migration_authority: Keypair        # pump Global.withdraw_authority: signs `migrate`
    pump_admin: Keypair                 # pump Global.authority in simnet
    amm_admin: Keypair                  # PumpSwap GlobalConfig.admin
    fee_admin: Keypair                  # FeeConfig admin
    pump_global: Global
    amm_protocol_fee_recipients: tuple[str, ...]


def _program(owner: Pubkey) -> Record:
    return Record(1_141_440, b"", owner, True)


def _data_account(data: bytes, owner: Pubkey) -> Record:
    return Record(rent_exempt_minimum(len(data)), data, owner)


def build_genesis(seed: int = 7) -> Genesis:
    faucet = _keypair(seed, "faucet")
    migration = _keypair(seed, "migration-authority")
    pump_admin = _keypair(seed, "pump-admin")
    amm_admin = _keypair(seed, "pump-amm-admin")
    fee_admin = _keypair(seed, "fee-admin")
    amm_recipients = tuple(str(_keypair(seed, f"pump-amm-fee-recipient-{i}").pubkey()) for i in range(8))
    pk = Pubkey.from_string
    accounts: dict[Pubkey, Record] = {}

    for program in (P.SYSTEM, P.COMPUTE_BUDGET, "AddressLookupTab1e1111111111111111111111111"):
        accounts[pk(program)] = Record(1, program.encode(), NATIVE_LOADER, True)
    for program in (P.TOKEN, P.TOKEN_2022, P.ASSOCIATED_TOKEN):
        accounts[pk(program)] = _program(BPF_LOADER_2)
    for program in (P.PUMP, P.PUMP_AMM, P.PUMP_FEES, P.METAPLEX_METADATA, P.PUMP_MAYHEM):
        accounts[pk(program)] = _program(BPF_UPGRADEABLE)

    # Rent sysvar: lamports_per_byte_year 3480, exemption_threshold 2.0, burn_percent 50
    accounts[pk(P.RENT_SYSVAR)] = _data_account(struct.pack("<QdB", 3480, 2.0, 50), SYSVAR_OWNER)
    accounts[token.NATIVE_MINT] = _data_account(token.encode_mint(None, 0, 9), token.TOKEN_ID)

    g = Global(
        initialized=True, authority=str(pump_admin.pubkey()), fee_recipient=PUMP_FEE_RECIPIENT,
        initial_virtual_token_reserves=INITIAL_VIRTUAL_TOKEN_RESERVES,
        initial_virtual_sol_reserves=INITIAL_VIRTUAL_SOL_RESERVES,
        initial_real_token_reserves=INITIAL_REAL_TOKEN_RESERVES, token_total_supply=TOKEN_TOTAL_SUPPLY,
        fee_basis_points=FEE_BASIS_POINTS, withdraw_authority=str(migration.pubkey()), enable_migrate=True,
        pool_migration_fee=POOL_MIGRATION_FEE, creator_fee_basis_points=CREATOR_FEE_BASIS_POINTS,
        fee_recipients=PUMP_FEE_RECIPIENTS,
    )
    global_data = bytearray(encode_global(g))
    # after fee_recipients (@386): set_creator_authority, admin_set_creator_authority, create_v2_enabled
    global_data[386:418] = bytes(pump_admin.pubkey())
    global_data[418:450] = bytes(pump_admin.pubkey())
    global_data[450] = 1
    accounts[pda.pump_global()] = _data_account(bytes(global_data), pk(P.PUMP))

    fee_program = pk(P.PUMP_FEES)
    curve_cfg = FeeConfig(bump=Pubkey.find_program_address([b"fee_config", bytes(pk(P.PUMP))], fee_program)[1],
                          admin=str(fee_admin.pubkey()), flat_fees=CURVE_FEES,
                          fee_tiers=(FeeTier(0, CURVE_FEES),))
    accounts[pda.fee_config(P.PUMP)] = _data_account(encode_fee_config(curve_cfg), fee_program)
    amm_cfg = FeeConfig(bump=Pubkey.find_program_address([b"fee_config", bytes(pk(P.PUMP_AMM))], fee_program)[1],
                        admin=str(fee_admin.pubkey()), flat_fees=AMM_FLAT_FEES, fee_tiers=AMM_FEE_TIERS)
    accounts[pda.fee_config(P.PUMP_AMM)] = _data_account(encode_fee_config(amm_cfg), fee_program)

    gc = pumpswap.GlobalConfig(admin=str(amm_admin.pubkey()), lp_fee_basis_points=AMM_LP_FEE_BPS,
                               protocol_fee_basis_points=AMM_PROTOCOL_FEE_BPS, disable_flags=0,
                               protocol_fee_recipients=amm_recipients,
                               coin_creator_fee_basis_points=AMM_CREATOR_FEE_BPS)
    accounts[pumpswap.GLOBAL_CONFIG_KEY] = _data_account(pumpswap.encode_global_config(gc), pk(P.PUMP_AMM))

    accounts[faucet.pubkey()] = Record(FAUCET_LAMPORTS)
    accounts[migration.pubkey()] = Record(1_000 * LAMPORTS_PER_SOL)
    return Genesis(accounts, faucet, migration, pump_admin, amm_admin, fee_admin, g, amm_recipients)
