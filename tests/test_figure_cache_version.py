"""The dashboard figures' version moves with writes that can change a figure, not with sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from app.models import ActorType, Role, utcnow
from app.services import audit, findings
from app.services import dashboard as dashboard_service
from app.services.actor import Actor
from app.services.figure_cache import data_version
from tests.finding_helpers import add_finding, add_project


def test_sign_ins_and_downloads_keep_the_version_scans_and_unknown_objects_move_it(
    session: Session,
) -> None:
    system = Actor.system("test")
    before = data_version(session)
    for object_type, action in (
        ("user", "authn_login_success"),
        ("session", "session_end"),
        ("report", "report_export"),
        ("scan_health", "scan_health_flag"),
        ("route", "authz_fail"),
        ("api_key", "apikey_create"),
    ):
        audit.record(session, system, action, object_type=object_type, object_id="1")
        session.flush()
        assert data_version(session) == before, object_type
    for object_type in ("scan_run", "finding", "exception", "advisory_store", None, "something_new"):
        audit.record(session, system, "change", object_type=object_type, object_id="1")
        session.flush()
        after = data_version(session)
        assert after != before, object_type
        before = after


def test_a_triage_recounts_open_findings_but_keeps_the_history(session: Session) -> None:
    project = add_project(session)
    now = utcnow()
    first = add_finding(session, project, first_seen=now - timedelta(days=3))
    add_finding(session, project, first_seen=now - timedelta(days=2))
    session.commit()
    admin = Actor(type=ActorType.USER, id=None, label="admin", role=Role.ADMIN)
    dashboard_service.clear_caches()

    def view() -> dashboard_service.Dashboard:
        data = dashboard_service.portfolio(session, admin, 30)
        session.commit()
        return data

    assert view().cached_parts == (False, False)
    assert view().cached_parts == (True, True)
    findings.triage(session, Actor.system("test"), [first.id], "false_positive", "duplicate")
    session.commit()
    after_triage = view()
    assert after_triage.cached_parts == (False, True) and after_triage.open_total == 1
    new_week = after_triage.weekly[-1][2]
    audit.record(session, Actor.system("test"), "scan_ingest", object_type="scan_run", object_id="1")
    add_finding(session, project, first_seen=now)  # what an import writes, with its audit event
    session.commit()
    after_import = view()
    assert after_import.cached_parts == (False, False)
    assert after_import.open_total == 2 and after_import.weekly[-1][2] == new_week + 1


def test_past_due_moves_with_the_clock_while_the_counts_stay_cached(session: Session) -> None:
    project = add_project(session)
    now = datetime.combine(utcnow().date(), time(6, 0), tzinfo=UTC)  # both views on one day
    add_finding(session, project, severity="high", sla_due_at=now + timedelta(hours=2))
    add_finding(session, project, severity="high", sla_due_at=now - timedelta(days=1))
    session.commit()
    admin = Actor(type=ActorType.USER, id=None, label="admin", role=Role.ADMIN)
    dashboard_service.clear_caches()
    first = dashboard_service.portfolio(session, admin, 30, now=now)
    later = dashboard_service.portfolio(session, admin, 30, now=now + timedelta(hours=3))
    assert first.overdue["high"] == 1 and later.overdue["high"] == 2
    assert later.cached_parts == (True, True) and later.open_total == 2
