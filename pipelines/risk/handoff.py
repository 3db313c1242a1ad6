"""The entry the Orchestrator hands to the RiskSupervisor, which hands it on, as received, to the Executor.

It crosses two processes on the way to the send, so it travels packed: one `bytes` argument, pickled once by
the Orchestrator (C pickle) and passed on untouched by the RiskSupervisor. Ray serialises each argument of a
call through its own pickler, with a fixed cost per argument and a Python-level hook per object; on the 2-core
VM a call with the opportunity, the create event and its trade as separate arguments cost ~0.3-0.5 ms more to
send, on each of the two hops, than the same values as one packed argument.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass

from pipelines.chain.events import Launch, Trade
from pipelines.messages import Opportunity


@dataclass(frozen=True, slots=True)
class EntryRequest:
    opportunity: Opportunity
    detected_at: float = 0.0            # when Ingest received the create notification (sniper), else 0
    launch: Launch | None = None        # sniper: the create event, the curve is planned on without a read
    creator_trade: Trade | None = None  # sniper: the last trade of its create transaction


def pack(request: EntryRequest) -> bytes:
    return pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(packed: bytes) -> EntryRequest:
    request = pickle.loads(packed)
    if not isinstance(request, EntryRequest):
        raise TypeError(f"not a packed EntryRequest: {type(request).__name__}")
    return request
