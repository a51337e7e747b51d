"""The monthly report is generated once per month, stored, and verifiable like any export."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import StoredReport
from app.models.base import ActorType, Role
from app.services import reports, scheduled_reports
from app.services.actor import Actor
from app.services.permissions import NotFound
from tests.reports.report_data import build_history


def test_monthly_report_is_stored_once_and_verifiable(session: Session) -> None:
    build_history(session)
    now = datetime(2026, 8, 3, 2, 0, tzinfo=UTC)
    made = scheduled_reports.generate_monthly(session, now)
    assert sorted(r.format for r in made) == ["pdf", "xlsx"]
    assert {r.period for r in made} == {"2026-07"}
    assert scheduled_reports.generate_monthly(session, now) == []  # idempotent
    assert len(session.scalars(select(StoredReport)).all()) == 2
    pdf = next(r for r in made if r.format == "pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.size == len(pdf.content)
    assert reports.verify(session, pdf.content).genuine


def test_restricted_users_do_not_see_portfolio_reports(session: Session) -> None:
    build_history(session)
    made = scheduled_reports.generate_monthly(session, datetime(2026, 8, 3, tzinfo=UTC))
    analyst = Actor(type=ActorType.USER, id=1, label="a", role=Role.ANALYST, project_ids=frozenset({1}))
    assert scheduled_reports.list_stored(session, analyst) == []
    with pytest.raises(NotFound):
        scheduled_reports.get_stored(session, analyst, made[0].id)
    admin = Actor(type=analyst.type, id=2, label="b", role=Role.ADMIN)
    assert len(scheduled_reports.list_stored(session, admin)) == 2


def test_scheduler_job_stores_last_months_reports(database: Any) -> None:
    from app.scheduler import jobs

    with database.transaction() as s:
        build_history(s)
    assert jobs.monthly_report(database, datetime(2026, 9, 1, 4, tzinfo=UTC)) == 2
    assert jobs.monthly_report(database, datetime(2026, 9, 1, 4, tzinfo=UTC)) == 0
    with database.reader() as s:
        assert {r.period for r in s.scalars(select(StoredReport))} == {"2026-08"}
