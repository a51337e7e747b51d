"""Accepted risks, first step: a request (or a renewal) recorded as pending, and its preview.

Nothing a requester writes changes a finding yet: the four-eyes decision that does is in
:mod:`app.services.exception_decisions`. The helpers every transition shares (the audit snapshot,
text cleaning, the open states) live here because the request is where an exception starts.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ExceptionScope, ExceptionState, Finding, FindingStatus, Project, RiskException
from app.security import clock
from app.services import audit
from app.services import exception_effects as effects
from app.services import exception_scope as scope
from app.services.actor import Actor
from app.services.exception_policy import ExceptionInputError, ExpiryPolicy
from app.services.exception_queries import get_exception
from app.services.permissions import NotFound, PermissionDenied, require, require_project

TICKET_RE = re.compile(r"^https?://[^\s<>\"']{1,1000}$")
MAX_TEXT = 10_000
OPEN_STATES = (ExceptionState.PENDING, ExceptionState.ACTIVE)


class ExceptionStateError(ExceptionInputError):
    """The transition is not possible from the exception's current state."""


@dataclass
class ExceptionRequest:
    """What a requester fills in. ``project_ids`` empty with ``all_projects`` false means the finding's."""

    scope: ExceptionScope
    justification: str
    owner: str
    expires_at: datetime | None
    mitigation: str = ""
    ticket_url: str | None = None
    finding_id: int | None = None
    project_ids: Sequence[int] = ()
    all_projects: bool = False
    advisory_id: str | None = None
    aliases: Sequence[str] = ()
    package: str | None = None
    rule_id: str | None = None
    path_glob: str | None = None
    renews_id: int | None = None
    details: dict[str, object] = field(default_factory=dict)
    # Imports from ignore files: a missing or too-late date becomes the policy's cap (noted in details).
    clamp_expiry: bool = False


def audit_snapshot(exc: RiskException) -> dict[str, object]:
    """The fields an audit event records before and after a transition."""
    return {
        "state": exc.state.value,
        "scope": exc.scope.value,
        "project_id": exc.project_id,
        "finding_id": exc.finding_id,
        "advisory_id": exc.advisory_id,
        "package": exc.package,
        "rule_id": exc.rule_id,
        "path_glob": exc.path_glob,
        "expires_at": exc.expires_at,
        "owner": exc.owner,
        "group_key": exc.group_key,
        "renews_id": exc.renews_id,
    }


def clean_text(value: str | None, what: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    """Stripped free text, refused (with what it is) when required and empty or too long."""
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise ExceptionInputError(f"{what} is required")
    if len(cleaned) > limit:
        raise ExceptionInputError(f"{what} is too long (at most {limit} characters)")
    return cleaned


def _projects_for(session: Session, actor: Actor, req: ExceptionRequest) -> list[int | None]:
    """Which project each new row covers: one per project (a bulk group), or None for all projects."""
    if req.all_projects:
        if actor.project_ids is not None:
            raise PermissionDenied("exception.request", "all projects")
        return [None]
    ids = list(dict.fromkeys(req.project_ids))
    if not ids:
        raise ExceptionInputError("choose at least one project, or all projects")
    for project_id in ids:
        if session.get(Project, project_id) is None:
            raise NotFound()
        require_project(actor, project_id)
    return list(ids)


def _build(session: Session, actor: Actor, req: ExceptionRequest) -> list[RiskException]:
    """Validate the scope and build one unsaved row per covered project."""
    common = {
        "justification": clean_text(req.justification, "a justification", required=True),
        "mitigation": clean_text(req.mitigation, "the mitigation", required=False),
        "owner": clean_text(req.owner, "an owner", required=True, limit=255),
        "requested_by_id": actor.id,
        "state": ExceptionState.PENDING,
        "renews_id": req.renews_id,
        "details": dict(req.details),
    }
    ticket = (req.ticket_url or "").strip() or None
    if ticket is not None and not TICKET_RE.match(ticket):
        raise ExceptionInputError("the ticket link must be an http(s) URL")
    common["ticket_url"] = ticket
    if req.scope is ExceptionScope.FINDING:
        finding = session.get(Finding, req.finding_id) if req.finding_id else None
        if finding is None:
            raise ExceptionInputError("a finding exception needs an existing finding")
        require_project(actor, finding.project_id)
        return [
            RiskException(
                scope=req.scope,
                finding_id=finding.id,
                project_id=finding.project_id,
                severity=finding.severity,
                **common,
            )
        ]
    if req.scope is ExceptionScope.ADVISORY:
        advisory = scope.normalize_advisory(req.advisory_id or "")
        fields = {
            "advisory_id": advisory,
            "aliases": scope.normalize_aliases(req.aliases, advisory),
            "package": scope.normalize_package(req.package),
        }
    else:
        fields = {
            "rule_id": scope.normalize_rule(req.rule_id),
            "path_glob": scope.normalize_glob(req.path_glob),
        }
    projects = _projects_for(session, actor, req)
    group = secrets.token_hex(8) if len(projects) > 1 else None
    return [
        RiskException(scope=req.scope, project_id=p, group_key=group, **fields, **common) for p in projects
    ]


def preview(session: Session, actor: Actor, req: ExceptionRequest) -> list[Finding]:
    """What the request would match right now, across every project it covers (nothing is saved)."""
    require(actor, "exception.request")
    # Only the scope matters for a preview; the reasons may still be unwritten.
    rows = _build(session, actor, replace(req, justification="preview", owner="preview", ticket_url=None))
    matched: dict[int, Finding] = {}
    for row in rows:
        for finding in effects.matching_findings(session, row):
            if actor.can_see_project(finding.project_id):
                matched[finding.id] = finding
    return sorted(matched.values(), key=lambda f: (f.project_id, f.id))


def request_exception(
    session: Session, actor: Actor, req: ExceptionRequest, policy: ExpiryPolicy, now: datetime | None = None
) -> list[RiskException]:
    """Record a pending request (several rows sharing a ``group_key`` for a bulk request)."""
    require(actor, "exception.request")
    if not actor.is_user:
        raise ExceptionInputError("an exception request needs a named requester (a user)")
    now = now or clock.now()
    rows = _build(session, actor, req)
    # Severity comes from what the scope covers now, accepted findings included (renewals).
    statuses = (FindingStatus.OPEN, FindingStatus.ACCEPTED)
    matched = [f for row in rows for f in effects.matching_findings(session, row, statuses=statuses)]
    # A single finding keeps its own severity even when it is not open (a fixed one may come back).
    severity = effects.worst_severity(matched) or rows[0].severity
    expires_at = req.expires_at
    if req.clamp_expiry and (expires_at is None or expires_at > policy.latest_expiry(severity, now)):
        expires_at = policy.latest_expiry(severity, now)
        req.details["expiry_set_by_policy"] = True
    expires_at = policy.check_expiry(expires_at, severity, now)
    for row in rows:
        if row.scope is ExceptionScope.FINDING and _open_for_finding(session, row.finding_id, req.renews_id):
            raise ExceptionInputError(f"finding #{row.finding_id} already has a pending or active exception")
        row.severity = severity
        row.expires_at = expires_at
        row.requested_at = now
        row.details = dict(req.details)
        session.add(row)
    session.flush()
    for row in rows:
        audit.record(
            session,
            actor,
            "exception_request",
            object_type="exception",
            object_id=row.id,
            after=audit_snapshot(row),
        )
    return rows


def _open_for_finding(session: Session, finding_id: int | None, renews_id: int | None) -> bool:
    """Whether another pending or active exception holds the finding (a renewal's own excepted)."""
    stmt = select(RiskException.id).where(
        RiskException.finding_id == finding_id,
        RiskException.state.in_(OPEN_STATES),
        RiskException.id != (renews_id or 0),
    )
    return session.scalar(stmt.limit(1)) is not None


def renew(
    session: Session,
    actor: Actor,
    exception_id: int,
    *,
    expires_at: datetime | None,
    justification: str,
    policy: ExpiryPolicy,
    now: datetime | None = None,
) -> RiskException:
    """A renewal is a new pending request with the same scope; it needs its own approval."""
    old = get_exception(session, actor, exception_id)
    if old.state is not ExceptionState.ACTIVE:
        raise ExceptionStateError(
            f"exception #{old.id} is {old.state.value}; only active ones can be renewed"
        )
    pending = select(RiskException.id).where(
        RiskException.renews_id == old.id, RiskException.state == ExceptionState.PENDING
    )
    if session.scalar(pending.limit(1)) is not None:
        raise ExceptionStateError(f"exception #{old.id} already has a pending renewal")
    req = ExceptionRequest(
        scope=old.scope,
        justification=justification,
        owner=old.owner,
        expires_at=expires_at,
        mitigation=old.mitigation,
        ticket_url=old.ticket_url,
        finding_id=old.finding_id,
        project_ids=[old.project_id] if old.project_id is not None else [],
        all_projects=old.project_id is None,
        advisory_id=old.advisory_id,
        aliases=old.aliases,
        package=old.package,
        rule_id=old.rule_id,
        path_glob=old.path_glob,
        renews_id=old.id,
    )
    (row,) = request_exception(session, actor, req, policy, now)
    return row
