"""Accepted risks: request, four-eyes decision, renewal, revocation and expiry.

Every transition checks a permission, writes an audit event in the same transaction, and changes
the findings it concerns (see :mod:`app.services.exception_effects`). Nobody decides their own
request: the service refuses it and a database CHECK constraint backs that up.
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


def _snapshot(exc: RiskException) -> dict[str, object]:
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


def _text(value: str | None, what: str, *, required: bool, limit: int = MAX_TEXT) -> str:
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
        "justification": _text(req.justification, "a justification", required=True),
        "mitigation": _text(req.mitigation, "the mitigation", required=False),
        "owner": _text(req.owner, "an owner", required=True, limit=255),
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
            after=_snapshot(row),
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
    before = _snapshot(exc)
    exc.state = ExceptionState.ACTIVE
    exc.decided_by_id = actor.id
    exc.decided_at = now
    exc.decision_comment = _text(comment, "the comment", required=False)
    session.flush()
    previous = session.get(RiskException, exc.renews_id) if exc.renews_id else None
    if previous is not None and previous.state is ExceptionState.ACTIVE:
        effects.transfer_findings(session, previous, exc)
        _close(
            session,
            actor,
            previous,
            ExceptionState.EXPIRED,
            now,
            "exception_supersede",
            f"renewed by #{exc.id}",
        )
    accepted = effects.accept_findings(session, actor, exc, now)
    after = {**_snapshot(exc), "accepted_findings": accepted, "comment": exc.decision_comment}
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
    reason = _text(comment, "a comment explaining the rejection", required=True)
    before = _snapshot(exc)
    exc.state = ExceptionState.REJECTED
    exc.decided_by_id = actor.id
    exc.decided_at = now or clock.now()
    exc.decision_comment = reason
    session.flush()
    after = {**_snapshot(exc), "comment": exc.decision_comment}
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


def _close(
    session: Session,
    actor: Actor,
    exc: RiskException,
    state: ExceptionState,
    now: datetime,
    action: str,
    why: str,
) -> int:
    before = _snapshot(exc)
    exc.state = state
    if state is ExceptionState.REVOKED:
        exc.revoked_by_id = actor.id if actor.is_user else None
        exc.revoked_at = now
        exc.revoke_reason = why
    session.flush()
    reopened = effects.reopen_findings(session, actor, exc, now, f"exception #{exc.id} {state.value}: {why}")
    after = {**_snapshot(exc), "reopened_findings": reopened, "reason": why}
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
    why = _text(reason, "a reason for the revocation", required=True)
    _close(session, actor, exc, ExceptionState.REVOKED, now or clock.now(), "exception_revoke", why)
    return exc


def expire(session: Session, actor: Actor, exc: RiskException, now: datetime) -> int:
    """Called by the expiry job: an active exception past its date ends and its findings reopen."""
    if exc.state is not ExceptionState.ACTIVE or exc.expires_at > now:
        return 0
    return _close(
        session,
        actor,
        exc,
        ExceptionState.EXPIRED,
        now,
        "exception_expire",
        f"expired on {exc.expires_at.date().isoformat()}",
    )


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
