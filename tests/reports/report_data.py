"""A small, fully known history to report on: two projects, findings fixed and reopened over time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from app.models import (
    Category,
    ExceptionScope,
    ExceptionState,
    Finding,
    FindingStatus,
    FindingStatusHistory,
    Project,
    RiskException,
    RunStatus,
    ScanRun,
    Severity,
    User,
)
from app.models.base import Role

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def _finding(
    project: Project, n: int, severity: Severity, title: str, first_seen: datetime, **kw: object
) -> Finding:
    return Finding(
        project_id=project.id,
        fingerprint=f"fp-{project.id}-{n}",
        scanner="bandit",
        rule_id=f"B60{n % 10}",
        tool_rule_id=f"B60{n % 10}",
        category=Category.SECURITY,
        severity=severity,
        title=title,
        path=f"src/mod{n}.py",
        line=10 + n,
        first_seen=first_seen,
        last_seen=first_seen,
        sla_due_at=first_seen + timedelta(days=30),
        **kw,
    )


def build_history(session: Session) -> dict[str, object]:
    """Findings whose status changed over time, with matching history rows and runs."""
    alice = User(username="alice", password_hash="x", role=Role.ANALYST)
    bob = User(username="bob", password_hash="x", role=Role.APPROVER)
    api = Project(name="payments-api", local_path="/srv/payments", enabled_scanners=["bandit", "ruff"])
    web = Project(name="web-portal", local_path="/srv/portal", enabled_scanners=["bandit"])
    session.add_all([alice, bob, api, web])
    session.flush()
    session.add_all(
        [
            ScanRun(
                project_id=api.id,
                scanner="bandit",
                status=RunStatus.SUCCEEDED,
                complete=True,
                queued_at=day(0),
                started_at=day(0),
                finished_at=day(0),
            ),
            ScanRun(
                project_id=api.id,
                scanner="ruff",
                status=RunStatus.FAILED,
                queued_at=day(5),
                started_at=day(5),
                finished_at=day(5),
                error="ruff exited 2",
            ),
            ScanRun(
                project_id=web.id,
                scanner="bandit",
                status=RunStatus.SUCCEEDED,
                complete=True,
                queued_at=day(1),
                started_at=day(1),
                finished_at=day(1),
            ),
        ]
    )
    injected = _finding(api, 1, Severity.HIGH, '=HYPERLINK("http://x")', day(0))
    fixed_later = _finding(
        api,
        2,
        Severity.CRITICAL,
        "subprocess with shell=True",
        day(0),
        status=FindingStatus.FIXED,
        fixed_at=day(20),
    )
    accepted = _finding(web, 3, Severity.MEDIUM, "weak hash", day(1), status=FindingStatus.ACCEPTED)
    new_after = _finding(web, 4, Severity.LOW, "assert used", day(25))
    session.add_all([injected, fixed_later, accepted, new_after])
    session.flush()
    history = [
        (injected, None, FindingStatus.OPEN, day(0)),
        (fixed_later, None, FindingStatus.OPEN, day(0)),
        (fixed_later, FindingStatus.OPEN, FindingStatus.FIXED, day(20)),
        (accepted, None, FindingStatus.OPEN, day(1)),
        (accepted, FindingStatus.OPEN, FindingStatus.ACCEPTED, day(3)),
        (new_after, None, FindingStatus.OPEN, day(25)),
    ]
    session.add_all(
        FindingStatusHistory(finding_id=f.id, from_status=a, to_status=b, changed_at=at, reason="test")
        for f, a, b, at in history
    )
    exception = RiskException(
        scope=ExceptionScope.FINDING,
        project_id=web.id,
        finding_id=accepted.id,
        justification="only used for cache keys",
        mitigation="not security relevant",
        owner="team-web",
        state=ExceptionState.ACTIVE,
        requested_by_id=alice.id,
        requested_at=day(2),
        decided_by_id=bob.id,
        decided_at=day(3),
        expires_at=day(90),
    )
    session.add(exception)
    session.flush()
    accepted.exception_id = exception.id
    session.flush()
    return {
        "api": api,
        "web": web,
        "injected": injected,
        "fixed_later": fixed_later,
        "accepted": accepted,
        "new_after": new_after,
        "exception": exception,
    }
