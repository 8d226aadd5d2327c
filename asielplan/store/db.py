"""Opening the plan store: an engine for a URL (SQLite by default, PostgreSQL with
psycopg 3), migrated to the newest schema by Alembic on every open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from asielplan.errors import ConfigError

DEFAULT_URL = "sqlite:///asielplan.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"


def engine_for(url: str) -> Engine:
    """An engine for ``url``: ``sqlite:///FILE`` (foreign keys on) or
    ``postgresql://...`` (driven by psycopg 3). Another scheme is a ConfigError."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _foreign_keys(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql+psycopg://"):
        return create_engine(url, pool_pre_ping=True)
    raise ConfigError(
        f"--db {url.split('://', 1)[0]}://...: use sqlite:///FILE or postgresql://USER@HOST/DB"
    )


def upgrade(engine: Engine) -> None:
    """Migrate the store to the newest schema (Alembic, ``asielplan/store/migrations``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_store(url: str) -> Engine:
    """The store at ``url``, migrated."""
    engine = engine_for(url)
    upgrade(engine)
    return engine


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed as a whole, or not at all on an error."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        yield s
