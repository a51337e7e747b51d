"""Checklist item 34: API keys shown once, stored hashed, header-only, revocable, expiring, scoped."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.db import Database
from app.models import ApiKey, AuditEvent, Project, Role
from app.web.access import api_policy, current_actor
from tests.conftest import VigilRunner

KEY_RE = re.compile(r"vigil_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _projects(database: Database, *names: str) -> list[int]:
    with database.transaction() as db:
        rows = [Project(name=name) for name in names]
        db.add_all(rows)
        db.flush()
        return [p.id for p in rows]


def _app_with_upload_route(app_config: dict[str, Any], database: Database) -> Flask:
    """The app plus a stand-in upload endpoint guarded exactly like the real ones."""
    app = create_app(app_config, database=database)

    @api_policy("report.upload")
    def upload(project_id: int) -> Any:
        return jsonify(project_id=project_id, actor=current_actor().label)

    app.add_url_rule("/api/v1/test-upload/<int:project_id>", "test_upload", upload, methods=["POST"])
    return app


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_checklist_34_key_shown_once_and_stored_hashed(
    logged_in: Callable[..., FlaskClient], database: Database
) -> None:
    admin = logged_in(Role.ADMIN)
    created = admin.post(
        "/admin/apikeys",
        data={"name": "ci-upload", "scope": "upload", "expires_days": "30", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert created.status_code == 201
    found = KEY_RE.search(created.get_data(as_text=True))
    assert found is not None
    key = found.group(0)
    listing = admin.get("/admin/apikeys").get_data(as_text=True)
    secret = key[len("vigil_") + 13 :]
    assert key not in listing and secret not in listing
    with database.reader() as db:
        row = db.scalars(select(ApiKey)).one()
        stored = " ".join(str(getattr(row, c.key)) for c in ApiKey.__table__.columns)
        assert secret not in stored and row.prefix in key
        assert len(row.secret_hash) == 64 and row.scopes == ["upload"]


def test_checklist_34_query_string_revoked_and_expired_keys_refused(
    client: FlaskClient, make_api_key: Callable[..., str], runner: VigilRunner, frozen_clock: Any
) -> None:
    key = make_api_key(["read"], expires_days=30, name="reader")
    assert client.get("/api/v1/exceptions", headers=_bearer(key)).status_code == 200
    assert client.get(f"/api/v1/exceptions?api_key={key}").status_code == 401
    assert client.get(f"/api/v1/exceptions?q={key}").status_code == 401
    assert client.get("/api/v1/exceptions", headers={"Authorization": key}).status_code == 401
    assert client.get("/api/v1/exceptions", headers=_bearer(key[:-1] + "x")).status_code == 401

    frozen_clock.travel(timedelta(days=31))
    assert client.get("/api/v1/exceptions", headers=_bearer(key)).status_code == 401
    frozen_clock.reset()
    assert client.get("/api/v1/exceptions", headers=_bearer(key)).status_code == 200
    assert runner.invoke(["apikeys", "revoke", "reader"]).exit_code == 0
    revoked = client.get("/api/v1/exceptions", headers=_bearer(key))
    assert revoked.status_code == 401 and revoked.is_json


def test_checklist_34_scopes_and_project_limits(
    app_config: dict[str, Any], database: Database, make_api_key: Callable[..., str]
) -> None:
    app = _app_with_upload_route(app_config, database)
    client = app.test_client()
    mine, theirs = _projects(database, "repo-a", "repo-b")
    upload_a = make_api_key(["upload"], projects=["repo-a"])
    assert client.post(f"/api/v1/test-upload/{mine}", headers=_bearer(upload_a)).status_code == 200
    assert client.post(f"/api/v1/test-upload/{theirs}", headers=_bearer(upload_a)).status_code == 404
    # The real upload endpoint: another project's imports do not exist for this key.
    assert client.post(f"/api/v1/projects/{theirs}/imports", headers=_bearer(upload_a)).status_code == 404
    assert client.post(f"/api/v1/projects/{mine}/imports", headers=_bearer(upload_a)).status_code == 415
    assert client.get("/api/v1/exceptions", headers=_bearer(upload_a)).status_code == 403
    assert client.get(f"/api/v1/projects/{mine}/gate", headers=_bearer(upload_a)).status_code == 403
    gate_a = make_api_key(["gate"], projects=[mine])
    assert client.get(f"/api/v1/projects/{theirs}/gate", headers=_bearer(gate_a)).status_code == 404
    assert client.post(f"/api/v1/test-upload/{mine}", headers=_bearer(gate_a)).status_code == 403
    with database.reader() as db:
        denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "authz_fail")).all()
        assert {e.actor_type.value for e in denied} == {"api_key"} and len(denied) == 3
        used = db.scalars(select(ApiKey).where(ApiKey.last_used_at.is_not(None))).all()
        assert {k.last_used_ip for k in used} == {"127.0.0.1"}


def test_apikeys_cli_create_list_revoke(runner: VigilRunner, database: Database) -> None:
    _projects(database, "shop")
    created = runner.invoke(["apikeys", "create", "ci", "--scope", "upload", "--project", "shop"])
    assert created.exit_code == 0, created.output
    key = KEY_RE.search(created.output)
    assert key is not None
    listed = runner.invoke(["apikeys", "list"])
    assert "ci\t" in listed.output and key.group(0) not in listed.output and "active" in listed.output
    assert runner.invoke(["apikeys", "revoke", "ci"]).exit_code == 0
    assert "revoked" in runner.invoke(["apikeys", "list"]).output
    bad_scope = runner.invoke(["apikeys", "create", "x", "--scope", "admin"])
    assert bad_scope.exit_code == 2 and bad_scope.output.startswith("error: unknown scope")
    bad_project = runner.invoke(["apikeys", "create", "y", "--scope", "read", "--project", "nope"])
    assert bad_project.exit_code == 2 and "no project named 'nope'" in bad_project.output
    missing = runner.invoke(["apikeys", "revoke", "ghost"])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
