"""Dashboard, findings, project and scan pages through the real app: pages, fragments, links."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import Database
from app.models import AuditEvent, Finding, Project, RunStatus, ScanRun, utcnow
from app.services.figure_cache import FigureCache
from tests.finding_helpers import add_finding, add_project, add_run, add_snapshot

HTMX = {"HX-Request": "true"}


def _seed(database: Database) -> dict[str, Any]:
    with database.transaction() as s:
        project = add_project(s, "payments")
        today = utcnow().date()
        for n in range(5):
            add_snapshot(s, project, today - timedelta(days=n), 10 - n)
            add_snapshot(s, project, today - timedelta(days=n), 3, scanner="osv", severity="critical")
        f_open = add_finding(
            s, project, title="Shell injection in deploy", sla_due_at=utcnow() - timedelta(days=2)
        )
        add_finding(
            s,
            project,
            status="fixed",
            first_seen=utcnow() - timedelta(days=6),
            fixed_at=utcnow() - timedelta(days=1),
        )
        run = add_run(
            s, project, status="failed", error="bandit exited with status 2", stderr_tail="Traceback: boom"
        )
        return {"project": project.id, "finding": f_open.id, "run": run.id}


def test_dashboard_page_fragment_and_links(database: Database, logged_in: Any) -> None:
    ids = _seed(database)
    client: FlaskClient = logged_in("admin")
    page = client.get("/")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    assert "Portfolio" in html and "<svg" in html and "data-chart=" in html
    # Every number links to the list behind it; the overdue figure is one of them.
    assert 'href="/findings?overdue=1"' in html
    assert re.search(r'href="/findings\?severity=high&amp;category=security">1<', html)
    assert f"/scans/{ids['run']}" in html  # the failed run appears under scan health
    fragment = client.get("/?days=90", headers=HTMX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and "last 90 days" in text
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert client.get("/?days=7").status_code == 400


def test_findings_list_detail_and_triage_form(database: Database, logged_in: Any) -> None:
    ids = _seed(database)
    client: FlaskClient = logged_in("analyst", projects=[ids["project"]])
    listing = client.get("/findings?severity=high")
    html = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "Shell injection in deploy" in html
    fragment = client.get("/findings?severity=high", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "Shell injection in deploy" in fragment
    # Back/forward after hx-push-url: htmx asks again with HX-History-Restore-Request: the whole page.
    restore = client.get("/findings?severity=high", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)
    assert client.get("/findings?severity=urgent").status_code == 400
    assert client.get("/findings?cursor=garbage").status_code == 400
    detail = client.get(f"/findings/{ids['finding']}")
    assert detail.status_code == 200 and "Status history" in detail.get_data(as_text=True)
    token = client.csrf()
    missing_reason = client.post(
        "/findings/triage",
        data={"finding": ids["finding"], "status": "false_positive", "reason": "", "csrf_token": token},
    )
    assert missing_reason.status_code == 400 and "reason" in missing_reason.get_data(as_text=True)
    done = client.post(
        "/findings/triage",
        data={
            "finding": ids["finding"],
            "status": "false_positive",
            "reason": "test data",
            "csrf_token": token,
            "back": "severity=high",
        },
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/findings?severity=high")
    with database.reader() as s:
        assert s.scalar(select(Finding.status).where(Finding.id == ids["finding"])) == "false_positive"


def test_projects_and_scan_pages(database: Database, logged_in: Any) -> None:
    ids = _seed(database)
    client: FlaskClient = logged_in("admin")
    listing = client.get("/projects").get_data(as_text=True)
    assert "payments" in listing and "failed" in listing
    project = client.get(f"/projects/{ids['project']}")
    assert project.status_code == 200 and "Schedule" in project.get_data(as_text=True)
    run = client.get(f"/scans/{ids['run']}").get_data(as_text=True)
    assert "bandit exited with status 2" in run and "Traceback: boom" in run
    assert 'hx-trigger="every 2s"' not in run  # a finished run does not poll
    assert "payments" in client.get("/scans?status=failed").get_data(as_text=True)


def test_schedule_edit_is_validated_and_admin_only(database: Database, logged_in: Any) -> None:
    ids = _seed(database)
    admin: FlaskClient = logged_in("admin")
    url = f"/projects/{ids['project']}/schedule"
    token = admin.csrf()
    for cron, zone in (("61 2 * * *", "UTC"), ("0 2 * *", "UTC"), ("0 2 * * *", "Mars/Olympus")):
        bad = admin.post(url, data={"cron": cron, "timezone": zone, "enabled": "on", "csrf_token": token})
        assert bad.status_code == 400, (cron, zone)
    ok = admin.post(url, data={"cron": "30 3 * * 1-5", "timezone": "Europe/Berlin", "csrf_token": token})
    assert ok.status_code == 302
    with database.reader() as s:
        project = s.get(Project, ids["project"])
        assert project is not None
        assert (project.schedule_cron, project.timezone, project.schedule_enabled) == (
            "30 3 * * 1-5",
            "Europe/Berlin",
            False,
        )
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "project_schedule")) is not None
    analyst: FlaskClient = logged_in("analyst", projects=[ids["project"]])
    denied = analyst.post(url, data={"cron": "0 1 * * *", "timezone": "UTC", "csrf_token": analyst.csrf()})
    assert denied.status_code == 403


def test_active_run_polls_until_it_ends_and_can_be_cancelled(database: Database, logged_in: Any) -> None:
    ids = _seed(database)
    client: FlaskClient = logged_in("analyst", projects=[ids["project"]])
    token = client.csrf()
    queued = client.post(f"/projects/{ids['project']}/scan", data={"csrf_token": token})
    assert queued.status_code == 302
    with database.reader() as s:
        run = s.scalars(select(ScanRun).where(ScanRun.status == RunStatus.QUEUED)).first()
        assert run is not None
        run_id = run.id
    fragment = client.get(f"/scans/{run_id}", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert 'hx-trigger="every 2s"' in fragment and "Cancel run" in fragment
    cancelled = client.post(f"/scans/{run_id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 302
    after = client.get(f"/scans/{run_id}", headers=HTMX).get_data(as_text=True)
    assert 'data-run-status="cancelled"' in after and "hx-trigger" not in after
    again = client.post(f"/scans/{run_id}/cancel", data={"csrf_token": token})
    assert again.status_code == 400 and "already cancelled" in again.get_data(as_text=True)


def test_dashboard_figures_follow_every_change(database: Database, logged_in: Any) -> None:
    ids = _seed(database)
    client: FlaskClient = logged_in("admin")

    def open_total() -> str:
        html = client.get("/").get_data(as_text=True)
        found = re.search(
            r"<h2>Open findings</h2>\s*<p class=\"stat\"><a href=\"/findings\">([\d,]+)</a>", html
        )
        assert found is not None
        return found.group(1)

    assert open_total() == "1"
    assert open_total() == "1"  # the second view is served from the figure cache
    token = client.csrf()
    client.post(
        "/findings/triage",
        data={
            "finding": ids["finding"],
            "status": "false_positive",
            "reason": "duplicate",
            "csrf_token": token,
        },
    )
    assert open_total() == "0"  # the triage's audit event invalidated the cached figures


def test_figure_cache_versions_and_expiry() -> None:
    cache: FigureCache[int] = FigureCache(ttl_seconds=60.0, max_entries=2)
    calls: list[int] = []

    def compute(value: int) -> Any:
        return lambda: calls.append(value) or value

    assert cache.get_or_compute("a", 1, compute(10)) == (10, False)
    assert cache.get_or_compute("a", 1, compute(11)) == (10, True)
    assert cache.get_or_compute("a", 2, compute(12)) == (12, False)  # new version: recomputed
    cache.get_or_compute("b", 1, compute(20))
    cache.get_or_compute("c", 1, compute(30))  # evicts the least recently used key "a"
    assert cache.get_or_compute("a", 2, compute(13)) == (13, False)
    expired: FigureCache[int] = FigureCache(ttl_seconds=0.0)
    expired.get_or_compute("a", 1, compute(1))
    assert expired.get_or_compute("a", 1, compute(2)) == (2, False)
    assert calls == [10, 12, 20, 30, 13, 1, 2]
