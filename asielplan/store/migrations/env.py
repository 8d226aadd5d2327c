"""Alembic's environment: migrate the connection :func:`asielplan.store.db.upgrade`
passes in (never a URL from a file)."""

from __future__ import annotations

from alembic import context

from asielplan.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
