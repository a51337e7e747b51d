"""Fixtures for tests that need users, signed-in clients and API keys.

argon2 is slow on purpose, so users are created with a hash computed once per password and test run;
``logged_in`` starts a real server-side session without a password check (fast), while ``login``
goes through the real sign-in form (use it where the sign-in itself is under test).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.db import Database
from app.models import Project, ProjectMember, Role, User
from app.security import clock
from app.security.passwords import hash_password
from app.security.secret_box import SecretBox
from app.services import api_keys as api_key_service
from app.services import sessions as session_service
from app.services.actor import Actor
from tests.conftest import TEST_SECRET

DEFAULT_PASSWORD = "correct horse battery staple 42"
_HASHES: dict[str, str] = {}
_COUNTER = itertools.count(1)
# What an app built from the test settings (no VIGIL_TOTP_KEY) seals TOTP secrets with.
TEST_SECRET_BOX = SecretBox.derive(TEST_SECRET)
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def password_hash_for(password: str) -> str:
    """A real argon2id hash, computed once per password per test run."""
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


@dataclass(frozen=True)
class TestUser:
    __test__ = False  # not a test class, despite the name

    id: int
    username: str
    password: str
    role: Role


def _project_ids(db: Any, projects: Iterable[int | str]) -> list[int]:
    ids = []
    for ref in projects:
        if isinstance(ref, int):
            ids.append(ref)
            continue
        project = db.scalar(select(Project).where(Project.name == ref))
        if project is None:
            project = Project(name=ref, local_path=None)
            db.add(project)
            db.flush()
        ids.append(project.id)
    return ids


MakeUser = Callable[..., TestUser]


@pytest.fixture
def make_user(database: Database) -> MakeUser:
    """``make_user(role, username=None, password=..., projects=(), totp_secret=None)``: a user straight
    in the database (``totp_secret`` is the clear base32 seed)."""

    def make(
        role: Role | str,
        username: str | None = None,
        password: str = DEFAULT_PASSWORD,
        projects: Iterable[int | str] = (),
        **fields: Any,
    ) -> TestUser:
        role = Role(role)
        name = username or f"{role.value}{next(_COUNTER)}"
        totp_secret = fields.pop("totp_secret", None)
        with database.transaction() as db:
            user = User(
                username=name,
                display_name=name,
                password_hash=password_hash_for(password),
                role=role,
                **fields,
            )
            db.add(user)
            db.flush()
            if totp_secret is not None:  # stored as the app stores it: sealed with the test key
                user.totp_secret_sealed = TEST_SECRET_BOX.seal(totp_secret, user.id)
            for project_id in _project_ids(db, projects):
                db.add(ProjectMember(project_id=project_id, user_id=user.id))
            return TestUser(user.id, name, password, role)

    return make


def get_csrf(client: FlaskClient, path: str = "/login") -> str:
    """The form CSRF token of the client's current session, read from a rendered page."""
    page = client.get(path)
    if page.status_code in (301, 302, 303):  # e.g. /login sends a signed-in user home
        page = client.get("/account/password", follow_redirects=True)
    match = _CSRF_RE.search(page.get_data(as_text=True))
    assert match is not None, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


@pytest.fixture
def login() -> Callable[..., TestResponse]:
    """``login(client, username, password)``: the real sign-in form, CSRF token included."""

    def do_login(client: FlaskClient, username: str, password: str, **extra: str) -> TestResponse:
        token = get_csrf(client, "/login")
        return client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token, **extra}
        )

    return do_login


def start_session(app: Flask, database: Database, client: FlaskClient, user_id: int) -> int:
    """Put a fresh, complete server-side session for the user into the client's cookie jar."""
    with database.transaction() as db:
        user = db.get(User, user_id)
        assert user is not None
        token, row = session_service.start(db, user, ip="127.0.0.1", user_agent="pytest", second_factor=True)
        session_id = row.id
    client.set_cookie(
        app.config["SESSION_COOKIE_NAME"],
        token,
        domain="localhost",
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return session_id


@pytest.fixture
def logged_in(app: Flask, database: Database, make_user: MakeUser) -> Callable[..., FlaskClient]:
    """``logged_in(role, projects=())``: a new client signed in as a new user of that role.

    The client has ``.user`` (a :class:`TestUser`) and ``.csrf()`` (a form token for POSTs).
    """

    def make(role: Role | str, projects: Iterable[int | str] = (), **fields: Any) -> FlaskClient:
        user = make_user(role, projects=projects, **fields)
        client = app.test_client()
        client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
        start_session(app, database, client, user.id)
        client.user = user  # type: ignore[attr-defined]
        client.csrf = lambda: get_csrf(client, "/account/password")  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def make_api_key(database: Database) -> Callable[..., str]:
    """``make_api_key(scopes, projects=(), expires_days=90)``: the full ``vigil_...`` secret."""

    def make(
        scopes: Iterable[str],
        projects: Iterable[int | str] = (),
        expires_days: int | None = 90,
        name: str | None = None,
    ) -> str:
        with database.transaction() as db:
            created = api_key_service.create(
                db,
                Actor.system(),
                name=name or f"key{next(_COUNTER)}",
                scopes=list(scopes),
                projects=list(projects),
                expires_days=expires_days,
            )
            return created.secret

    return make


@pytest.fixture
def frozen_clock() -> Iterator[Any]:
    """The application clock; ``frozen_clock.travel(timedelta(...))`` moves time without sleeping."""
    clock.reset()
    yield clock
    clock.reset()
