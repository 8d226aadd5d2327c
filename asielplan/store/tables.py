"""The plan store's tables (SQLAlchemy 2). Progress is never a table: it is derived from
the ``housed`` decisions. Households hold the pseudonymous id and the attributes the model
needs, nothing else."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = 64  # the longest id (household, municipality, site) the store keeps


class Base(DeclarativeBase):
    pass


class Period(Base):
    """A planning period (a half-year): the base instance it plans on, its national
    number and scheme. One period is active at a time; the others are history."""

    __tablename__ = "period"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(16), unique=True)
    national: Mapped[int] = mapped_column(Integer)
    scheme: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class BaseFile(Base):
    """A file of the period's base instance (instance.toml, municipalities, sites)."""

    __tablename__ = "base_file"
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Municipality(Base):
    """A municipality of the period with its taakstelling by the law and achterstand."""

    __tablename__ = "municipality"
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    taakstelling: Mapped[int] = mapped_column(Integer)
    achterstand: Mapped[int] = mapped_column(Integer)


class Intake(Base):
    """One file of households taken in."""

    __tablename__ = "intake"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    households: Mapped[int] = mapped_column(Integer)
    user: Mapped[str] = mapped_column(String(ID))
    at: Mapped[datetime] = mapped_column(DateTime)


class Household(Base):
    """A household to house this period (pseudonymous id; what the model needs)."""

    __tablename__ = "household"
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"), primary_key=True)
    household_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id"))
    persons: Mapped[int] = mapped_column(Integer)
    adults: Mapped[int] = mapped_column(Integer)
    children: Mapped[int] = mapped_column(Integer)
    site_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    tie_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    tie_municipality: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    tie_radius_km: Mapped[float | None] = mapped_column(Float, nullable=True)


class Member(Base):
    """A member of a household: the features of the labour model."""

    __tablename__ = "member"
    __table_args__ = (
        ForeignKeyConstraint(
            ["period_id", "household_id"], ["household.period_id", "household.household_id"]
        ),
    )
    period_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    member: Mapped[int] = mapped_column(Integer, primary_key=True)
    sex: Mapped[str] = mapped_column(String(1))
    age_band: Mapped[str] = mapped_column(String(8))
    education: Mapped[str] = mapped_column(String(16))
    work_experience: Mapped[str] = mapped_column(String(16))
    dutch_level: Mapped[str] = mapped_column(String(4))


class Run(Base):
    """A proposal run: its state while it works, then its run id, status and gap."""

    __tablename__ = "run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"))
    policy: Mapped[str] = mapped_column(String(16))
    time_limit: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))  # queued running done failed cancelled
    progress: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    user: Mapped[str] = mapped_column(String(ID))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RunFile(Base):
    """A file of a finished run's folder (tables, manifest, plots)."""

    __tablename__ = "run_file"
    run_pk: Mapped[int] = mapped_column(ForeignKey("run.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Proposal(Base):
    """A run's proposal for one household, with the reason in words."""

    __tablename__ = "proposal"
    __table_args__ = (UniqueConstraint("run_pk", "household_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("run.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"))
    household_id: Mapped[str] = mapped_column(String(ID))
    municipality: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    next_best: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    top_scoring: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")


class Decision(Base):
    """A decision on a household: accepted (locked), refused (forbidden there, with the
    reason), housed (progress, with its date) or withdrawn (back in the pool)."""

    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"))
    household_id: Mapped[str] = mapped_column(String(ID))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposal.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    municipality: Mapped[str] = mapped_column(String(ID))
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    housed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    user: Mapped[str] = mapped_column(String(ID))
    at: Mapped[datetime] = mapped_column(DateTime)


class User(Base):
    """A user of the workbench: a role and, for a municipality, its code."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(ID), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # planner viewer municipality
    municipality: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LoginAttempt(Base):
    """A login attempt (for the rate limit)."""

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(ID))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime)


class Audit(Base):
    """Who did what when."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[str] = mapped_column(String(ID))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
