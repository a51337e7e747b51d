"""Checklist items 30-33: one audit row per security action, no secrets in logs, one-line logging,
and the append-only, hash-chained audit table."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.db import Database
from app.logging_setup import JsonFormatter
from app.models import AuditEvent, Role
from tests.auth_fixtures import get_csrf
from tests.conftest import VigilRunner

Login = Callable[..., Any]


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the application logs during the test, formatted exactly as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def _events(database: Database) -> list[dict[str, Any]]:
    with database.reader() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [
            {
                "at": r.at,
                "actor": r.actor,
                "actor_type": r.actor_type.value,
                "actor_id": r.actor_id,
                "action": r.action,
                "object_type": r.object_type,
                "object_id": r.object_id,
                "result": r.result,
                "ip": r.ip,
                "request_id": r.request_id,
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ]


def test_checklist_30_security_actions_write_one_audit_row_each(
    client: FlaskClient,
    make_user: Callable[..., Any],
    logged_in: Callable[..., FlaskClient],
    login: Login,
    database: Database,
) -> None:
    user = make_user(Role.ANALYST)
    login(client, user.username, "wrong password 12345")
    login(client, user.username, user.password)
    client.get(f"/admin/users/{user.id}")  # authz failure
    client.post("/logout", data={"csrf_token": get_csrf(client)})
    admin = logged_in(Role.ADMIN)
    admin.post(f"/admin/users/{user.id}/role", data={"role": "approver", "csrf_token": admin.csrf()})  # type: ignore[attr-defined]
    admin.post("/admin/apikeys", data={"name": "ci", "scope": "gate", "csrf_token": admin.csrf()})  # type: ignore[attr-defined]
    admin.post("/admin/apikeys/1/revoke", data={"csrf_token": admin.csrf()})  # type: ignore[attr-defined]
    events = _events(database)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_action.setdefault(event["action"], []).append(event)
    expected = {
        "authn_login_fail": ("failure", user.username),
        "authn_login_success": ("success", user.username),
        "authz_fail": ("denied", user.username),
        "authn_logout": ("success", user.username),
        "user_role_change": ("success", admin.user.username),  # type: ignore[attr-defined]
        "apikey_create": ("success", admin.user.username),  # type: ignore[attr-defined]
        "apikey_revoke": ("success", admin.user.username),  # type: ignore[attr-defined]
    }
    for action, (result, actor) in expected.items():
        assert len(by_action.get(action, [])) == 1, (action, [e["action"] for e in events])
        event = by_action[action][0]
        assert event["result"] == result and event["actor"] == actor, event
        assert event["at"].tzinfo is UTC and event["ip"] == "127.0.0.1" and event["request_id"]
        assert event["object_type"] and event["object_id"], event
    assert by_action["user_role_change"][0]["before"] == {"role": "analyst"}
    assert by_action["user_role_change"][0]["after"] == {"role": "approver"}


def test_checklist_31_no_secrets_in_logs_or_audit_rows(
    client: FlaskClient,
    make_user: Callable[..., Any],
    login: Login,
    database: Database,
    log_lines: io.StringIO,
) -> None:
    admin = make_user(Role.ADMIN, password="sapphire kettle whistles at 4 dawns")
    login(client, admin.username, "sapphire kettle whistles at 5 dawns")  # a near-miss wrong password
    login(client, admin.username, admin.password)
    cookie = client.get_cookie("__Host-session", domain="localhost")
    assert cookie is not None
    csrf = get_csrf(client)
    created = client.post("/admin/apikeys", data={"name": "ci", "scope": "read", "csrf_token": csrf})
    key = re.search(r"vigil_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", created.get_data(as_text=True))
    assert key is not None
    client.get("/api/v1/exceptions", headers={"Authorization": f"Bearer {key.group(0)}"})
    client.get(f"/api/v1/exceptions?api_key={key.group(0)}")
    client.post(
        "/account/password",
        data={
            "current_password": admin.password,
            "new_password": "new secret words for the 7 seas",
            "confirm_password": "new secret words for the 7 seas",
            "csrf_token": csrf,
        },
    )
    logged = log_lines.getvalue()
    audit = orjson.dumps(_events(database), default=str).decode()
    assert "sign-in failed" in logged and "apikey_create" in audit  # both were really captured
    secrets = {
        "password": admin.password,
        "wrong password": "sapphire kettle whistles at 5 dawns",
        "new password": "new secret words for the 7 seas",
        "session cookie": cookie.value,
        "csrf token": csrf,
        "api key": key.group(0),
        "api key secret part": key.group(0)[len("vigil_") + 13 :],
    }
    for name, secret in secrets.items():
        assert secret not in logged, f"{name} in the logs"
        assert secret not in audit, f"{name} in the audit log"


def test_checklist_32_user_input_logged_as_one_escaped_line(
    client: FlaskClient, login: Login, database: Database, log_lines: io.StringIO
) -> None:
    login(client, "alice\r\nINFO fake entry", "whatever password 123")
    lines = log_lines.getvalue().splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    assert not any(line.startswith("INFO fake entry") for line in lines)
    failed = [orjson.loads(line) for line in lines if "sign-in failed" in line]
    assert failed and "\r\n" in failed[0]["username"]  # kept, but inside one JSON-escaped line
    actors = [e["actor"] for e in _events(database) if e["action"] == "authn_login_fail"]
    assert actors and "\n" not in actors[0] and "\r" not in actors[0] and "\\r\\n" in actors[0]


def _drop_triggers(database: Database) -> None:
    with database.engine.begin() as conn:
        if database.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_change ON audit_event"))


def test_checklist_33_audit_table_is_append_only_and_chain_detects_edits(
    client: FlaskClient, make_user: Callable[..., Any], login: Login, database: Database, runner: VigilRunner
) -> None:
    user = make_user(Role.VIEWER)
    for _ in range(3):
        login(client, user.username, "wrong password 12345")
    assert runner.invoke(["audit", "verify"]).exit_code == 0
    for statement in ("UPDATE audit_event SET actor = 'mallory'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError), database.engine.begin() as conn:
            conn.execute(text(statement))
    with database.reader() as db:
        second = db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()[1]
    _drop_triggers(database)
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET result = 'success' WHERE id = :id"), {"id": second})
    result = runner.invoke(["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {second}" in result.output and "BROKEN" in result.output
