"""Accepted risks end on their date without anyone acting: the scheduler's expiry job.

An active exception whose ``expires_at`` has passed becomes ``expired``; the findings it covered
reopen with a status-history row, and an ``exception_expire`` audit event records it (all in
:func:`expire`, shared with ``vigil exceptions expire``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import RiskException
from app.models.base import ExceptionState
from app.services.actor import Actor
from app.services.exception_decisions import close_exception


def expire(session: Session, actor: Actor, exc: RiskException, now: datetime) -> int:
    """Called by the expiry job: an active exception past its date ends and its findings reopen."""
    if exc.state is not ExceptionState.ACTIVE or exc.expires_at > now:
        return 0
    return close_exception(
        session,
        actor,
        exc,
        ExceptionState.EXPIRED,
        now,
        "exception_expire",
        f"expired on {exc.expires_at.date().isoformat()}",
    )


@dataclass(frozen=True)
class ExpirySummary:
    expired: list[int]
    reopened_findings: int


def expire_due(session: Session, now: datetime, actor: Actor | None = None) -> ExpirySummary:
    """Expire every active exception past its date, in the caller's transaction."""
    actor = actor or Actor.system("scheduler")
    due = session.scalars(
        select(RiskException)
        .where(RiskException.state == ExceptionState.ACTIVE, RiskException.expires_at <= now)
        .order_by(RiskException.id)
        .with_for_update()
    ).all()
    reopened = sum(expire(session, actor, exc, now) for exc in due)
    return ExpirySummary([exc.id for exc in due], reopened)
