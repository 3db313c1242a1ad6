"""Latency in a replay: which slot a decision acts on and which slot's state an order fills against.

fills.LatencyModel holds the delays in slots:
    detection_slots      events of slot s reach the pipeline (analysis, scoring, exits) at slot s + detection
    send_to_land_slots   an order sent at decision slot d lands at d + send_to_land (+ 0..jitter with an rng)
An order fills against the replayed state at the END of its landing slot (every recorded transaction of that
slot before it: we cannot know where in the slot it would have landed, and last is the cautious choice for an
entry chasing momentum). With both delays 0 the order fills against the state the decision saw, which is what
paper trading does live (fill at the freshest state).

The simulated clock is slot time: now(slot) = t0 + (slot - slot0) * slot_ms / 1000, anchored at the first
event of the stream (t0 = its receive time when recorded, so daily statistics fall on the right dates). It
does not depend on how fast a recording was made (simnet can run faster than real time), and a delay in slots
is a delay in seconds on it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pathlib import Path

from pipelines.config import ExecutionConfig
from pipelines.fills import LatencyModel
from pipelines.recording import read_meta, stream_start

DEFAULT_SLOT_MS = 400


def latency_from(cfg: ExecutionConfig, slot_ms: int = DEFAULT_SLOT_MS, *, detection_slots: int | None = None,
                 send_to_land_slots: int | None = None, jitter_slots: int = 0) -> LatencyModel:
    """The profile's paper latency in slots (0 ms = no latency at all, unlike LatencyModel.from_config which
    lands on the next slot at least), with explicit slot counts taking precedence."""
    land = math.ceil(cfg.paper_latency_ms / slot_ms) if cfg.paper_latency_ms > 0 else 0
    return LatencyModel(detection_slots=0 if detection_slots is None else int(detection_slots),
                        send_to_land_slots=land if send_to_land_slots is None else int(send_to_land_slots),
                        jitter_slots=int(jitter_slots))


@dataclass(frozen=True, slots=True)
class SlotClock:
    """Slot -> simulated time (seconds since the epoch)."""
    t0: float
    slot0: int
    slot_ms: int = DEFAULT_SLOT_MS

    def __post_init__(self) -> None:
        if self.slot_ms <= 0 or not math.isfinite(self.t0):
            raise ValueError("SlotClock needs a finite t0 and slot_ms > 0")

    def at(self, slot: int) -> float:
        return self.t0 + (slot - self.slot0) * self.slot_ms / 1000.0


def slot_ms_of(meta: dict) -> int:
    """The slot length a recording was made with (meta.json "slot_ms"), else DEFAULT_SLOT_MS."""
    try:
        ms = int((meta or {}).get("slot_ms") or DEFAULT_SLOT_MS)
    except (TypeError, ValueError):
        return DEFAULT_SLOT_MS
    return ms if ms > 0 else DEFAULT_SLOT_MS


def recording_clock(root: Path | str) -> SlotClock:
    """The simulated clock a recording is replayed on, as `launchray backtest` runs it (BacktestEngine with
    t0 = the first event's receive time, slot0 = its slot, slot_ms from meta.json); the actor system's replay
    mode uses the same one. Reads only the ordering columns (cheap enough for every actor to call)."""
    slot, t0 = stream_start(root)
    return SlotClock(t0, slot, slot_ms_of(read_meta(Path(root))))
