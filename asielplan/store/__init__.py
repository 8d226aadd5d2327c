"""The plan store: one planning period's municipalities, households, runs, proposals,
decisions, users and audit log in a database (SQLite by default, PostgreSQL for a shared
installation), with Alembic migrations (docs/workbench.md)."""
