"""User administration: create, list, change role, disable. Used by the CLI and the admin pages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import Project, ProjectMember, Role, User
from app.security.passwords import check_policy, hash_password
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import NotFound, require

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


def _require_user(session: Session, ref: str | int) -> User:
    """A user by id (int, from the admin pages) or by name (str, from the CLI)."""
    user = session.get(User, ref) if isinstance(ref, int) else get_by_username(session, ref)
    if user is None:
        raise UserError(f"no user {ref if isinstance(ref, int) else normalize_username(ref)!r}")
    return user


def revoke_sessions(
    session: Session, user_id: int, reason: str, *, keep_session_id: int | None = None
) -> int:
    """End every live session of a user (optionally all but the current one)."""
    from app.services.sessions import revoke_all

    return revoke_all(session, user_id, reason, keep_session_id=keep_session_id)


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    require(actor, "user.manage")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def _refuse_self(actor: Actor, user: User, what: str) -> None:
    """An admin cannot lock themselves out: another admin must do it."""
    if actor.is_user and actor.id == user.id:
        raise UserError(f"you cannot {what} your own account; ask another admin")


def memberships(session: Session, user_id: int) -> list[int]:
    return sorted(session.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)))


def set_projects(session: Session, actor: Actor, ref: str | int, project_ids: Iterable[int]) -> User:
    """Replace a user's team memberships (what analysts and viewers may see)."""
    require(actor, "user.manage")
    user = _require_user(session, ref)
    wanted = sorted(set(project_ids))
    known = set(session.scalars(select(Project.id).where(Project.id.in_(wanted)))) if wanted else set()
    missing = [p for p in wanted if p not in known]
    if missing:
        raise UserError(f"no project with id {missing[0]}")
    before = memberships(session, user.id)
    if before == wanted:
        return user
    session.execute(delete(ProjectMember).where(ProjectMember.user_id == user.id))
    for project_id in wanted:
        session.add(ProjectMember(project_id=project_id, user_id=user.id))
    session.flush()
    audit.record(
        session,
        actor,
        "user_projects_change",
        object_type="user",
        object_id=user.id,
        before={"projects": before},
        after={"projects": wanted},
    )
    return user


def set_role(session: Session, actor: Actor, username: str | int, role: Role) -> User:
    require(actor, "user.manage")
    user = _require_user(session, username)
    _refuse_self(actor, user, "change the role of")
    before = user.role
    if before is role:
        return user
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


def set_active(session: Session, actor: Actor, username: str | int, active: bool) -> User:
    require(actor, "user.manage")
    user = _require_user(session, username)
    if not active:
        _refuse_self(actor, user, "disable")
    user.active = active
    if active:
        user.failed_logins = 0
        user.locked_until = None
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


def reset_password(session: Session, actor: Actor, ref: str | int) -> str:
    """Give a user a new one-time password (shown once to the admin); their sessions end."""
    from app.security.passwords import generate_password

    require(actor, "user.manage")
    user = _require_user(session, ref)
    _refuse_self(actor, user, "reset the password of")
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    revoke_sessions(session, user.id, "password_reset")
    audit.record(session, actor, "user_password_reset", object_type="user", object_id=user.id)
    return password
