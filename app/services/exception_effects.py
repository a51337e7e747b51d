"""What an exception does to findings: accept them, pause their SLA clock, and give them back.

Approval turns matching open findings into ``accepted`` (with a status-history row naming the
exception) and pauses their SLA clock; expiry and revocation reopen them and move the due date by
the time the clock was paused, so an accepted risk neither burns nor banks SLA time. Future scans
are ingestion's part: it applies active exceptions to findings as they arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingestion.fingerprint import package_key
from app.ingestion.suppression import ActiveException, ExceptionMatcher
from app.models import ExceptionScope, Finding, FindingStatus, FindingStatusHistory, RiskException, Severity
from app.models.base import SEVERITY_RANK
from app.services.actor import Actor
from app.services.exception_scope import advisory_ids_of, scope_candidates

# A finding that is fixed or marked false positive needs no exception; only these are taken over.
ACCEPTABLE = (FindingStatus.OPEN,)


def _matcher_for(exc: RiskException) -> ExceptionMatcher:
    """Ingestion's matcher, holding just this exception: one definition of "in scope" for both paths."""
    return ExceptionMatcher(
        [
            ActiveException(
                id=exc.id if exc.id is not None else 0,
                scope=ExceptionScope(exc.scope),
                finding_id=exc.finding_id,
                advisory_ids=frozenset(advisory_ids_of(exc)),
                package=package_key(exc.package) if exc.package else None,
                rule_id=exc.rule_id,
                path_glob=exc.path_glob or "*",
            )
        ]
    )


def matching_findings(
    session: Session, exc: RiskException, *, statuses: Sequence[FindingStatus] = ACCEPTABLE
) -> list[Finding]:
    """Findings the exception's scope covers, among those in the given statuses.

    SQL narrows the candidates (project, rule, finding); ingestion's matcher decides each one.
    """
    matcher = _matcher_for(exc)
    stmt = scope_candidates(exc).where(Finding.status.in_(statuses)).order_by(Finding.id)
    return [
        f
        for f in session.scalars(stmt)
        if matcher.match(f.id, f.rule_id, f.tool_rule_id, f.path, f.package, f.advisory_ids or []) is not None
    ]


def _history(
    finding: Finding, actor: Actor, to: FindingStatus, reason: str, exc: RiskException, now: datetime
) -> FindingStatusHistory:
    return FindingStatusHistory(
        finding_id=finding.id,
        from_status=finding.status,
        to_status=to,
        changed_at=now,
        actor_user_id=actor.id if actor.is_user else None,
        actor=actor.label,
        reason=reason,
        exception_id=exc.id,
    )


def accept_findings(session: Session, actor: Actor, exc: RiskException, now: datetime) -> int:
    """Mark every open finding in scope as accepted under ``exc``; returns how many changed."""
    findings = matching_findings(session, exc)
    reason = f"accepted under exception #{exc.id} until {exc.expires_at.date().isoformat()}"
    for finding in findings:
        session.add(_history(finding, actor, FindingStatus.ACCEPTED, reason, exc, now))
        finding.status = FindingStatus.ACCEPTED
        finding.status_changed_at = now
        finding.exception_id = exc.id
        if finding.sla_paused_at is None:
            finding.sla_paused_at = now
    exc.matched_count = len(findings)
    if findings:
        exc.scans_without_match = 0
        exc.stale = False
    session.flush()
    return len(findings)


def transfer_findings(session: Session, old: RiskException, new: RiskException) -> int:
    """A renewal takes over the findings of the exception it renews without reopening them."""
    findings = session.scalars(
        select(Finding).where(Finding.exception_id == old.id, Finding.status == FindingStatus.ACCEPTED)
    ).all()
    for finding in findings:
        finding.exception_id = new.id
    new.matched_count = len(findings)
    session.flush()
    return len(findings)


def reopen_findings(session: Session, actor: Actor, exc: RiskException, now: datetime, reason: str) -> int:
    """Give back the findings held by ``exc``: open again, SLA due date moved by the paused time."""
    findings = session.scalars(
        select(Finding).where(Finding.exception_id == exc.id, Finding.status == FindingStatus.ACCEPTED)
    ).all()
    for finding in findings:
        session.add(_history(finding, actor, FindingStatus.OPEN, reason, exc, now))
        finding.status = FindingStatus.OPEN
        finding.status_changed_at = now
        finding.exception_id = None
        if finding.sla_paused_at is not None:
            if finding.sla_due_at is not None:
                finding.sla_due_at = finding.sla_due_at + (now - finding.sla_paused_at)
            finding.sla_paused_at = None
    session.flush()
    return len(findings)


def worst_severity(findings: Sequence[Finding]) -> Severity | None:
    """The scope's severity is that of its worst matched finding (it sets the expiry cap)."""
    if not findings:
        return None
    return max((Severity(f.severity) for f in findings), key=lambda s: SEVERITY_RANK[s])


def blocking_findings(
    session: Session, project_id: int, fail_on: Severity | str = Severity.HIGH
) -> list[Finding]:
    """Open findings at or above ``fail_on``: what a CI gate would fail on (accepted ones never block)."""
    threshold = Severity(fail_on)
    levels = [s for s in Severity if SEVERITY_RANK[s] >= SEVERITY_RANK[threshold]]
    stmt = (
        select(Finding)
        .where(
            Finding.project_id == project_id,
            Finding.status == FindingStatus.OPEN,
            Finding.severity.in_(levels),
        )
        .order_by(Finding.id)
    )
    return list(session.scalars(stmt))
