"""Shared fixtures: the hand-made tiny instance, the embedded default and the real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
TINY = TESTS / "fixtures" / "tiny"
BROKEN = TESTS / "broken"


def shared_data_dir() -> Path:
    """``../shared/data`` beside the project, or $ASIELPLAN_SHARED_DATA."""
    env = os.environ.get("ASIELPLAN_SHARED_DATA")
    return Path(env) if env else TESTS.parent.parent / "shared" / "data"


@pytest.fixture
def tiny_path() -> Path:
    """The 4-municipality, 5-household instance of tests/fixtures/tiny."""
    return TINY


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder; in CI (CI=true) its absence is a failure, elsewhere a skip."""
    path = shared_data_dir()
    if not (path / "nl_gemeenten_2024.csv").is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the real data is missing at {path}")
        pytest.skip(f"real data not found at {path} (set ASIELPLAN_SHARED_DATA)")
    return path
