"""Users of the workbench: roles, Argon2 password hashes, and the login rate limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from asielplan.errors import ConfigError
from asielplan.store.db import session
from asielplan.store.plan import audit, now
from asielplan.store.tables import LoginAttempt, Municipality, User

ROLES = ("planner", "viewer", "municipality")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MIN_PASSWORD = 10
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES = 5  # failed attempts per name within the window before logins are refused
HASHER = PasswordHasher()


@dataclass(frozen=True)
class Role:
    """A user's role: planner (everything of the period), viewer (read only), or a
    municipality (its own proposals, read and decide)."""

    kind: str
    municipality: str | None = None

    @classmethod
    def parse(cls, text: str) -> Role:
        kind, _, code = text.partition(":")
        if kind not in ROLES or (kind == "municipality") != bool(code):
            raise ConfigError(
                f"--role {text}: planner, viewer or municipality:CODE (e.g. municipality:GM0363)"
            )
        if code and not CODE.fullmatch(code):
            raise ConfigError(f"--role {text}: {code!r} is not a municipality code")
        return cls(kind, code or None)

    def __str__(self) -> str:
        return self.kind if self.municipality is None else f"{self.kind}:{self.municipality}"


def add_user(engine: Engine, name: str, role: str, password: str, by: str = "cli") -> None:
    """A new user with an Argon2 hash of ``password`` (at least 10 characters)."""
    parsed = Role.parse(role)
    if not NAME.fullmatch(name):
        raise ConfigError(f"user name {name!r}: letters, digits, '_', '.', '@', '-' (at most 64)")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password has at least {MIN_PASSWORD} characters")
    with session(engine) as s:
        if s.scalars(select(User).where(User.name == name)).first() is not None:
            raise ConfigError(f"user {name!r} exists")
        if parsed.municipality is not None:
            known = s.scalars(
                select(Municipality.code).where(Municipality.code == parsed.municipality)
            ).first()
            if known is None:
                raise ConfigError(f"--role: {parsed.municipality} is not in the store")
        s.add(
            User(
                name=name,
                password_hash=HASHER.hash(password),
                role=parsed.kind,
                municipality=parsed.municipality,
                disabled=False,
                created_at=now(),
            )
        )
        audit(s, by, "user add", name=name, role=str(parsed))


def disable_user(engine: Engine, name: str, by: str = "cli") -> None:
    with session(engine) as s:
        user = s.scalars(select(User).where(User.name == name)).first()
        if user is None:
            raise ConfigError(f"no user {name!r}")
        user.disabled = True
        audit(s, by, "user disable", name=name)


class LoginRefused(Exception):
    """Too many failed logins for a name: try again later."""


def authenticate(engine: Engine, name: str, password: str) -> User | None:
    """The user with ``name`` and ``password`` (None when they do not match or the user is
    disabled); :class:`LoginRefused` after :data:`LOGIN_FAILURES` failures in
    :data:`LOGIN_WINDOW`. Every attempt is recorded."""
    name = name[:64]
    with session(engine) as s:
        since = now() - LOGIN_WINDOW
        failures = s.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.name == name, LoginAttempt.at >= since, LoginAttempt.ok.is_(False))
        )
        if (failures or 0) >= LOGIN_FAILURES:
            raise LoginRefused(name)
        user = s.scalars(select(User).where(User.name == name)).first()
        ok = False
        if user is not None and not user.disabled:
            try:
                ok = HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        else:
            HASHER.hash(password)  # the same work whether the name exists or not
        s.add(LoginAttempt(name=name, ok=ok, at=now()))
        return user if ok else None
