"""The accepted-risk flow in a real Chromium: request with preview, approval by another person, expiry."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db import Database
from app.models import (
    AuditEvent,
    ExceptionState,
    Finding,
    FindingStatus,
    ProjectMember,
    RiskException,
    Role,
    User,
)
from app.models import utcnow as now_utc
from app.services import exception_expiry as expiry
from app.services.actor import Actor
from app.services.exception_effects import blocking_findings
from tests.auth_fixtures import DEFAULT_PASSWORD, password_hash_for
from tests.exception_helpers import finding, project

pytestmark = pytest.mark.browser


def _seed(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.transaction() as session:
            proj = project(session)
            target = finding(session, proj)
            ids = {"project": proj.id, "finding": target.id}
            for name, role in (("ana", Role.ANALYST), ("bob", Role.APPROVER)):
                user = User(
                    username=name,
                    display_name=name,
                    password_hash=password_hash_for(DEFAULT_PASSWORD),
                    role=role,
                )
                session.add(user)
                session.flush()
                ids[name] = user.id
            session.add(ProjectMember(project_id=proj.id, user_id=ids["ana"]))
            return ids
    finally:
        db.dispose()


def _sign_in(page: Any, username: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path.split("?")[0])))


def test_request_approve_expire_in_the_browser(
    browser: Any, live_server: Any, sqlite_url: str, page: Any
) -> None:
    ids = _seed(sqlite_url)
    _sign_in(page, "ana", f"/exceptions/new?finding_id={ids['finding']}")
    page.fill("textarea[name=justification]", "Only reachable from the admin VPN.")
    page.fill("input[name=owner]", "ana")
    page.fill("input[name=expires_at]", (now_utc() + timedelta(days=30)).date().isoformat())
    page.click("text=Preview matches")
    page.wait_for_selector("#preview >> text=would be accepted now")
    page.click("button:has-text('Request exception')")
    page.wait_for_selector("h1 >> text=pending")
    assert "nobody decides their own request" in page.content()
    exception_path = page.url.removeprefix(live_server.url)

    approver = browser.new_context(base_url=live_server.url)
    try:
        other = approver.new_page()
        _sign_in(other, "bob", exception_path)
        other.fill("textarea[name=comment]", "Compensating control verified.")
        other.click("button:has-text('Approve')")
        other.wait_for_selector("h1 >> text=active")
        assert "Compensating control verified." in other.content()
    finally:
        approver.close()

    db = Database(sqlite_url)
    try:
        with db.transaction() as session:
            assert blocking_findings(session, ids["project"], "high") == []
            exc = session.scalars(select(RiskException)).one()
            # Time moves past the expiry; the expiry job reopens the finding.
            expiry.expire(session, Actor.system("exception-expiry"), exc, exc.expires_at + timedelta(days=1))
        with db.reader() as session:
            assert session.get(Finding, ids["finding"]).status is FindingStatus.OPEN
            assert [f.id for f in blocking_findings(session, ids["project"], "high")] == [ids["finding"]]
            actions = session.scalars(
                select(AuditEvent.action).where(AuditEvent.object_type == "exception").order_by(AuditEvent.id)
            ).all()
            assert actions == ["exception_request", "exception_approve", "exception_expire"]
            assert session.scalars(select(RiskException.state)).one() is ExceptionState.EXPIRED
    finally:
        db.dispose()
    page.reload()
    page.wait_for_selector("h1 >> text=expired")
