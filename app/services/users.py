"""User administration: create, list, change role, disable. Used by the CLI and the admin pages."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import Role, User, UserSession
from app.models.base import utcnow
from app.security.passwords import check_policy, hash_password
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import require

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,149}$")


class UserError(VigilError, ValueError):
    """Bad input for a user operation; the message is one line for humans."""


def normalize_username(username: str) -> str:
    return username.strip().lower()


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise UserError(f"unknown role {value!r}; choose one of {', '.join(r.value for r in Role)}") from None


def get_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == normalize_username(username)))


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    email: str | None = None,
    must_change_password: bool = False,
) -> User:
    require(actor, "user.manage")
    name = normalize_username(username)
    if not USERNAME_RE.match(name):
        raise UserError("username must be 2-150 characters: letters, digits, '.', '_', '@' or '-'")
    if get_by_username(session, name) is not None:
        raise UserError(f"a user named {name!r} already exists")
    check_policy(password, user_inputs=[name, display_name, email or ""])
    user = User(
        username=name,
        display_name=display_name or name,
        email=email,
        password_hash=hash_password(password),
        role=role,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user_create",
        object_type="user",
        object_id=user.id,
        after={"username": name, "role": role.value},
    )
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def _require_user(session: Session, username: str) -> User:
    user = get_by_username(session, username)
    if user is None:
        raise UserError(f"no user named {normalize_username(username)!r}")
    return user


def revoke_sessions(
    session: Session, user_id: int, reason: str, *, keep_session_id: int | None = None
) -> int:
    """End every live session of a user (optionally all but the current one)."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
    )
    if keep_session_id is not None:
        stmt = stmt.where(UserSession.id != keep_session_id)
    return session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]


def set_role(session: Session, actor: Actor, username: str, role: Role) -> User:
    require(actor, "user.manage")
    user = _require_user(session, username)
    before = user.role
    user.role = role
    revoke_sessions(session, user.id, "role_change")
    audit.record(
        session,
        actor,
        "user_role_change",
        object_type="user",
        object_id=user.id,
        before={"role": before.value},
        after={"role": role.value},
    )
    return user


def set_active(session: Session, actor: Actor, username: str, active: bool) -> User:
    require(actor, "user.manage")
    user = _require_user(session, username)
    user.active = active
    if not active:
        revoke_sessions(session, user.id, "deactivated")
    audit.record(
        session,
        actor,
        "user_enable" if active else "user_disable",
        object_type="user",
        object_id=user.id,
    )
    return user
