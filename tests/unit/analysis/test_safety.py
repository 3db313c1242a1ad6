"""Safety verdicts: one stable reason per condition, with mint accounts decoded from real byte layouts."""
import pytest

from pipelines.analysis.safety import SafetyRules, assess, mint_flags
from pipelines.analysis.layout import AnalysisParams
from pipelines.analysis.token_state import TokenState
from pipelines.chain.mint import (EXT_METADATA_POINTER, EXT_NON_TRANSFERABLE, EXT_PERMANENT_DELEGATE,
                                  EXT_TRANSFER_FEE_CONFIG, EXT_TRANSFER_HOOK, MintInfo, decode_mint, encode_mint)
from pipelines.chain.programs import TOKEN, TOKEN_2022
from pipelines.config import AnalysisConfig

from .market import SOL, Curve, key

RULES = SafetyRules.from_config(AnalysisConfig())


def account(mint_authority=None, freeze_authority=None, program=TOKEN, extensions=()) -> MintInfo:
    """A mint as read from the chain: encoded to the real account bytes and decoded back."""
    info = MintInfo(mint_authority=mint_authority, supply=10**15, decimals=6, is_initialized=True,
                    freeze_authority=freeze_authority, program=program, extensions=extensions)
    return decode_mint(encode_mint(info), program)


def test_a_revoked_spl_mint_is_safe():
    assert assess(RULES, mint_info=account()) .safe


def test_each_authority_is_its_own_reason():
    v = assess(RULES, mint_info=account(mint_authority=key()))
    assert v.reasons == ("mint_authority_active",)
    v = assess(RULES, mint_info=account(freeze_authority=key()))
    assert v.reasons == ("freeze_authority_active",)
    v = assess(RULES, mint_info=account(key(), key()))
    assert v.reasons == ("mint_authority_active", "freeze_authority_active") and not v.safe


def test_authority_checks_follow_the_config():
    lax = SafetyRules.from_config(AnalysisConfig(require_mint_authority_revoked=False,
                                                 require_freeze_authority_revoked=False))
    assert assess(lax, mint_info=account(key(), key())).safe


@pytest.mark.parametrize("ext,reason", [
    (EXT_TRANSFER_HOOK, "risky_extension:transfer_hook"),
    (EXT_TRANSFER_FEE_CONFIG, "risky_extension:transfer_fee"),
    (EXT_PERMANENT_DELEGATE, "risky_extension:permanent_delegate"),
    (EXT_NON_TRANSFERABLE, "risky_extension:non_transferable"),
])
def test_risky_token_2022_extensions(ext, reason):
    sizes = {EXT_TRANSFER_HOOK: 64, EXT_TRANSFER_FEE_CONFIG: 108, EXT_PERMANENT_DELEGATE: 32,
             EXT_NON_TRANSFERABLE: 0}
    info = account(program=TOKEN_2022, extensions=((ext, bytes(sizes[ext])),))
    assert assess(RULES, mint_info=info).reasons == (reason,)


def test_metadata_extensions_are_not_risky():
    info = account(program=TOKEN_2022, extensions=((EXT_METADATA_POINTER, bytes(64)),))
    assert assess(RULES, mint_info=info).safe


def test_duck_typed_mint_objects_and_extension_names():
    class Info:
        mint_authority = None
        freeze_authority = None
        transfer_hook = False
        pausable = True
        extensions = ["TransferFeeConfig"]

    assert assess(RULES, mint_info=Info()).reasons == ("risky_extension:transfer_fee", "risky_extension:pausable")
    assert mint_flags(object()) == 1          # an object with nothing on it: known, nothing risky, no crash


def test_unread_mint_is_unsafe_unless_the_launch_came_from_a_trusted_launchpad():
    assert assess(RULES).reasons == ("mint_info_unknown",)
    assert assess(RULES, trusted_launch=True).safe
    # a real read always wins over the launchpad's promise
    assert assess(RULES, trusted_launch=True, mint_info=account(key())).reasons == ("mint_authority_active",)


def test_unknown_token_program():
    info = MintInfo(None, 10**15, 6, True, None, program=key())
    assert assess(RULES, mint_info=info).reasons == ("unknown_token_program",)


def test_threshold_reasons():
    rules = SafetyRules.from_config(AnalysisConfig(min_initial_liquidity_sol=2.0, creator_blacklist=("badguy",)))
    ok = dict(mint_info=account(), top5_share=0.30, initial_liquidity_lamports=2 * SOL, creator="someone",
              dev_sell_share=0.5, lp_burned_share=0.9)
    assert assess(rules, **ok).safe                                   # every limit met exactly
    cases = {
        "top5_concentration": dict(top5_share=0.3001),
        "low_initial_liquidity": dict(initial_liquidity_lamports=2 * SOL - 1),
        "lp_not_burned": dict(lp_burned_share=0.89),
        "creator_blacklisted": dict(creator="badguy"),
        "dev_dump": dict(dev_sell_share=0.51),
        "rugged": dict(rugged=True),
        "bad_metadata:bidi": dict(metadata_problems=("bad_metadata:bidi",)),
    }
    for reason, change in cases.items():
        assert assess(rules, **{**ok, **change}).reasons == (reason,), reason


def test_extra_blacklist_from_the_risk_section():
    rules = SafetyRules.from_config(AnalysisConfig(), extra_blacklist=["riskbanned"])
    assert assess(rules, mint_info=account(), creator="riskbanned").reasons == ("creator_blacklisted",)


def test_token_state_combines_mint_read_with_its_own_signals():
    c = Curve(name="gpj\u202eexe.COIN")
    st = TokenState(AnalysisParams.from_config(AnalysisConfig(creator_blacklist=(c.creator,))), c.mint, 0.0)
    st.apply(c.launch(), 0.0)
    st.apply_mint_info(account(freeze_authority=key(), program=TOKEN_2022,
                               extensions=((EXT_TRANSFER_HOOK, bytes(64)),)))
    reasons = st.features(0.0).safety.reasons
    assert reasons == ("freeze_authority_active", "risky_extension:transfer_hook", "creator_blacklisted",
                       "bad_metadata:bidi")
