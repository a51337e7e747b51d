"""Checklist items 9-15: the session cookie, rotation, logout, timeouts, revocation, fresh sign-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import Database
from app.models import AuditEvent, Role, UserSession
from app.services.sessions import hash_token
from tests.auth_fixtures import get_csrf, start_session

Login = Callable[..., Any]
COOKIE = "__Host-session"


def _cookie(client: FlaskClient) -> str | None:
    found = client.get_cookie(COOKIE, domain="localhost")
    return found.value if found is not None else None


def _new_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    return client


def test_checklist_09_session_cookie_attributes(
    client: FlaskClient, make_user: Callable[..., Any], login: Login
) -> None:
    user = make_user(Role.VIEWER)
    response = login(client, user.username, user.password)
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1
    parts = [p.strip() for p in cookies[0].split(";")]
    assert parts[0].startswith(f"{COOKIE}=")
    lowered = {p.lower() for p in parts[1:]}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= lowered
    assert not any(p.startswith(("domain", "expires", "max-age")) for p in lowered)
    # The cookie is only a random token: no user id, no data, no signature to tamper with.
    token = parts[0].split("=", 1)[1]
    assert len(token) == 43 and "." not in token


def test_checklist_10_new_session_id_at_login_and_pre_login_data_discarded(
    client: FlaskClient, make_user: Callable[..., Any], login: Login, database: Database
) -> None:
    user = make_user(Role.VIEWER)
    old_csrf = get_csrf(client)
    before = _cookie(client)
    assert before is not None
    assert login(client, user.username, user.password).status_code == 302
    after = _cookie(client)
    assert after is not None and after != before
    with database.reader() as db:
        stored = db.scalars(select(UserSession.token_hash)).all()
    assert stored == [hash_token(after)] and after not in stored  # only the hash is kept
    stale = client.post("/account/totp/start", data={"csrf_token": old_csrf})
    assert stale.status_code == 400  # the pre-login CSRF token died with the pre-login session
    fresh = client.post("/account/totp/start", data={"csrf_token": get_csrf(client)})
    assert fresh.status_code == 200


def test_checklist_11_logout_kills_copied_cookie(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any], login: Login
) -> None:
    user = make_user(Role.VIEWER)
    login(client, user.username, user.password)
    copied = _cookie(client)
    assert copied is not None
    assert client.post("/logout", data={"csrf_token": get_csrf(client)}).status_code == 302
    thief = _new_client(app)
    thief.set_cookie(COOKIE, copied, domain="localhost")
    replay = thief.get("/account")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]
    assert thief.get("/account", headers={"HX-Request": "true"}).status_code == 401


def test_checklist_12_idle_and_absolute_timeouts(
    logged_in: Callable[..., FlaskClient], frozen_clock: Any
) -> None:
    idle = logged_in(Role.VIEWER)
    busy = logged_in(Role.VIEWER)
    assert idle.get("/account").status_code == 200
    frozen_clock.travel(timedelta(minutes=31))
    assert idle.get("/account").status_code == 302
    frozen_clock.travel(-timedelta(minutes=31))  # going back in time does not revive it
    assert idle.get("/account").status_code == 302

    for _ in range(28):  # active every 25 minutes: 11 h 40 min
        frozen_clock.travel(timedelta(minutes=25))
        assert busy.get("/account").status_code == 200
    frozen_clock.travel(timedelta(minutes=25))  # 12 h 05 min after sign-in
    assert busy.get("/account").status_code == 302


def test_checklist_13_disabled_user_and_terminated_sessions(
    logged_in: Callable[..., FlaskClient], database: Database
) -> None:
    admin = logged_in(Role.ADMIN)
    victim = logged_in(Role.ANALYST)
    other = logged_in(Role.VIEWER)
    assert victim.get("/account").status_code == 200
    disabled = admin.post(
        f"/admin/users/{victim.user.id}/active",  # type: ignore[attr-defined]
        data={"active": "0", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert disabled.status_code == 302
    assert victim.get("/account", headers={"HX-Request": "true"}).status_code == 401
    assert victim.get("/account").status_code == 302

    assert other.get("/account").status_code == 200
    ended = admin.post(
        f"/admin/users/{other.user.id}/sessions/terminate",  # type: ignore[attr-defined]
        data={"csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert ended.status_code == 302
    assert other.get("/account", headers={"Accept": "application/json"}).status_code == 401
    promoted = logged_in(Role.VIEWER)
    assert promoted.get("/account").status_code == 200
    changed = admin.post(
        f"/admin/users/{promoted.user.id}/role",  # type: ignore[attr-defined]
        data={"role": "analyst", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert changed.status_code == 302
    assert promoted.get("/account", headers={"HX-Request": "true"}).status_code == 401
    with database.reader() as db:
        actions = set(db.scalars(select(AuditEvent.action)))
    assert {"user_disable", "session_terminate_all", "user_role_change"} <= actions


def test_checklist_14_sensitive_actions_need_fresh_sign_in(
    logged_in: Callable[..., FlaskClient],
    make_user: Callable[..., Any],
    frozen_clock: Any,
    database: Database,
) -> None:
    admin = logged_in(Role.ADMIN)
    target = make_user(Role.VIEWER)
    frozen_clock.travel(timedelta(minutes=16))
    assert admin.get("/admin/apikeys").status_code == 200  # reading is fine, the session is alive

    key = admin.post(
        "/admin/apikeys",
        data={"name": "ci", "scope": "upload", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
        headers={"Referer": "https://localhost/admin/apikeys"},
        base_url="https://localhost",
    )
    assert key.status_code == 302 and key.headers["Location"] == "/reauth?next=%2Fadmin%2Fapikeys"
    role = admin.post(
        f"/admin/users/{target.id}/role",
        data={"role": "admin", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert role.status_code == 302 and role.headers["Location"].startswith("/reauth")
    with database.reader() as db:
        assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "apikey_create")) is None

    wrong = admin.post("/reauth", data={"password": "nope nope nope 123", "csrf_token": admin.csrf()})  # type: ignore[attr-defined]
    assert wrong.status_code == 401
    confirmed = admin.post(
        "/reauth",
        data={"password": admin.user.password, "next": "/admin/apikeys", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/admin/apikeys"
    created = admin.post(
        "/admin/apikeys",
        data={"name": "ci", "scope": "upload", "csrf_token": admin.csrf()},  # type: ignore[attr-defined]
    )
    assert created.status_code == 201 and "vigil_" in created.get_data(as_text=True)


def test_checklist_15_no_remember_me_cookie_ever(
    app: Flask, client: FlaskClient, make_user: Callable[..., Any], login: Login, database: Database
) -> None:
    user = make_user(Role.ADMIN)
    seen: list[str] = []
    seen += client.get("/login").headers.getlist("Set-Cookie")
    seen += login(client, user.username, user.password, remember="1").headers.getlist("Set-Cookie")
    seen += client.get("/account").headers.getlist("Set-Cookie")
    seen += client.post("/logout", data={"csrf_token": get_csrf(client)}).headers.getlist("Set-Cookie")
    names = {c.split("=", 1)[0] for c in seen}
    assert names == {COOKIE}
    assert not any("expires" in c.lower() or "max-age" in c.lower() for c in seen if "=;" not in c)
    assert "remember" not in client.get("/login").get_data(as_text=True).lower()
    assert start_session(app, database, _new_client(app), user.id) > 0
