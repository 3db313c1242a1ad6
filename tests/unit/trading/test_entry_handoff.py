"""The packed entry (pipelines/risk/handoff.py) the RiskSupervisor passes on to the Executor untouched."""
from __future__ import annotations

import pickle

import pytest

from pipelines.chain.events import Launch, Trade
from pipelines.risk.handoff import EntryRequest, pack, unpack
from tests.unit.trading.factories import SOL, T0, opp


def _launch() -> Launch:
    return Launch(venue="pumpfun", signature="sig1", slot=7, mint="MINT", bonding_curve="CURVE", creator="CREATOR",
                  name="Coin", symbol="CN", uri="u", token_program="TOKEN", quote_mint="WSOL",
                  virtual_sol_reserves=30 * SOL, seq=3)


def test_a_sniper_entry_comes_out_as_it_went_in():
    launch = _launch()
    trade = Trade(venue="pumpfun", signature="sig1", slot=7, mint="MINT", side="buy", sol_amount=SOL,
                  token_amount=10**12, user="CREATOR", quote_mint="WSOL", quote_amount=SOL, timestamp=0,
                  virtual_sol_reserves=31 * SOL, virtual_token_reserves=10**15, real_sol_reserves=SOL,
                  real_token_reserves=10**14, seq=4)
    request = EntryRequest(opp("MINT", SOL, T0, strategy="sniper"), T0 - 0.02, launch, trade)
    back = unpack(pack(request))
    assert back == request and back.detected_at == T0 - 0.02
    assert back.launch == launch and back.creator_trade == trade
    assert type(back.opportunity) is type(request.opportunity)


def test_a_momentum_entry_has_no_detection_or_event():
    back = unpack(pack(EntryRequest(opp("MINT", SOL, T0))))
    assert (back.detected_at, back.launch, back.creator_trade) == (0.0, None, None)


def test_anything_else_is_refused():
    with pytest.raises(TypeError):
        unpack(pickle.dumps(("not", "an", "entry")))
