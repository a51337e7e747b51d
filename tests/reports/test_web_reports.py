"""Reports page, downloads and the JSON API for the gate and exports, through real requests."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from app.db import Database
from app.models import Role
from tests.reports.report_data import build_history


def _seed(database: Database) -> dict[str, int]:
    with database.transaction() as s:
        objs = build_history(s)
        return {"api": objs["api"].id, "web": objs["web"].id}  # type: ignore[attr-defined]


def test_reports_page_and_download_stay_inside_the_users_projects(
    database: Database, logged_in: Callable[..., Any]
) -> None:
    ids = _seed(database)
    client: FlaskClient = logged_in(Role.ANALYST, projects=[ids["web"]])
    page = client.get("/reports?view=1")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "web-portal" in body and "payments-api" not in body
    token = client.csrf()  # type: ignore[attr-defined]
    download = client.post("/reports/export", data={"format": "csv", "csrf_token": token})
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith('attachment; filename="vigil-portfolio-')
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert {r["project"] for r in rows} == {"web-portal"}
    assert len(download.headers["X-Vigil-SHA256"]) == 64
    # Asking for another team's project by id in the export filter answers 404, not its data.
    hidden = client.post(
        "/reports/export", data={"format": "csv", "project": str(ids["api"]), "csrf_token": token}
    )
    assert hidden.status_code == 404 and "payments-api" not in hidden.get_data(as_text=True)


def test_export_without_csrf_token_is_refused(database: Database, logged_in: Callable[..., Any]) -> None:
    _seed(database)
    client: FlaskClient = logged_in(Role.ADMIN)
    assert client.post("/reports/export", data={"format": "csv"}).status_code == 400


def test_gate_api(client: FlaskClient, database: Database, make_api_key: Callable[..., str]) -> None:
    ids = _seed(database)
    key = make_api_key(["gate"], projects=[ids["api"]])
    auth = {"Authorization": f"Bearer {key}"}
    failing = client.get(f"/api/v1/projects/{ids['api']}/gate?fail_on=high", headers=auth)
    assert failing.status_code == 200 and failing.json["result"] == "fail"  # type: ignore[index]
    assert failing.json["blocking_count"] == 1  # type: ignore[index]
    passing = client.get(f"/api/v1/projects/{ids['api']}/gate?fail_on=critical", headers=auth)
    assert passing.json["result"] == "pass"  # type: ignore[index]
    bad = client.get(f"/api/v1/projects/{ids['api']}/gate?fail_on=urgent", headers=auth)
    assert bad.status_code == 400 and "fail_on" in bad.json["detail"]  # type: ignore[index]
    # The key is limited to one project: the other one does not exist for it.
    assert client.get(f"/api/v1/projects/{ids['web']}/gate", headers=auth).status_code == 404
    assert client.get(f"/api/v1/projects/{ids['api']}/gate").status_code == 401
    assert client.get(f"/api/v1/projects/{ids['api']}/gate?api_key={key}").status_code == 401
    upload_only = make_api_key(["upload"])
    denied = client.get(
        f"/api/v1/projects/{ids['api']}/gate", headers={"Authorization": f"Bearer {upload_only}"}
    )
    assert denied.status_code == 403


def test_report_api_exports_with_read_scope(
    client: FlaskClient, database: Database, make_api_key: Callable[..., str]
) -> None:
    _seed(database)
    key = make_api_key(["read"])
    response = client.get("/api/v1/reports/json?as_of=2026-06-15", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.json["projects"] == ["payments-api", "web-portal"]  # type: ignore[index]
    bad = client.get("/api/v1/reports/docx", headers={"Authorization": f"Bearer {key}"})
    assert bad.status_code == 400
