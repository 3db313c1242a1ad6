"""The committed simnet recording (data/sample), loaded once per module that asks for it."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.backtest.market import ChainFees
from pipelines.recording import load_recording

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.exists():
        pytest.skip("data/sample is missing")
    rec = load_recording(SAMPLE)
    return rec, ChainFees.from_meta(rec.meta, rec.events)
