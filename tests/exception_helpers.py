"""Small builders for the accepted-risk tests: users, projects and findings written straight to the DB."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.models import (
    ActorType,
    Category,
    ExceptionScope,
    Finding,
    FindingStatus,
    Project,
    RiskException,
    Role,
    Severity,
    User,
    utcnow,
)
from app.services.actor import Actor
from app.services.exception_decisions import approve
from app.services.exception_policy import ExpiryPolicy
from app.services.exception_requests import ExceptionRequest, request_exception
from app.services.permissions import ALL_PROJECT_ROLES


def user(session: Session, name: str, role: Role) -> User:
    row = User(username=name, password_hash="not-a-real-hash", role=role, email=f"{name}@example.test")
    session.add(row)
    session.flush()
    return row


def actor_for(row: User, project_ids: set[int] | None = None) -> Actor:
    """The actor the web layer would build for this user (analysts see only their projects)."""
    scoped = None if row.role in ALL_PROJECT_ROLES else frozenset(project_ids or ())
    return Actor(type=ActorType.USER, id=row.id, label=row.username, role=row.role, project_ids=scoped)


def project(session: Session, name: str = "shop") -> Project:
    row = Project(name=name, local_path=f"/srv/{name}")
    session.add(row)
    session.flush()
    return row


def finding(
    session: Session,
    proj: Project,
    *,
    rule: str = "B608",
    severity: Severity = Severity.HIGH,
    path: str = "shop/db.py",
    advisory_ids: list[str] | None = None,
    package: str | None = None,
    fixed_versions: list[str] | None = None,
    sla_due_at: datetime | None = None,
) -> Finding:
    key = f"{proj.id}:{rule}:{path}:{advisory_ids}:{package}:{utcnow().timestamp()}:{id(object())}"
    row = Finding(
        project_id=proj.id,
        fingerprint=hashlib.sha256(key.encode()).hexdigest(),
        scanner="pip-audit" if package else "bandit",
        rule_id=rule,
        tool_rule_id=rule,
        category=Category.DEPENDENCY if package else Category.SECURITY,
        severity=severity,
        title=f"{rule} in {path}",
        path=None if package else path,
        line=None if package else 10,
        advisory_ids=advisory_ids or [],
        package=package,
        fixed_versions=fixed_versions or [],
        status=FindingStatus.OPEN,
        sla_due_at=sla_due_at,
    )
    session.add(row)
    session.flush()
    return row


def finding_request(target: Finding, *, days: int = 30, now: datetime | None = None) -> ExceptionRequest:
    return ExceptionRequest(
        scope=ExceptionScope.FINDING,
        justification="Only reachable from the admin network; fix scheduled for Q3.",
        mitigation="WAF rule 942100 blocks the injection pattern.",
        owner="alice",
        ticket_url="https://tracker.example.test/SEC-12",
        expires_at=(now or utcnow()) + timedelta(days=days),
        finding_id=target.id,
    )


def approved_finding_exception(
    session: Session, proj: Project, *, days: int, now: datetime
) -> tuple[RiskException, Finding]:
    """A new finding under an active exception: requested by analyst "ana", approved by "appr"."""
    analyst = user(session, "ana", Role.ANALYST)
    approver = user(session, "appr", Role.APPROVER)
    target = finding(session, proj)
    request = finding_request(target, days=days, now=now)
    (exc,) = request_exception(session, actor_for(analyst, {proj.id}), request, ExpiryPolicy(), now)
    approve(session, actor_for(approver), exc.id, "Verified the WAF rule.", now)
    return exc, target
