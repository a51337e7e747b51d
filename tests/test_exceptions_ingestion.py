"""An approved exception holds now and in later scans; after expiry a scan keeps the finding open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingestion import ingest
from app.models import ExceptionScope, Finding, FindingStatus, Role, utcnow
from app.services import exception_decisions as decisions
from app.services import exception_requests
from app.services.exception_expiry import expire_due
from app.services.exception_policy import ExpiryPolicy
from tests.exception_helpers import actor_for, user
from tests.ingestion_helpers import dependency, project, run


def test_approved_advisory_exception_covers_existing_and_new_findings(session: Session) -> None:
    proj = project(session)
    now = utcnow()
    ingest(session, run(session, proj, "pip-audit"), [dependency("Django")], now=now)
    existing = session.scalars(select(Finding)).one()
    assert existing.status is FindingStatus.OPEN
    analyst, approver = user(session, "ana", Role.ANALYST), user(session, "bob", Role.APPROVER)
    req = exception_requests.ExceptionRequest(
        scope=ExceptionScope.ADVISORY,
        advisory_id="GHSA-aaaa-bbbb-cccc",
        project_ids=[proj.id],
        justification="The vulnerable view is not routed.",
        owner="ana",
        expires_at=now + timedelta(days=30),
    )
    (exc,) = exception_requests.request_exception(
        session, actor_for(analyst, {proj.id}), req, ExpiryPolicy(), now
    )
    decisions.approve(session, actor_for(approver), exc.id, "ok", now)
    assert existing.status is FindingStatus.ACCEPTED

    # The next scan sees the same finding and a new one for the same advisory in another package.
    later = now + timedelta(days=1)
    ingest(
        session,
        run(session, proj, "pip-audit"),
        [dependency("Django"), dependency("djangorestframework")],
        now=later,
    )
    rows = session.scalars(select(Finding).order_by(Finding.id)).all()
    assert [(f.package, f.status, f.exception_id) for f in rows] == [
        ("Django", FindingStatus.ACCEPTED, exc.id),
        ("djangorestframework", FindingStatus.ACCEPTED, exc.id),
    ]

    expired_at = now + timedelta(days=31)
    assert expire_due(session, expired_at).reopened_findings == 2
    ingest(
        session, run(session, proj, "pip-audit"), [dependency("Django")], now=expired_at + timedelta(hours=1)
    )
    assert (
        session.scalars(select(Finding.status).where(Finding.package == "Django")).one() is FindingStatus.OPEN
    )
