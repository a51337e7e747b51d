"""Hooks into scanning and scheduling: a bandit run stores its inline suppressions; the daily review job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from app.config import Settings
from app.db import Database
from app.execution.executor import execute_run
from app.models import ExceptionScope, Notification, Project, Role, RunStatus, utcnow
from app.scheduler import jobs
from app.services import exception_decisions as decisions
from app.services import exception_requests, inline_suppressions, scans
from app.services.actor import Actor
from app.services.exception_policy import ExpiryPolicy
from tests.exception_helpers import actor_for, project, user
from tests.notification_fixtures import Inbox
from tests.scan_fixtures import project_folder


def test_bandit_run_records_inline_suppressions(
    database: Database, make_project: Callable[..., Project], scan_settings: Settings
) -> None:
    project = make_project(scanners=["bandit"])
    source = project_folder(project) / "app.py"
    source.write_text("import subprocess\n\nsubprocess.call('ls', shell=True)  # nosec B602\nvalue = 1\n")
    with database.transaction() as session:
        (run_id,) = scans.queue_scans(session, Actor.system("test"), project.id, scanners=["bandit"]).run_ids
    assert execute_run(database, run_id, settings=scan_settings) is RunStatus.SUCCEEDED
    with database.reader() as session:
        summary = inline_suppressions.project_summary(session, Actor.system("test"), project.id)
        current = [(s.scanner, s.kind, s.path, s.line) for s in summary.current]
        trend = [count for _day, count in summary.trend]
    assert current == [("bandit", "nosec", "app.py", 3)]
    assert trend == [1]


def test_scheduler_daily_exception_review_job(
    database: Database, scan_settings: Settings, smtp_server: tuple[int, Inbox]
) -> None:
    port, inbox = smtp_server
    settings = replace(scan_settings, smtp_host="127.0.0.1", smtp_port=port, smtp_from="vigil@example.test")
    with database.transaction() as session:
        proj = project(session)
        ana, bob = user(session, "ana", Role.ANALYST), user(session, "bob", Role.APPROVER)
        req = exception_requests.ExceptionRequest(
            scope=ExceptionScope.RULE,
            rule_id="B101",
            project_ids=[proj.id],
            justification="Tests only.",
            owner="ana",
            expires_at=utcnow() + timedelta(days=5),
        )
        (exc,) = exception_requests.request_exception(session, actor_for(ana, {proj.id}), req, ExpiryPolicy())
        decisions.approve(session, actor_for(bob), exc.id, "ok")
    result = jobs.exception_review(database, settings)
    assert result.reminders == 1
    with database.reader() as session:
        (note,) = session.scalars(select(Notification)).all()
        assert note.channels["email"] == "sent"
    assert [m.rcpt_tos for m in inbox.messages] == [["ana@example.test"]]
