"""Sniper: an immediate opportunity for a clean launch, nothing for one that fails an instant check."""
import dataclasses

import pytest

from pipelines.chain.mint import EXT_TRANSFER_HOOK, MintInfo
from pipelines.chain.programs import TOKEN_2022, USDC_MINT
from pipelines.config import AnalysisConfig, ScoringConfig
from pipelines.messages import stable_id
from pipelines.scoring.sniper import Sniper, snipe
from tests.unit.analysis.market import Curve, key

SOL = 1_000_000_000


def test_a_clean_pump_launch_gives_an_immediate_opportunity():
    c = Curve(slot=777)
    launch = c.launch()
    opp = Sniper().on_launch(launch, now=50.0, capital_lamports=SOL // 10)
    assert opp.id == stable_id(c.mint, "sniper", 777)
    assert (opp.mint, opp.strategy, opp.venue) == (c.mint, "sniper", "pumpfun")
    assert (opp.created_at, opp.expires_at) == (50.0, 55.0)             # sniper_ttl_s = 5
    assert opp.capital_lamports == SOL // 10
    assert opp.price == 30_000_000_000 / 1_073_000_000_000_000          # the curve's launch price
    cfg = ScoringConfig()
    assert (opp.score, opp.expected_profit) == (cfg.sniper_score, cfg.sniper_expected_profit)
    assert snipe(launch, 50.0, SOL // 10) == opp


@pytest.mark.parametrize("change,reason", [
    (dict(venue="raydium_launchlab"), "not_a_launchpad"),
    (dict(quote_mint=USDC_MINT), "not_sol_quoted"),
    (dict(token_program="Evi1Program1111111111111111111111111111111"), "unknown_token_program"),
    (dict(is_mayhem_mode=True), "mayhem_mode"),
    (dict(name="\x1b]0;pwned\x07"), "bad_metadata:control_chars"),
    (dict(symbol="S\u202eCAM"), "bad_metadata:bidi"),
    (dict(uri="javascript:alert(1)"), "bad_metadata:uri_scheme"),
    (dict(name="N" * 10_000), "bad_metadata:too_long_name"),
])
def test_instant_checks(change, reason):
    launch = dataclasses.replace(Curve().launch(), **change)
    s = Sniper()
    assert s.check(launch).reasons == (reason,)
    assert s.on_launch(launch, 1.0, SOL) is None


def test_blacklisted_creator():
    c = Curve()
    s = Sniper(analysis=AnalysisConfig(creator_blacklist=(c.creator,)))
    assert s.check(c.launch()).reasons == ("creator_blacklisted",)
    assert s.on_launch(c.launch(), 1.0, SOL) is None
    assert Sniper(extra_blacklist=[c.creator]).on_launch(c.launch(), 1.0, SOL) is None


def test_mint_read_when_at_hand():
    c = Curve(token_program=TOKEN_2022)
    hook = MintInfo(None, 10**15, 6, True, None, program=TOKEN_2022, extensions=((EXT_TRANSFER_HOOK, bytes(64)),))
    assert Sniper().check(c.launch(), hook).reasons == ("risky_extension:transfer_hook",)
    clean = MintInfo(None, 10**15, 6, True, None, program=TOKEN_2022)
    assert Sniper().on_launch(c.launch(), 1.0, SOL, clean) is not None
    minting = MintInfo(key(), 10**15, 6, True, None)
    assert Sniper().on_launch(c.launch(), 1.0, SOL, minting) is None


def test_no_capital_no_opportunity():
    assert Sniper().on_launch(Curve().launch(), 1.0, 0) is None
