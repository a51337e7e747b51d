"""``POST /api/v1/projects/<id>/scans`` and the scan read endpoints: scopes, projects, bad input."""

from __future__ import annotations

from sqlalchemy import select

from app.db import Database
from app.models import AuditEvent, ScanRun
from app.models.base import RunStatus, RunTrigger


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_api_key_with_scan_scope_queues_through_the_same_queue(
    client, database: Database, make_project, make_api_key
) -> None:
    project = make_project()
    key = make_api_key(["scan"], projects=[project.id])
    response = client.post(f"/api/v1/projects/{project.id}/scans", headers=_auth(key))
    assert response.status_code == 202, response.json
    run_ids = response.json["run_ids"]
    assert len(run_ids) == 2 and response.json["busy"] == []
    again = client.post(
        f"/api/v1/projects/{project.id}/scans", headers=_auth(key), json={"scanners": ["fake-a"]}
    )
    assert again.status_code == 202 and again.json == {
        "project_id": project.id,
        "run_ids": [],
        "busy": ["fake-a"],
    }
    with database.reader() as session:
        runs = session.execute(select(ScanRun.trigger, ScanRun.status, ScanRun.api_key_id)).all()
        triggered = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "scan_triggered")
        ).all()
    assert {(t, s) for t, s, _ in runs} == {(RunTrigger.API, RunStatus.QUEUED)}
    assert all(key_id is not None for *_, key_id in runs)
    assert triggered and all(actor.startswith("apikey:") for actor in triggered)
    state = client.get(f"/api/v1/scans/{run_ids[0]}", headers=_auth(key))
    assert state.status_code == 200 and state.json["status"] == "queued" and state.json["trigger"] == "api"
    assert client.get("/api/v1/scan-health", headers=_auth(key)).status_code == 200


def test_scopes_projects_and_bad_bodies_are_refused(
    client, database: Database, make_project, make_api_key
) -> None:
    project, other = make_project(), make_project()
    read_only = make_api_key(["read"])
    assert client.post(f"/api/v1/projects/{project.id}/scans", headers=_auth(read_only)).status_code == 403
    scoped = make_api_key(["scan"], projects=[project.id])
    assert client.post(f"/api/v1/projects/{other.id}/scans", headers=_auth(scoped)).status_code == 404
    assert client.post(f"/api/v1/projects/{project.id}/scans").status_code == 401
    for body in ({"scanners": "fake-a"}, {"scanners": []}, {"scanner": ["x"]}, [1, 2]):
        response = client.post(f"/api/v1/projects/{project.id}/scans", headers=_auth(scoped), json=body)
        assert response.status_code == 400, body
    unknown = client.post(
        f"/api/v1/projects/{project.id}/scans", headers=_auth(scoped), json={"scanners": ["nope"]}
    )
    assert unknown.status_code == 400 and "unknown scanner 'nope'" in unknown.json["detail"]
    with database.reader() as session:
        assert session.scalars(select(ScanRun.id)).all() == []
