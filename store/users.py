"""API users: create one (the plain key is returned once), look a key up by its SHA-256 hash.

Keys are 32 random bytes from :mod:`secrets` (URL-safe base64, prefix ``abt_``); the store keeps only
``sha256(key)``. A high-entropy random key needs no slow password hash: SHA-256 makes a stolen table
useless without making every request pay for bcrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.db import session_scope
from store.models import User

KEY_PREFIX = "abt_"


@dataclass(frozen=True)
class ApiUser:
    """The identity behind a verified key (never holds the key itself)."""

    id: int
    name: str
    is_admin: bool
    role: str = "user"

    def may(self, role: str) -> bool:
        """True when this user holds ``role`` (admins hold every role)."""
        return self.is_admin or self.role == role


class UserExistsError(ValueError):
    """A user with that name already exists."""


def hash_key(key: str) -> str:
    """Hex SHA-256 of an API key (what the ``users.api_key_hash`` column holds)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


ROLES = ("user", "feeder", "admin")


def create_user(url: str, name: str, is_admin: bool = False, key: str | None = None,
                role: str | None = None) -> tuple[ApiUser, str]:
    """Create a user and return it with its plain API key (shown once, never stored).

    Args:
        url: database URL.
        name: unique user name.
        is_admin: may call admin-only endpoints (train, reload).
        key: use this key instead of a random one (tests, key rotation scripts).
        role: ``user`` (default), ``feeder`` (may push bars: ``POST /ml/bars``) or ``admin`` (same as
            ``is_admin``).

    Raises:
        UserExistsError: the name is taken.
    """
    role = role or ("admin" if is_admin else "user")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    is_admin = is_admin or role == "admin"
    key = key or new_key()
    try:
        with session_scope(url) as session:
            user = User(name=name, api_key_hash=hash_key(key), is_admin=is_admin, role=role)
            session.add(user)
            session.flush()
            api_user = ApiUser(user.id, user.name, bool(user.is_admin), user.role or "user")
    except IntegrityError as exc:
        raise UserExistsError(f"user {name!r} already exists") from exc
    return api_user, key


def verify_key(url: str, key: str | None) -> ApiUser | None:
    """The user owning ``key``, or None for a missing or unknown key."""
    if not key:
        return None
    digest = hash_key(key)
    with session_scope(url) as session:
        user = session.execute(select(User).where(User.api_key_hash == digest)).scalar_one_or_none()
        if user is None or not hmac.compare_digest(user.api_key_hash, digest):
            return None
        return ApiUser(user.id, user.name, bool(user.is_admin), user.role or "user")
