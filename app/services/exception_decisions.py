"""Accepted risks, the decisions: four-eyes approval, rejection and revocation.

Every transition checks a permission, writes an audit event in the same transaction, and changes
the findings it concerns (see :mod:`app.services.exception_effects`). Nobody decides their own
request: the service refuses it and a database CHECK constraint backs that up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from app.models import ExceptionState, RiskException
from app.security import clock
from app.services import audit
from app.services import exception_effects as effects
from app.services.actor import Actor
from app.services.exception_policy import ExceptionInputError
from app.services.exception_queries import get_exception
from app.services.exception_requests import (
    OPEN_STATES,
    ExceptionStateError,
    audit_snapshot,
    clean_text,
)
from app.services.permissions import PermissionDenied, require

Decision = Callable[[Session, Actor, int, str], RiskException]
"""approve, reject and revoke share one shape: who decides which exception, with what words."""


def _decidable(session: Session, actor: Actor, exception_id: int) -> RiskException:
    require(actor, "exception.decide", f"exception:{exception_id}")
    exc = get_exception(session, actor, exception_id)
    if not actor.is_user:
        raise ExceptionInputError("a decision needs a named approver (a user)")
    if exc.requested_by_id == actor.id:
        raise PermissionDenied("exception.decide", f"exception:{exception_id}:own-request")
    if exc.state is not ExceptionState.PENDING:
        raise ExceptionStateError(f"exception #{exc.id} is {exc.state.value}, not pending")
    return exc


def approve(
    session: Session, actor: Actor, exception_id: int, comment: str, now: datetime | None = None
) -> RiskException:
    """Four-eyes approval: the exception becomes active and its findings accepted at once."""
    exc = _decidable(session, actor, exception_id)
    now = now or clock.now()
    if exc.expires_at <= now:
        raise ExceptionStateError(f"exception #{exc.id} expired before it was approved; request it again")
    before = audit_snapshot(exc)
    exc.state = ExceptionState.ACTIVE
    exc.decided_by_id = actor.id
    exc.decided_at = now
    exc.decision_comment = clean_text(comment, "the comment", required=False)
    session.flush()
    previous = session.get(RiskException, exc.renews_id) if exc.renews_id else None
    if previous is not None and previous.state is ExceptionState.ACTIVE:
        effects.transfer_findings(session, previous, exc)
        close_exception(
            session,
            actor,
            previous,
            ExceptionState.EXPIRED,
            now,
            "exception_supersede",
            f"renewed by #{exc.id}",
        )
    accepted = effects.accept_findings(session, actor, exc, now)
    after = {**audit_snapshot(exc), "accepted_findings": accepted, "comment": exc.decision_comment}
    audit.record(
        session,
        actor,
        "exception_approve",
        object_type="exception",
        object_id=exc.id,
        before=before,
        after=after,
    )
    return exc


def reject(
    session: Session, actor: Actor, exception_id: int, comment: str, now: datetime | None = None
) -> RiskException:
    exc = _decidable(session, actor, exception_id)
    reason = clean_text(comment, "a comment explaining the rejection", required=True)
    before = audit_snapshot(exc)
    exc.state = ExceptionState.REJECTED
    exc.decided_by_id = actor.id
    exc.decided_at = now or clock.now()
    exc.decision_comment = reason
    session.flush()
    after = {**audit_snapshot(exc), "comment": exc.decision_comment}
    audit.record(
        session,
        actor,
        "exception_reject",
        object_type="exception",
        object_id=exc.id,
        before=before,
        after=after,
    )
    return exc


def close_exception(
    session: Session,
    actor: Actor,
    exc: RiskException,
    state: ExceptionState,
    now: datetime,
    action: str,
    why: str,
) -> int:
    """End an exception (revoked, expired or superseded) and reopen the findings it held."""
    before = audit_snapshot(exc)
    exc.state = state
    if state is ExceptionState.REVOKED:
        exc.revoked_by_id = actor.id if actor.is_user else None
        exc.revoked_at = now
        exc.revoke_reason = why
    session.flush()
    reopened = effects.reopen_findings(session, actor, exc, now, f"exception #{exc.id} {state.value}: {why}")
    after = {**audit_snapshot(exc), "reopened_findings": reopened, "reason": why}
    audit.record(
        session, actor, action, object_type="exception", object_id=exc.id, before=before, after=after
    )
    return reopened


def revoke(
    session: Session, actor: Actor, exception_id: int, reason: str, now: datetime | None = None
) -> RiskException:
    """Immediate: the findings reopen in the same transaction. Pending requests may be revoked too."""
    require(actor, "exception.revoke", f"exception:{exception_id}")
    exc = get_exception(session, actor, exception_id)
    if exc.state not in OPEN_STATES:
        raise ExceptionStateError(
            f"exception #{exc.id} is {exc.state.value}; only pending or active ones can be revoked"
        )
    why = clean_text(reason, "a reason for the revocation", required=True)
    close_exception(session, actor, exc, ExceptionState.REVOKED, now or clock.now(), "exception_revoke", why)
    return exc
