"""Is a token safe to buy? A pure verdict from what the analyzer knows, with one stable reason per failure.

Reasons (each a short machine string; a verdict is safe exactly when it has none):
  mint_authority_active         someone can still mint (AnalysisConfig.require_mint_authority_revoked)
  freeze_authority_active       someone can freeze holders' accounts (require_freeze_authority_revoked)
  risky_extension:<name>        Token-2022 transfer_fee, mint_close_authority, permanent_delegate, transfer_hook,
                                pausable, default_account_state, non_transferable
  mint_info_unknown             no mint account read yet, and the launch did not come from a launchpad that
                                revokes authorities by construction (AnalysisConfig.trusted_launchpads)
  unknown_token_program         the mint is owned by neither SPL Token nor Token-2022
  top5_concentration            the five largest non-curve holders own more than max_top5_holder_share of supply
  low_initial_liquidity         the pool/curve started with less than min_initial_liquidity_sol
  lp_not_burned                 an AMM pool whose LP burn is known and below min_lp_burned_share
  creator_blacklisted           the creator is on the blacklist
  dev_dump                      the creator sold more than max_dev_sell_share of what it bought
  rugged                        liquidity collapsed from its peak (see TokenState)
  bad_metadata:<what>           hostile name/symbol/uri (see metadata.py)

Mint accounts are passed as any object with `mint_authority`, `freeze_authority` (None when revoked) and
optional `supply`, `program`, `extensions` (Token-2022 TLV (type, data) pairs or names) and boolean risky-flag
attributes (`transfer_fee`, ... as on pipelines.chain.mint.MintInfo). They are folded into a small bit mask
(`mint_flags`) so thousands of token states carry one int instead of the account.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipelines.chain.programs import TOKEN, TOKEN_2022
from pipelines.config import AnalysisConfig
from pipelines.messages import SafetyVerdict

LAMPORTS_PER_SOL = 1_000_000_000

# mint_flags bits
KNOWN = 1
MINT_AUTHORITY = 1 << 1
FREEZE_AUTHORITY = 1 << 2
UNKNOWN_PROGRAM = 1 << 3
# Token-2022 extensions a buyer must avoid: (bit, name, extension type number in spl-token-2022)
RISKY_EXTENSIONS = (
    (1 << 4, "transfer_fee", 1),
    (1 << 5, "mint_close_authority", 3),
    (1 << 6, "default_account_state", 6),
    (1 << 7, "non_transferable", 9),
    (1 << 8, "permanent_delegate", 12),
    (1 << 9, "transfer_hook", 14),
    (1 << 10, "pausable", 26),
)
RISKY_MASK = sum(bit for bit, _, _ in RISKY_EXTENSIONS)
_EXT_BY_TYPE = {code: (bit, name) for bit, name, code in RISKY_EXTENSIONS}
_EXT_BY_NAME = {name.replace("_", ""): bit for bit, name, _ in RISKY_EXTENSIONS}
# names that also show up for the same extensions (spl-token-2022 ExtensionType spellings)
_EXT_BY_NAME.update({"transferfeeconfig": 1 << 4, "nontransferable": 1 << 7})


def _ext_bit(ext) -> int:
    """One `extensions` entry: an int type, a (type, data) pair, or a name like "TransferHook"."""
    if isinstance(ext, tuple) and ext:
        ext = ext[0]
    if isinstance(ext, int):
        return _EXT_BY_TYPE.get(ext, (0, ""))[0]
    if isinstance(ext, str):
        return _EXT_BY_NAME.get(ext.replace("_", "").replace("-", "").lower(), 0)
    return 0


def mint_flags(info) -> int:
    """Fold a mint account (duck-typed MintInfo) into a bit mask; never raises on odd objects."""
    flags = KNOWN
    if getattr(info, "mint_authority", None) is not None:
        flags |= MINT_AUTHORITY
    if getattr(info, "freeze_authority", None) is not None:
        flags |= FREEZE_AUTHORITY
    program = getattr(info, "program", None)
    if isinstance(program, str) and program not in (TOKEN, TOKEN_2022):
        flags |= UNKNOWN_PROGRAM
    for bit, name, _ in RISKY_EXTENSIONS:
        if getattr(info, name, False) is True:
            flags |= bit
    try:
        for ext in getattr(info, "extensions", ()) or ():
            flags |= _ext_bit(ext)
    except TypeError:
        pass
    return flags


@dataclass(frozen=True, slots=True)
class SafetyRules:
    """AnalysisConfig's safety thresholds, prepared once per shard (the blacklist as a set)."""
    require_mint_authority_revoked: bool = True
    require_freeze_authority_revoked: bool = True
    max_top5_holder_share: float = 0.30
    min_initial_liquidity_lamports: int = 0
    max_dev_sell_share: float = 0.5
    min_lp_burned_share: float = 0.9
    creator_blacklist: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, cfg: AnalysisConfig, extra_blacklist=()) -> SafetyRules:
        return cls(
            require_mint_authority_revoked=cfg.require_mint_authority_revoked,
            require_freeze_authority_revoked=cfg.require_freeze_authority_revoked,
            max_top5_holder_share=cfg.max_top5_holder_share,
            min_initial_liquidity_lamports=int(cfg.min_initial_liquidity_sol * LAMPORTS_PER_SOL),
            max_dev_sell_share=cfg.max_dev_sell_share,
            min_lp_burned_share=cfg.min_lp_burned_share,
            creator_blacklist=frozenset(cfg.creator_blacklist) | frozenset(extra_blacklist),
        )


def mint_reasons(flags: int, rules: SafetyRules, trusted_launch: bool = False) -> list[str]:
    """The mint-account part of a verdict (also what the sniper checks when a mint read is at hand)."""
    out: list[str] = []
    if not flags & KNOWN:
        if not trusted_launch:
            out.append("mint_info_unknown")
        return out
    if flags & MINT_AUTHORITY and rules.require_mint_authority_revoked:
        out.append("mint_authority_active")
    if flags & FREEZE_AUTHORITY and rules.require_freeze_authority_revoked:
        out.append("freeze_authority_active")
    if flags & UNKNOWN_PROGRAM:
        out.append("unknown_token_program")
    if flags & RISKY_MASK:
        out.extend("risky_extension:" + name for bit, name, _ in RISKY_EXTENSIONS if flags & bit)
    return out


def assess(rules: SafetyRules | AnalysisConfig, *, mint_info=None, flags: int | None = None,
           trusted_launch: bool = False, top5_share: float | None = None,
           initial_liquidity_lamports: int | None = None, creator: str = "", dev_sell_share: float = 0.0,
           metadata_problems: tuple[str, ...] = (), lp_burned_share: float | None = None,
           rugged: bool = False) -> SafetyVerdict:
    """The verdict. Unknown inputs (None) are not held against the token, except the mint account itself,
    which must be read (or come from a trusted launchpad's create). Pass `mint_info` or its `flags`."""
    if isinstance(rules, AnalysisConfig):
        rules = SafetyRules.from_config(rules)
    if flags is None:
        flags = mint_flags(mint_info) if mint_info is not None else 0
    reasons = mint_reasons(flags, rules, trusted_launch)
    if top5_share is not None and top5_share > rules.max_top5_holder_share:
        reasons.append("top5_concentration")
    if initial_liquidity_lamports is not None and initial_liquidity_lamports < rules.min_initial_liquidity_lamports:
        reasons.append("low_initial_liquidity")
    if lp_burned_share is not None and lp_burned_share < rules.min_lp_burned_share:
        reasons.append("lp_not_burned")
    if creator and creator in rules.creator_blacklist:
        reasons.append("creator_blacklisted")
    if dev_sell_share > rules.max_dev_sell_share:
        reasons.append("dev_dump")
    if rugged:
        reasons.append("rugged")
    reasons.extend(metadata_problems)
    return SafetyVerdict(not reasons, tuple(reasons))
