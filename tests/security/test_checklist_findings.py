"""Checklist 18, 20, 25 and 26 on the findings, dashboard, project and scan pages."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import Database
from app.models import AuditEvent, Finding, FindingStatusHistory
from tests.finding_helpers import add_finding, add_project, add_run

HTMX = {"HX-Request": "true"}
XSS = '<img src=x onerror=alert(1)> hx-get="/admin" <script>alert(2)</script>'


def _two_projects(database: Database) -> dict[str, int]:
    with database.transaction() as s:
        mine, theirs = add_project(s, "mine"), add_project(s, "theirs")
        own = add_finding(s, mine)
        hidden = add_finding(s, theirs, title="Secret of another team")
        run = add_run(s, theirs)
        return {"mine": mine.id, "theirs": theirs.id, "own": own.id, "hidden": hidden.id, "run": run.id}


def _snapshot(database: Database, finding_id: int) -> tuple[Any, ...]:
    with database.reader() as s:
        f = s.get(Finding, finding_id)
        assert f is not None
        history = s.scalar(
            select(FindingStatusHistory.id).where(FindingStatusHistory.finding_id == finding_id)
        )
        return (f.status, f.severity, f.exception_id, f.title, history)


def test_checklist_18_other_teams_finding_is_404_everywhere(database: Database, logged_in: Any) -> None:
    ids = _two_projects(database)
    client: FlaskClient = logged_in("analyst", projects=[ids["mine"]])
    token = client.csrf()
    headers = {"X-CSRFToken": token}
    before = _snapshot(database, ids["hidden"])
    body = {"status": "false_positive", "reason": "not ours"}
    responses = {
        "get": client.get(f"/findings/{ids['hidden']}"),
        "get htmx": client.get(f"/findings/{ids['hidden']}", headers=HTMX),
        "patch": client.patch(f"/findings/{ids['hidden']}", json=body, headers=headers),
        "delete": client.delete(f"/findings/{ids['hidden']}", headers=headers),
        "bulk triage": client.post(
            "/findings/triage",
            data={
                "finding": [ids["own"], ids["hidden"]],
                "status": "false_positive",
                "reason": "x",
                "csrf_token": token,
            },
        ),
        "list filter": client.get(f"/findings?project={ids['theirs']}"),
        "export filter": client.post(
            "/reports/export", data={"project": ids["theirs"], "format": "csv", "csrf_token": token}
        ),
        "project page": client.get(f"/projects/{ids['theirs']}"),
        "run page": client.get(f"/scans/{ids['run']}"),
        "run list filter": client.get(f"/scans?project={ids['theirs']}"),
    }
    for name, response in responses.items():
        assert response.status_code == 404, name
        assert "Secret of another team" not in response.get_data(as_text=True), name
    # Same answer as an id that does not exist at all: nothing tells the two apart.
    missing = client.get("/findings/987654321")
    assert missing.status_code == 404
    assert _snapshot(database, ids["hidden"]) == before
    # The analyst's own finding is untouched too: a bulk request with one hidden id changes nothing.
    assert _snapshot(database, ids["own"])[0] == "open"
    listing = client.get("/findings?status=any").get_data(as_text=True)
    assert "Secret of another team" not in listing


def test_checklist_20_patch_ignores_nothing_and_changes_nothing_forbidden(
    database: Database, logged_in: Any
) -> None:
    ids = _two_projects(database)
    client: FlaskClient = logged_in("analyst", projects=[ids["mine"]])
    headers = {"X-CSRFToken": client.csrf()}
    before = _snapshot(database, ids["own"])
    for payload in (
        {"status": "accepted", "approved_by": 1, "severity": "info"},
        {"status": "accepted", "reason": "we accept it"},
        {"status": "false_positive", "reason": "fp", "severity": "info"},
        {"status": "false_positive", "reason": "fp", "approved_by": 1},
        {"status": "false_positive", "reason": "fp", "exception_id": 1},
        {"status": "fixed", "reason": "fixed it myself"},
        {"severity": "info"},
        ["status", "false_positive"],
    ):
        response = client.patch(f"/findings/{ids['own']}", json=payload, headers=headers)
        assert response.status_code == 400, payload
        assert response.is_json and response.get_json()["detail"], payload
        assert _snapshot(database, ids["own"]) == before, payload
    with database.reader() as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "finding_triage")) is None
    # The one allowed change, with its reason, goes through and is recorded.
    ok = client.patch(
        f"/findings/{ids['own']}",
        json={"status": "false_positive", "reason": "vendored code"},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.get_json() == {"id": ids["own"], "status": "false_positive"}
    status, severity, exception_id, _title, history = _snapshot(database, ids["own"])
    assert (status, severity, exception_id) == ("false_positive", before[1], None) and history is not None
    # A viewer may not triage at all.
    viewer: FlaskClient = logged_in("viewer", projects=[ids["mine"]])
    denied = viewer.patch(
        f"/findings/{ids['own']}",
        json={"status": "open", "reason": "x"},
        headers={"X-CSRFToken": viewer.csrf()},
    )
    assert denied.status_code == 403


def test_checklist_26_hostile_text_renders_as_text(database: Database, logged_in: Any) -> None:
    with database.transaction() as s:
        project = add_project(s, "xss")
        finding = add_finding(
            s, project, title=XSS, message=XSS, snippet=XSS, path='src/"><svg onload=alert(3)>.py'
        )
        fid, pid = finding.id, project.id
    client: FlaskClient = logged_in("admin")
    pages = {
        "list": client.get("/findings"),
        "list fragment": client.get("/findings", headers=HTMX),
        "detail": client.get(f"/findings/{fid}"),
        "detail fragment": client.get(f"/findings/{fid}", headers=HTMX),
        "filtered by the text": client.get("/findings", query_string={"q": XSS[:60]}),
        "project": client.get(f"/projects/{pid}"),
    }
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert "<img" not in html and "<script>alert" not in html and "<svg onload" not in html, name
        assert 'hx-get="/admin"' not in html, name
        assert "&lt;img src=x onerror=alert(1)&gt;" in html or name == "project", name


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def test_checklist_25_my_pages_have_no_inline_code(database: Database, logged_in: Any) -> None:
    ids = _two_projects(database)
    client: FlaskClient = logged_in("admin")
    urls = [
        "/",
        "/?days=365",
        "/dashboard/health",
        "/findings",
        "/findings?sort=severity&status=any",
        f"/findings/{ids['own']}",
        "/projects",
        f"/projects/{ids['mine']}",
        "/scans",
        f"/scans/{ids['run']}",
    ]
    for url in urls:
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            html = response.get_data(as_text=True)
            assert response.status_code == 200, url
            assert "hx-on" not in html and "js:" not in html, url
            assert not INLINE_SCRIPT.search(html), url
            assert " style=" not in html and "<style" not in html, url
            assert re.search(r"\son[a-z]+=", html) is None, url
            assert "HX-Request" in response.headers.get("Vary", ""), url
            assert response.headers.get("Cache-Control") == "no-store", url
