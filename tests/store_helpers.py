"""The stores the plan-store and workbench tests run on: SQLite always, PostgreSQL when
ASIELPLAN_TEST_POSTGRES names a database (.ci/run starts one; in CI it must). Under
pytest-xdist each worker has a database of its own beside it (``<name>_gw0``, ...), as
each test empties the one it uses."""

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
    url = worker_database(POSTGRES)
    engine = create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def worker_database(url: str) -> str:
    """``url`` itself, or under pytest-xdist the database ``<name>_<worker>`` on the same
    server (made when missing)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    server, name = url.rsplit("/", 1)
    own = f"{name}_{worker}"
    admin = create_engine(
        "postgresql+psycopg://" + url.split("://", 1)[1], isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own}
        ).scalar()
        if not found:
            connection.execute(text(f'CREATE DATABASE "{own}"'))
    admin.dispose()
    return f"{server}/{own}"
