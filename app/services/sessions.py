"""Server-side browser sessions: the cookie carries a random token, the database decides if it lives.

Only the SHA-256 of the token is stored, so a database dump does not hand out live sessions. A session
dies at logout, password change, role change, deactivation, after ``idle`` without requests and
``absolute`` after sign-in, whichever comes first; a copied cookie dies with it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import ProjectMember, Role, User, UserSession
from app.security import clock
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import ALL_PROJECT_ROLES, NotFound, require

TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(seconds=60)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SessionState:
    """A detached snapshot of one live session and its user, read once per request."""

    session_id: int
    user_id: int
    username: str
    display_name: str
    role: Role
    must_change_password: bool
    totp_enabled: bool
    project_ids: frozenset[int] | None
    created_at: datetime
    authenticated_at: datetime
    second_factor_at: datetime | None
    last_seen_at: datetime
    data: dict[str, Any]

    @property
    def complete(self) -> bool:
        """Password checked and, for users with TOTP, the second factor too."""
        return not self.totp_enabled or self.second_factor_at is not None


def start(
    session: Session,
    user: User,
    *,
    ip: str | None,
    user_agent: str | None,
    second_factor: bool = False,
) -> tuple[str, UserSession]:
    """Create a session row for a user whose password was just checked; returns the raw token."""
    token = new_token()
    moment = clock.now()
    row = UserSession(
        token_hash=hash_token(token),
        user_id=user.id,
        created_at=moment,
        last_seen_at=moment,
        authenticated_at=moment,
        second_factor_at=moment if second_factor else None,
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:255] or None,
        data={},
    )
    session.add(row)
    session.flush()
    return token, row


def project_ids_of(session: Session, user_id: int, role: Role) -> frozenset[int] | None:
    """None (every project) for admins and approvers; otherwise the user's memberships."""
    if role in ALL_PROJECT_ROLES:
        return None
    rows = session.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == user_id))
    return frozenset(rows)


def load(session: Session, token: str, lifetimes: Lifetimes) -> tuple[SessionState | None, str | None]:
    """Look a token up; returns the live state, or None and why it is not live (for the audit log)."""
    found = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if found is None:
        return None, None
    row, user = found
    reason = _dead_reason(row, user, lifetimes)
    if reason is not None:
        return None, reason
    state = SessionState(
        session_id=row.id,
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        must_change_password=user.must_change_password,
        totp_enabled=user.totp_enabled,
        project_ids=project_ids_of(session, user.id, user.role),
        created_at=row.created_at,
        authenticated_at=row.authenticated_at,
        second_factor_at=row.second_factor_at,
        last_seen_at=row.last_seen_at,
        data=dict(row.data or {}),
    )
    return state, None


def _dead_reason(row: UserSession, user: User, lifetimes: Lifetimes) -> str | None:
    moment = clock.now()
    if row.revoked_at is not None:
        return row.revoke_reason or "revoked"
    if not user.active:
        return "deactivated"
    if moment - row.last_seen_at > lifetimes.idle:
        return "idle"
    if moment - row.created_at > lifetimes.absolute:
        return "absolute"
    return None


def expire(session: Session, token: str, reason: str) -> None:
    """Mark a timed-out session as revoked so it can never come back (even if the clock goes back)."""
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoke_reason=reason)
    )


def needs_touch(state: SessionState) -> bool:
    return clock.now() - state.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=clock.now()))


def save_data(session: Session, session_id: int, data: dict[str, Any]) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id).values(data=data))


def mark_reauthenticated(session: Session, session_id: int, *, second_factor: bool = False) -> None:
    values: dict[str, Any] = {"authenticated_at": clock.now()}
    if second_factor:
        values["second_factor_at"] = clock.now()
    session.execute(update(UserSession).where(UserSession.id == session_id).values(**values))


def end(session: Session, actor: Actor, session_id: int, reason: str = "logout") -> None:
    """End one session (logout, or a user closing one of their own sessions)."""
    row = session.get(UserSession, session_id)
    if row is None or (actor.is_user and row.user_id != actor.id):
        raise NotFound()
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        row.revoke_reason = reason
    audit.record(
        session,
        actor,
        "authn_logout" if reason == "logout" else "session_end",
        object_type="session",
        object_id=row.id,
    )


def revoke_all(session: Session, user_id: int, reason: str, *, keep_session_id: int | None = None) -> int:
    """End every live session of a user (optionally all but the current one)."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.now(), revoke_reason=reason)
    )
    if keep_session_id is not None:
        stmt = stmt.where(UserSession.id != keep_session_id)
    return session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]


def terminate_user_sessions(session: Session, actor: Actor, user_id: int) -> int:
    """Admin action: sign a user out everywhere."""
    require(actor, "user.manage")
    if session.get(User, user_id) is None:
        raise NotFound()
    count = revoke_all(session, user_id, "terminated")
    audit.record(
        session, actor, "session_terminate_all", object_type="user", object_id=user_id, after={"ended": count}
    )
    return count


def list_live(session: Session, user_id: int, lifetimes: Lifetimes) -> Sequence[UserSession]:
    moment = clock.now()
    rows = session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.created_at.desc())
    ).all()
    return [
        r
        for r in rows
        if moment - r.last_seen_at <= lifetimes.idle and moment - r.created_at <= lifetimes.absolute
    ]
