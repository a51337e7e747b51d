"""The security team's day in a real Chromium: dashboard, filter, triage, and a scan watched to the end."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.db import Database
from app.demo import SAMPLE_PROJECT
from app.models import Finding, FindingStatus, ProjectMember, Role, ScanRun, User, utcnow
from app.scheduler.embedded import start_embedded
from tests.auth_fixtures import DEFAULT_PASSWORD, password_hash_for
from tests.finding_helpers import add_finding, add_project, add_snapshot

pytestmark = pytest.mark.browser


def _seed(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.transaction() as s:
            project = add_project(s, "demo-shop", enabled_scanners=["ruff"])
            project.local_path = str(SAMPLE_PROJECT)
            for n in range(3):
                add_snapshot(s, project, utcnow().date() - timedelta(days=n), 4 - n)
            critical = add_finding(s, project, severity="critical", title="Hard-coded password in settings")
            add_finding(s, project, severity="low", title="assert used outside tests")
            user = User(
                username="ana",
                display_name="ana",
                password_hash=password_hash_for(DEFAULT_PASSWORD),
                role=Role.ANALYST,
            )
            s.add(user)
            s.flush()
            s.add(ProjectMember(project_id=project.id, user_id=user.id))
            return {"project": project.id, "critical": critical.id}
    finally:
        db.dispose()


def _sign_in(page: Any, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#username", "ana")
    page.fill("#password", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def test_dashboard_filter_and_triage(page: Any, live_server: Any, sqlite_url: str) -> None:
    ids = _seed(sqlite_url)
    _sign_in(page)
    page.wait_for_selector("h1 >> text=Portfolio")
    # Chart.js replaced the server's SVG with a canvas; the numbers table stays for everyone.
    page.wait_for_selector(".chart.enhanced canvas")
    assert page.locator("details.chart-data table").count() >= 2
    page.click("a[href='/findings?severity=critical']")
    page.wait_for_url(re.compile(r"/findings\?severity=critical$"))
    assert "Hard-coded password in settings" in page.content()
    assert "assert used outside tests" not in page.content()

    # Filtering is an htmx request that pushes the filters into the URL: shareable, back works.
    page.select_option("select[name=severity]", "low")
    page.wait_for_url(re.compile(r"severity=low"))
    page.wait_for_selector("#findings-list >> text=assert used outside tests")
    assert "Hard-coded password in settings" not in page.inner_text("#findings-list")
    page.go_back()
    page.wait_for_url(re.compile(r"severity=critical"))
    page.wait_for_selector("#findings-list >> text=Hard-coded password in settings")

    # Triage needs a reason; the browser refuses an empty one, the server would too.
    page.check("input[data-select-all]")  # selects every finding on the page...
    page.uncheck(f"input[name=finding][value='{ids['critical']}']")
    assert page.locator("input[name=finding]:checked").count() == 0  # ...only one is listed here
    page.check(f"input[name=finding][value='{ids['critical']}']")
    page.fill("input[name=reason]", "test fixture password, never deployed")
    page.click("fieldset.triage button[type=submit]")
    page.wait_for_selector(".flash >> text=1 finding(s) changed")
    db = Database(sqlite_url)
    try:
        with db.reader() as s:
            assert (
                s.scalar(select(Finding.status).where(Finding.id == ids["critical"]))
                == FindingStatus.FALSE_POSITIVE
            )
    finally:
        db.dispose()
    # Back on the same filtered list, which shows open findings only: the triaged one has left it.
    page.wait_for_url(re.compile(r"/findings\?severity=critical$"))
    assert "Hard-coded password in settings" not in page.inner_text("#findings-list")
    page.goto(f"/findings/{ids['critical']}")
    page.wait_for_selector("text=test fixture password, never deployed")


def test_scan_now_and_watch_it_finish(page: Any, live_app: Flask, live_server: Any, sqlite_url: str) -> None:
    ids = _seed(sqlite_url)
    _service, pool = start_embedded(live_app)
    assert pool is not None
    try:
        _sign_in(page, f"/projects/{ids['project']}")
        page.click("button:has-text('Scan now')")
        page.wait_for_url(re.compile(r"/scans/\d+$"))
        # The status block polls every 2 s while the run is queued or running, then stops.
        page.wait_for_selector("[data-run-status=succeeded], [data-run-status=failed]", timeout=90_000)
        assert page.locator("#run-status[hx-trigger]").count() == 0
        run_id = int(page.url.rsplit("/", 1)[1])
        db = Database(sqlite_url)
        try:
            with db.reader() as s:
                run = s.get(ScanRun, run_id)
                assert run is not None and run.status.value == "succeeded", (run.status, run.error)
        finally:
            db.dispose()
        page.click("text=Findings of this scanner")
        page.wait_for_url(re.compile(r"/findings\?project="))
    finally:
        pool.stop(cancel_running=True, timeout=10.0)
