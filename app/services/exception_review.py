"""Keeping accepted risks honest: the review queue, owner reminders, stale and fixable exceptions.

An exception nobody looks at again is how "temporary" becomes "forever". These functions are
called by the scheduler (daily reminders, after each successful scan) and by the dashboard (the
review queue); each change they make is audited under the system actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    ExceptionScope,
    ExceptionState,
    Finding,
    FindingStatus,
    RiskException,
    RunStatus,
    ScanRun,
    User,
)
from app.security import clock
from app.services import audit, notifications
from app.services.actor import Actor
from app.services.exception_policy import ExpiryPolicy
from app.services.permissions import require

REMIND_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class ReviewItem:
    exception: RiskException
    reasons: tuple[str, ...]
    days_left: int


def _visible(stmt: Select[RiskException], actor: Actor) -> Select[RiskException]:
    if actor.project_ids is not None:
        return stmt.where(
            RiskException.project_id.in_(actor.project_ids) | RiskException.project_id.is_(None)
        )
    return stmt


def review_queue(
    session: Session, actor: Actor, now: datetime | None = None, days: int = 14
) -> list[ReviewItem]:
    """Active exceptions expiring within ``days``, flagged for review, or stale — soonest first."""
    require(actor, "exception.view")
    now = now or clock.now()
    horizon = now + timedelta(days=days)
    stmt = select(RiskException).where(
        RiskException.state == ExceptionState.ACTIVE,
        or_(
            RiskException.expires_at <= horizon,
            RiskException.needs_review.is_(True),
            RiskException.stale.is_(True),
        ),
    )
    items = []
    for exc in session.scalars(_visible(stmt, actor).order_by(RiskException.expires_at, RiskException.id)):
        reasons = []
        if exc.expires_at <= horizon:
            reasons.append(f"expires {exc.expires_at.date().isoformat()}")
        if exc.needs_review:
            reasons.append(exc.review_reason or "flagged for review")
        if exc.stale:
            reasons.append(f"matched nothing in {exc.scans_without_match} scans: propose removal")
        items.append(ReviewItem(exc, tuple(reasons), max(0, (exc.expires_at - now).days)))
    return items


def _recipients(session: Session, exc: RiskException) -> list[str]:
    requester = session.get(User, exc.requested_by_id)
    names = [exc.owner]
    if requester is not None and requester.username.lower() != exc.owner.strip().lower():
        names.append(requester.username)
    return names


def send_reminders(
    session: Session, notifier: notifications.Notifier, now: datetime | None = None, days: int = 14
) -> int:
    """Remind owners of exceptions expiring within ``days`` (at most once a week each)."""
    now = now or clock.now()
    system = Actor.system("exception-reminders")
    stmt = select(RiskException).where(
        RiskException.state == ExceptionState.ACTIVE,
        RiskException.expires_at <= now + timedelta(days=days),
        or_(RiskException.last_reminder_at.is_(None), RiskException.last_reminder_at <= now - REMIND_EVERY),
    )
    sent = 0
    for exc in session.scalars(stmt.order_by(RiskException.id)):
        subject = f"Accepted risk #{exc.id} expires on {exc.expires_at.date().isoformat()}"
        body = (
            f"The exception #{exc.id} ({exc.scope.value} scope) you own expires on "
            f"{exc.expires_at.date().isoformat()}. Renew it (a new approval is needed) or fix the "
            f"findings before then; at expiry they reopen.\n\nJustification: {exc.justification}"
        )
        for recipient in _recipients(session, exc):
            notifications.notify(
                session,
                notifier,
                recipient=recipient,
                kind="exception_expiring",
                subject=subject,
                body=body,
                object_type="exception",
                object_id=exc.id,
            )
        exc.last_reminder_at = now
        audit.record(
            session,
            system,
            "exception_remind",
            object_type="exception",
            object_id=exc.id,
            after={"expires_at": exc.expires_at, "recipients": _recipients(session, exc)},
        )
        sent += 1
    session.flush()
    return sent


def _scan_days_since(session: Session, project_id: int | None, since: datetime) -> int:
    """Successful, complete scans since ``since``, counted as nightly scans (one per project and day):
    the several scanners of one night are one scan of the project."""
    stmt = select(ScanRun.project_id, ScanRun.finished_at).where(
        ScanRun.status == RunStatus.SUCCEEDED, ScanRun.complete.is_(True), ScanRun.finished_at > since
    )
    if project_id is not None:
        stmt = stmt.where(ScanRun.project_id == project_id)
    return len({(pid, at.date()) for pid, at in session.execute(stmt) if at is not None})


def refresh_stale(
    session: Session,
    stale_after: int,
    notifier: notifications.Notifier | None = None,
    now: datetime | None = None,
) -> list[RiskException]:
    """Mark advisory and rule exceptions that matched nothing in ``stale_after`` scans as stale.

    Returns the exceptions that became stale in this call. Finding-scoped exceptions are exempt:
    a fixed finding simply closes, and its exception ends on its date.
    """
    now = now or clock.now()
    system = Actor.system("exception-review")
    stmt = select(RiskException).where(
        RiskException.state == ExceptionState.ACTIVE, RiskException.scope != ExceptionScope.FINDING
    )
    newly_stale = []
    for exc in session.scalars(stmt.order_by(RiskException.id)):
        held = session.scalar(
            select(func.count(Finding.id)).where(
                Finding.exception_id == exc.id, Finding.status == FindingStatus.ACCEPTED
            )
        )
        if held:
            exc.matched_count, exc.scans_without_match, exc.stale = held, 0, False
            exc.details = {**(exc.details or {}), "last_matched_at": now.isoformat()}
            continue
        last = (exc.details or {}).get("last_matched_at")
        since = datetime.fromisoformat(last) if last else (exc.decided_at or exc.requested_at)
        exc.matched_count = 0
        exc.scans_without_match = _scan_days_since(session, exc.project_id, since)
        if exc.stale or exc.scans_without_match < stale_after:
            continue
        exc.stale = True
        newly_stale.append(exc)
        audit.record(
            session,
            system,
            "exception_stale",
            object_type="exception",
            object_id=exc.id,
            after={"scans_without_match": exc.scans_without_match},
        )
        if notifier is not None:
            notifications.notify(
                session,
                notifier,
                recipient=exc.owner,
                kind="exception_stale",
                subject=f"Accepted risk #{exc.id} matches nothing any more",
                body=f"Exception #{exc.id} matched no finding in {exc.scans_without_match} successful "
                "scans. Consider revoking it so it cannot hide a future finding.",
                object_type="exception",
                object_id=exc.id,
            )
    session.flush()
    return newly_stale


def flag_fixable_advisories(session: Session, now: datetime | None = None) -> list[RiskException]:
    """Advisory exceptions whose accepted findings now have a fixed version: the risk need not stay."""
    system = Actor.system("exception-review")
    stmt = select(RiskException).where(
        RiskException.state == ExceptionState.ACTIVE,
        RiskException.scope == ExceptionScope.ADVISORY,
        RiskException.needs_review.is_(False),
    )
    flagged = []
    for exc in session.scalars(stmt.order_by(RiskException.id)):
        held = session.scalars(select(Finding).where(Finding.exception_id == exc.id)).all()
        fixes = sorted({v for f in held for v in (f.fixed_versions or [])})
        if fixes:
            exc.needs_review = True
            exc.review_reason = f"a fixed version is available: {', '.join(fixes[:5])}"
            audit.record(
                session,
                system,
                "exception_flag_review",
                object_type="exception",
                object_id=exc.id,
                after={"reason": exc.review_reason},
            )
            flagged.append(exc)
    session.flush()
    return flagged


@dataclass(frozen=True)
class DailyReview:
    reminders: int
    stale: list[int]
    flagged: list[int]


def run_daily(
    session: Session, notifier: notifications.Notifier, policy: ExpiryPolicy, now: datetime | None = None
) -> DailyReview:
    """The daily job besides expiry: remind owners, mark stale exceptions, flag fixable advisories."""
    now = now or clock.now()
    sent = send_reminders(session, notifier, now, policy.review_days)
    stale = refresh_stale(session, policy.stale_after_scans, notifier, now)
    flagged = flag_fixable_advisories(session, now)
    return DailyReview(sent, [e.id for e in stale], [e.id for e in flagged])
