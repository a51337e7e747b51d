"""Review queue, reminders (in-app, a real SMTP server, a real webhook receiver), stale and fixable flags."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    ExceptionScope,
    FindingStatus,
    Notification,
    Role,
    RunStatus,
    ScanRun,
    Severity,
    utcnow,
)
from app.services import exception_decisions as decisions
from app.services import exception_requests, notifications
from app.services import exception_review as review
from app.services.exception_policy import ExpiryPolicy
from tests.exception_helpers import actor_for, finding, finding_request, project, user
from tests.notification_fixtures import Inbox

POLICY = ExpiryPolicy()


@pytest.fixture
def active(session: Session) -> dict[str, Any]:
    proj = project(session)
    analyst = user(session, "ana", Role.ANALYST)
    approver = user(session, "bob", Role.APPROVER)
    target = finding(session, proj)
    req = finding_request(target, days=10)
    req.owner = "ana"
    (exc,) = exception_requests.request_exception(session, actor_for(analyst, {proj.id}), req, POLICY)
    decisions.approve(session, actor_for(approver), exc.id, "ok")
    return {"project": proj, "exception": exc, "analyst": analyst, "approver": approver, "finding": target}


def test_review_queue_lists_exceptions_expiring_within_14_days(
    session: Session, active: dict[str, Any]
) -> None:
    exc = active["exception"]
    approver = actor_for(active["approver"])
    items = review.review_queue(session, approver, days=14)
    assert [i.exception.id for i in items] == [exc.id]
    assert items[0].reasons[0].startswith("expires ")
    assert review.review_queue(session, approver, days=5) == []


def test_reminders_go_in_app_by_email_and_webhook(
    session: Session,
    active: dict[str, Any],
    smtp_server: tuple[int, Inbox],
    webhook_server: tuple[str, list[Any]],
) -> None:
    port, inbox = smtp_server
    hook_url, hooks = webhook_server
    notifier = notifications.Notifier(
        smtp_host="127.0.0.1", smtp_port=port, smtp_from="vigil@example.test", webhook_url=hook_url
    )
    assert review.send_reminders(session, notifier, days=14) == 1
    exc = active["exception"]
    rows = session.scalars(select(Notification).where(Notification.object_id == exc.id)).all()
    assert [r.user_id for r in rows] == [active["analyst"].id]
    # Nothing leaves while the transaction is open: the deliveries are pending until sent after it.
    assert rows[0].channels == {
        "in_app": True,
        "email": "pending",
        "email_to": "ana@example.test",
        "webhook": "pending",
    }
    assert inbox.messages == [] and hooks == []
    outgoing = notifications.pending(session)
    notifications.record_delivery(session, notifications.deliver(notifier, outgoing))
    assert rows[0].channels["email"] == "sent" and rows[0].channels["webhook"] == "sent: 204"
    assert notifications.pending(session) == []
    assert [m.rcpt_tos for m in inbox.messages] == [["ana@example.test"]]
    assert b"expires on" in inbox.messages[0].content
    assert hooks[0]["kind"] == "exception_expiring" and hooks[0]["object_id"] == exc.id
    # At most one reminder a week per exception.
    assert review.send_reminders(session, notifier, days=14) == 0
    assert review.send_reminders(session, notifier, now=utcnow() + timedelta(days=8), days=14) == 1
    listed = notifications.list_for(session, actor_for(active["analyst"], {active["project"].id}))
    assert len(listed) == 2
    notifications.mark_read(session, actor_for(active["analyst"], {active["project"].id}), listed[0].id)
    assert listed[0].read_at is not None
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "exception_remind")).all()
    assert len(actions) == 2


def test_failed_outside_delivery_keeps_the_in_app_reminder(session: Session, active: dict[str, Any]) -> None:
    # Nothing listens on port 9 (discard) of localhost here: both deliveries fail, in-app remains.
    notifier = notifications.Notifier(smtp_host="127.0.0.1", smtp_port=9, webhook_url="http://127.0.0.1:9/x")
    assert review.send_reminders(session, notifier, days=14) == 1
    notifications.record_delivery(session, notifications.deliver(notifier, notifications.pending(session)))
    row = session.scalars(select(Notification)).one()
    assert row.channels["in_app"] is True
    assert row.channels["email"].startswith("failed") and row.channels["webhook"].startswith("failed")


def _nightly(session: Session, project_id: int, when: datetime, *, ok: bool = True) -> None:
    for scanner in ("bandit", "ruff"):  # several scanners in one night are one scan
        session.add(
            ScanRun(
                project_id=project_id,
                scanner=scanner,
                status=RunStatus.SUCCEEDED if ok else RunStatus.FAILED,
                complete=ok,
                queued_at=when,
                finished_at=when,
            )
        )
    session.flush()


def test_exception_matching_nothing_becomes_stale(session: Session) -> None:
    proj = project(session)
    analyst = user(session, "ana", Role.ANALYST)
    approver = user(session, "bob", Role.APPROVER)
    start = utcnow()
    req = exception_requests.ExceptionRequest(
        scope=ExceptionScope.RULE,
        rule_id="B999",
        project_ids=[proj.id],
        justification="Legacy module.",
        owner="ana",
        expires_at=start + timedelta(days=20),
    )
    (exc,) = exception_requests.request_exception(session, actor_for(analyst, {proj.id}), req, POLICY, start)
    decisions.approve(session, actor_for(approver), exc.id, "ok", start)
    notifier = notifications.Notifier()
    _nightly(session, proj.id, start + timedelta(days=1))
    _nightly(session, proj.id, start + timedelta(days=2), ok=False)  # a failed scan proves nothing
    assert review.refresh_stale(session, 2, notifier, start + timedelta(days=2, hours=1)) == []
    assert exc.scans_without_match == 1
    _nightly(session, proj.id, start + timedelta(days=3))
    assert review.refresh_stale(session, 2, notifier, start + timedelta(days=3, hours=1)) == [exc]
    assert exc.stale and exc.scans_without_match == 2
    items = review.review_queue(session, actor_for(approver), days=1)
    assert "propose removal" in items[0].reasons[-1]
    assert session.scalars(select(Notification.kind)).all() == ["exception_stale"]
    # A match resets the count: the exception is useful again.
    held = finding(session, proj, rule="B999", path="legacy/x.py", severity=Severity.LOW)
    held.exception_id, held.status = exc.id, FindingStatus.ACCEPTED
    session.flush()
    assert review.refresh_stale(session, 2, notifier, start + timedelta(days=4)) == []
    assert not exc.stale and exc.scans_without_match == 0


def test_daily_review_runs_reminders_stale_and_fixable(session: Session, active: dict[str, Any]) -> None:
    result = review.run_daily(session, notifications.Notifier(), POLICY)
    assert result.reminders == 1 and result.stale == [] and result.flagged == []


def test_advisory_with_a_fixed_version_is_flagged_for_review(session: Session) -> None:
    proj = project(session)
    analyst = user(session, "ana", Role.ANALYST)
    approver = user(session, "bob", Role.APPROVER)
    dep = finding(session, proj, advisory_ids=["CVE-2024-1111"], package="jinja2", severity=Severity.MEDIUM)
    req = exception_requests.ExceptionRequest(
        scope=ExceptionScope.ADVISORY,
        advisory_id="CVE-2024-1111",
        package="Jinja2",
        project_ids=[proj.id],
        justification="Sandbox not used.",
        owner="ana",
        expires_at=utcnow() + timedelta(days=100),
    )
    (exc,) = exception_requests.request_exception(session, actor_for(analyst, {proj.id}), req, POLICY)
    decisions.approve(session, actor_for(approver), exc.id, "ok")
    assert review.flag_fixable_advisories(session) == []
    dep.fixed_versions = ["3.1.5"]
    assert review.flag_fixable_advisories(session) == [exc]
    assert exc.needs_review and "3.1.5" in (exc.review_reason or "")
    reasons = review.review_queue(session, actor_for(approver), days=1)[0].reasons
    assert any("fixed version" in r for r in reasons)
