"""The administration and account pages doing their jobs (the checklist files cover the attacks)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import Database
from app.models import AuditEvent, Project, Role, User
from app.services import audit
from app.services.actor import Actor
from app.services.sessions import project_ids_of
from tests.auth_fixtures import get_csrf, start_session

Login = Callable[..., Any]


def test_admin_creates_user_with_one_time_password(
    app: Flask, logged_in: Callable[..., FlaskClient], login: Login, database: Database
) -> None:
    admin = logged_in(Role.ADMIN)
    created = admin.post(
        "/admin/users",
        data={"username": "Carol", "role": "analyst", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert created.status_code == 201
    password = re.search(r'class="secret-once"><code>([^<]+)</code>', created.get_data(as_text=True))
    assert password is not None
    assert password.group(1) not in admin.get("/admin/users").get_data(as_text=True)  # shown once
    duplicate = admin.post(
        "/admin/users",
        data={"username": "carol", "role": "viewer", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert duplicate.status_code == 400 and "already exists" in duplicate.get_data(as_text=True)
    bad_role = admin.post(
        "/admin/users",
        data={"username": "dave", "role": "overlord", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert bad_role.status_code == 400 and "unknown role" in bad_role.get_data(as_text=True)

    carol = app.test_client()
    carol.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.9"})
    assert login(carol, "carol", password.group(1)).status_code == 302
    assert carol.get("/account").headers["Location"].startswith("/account/password")


def test_admin_manages_memberships_sessions_and_passwords(
    app: Flask, logged_in: Callable[..., FlaskClient], make_user: Callable[..., Any], database: Database
) -> None:
    admin = logged_in(Role.ADMIN)
    analyst = make_user(Role.ANALYST, projects=["alpha"])
    with database.transaction() as db:
        beta = Project(name="beta")
        db.add(beta)
        db.flush()
        beta_id = beta.id
    detail = admin.get(f"/admin/users/{analyst.id}")
    assert detail.status_code == 200 and "alpha" in detail.get_data(as_text=True)
    saved = admin.post(
        f"/admin/users/{analyst.id}/projects",
        data={"project_id": [str(beta_id)], "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert saved.status_code == 302
    assert "Projects of" in admin.get(saved.headers["Location"]).get_data(as_text=True)  # flash survived
    with database.reader() as db:
        assert project_ids_of(db, analyst.id, Role.ANALYST) == frozenset({beta_id})
    unknown = admin.post(
        f"/admin/users/{analyst.id}/projects",
        data={"project_id": ["987654"], "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert unknown.status_code == 400 and "no project with id 987654" in unknown.get_data(as_text=True)

    victim = app.test_client()
    victim.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    start_session(app, database, victim, analyst.id)
    reset = admin.post(f"/admin/users/{analyst.id}/password-reset", data={"csrf_token": admin.csrf()})  # type: ignore[attr-defined]
    assert reset.status_code == 200 and "shown only now" in reset.get_data(as_text=True)
    assert victim.get("/account").status_code == 302
    with database.reader() as db:
        user = db.get(User, analyst.id)
        assert user is not None and user.must_change_password
    own = admin.post(f"/admin/users/{admin.user.id}/active", data={"active": "0", "csrf_token": admin.csrf()})  # type: ignore[attr-defined]
    assert own.status_code == 400 and "another admin" in own.get_data(as_text=True)


def test_audit_viewer_filters_and_pages(logged_in: Callable[..., FlaskClient], database: Database) -> None:
    approver = logged_in(Role.APPROVER)
    with database.transaction() as db:
        for n in range(55):
            audit.record(db, Actor.system("nightly"), "scan_finished", object_type="scan_run", object_id=n)
        audit.record(
            db, Actor.system("janitor"), "exception_expired", object_type="risk_exception", object_id=7
        )
    first = approver.get("/admin/audit?action=scan_finished")
    body = first.get_data(as_text=True)
    assert (
        first.status_code == 200
        and body.count("<td>scan_finished</td>") == 50
        and "<td>exception_expired</td>" not in body
    )
    assert "page=2" in body
    second = approver.get("/admin/audit?action=scan_finished&page=2", headers={"HX-Request": "true"})
    assert second.get_data(as_text=True).count("<td>scan_finished</td>") == 5
    by_object = approver.get("/admin/audit?object_type=risk_exception&object_id=7").get_data(as_text=True)
    assert "<td>exception_expired</td>" in by_object and "<td>scan_finished</td>" not in by_object
    by_actor = approver.get("/admin/audit?actor=janit").get_data(as_text=True)
    assert "<td>exception_expired</td>" in by_actor and "<td>scan_finished</td>" not in by_actor
    future = approver.get("/admin/audit?since=2999-01-01").get_data(as_text=True)
    assert "No events match" in future
    bad = approver.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and "dates look like" in bad.get_data(as_text=True)
    assert logged_in(Role.ANALYST).get("/admin/audit").status_code == 403


def test_account_page_lists_and_ends_own_sessions(
    app: Flask, logged_in: Callable[..., FlaskClient], database: Database
) -> None:
    client = logged_in(Role.VIEWER)
    other = app.test_client()
    other.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    other_id = start_session(app, database, other, client.user.id)  # type: ignore[attr-defined]
    page = client.get("/account").get_data(as_text=True)
    assert f"/account/sessions/{other_id}/end" in page and "this session" in page
    ended = client.post(f"/account/sessions/{other_id}/end", data={"csrf_token": client.csrf()})  # type: ignore[attr-defined]
    assert ended.status_code == 302
    assert other.get("/account").status_code == 302
    stranger = logged_in(Role.VIEWER)
    mine = start_session(app, database, app.test_client(), client.user.id)  # type: ignore[attr-defined]
    foreign = stranger.post(f"/account/sessions/{mine}/end", data={"csrf_token": stranger.csrf()})  # type: ignore[attr-defined]
    assert foreign.status_code == 404  # someone else's session does not exist for you


def test_totp_enrolment_shows_server_side_qr(
    logged_in: Callable[..., FlaskClient], database: Database
) -> None:
    client = logged_in(Role.APPROVER)
    started = client.post("/account/totp/start", data={"csrf_token": get_csrf(client)})
    html = started.get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in html and "shown only now" in html
    wrong = client.post("/account/totp/confirm", data={"code": "12345x", "csrf_token": get_csrf(client)})
    assert wrong.status_code == 400 and "not correct" in wrong.get_data(as_text=True)
    with database.reader() as db:
        user = db.get(User, client.user.id)  # type: ignore[attr-defined]
        assert user is not None and not user.totp_enabled
        assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "authn_totp_enrol")) is None
