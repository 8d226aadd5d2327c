"""Alembic migrations of the plan store (run by :func:`asielplan.store.db.upgrade`)."""
