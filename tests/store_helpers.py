"""The stores the plan-store and workbench tests run on: SQLite always, PostgreSQL when
ASIELPLAN_TEST_POSTGRES names a database (.ci/run starts one; in CI it must)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES = os.environ.get("ASIELPLAN_TEST_POSTGRES")
BACKENDS = ["sqlite", "postgresql"]


def store_url(backend: str, tmp_path: Path) -> str:
    """A fresh, empty store of ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    if not POSTGRES:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but ASIELPLAN_TEST_POSTGRES is not set (.ci/run sets it)")
        pytest.skip("PostgreSQL: set ASIELPLAN_TEST_POSTGRES=postgresql://USER@HOST:PORT/DB")
    engine = create_engine("postgresql+psycopg://" + POSTGRES.split("://", 1)[1])
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return POSTGRES
