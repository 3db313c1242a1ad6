"""Shared fixtures. Ray starts once per test session, only when a test asks for it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"


def load_fixture(rel: str):
    return json.loads((FIXTURES / rel).read_text())


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.exists():
        pytest.skip("shared/fixtures is not beside the checkout")
    return FIXTURES


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole test session (ray.init takes ~5 s here)."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from pipelines.analysis.trade_batch import warm_cache
    warm_cache()            # compiled here once (a clean clone: ~15 s); the shards then load it from disk
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, namespace="launchray-test", include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
