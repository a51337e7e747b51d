"""Checklist items 1-8: passwords, sign-in protection, first admin, password change, second factor."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher, Type
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.db import Database
from app.models import AuditEvent, Role, User
from app.security import clock, totp
from app.services import bootstrap
from app.services.actor import Actor
from app.web.protection import limiter_of
from tests.auth_fixtures import get_csrf, start_session
from tests.conftest import VigilRunner

Login = Callable[..., Any]


def _post_password(client: FlaskClient, current: str, new: str) -> Any:
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new,
            "csrf_token": get_csrf(client),
        },
    )


def _actions(database: Database, action: str, result: str | None = None) -> list[AuditEvent]:
    with database.reader() as db:
        stmt = select(AuditEvent).where(AuditEvent.action == action)
        if result is not None:
            stmt = stmt.where(AuditEvent.result == result)
        rows = list(db.scalars(stmt.order_by(AuditEvent.id)))
        for row in rows:
            db.expunge(row)
        return rows


def _stored_hash(database: Database, user_id: int) -> str:
    with database.reader() as db:
        user = db.get(User, user_id)
        assert user is not None
        return user.password_hash


def test_checklist_01_password_policy_and_argon2id(
    logged_in: Callable[..., FlaskClient], database: Database
) -> None:
    client = logged_in(Role.ANALYST)
    user = client.user  # type: ignore[attr-defined]
    common = _post_password(client, user.password, "Password1!")
    assert common.status_code == 400 and "refused" in common.get_data(as_text=True)
    short = _post_password(client, user.password, "x7#Kq2!a")
    assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    common_long = _post_password(client, user.password, "password1234")
    assert common_long.status_code == 400 and "refused" in common_long.get_data(as_text=True)
    assert _stored_hash(database, user.id) == _stored_hash(database, user.id)  # unchanged so far

    twenty = "tulip orbit 🚲 canyon"  # 20 characters, spaces and an emoji
    assert len(twenty) == 20
    ok = _post_password(client, user.password, twenty)
    assert ok.status_code == 200, ok.get_data(as_text=True)
    sixty_four = "the quiet lighthouse keeper counts ships 🌊 beyond the grey harbour"[:64]
    assert len(sixty_four) == 64
    assert _post_password(client, twenty, sixty_four).status_code == 200
    stored = _stored_hash(database, user.id)
    assert stored.startswith("$argon2id$")
    memory = int(re.search(r"m=(\d+)", stored).group(1))  # type: ignore[union-attr]
    assert memory >= 19456


def test_checklist_01_cli_applies_the_same_policy(runner: VigilRunner, database: Database) -> None:
    common = runner.invoke(["users", "create", "bob", "--password-stdin"], input="Password1!\n")
    assert (
        common.exit_code == 2 and common.output.startswith("error: ") and len(common.output.splitlines()) == 1
    )
    short = runner.invoke(["users", "create", "bob", "--password-stdin"], input="Tr0ub4dor&3\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    ok = runner.invoke(
        ["users", "create", "bob", "--password-stdin"], input="🍋 lemon zeppelin sails at noon\n"
    )
    assert ok.exit_code == 0, ok.output
    with database.reader() as db:
        stored = db.scalar(select(User.password_hash).where(User.username == "bob"))
    assert stored is not None and stored.startswith("$argon2id$v=19$m=47104,t=1,p=1$")


def test_checklist_02_old_parameters_rehashed_on_login(
    client: FlaskClient, make_user: Callable[..., Any], login: Login, database: Database
) -> None:
    password = "amber falcon drifts over 9 quiet hills"
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(password)
    user = make_user(Role.VIEWER, password=password)
    with database.transaction() as db:
        row = db.get(User, user.id)
        assert row is not None
        row.password_hash = old
    wrong = login(client, user.username, "not the password at all 123")
    assert wrong.status_code == 401
    assert _stored_hash(database, user.id) == old
    ok = login(client, user.username, password)
    assert ok.status_code == 302
    new = _stored_hash(database, user.id)
    assert new != old and "m=47104" in new and PasswordHasher().verify(new, password)


def _without_csrf(html: str) -> str:
    assert "csrf" in html.lower()
    return re.sub(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]+', r"\1", html)


def test_checklist_03_unknown_user_and_wrong_password_look_the_same(
    client: FlaskClient, make_user: Callable[..., Any], database: Database
) -> None:
    users = [make_user(Role.VIEWER) for _ in range(21)]  # one attempt each: far from any lockout
    token = get_csrf(client)

    def attempt(username: str, n: int) -> tuple[Any, float]:
        started = time.perf_counter()
        response = client.post(
            "/login",
            data={"username": username, "password": "wrong password 12345", "csrf_token": token},
            environ_overrides={"REMOTE_ADDR": f"10.3.{n // 200}.{n % 200}"},
        )
        return response, time.perf_counter() - started

    attempt("warm-up-user", 0)
    attempt(users[0].username, 1)  # warm both paths (templates, connection pool) before measuring
    users = users[1:]
    existing, unknown = [], []
    responses: dict[str, Any] = {}
    for n, user in enumerate(users, start=1):
        # Alternate which goes first, so load spikes on the shared machine hit both sides alike.
        order = [("existing", user.username), ("unknown", f"nobody-{n}")]
        for kind, name in order if n % 2 else reversed(order):
            response, elapsed = attempt(name, n * 2 + (kind == "unknown"))
            (existing if kind == "existing" else unknown).append(elapsed)
            responses[kind] = response
    a, b = responses["existing"], responses["unknown"]
    assert a.status_code == b.status_code == 401
    # Flask-WTF signs the CSRF token with the current second, whoever signs in: compare without it.
    assert _without_csrf(a.get_data(as_text=True)) == _without_csrf(b.get_data(as_text=True))
    assert a.headers.getlist("Set-Cookie") == b.headers.getlist("Set-Cookie") == []
    median_existing, median_unknown = statistics.median(existing), statistics.median(unknown)
    difference = abs(median_existing - median_unknown) / max(median_existing, median_unknown)
    assert difference < 0.2, (median_existing, median_unknown)


def test_checklist_04_lockout_after_five_failures(
    client: FlaskClient,
    app: Flask,
    make_user: Callable[..., Any],
    database: Database,
    frozen_clock: Any,
) -> None:
    user = make_user(Role.ANALYST)
    token = get_csrf(client)

    def attempt(password: str, n: int) -> Any:
        return client.post(
            "/login",
            data={"username": user.username, "password": password, "csrf_token": token},
            environ_overrides={"REMOTE_ADDR": f"10.4.0.{n}"},
        )

    statuses = [attempt("wrong password 12345", n).status_code for n in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    assert len(_actions(database, "authn_login_fail", "failure")) == 5
    assert len(_actions(database, "authn_login_lock")) == 1
    assert attempt(user.password, 20).status_code == 429
    # The database lockout holds on its own (e.g. another web worker with its own limiter counters).
    limiter_of(app).reset()
    assert attempt(user.password, 21).status_code == 429
    assert _actions(database, "authn_login_fail", "locked")
    frozen_clock.travel(timedelta(minutes=16))
    limiter_of(app).reset()  # the limiter's own window runs on the wall clock
    assert attempt(user.password, 22).status_code == 302


def test_checklist_05_ip_limit_not_bypassed_by_forwarded_for(
    client: FlaskClient, app_config: dict[str, Any], database: Database
) -> None:
    token = get_csrf(client)
    statuses = [
        client.post(
            "/login",
            data={"username": f"someone{n}", "password": "wrong password 12345", "csrf_token": token},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        ).status_code
        for n in range(11)
    ]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    # With one trusted proxy, the proxy's X-Forwarded-For is honoured: distinct clients, no 429.
    proxied = create_app({**app_config, "trusted_proxies": 1}, database=database).test_client()
    proxied.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "10.0.0.1"})
    token = get_csrf(proxied)
    codes = [
        proxied.post(
            "/login",
            data={"username": f"other{n}", "password": "wrong password 12345", "csrf_token": token},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(11)
    ]
    assert codes == [401] * 11


def test_checklist_06_first_admin_has_one_time_password(
    client: FlaskClient, login: Login, database: Database
) -> None:
    with database.transaction() as db:
        result = bootstrap.first_run(db, Actor.cli())
    assert result.admin_username == "admin" and result.admin_password
    assert login(client, "admin", "admin").status_code == 401
    signed_in = login(client, "admin", result.admin_password)
    assert signed_in.status_code == 302
    forced = client.get("/account")
    assert forced.status_code == 302 and forced.headers["Location"].startswith("/account/password")
    assert client.get("/admin/users").headers["Location"].startswith("/account/password")
    changed = _post_password(client, result.admin_password, "a brand new admin passphrase 2026")
    assert changed.status_code == 200
    assert client.get("/admin/users").status_code == 200
    with database.transaction() as db:
        again = bootstrap.first_run(db, Actor.cli())
    assert again.admin_password is None  # never a second default admin


def test_checklist_07_password_change_needs_current_and_ends_other_sessions(
    app: Flask, logged_in: Callable[..., FlaskClient], database: Database
) -> None:
    client = logged_in(Role.VIEWER)
    user = client.user  # type: ignore[attr-defined]
    other = app.test_client()
    other.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.2"})
    start_session(app, database, other, user.id)
    assert other.get("/account").status_code == 200

    missing = client.post(
        "/account/password",
        data={
            "new_password": "x" * 5 + " new passphrase ok",
            "confirm_password": "x" * 5 + " new passphrase ok",
            "csrf_token": get_csrf(client),
        },
    )
    assert missing.status_code == 400
    ok = _post_password(client, user.password, "violet engine hums below 7 bridges")
    assert ok.status_code == 200
    assert client.get("/account").status_code == 200  # this session stays
    assert other.get("/account").status_code == 302  # every other session ended
    events = _actions(database, "authn_password_change", "success")
    assert len(events) == 1 and events[0].actor_id == user.id


def _enrol(client: FlaskClient) -> str:
    started = client.post("/account/totp/start", data={"csrf_token": get_csrf(client)})
    assert started.status_code == 200
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", started.get_data(as_text=True))
    assert secret is not None
    code = totp.code_at(secret.group(1), clock.now())
    confirmed = client.post("/account/totp/confirm", data={"code": code, "csrf_token": get_csrf(client)})
    assert confirmed.status_code == 302
    return secret.group(1)


def test_checklist_08_admins_need_totp_when_required(
    app_config: dict[str, Any],
    database: Database,
    make_user: Callable[..., Any],
    login: Login,
    frozen_clock: Any,
) -> None:
    app = create_app({**app_config, "require_totp": True}, database=database)
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    admin = make_user(Role.ADMIN)
    assert "does not enforce" not in client.get("/login").get_data(as_text=True)
    assert login(client, admin.username, admin.password).status_code == 302
    gate = client.get("/admin/users")
    assert gate.status_code == 302 and gate.headers["Location"].startswith("/account/totp")
    secret = _enrol(client)
    assert client.get("/admin/users").status_code == 200

    client.post("/logout", data={"csrf_token": get_csrf(client)})
    frozen_clock.travel(timedelta(seconds=31))  # the enrolment code's time step is spent
    first = login(client, admin.username, admin.password)
    assert first.headers["Location"].startswith("/login/totp")
    assert client.get("/admin/users").status_code == 302  # password alone is not a sign-in
    wrong = client.post("/login/totp", data={"code": "000000", "csrf_token": get_csrf(client, "/login/totp")})
    assert wrong.status_code == 401
    code = pyotp.TOTP(secret).at(clock.now())
    ok = client.post("/login/totp", data={"code": code, "csrf_token": get_csrf(client, "/login/totp")})
    assert ok.status_code == 302
    assert client.get("/admin/users").status_code == 200

    other = app.test_client()
    other.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.3"})
    login(other, admin.username, admin.password)
    replay = other.post("/login/totp", data={"code": code, "csrf_token": get_csrf(other, "/login/totp")})
    assert replay.status_code == 401  # a used code never works twice


def test_checklist_08_demo_says_second_factor_not_enforced(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "does not enforce a second factor" in page


def test_checklist_08_code_and_reauth_guessing_is_limited(
    client: FlaskClient,
    make_user: Callable[..., Any],
    login: Login,
    logged_in: Callable[..., FlaskClient],
    database: Database,
) -> None:
    user = make_user(Role.APPROVER, totp_secret=pyotp.random_base32(), totp_enabled=True)
    assert login(client, user.username, user.password).headers["Location"].startswith("/login/totp")
    token = get_csrf(client, "/login/totp")
    codes = [
        client.post("/login/totp", data={"code": "000000", "csrf_token": token}).status_code for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]

    admin = logged_in(Role.ADMIN)
    token = admin.csrf()  # type: ignore[attr-defined]
    guesses = [
        admin.post("/reauth", data={"password": f"guess number {n} abc", "csrf_token": token}).status_code
        for n in range(6)
    ]
    assert guesses == [401] * 5 + [429]
    assert len(_actions(database, "authn_reauth", "failure")) == 5
