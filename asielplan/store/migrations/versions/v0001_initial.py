"""The plan store's first schema: periods, base files, municipalities, intakes,
households, members, runs and their files, proposals, decisions, users, login attempts
and the audit log."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

ID = 64


def upgrade() -> None:
    op.create_table(
        "period",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(16), nullable=False, unique=True),
        sa.Column("national", sa.Integer, nullable=False),
        sa.Column("scheme", sa.String(40), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "base_file",
        sa.Column("period_id", sa.Integer, sa.ForeignKey("period.id"), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "municipality",
        sa.Column("period_id", sa.Integer, sa.ForeignKey("period.id"), primary_key=True),
        sa.Column("code", sa.String(ID), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("taakstelling", sa.Integer, nullable=False),
        sa.Column("achterstand", sa.Integer, nullable=False),
    )
    op.create_table(
        "intake",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period_id", sa.Integer, sa.ForeignKey("period.id"), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("user", sa.String(ID), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "household",
        sa.Column("period_id", sa.Integer, sa.ForeignKey("period.id"), primary_key=True),
        sa.Column("household_id", sa.String(ID), primary_key=True),
        sa.Column("intake_id", sa.Integer, sa.ForeignKey("intake.id"), nullable=False),
        sa.Column("persons", sa.Integer, nullable=False),
        sa.Column("adults", sa.Integer, nullable=False),
        sa.Column("children", sa.Integer, nullable=False),
        sa.Column("site_id", sa.String(ID), nullable=True),
        sa.Column("tie_kind", sa.String(16), nullable=True),
        sa.Column("tie_municipality", sa.String(ID), nullable=True),
        sa.Column("tie_radius_km", sa.Float, nullable=True),
    )
    op.create_table(
        "member",
        sa.Column("period_id", sa.Integer, primary_key=True),
        sa.Column("household_id", sa.String(ID), primary_key=True),
        sa.Column("member", sa.Integer, primary_key=True),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("age_band", sa.String(8), nullable=False),
        sa.Column("education", sa.String(16), nullable=False),
        sa.Column("work_experience", sa.String(16), nullable=False),
        sa.Column("dutch_level", sa.String(4), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id", "household_id"], ["household.period_id", "household.household_id"]
        ),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period_id", sa.Integer, sa.ForeignKey("period.id"), nullable=False),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("time_limit", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("gap", sa.Float, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("user", sa.String(ID), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "run_file",
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("run.id"), primary_key=True),
        sa.Column("path", sa.String(255), primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("run.id"), nullable=False),
        sa.Column("period_id", sa.Integer, sa.ForeignKey("period.id"), nullable=False),
        sa.Column("household_id", sa.String(ID), nullable=False),
        sa.Column("municipality", sa.String(ID), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("next_best", sa.String(ID), nullable=True),
        sa.Column("top_scoring", sa.String(ID), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("run_pk", "household_id"),
    )
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period_id", sa.Integer, sa.ForeignKey("period.id"), nullable=False),
        sa.Column("household_id", sa.String(ID), nullable=False),
        sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposal.id"), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("municipality", sa.String(ID), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("housed_on", sa.Date, nullable=True),
        sa.Column("user", sa.String(ID), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(ID), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("municipality", sa.String(ID), nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(ID), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("user", sa.String(ID), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit",
        "login_attempt",
        "app_user",
        "decision",
        "proposal",
        "run_file",
        "run",
        "member",
        "household",
        "intake",
        "municipality",
        "base_file",
        "period",
    ):
        op.drop_table(table)
