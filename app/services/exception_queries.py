"""Read models for the exception pages: one call per view, everything the page shows.

Kept apart from the modules that change state (:mod:`app.services.exception_requests`,
:mod:`app.services.exception_decisions`) so each stays small; they look exceptions up here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, ExceptionState, Finding, Project, RiskException, User
from app.services.actor import Actor
from app.services.permissions import NotFound, require, require_project


def get_exception(session: Session, actor: Actor, exception_id: int) -> RiskException:
    """One exception, hidden (404) when it belongs to a project the actor cannot see."""
    require(actor, "exception.view")
    exc = session.get(RiskException, exception_id)
    if exc is None:
        raise NotFound()
    if exc.project_id is not None:
        require_project(actor, exc.project_id)
    return exc


def list_exceptions(
    session: Session,
    actor: Actor,
    *,
    state: ExceptionState | None = None,
    project_id: int | None = None,
    limit: int = 500,
) -> list[RiskException]:
    """The newest exceptions first, limited to those the actor may see (all-project ones included)."""
    require(actor, "exception.view")
    stmt = select(RiskException).order_by(RiskException.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(RiskException.state == state)
    if project_id is not None:
        stmt = stmt.where((RiskException.project_id == project_id) | RiskException.project_id.is_(None))
    if actor.project_ids is not None:
        stmt = stmt.where(
            RiskException.project_id.in_(actor.project_ids) | RiskException.project_id.is_(None)
        )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class ExceptionDetail:
    exception: RiskException
    project: Project | None
    requested_by: str
    decided_by: str | None
    revoked_by: str | None
    findings: Sequence[Finding]
    target: Finding | None
    renewals: Sequence[RiskException]
    group: Sequence[RiskException]
    history: Sequence[AuditEvent]


def _username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.username if user else f"user #{user_id}"


def detail(session: Session, actor: Actor, exception_id: int) -> ExceptionDetail:
    exc = get_exception(session, actor, exception_id)
    held = select(Finding).where(Finding.exception_id == exc.id).order_by(Finding.id).limit(500)
    if actor.project_ids is not None:
        held = held.where(Finding.project_id.in_(actor.project_ids))
    renewals = select(RiskException).where(RiskException.renews_id == exc.id).order_by(RiskException.id)
    group: Sequence[RiskException] = []
    if exc.group_key:
        group = session.scalars(
            select(RiskException).where(RiskException.group_key == exc.group_key).order_by(RiskException.id)
        ).all()
        group = [g for g in group if g.project_id is None or actor.can_see_project(g.project_id)]
    history = select(AuditEvent).where(
        AuditEvent.object_type == "exception", AuditEvent.object_id == str(exc.id)
    )
    return ExceptionDetail(
        exception=exc,
        project=session.get(Project, exc.project_id) if exc.project_id else None,
        requested_by=_username(session, exc.requested_by_id) or "",
        decided_by=_username(session, exc.decided_by_id),
        revoked_by=_username(session, exc.revoked_by_id),
        findings=session.scalars(held).all(),
        target=session.get(Finding, exc.finding_id) if exc.finding_id else None,
        renewals=session.scalars(renewals).all(),
        group=group,
        history=session.scalars(history.order_by(AuditEvent.id)).all(),
    )


@dataclass(frozen=True)
class RequestForm:
    """What the request form offers: the projects the requester may choose, and a prefilled finding."""

    projects: Sequence[Project]
    finding: Finding | None
    may_choose_all: bool


def request_form(session: Session, actor: Actor, finding_id: int | None) -> RequestForm:
    require(actor, "exception.request")
    stmt = select(Project).where(Project.active.is_(True)).order_by(Project.name)
    if actor.project_ids is not None:
        stmt = stmt.where(Project.id.in_(actor.project_ids))
    finding = None
    if finding_id is not None:
        finding = session.get(Finding, finding_id)
        if finding is None:
            raise NotFound()
        require_project(actor, finding.project_id)
    return RequestForm(session.scalars(stmt).all(), finding, actor.project_ids is None)


def project_names(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Project.id, Project.name).where(Project.id.in_(wanted)))
    return {project_id: name for project_id, name in rows}


def summary(exc: RiskException) -> dict[str, Any]:
    """The JSON shape of an exception for the API and exports."""
    return {
        "id": exc.id,
        "scope": exc.scope.value,
        "state": exc.state.value,
        "project_id": exc.project_id,
        "finding_id": exc.finding_id,
        "advisory_id": exc.advisory_id,
        "aliases": list(exc.aliases or []),
        "package": exc.package,
        "rule_id": exc.rule_id,
        "path_glob": exc.path_glob,
        "severity": exc.severity.value if exc.severity else None,
        "owner": exc.owner,
        "ticket_url": exc.ticket_url,
        "justification": exc.justification,
        "mitigation": exc.mitigation,
        "requested_by_id": exc.requested_by_id,
        "requested_at": exc.requested_at.isoformat(),
        "decided_by_id": exc.decided_by_id,
        "decided_at": exc.decided_at.isoformat() if exc.decided_at else None,
        "expires_at": exc.expires_at.isoformat(),
        "renews_id": exc.renews_id,
        "group_key": exc.group_key,
        "needs_review": exc.needs_review,
        "stale": exc.stale,
        "matched_count": exc.matched_count,
    }
