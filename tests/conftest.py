"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when configured), app, client, runner.

Every database test runs on SQLite and, when ``VIGIL_TEST_POSTGRES_URL`` is set, on PostgreSQL too.
Each test gets a fresh, fully migrated database: a copy of a migrated SQLite file, or a PostgreSQL
database cloned from a migrated template (``CREATE DATABASE ... TEMPLATE``), so tests are isolated
and still use the real schema, triggers included.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.db import Database, normalize_url
from app.migrate import upgrade

pytest_plugins = [
    "tests.browser_fixtures",
    "tests.auth_fixtures",
    "tests.scan_fixtures",
    "tests.notification_fixtures",
]

POSTGRES_URL = os.environ.get("VIGIL_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("VIGIL_TEST_REDIS_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
TEST_SECRET = "test-secret-key-" + "x" * 40


def _pg_admin_engine() -> Any:
    return create_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")


def _pg_url_for(dbname: str) -> str:
    return make_url(normalize_url(POSTGRES_URL)).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    if not POSTGRES_URL:
        yield None
        return
    name = f"vigil_tpl_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(_pg_url_for(name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_database_url(
    backend: str, tmp_path: Path, sqlite_template: Path, postgres_template: str | None
) -> tuple[str, Callable[[], None]]:
    """A new migrated database of the given backend, and a function that removes it."""
    if backend == "sqlite":
        path = tmp_path / f"vigil-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}", lambda: None
    assert postgres_template is not None
    name = f"vigil_t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return _pg_url_for(name), drop


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_template: str | None
) -> Iterator[str]:
    url, drop = fresh_database_url(request.param, tmp_path, sqlite_template, postgres_template)
    yield url
    drop()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh migrated SQLite database only (for tests about SQLite behaviour itself)."""
    url, _ = fresh_database_url("sqlite", tmp_path, sqlite_template, None)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A write session on a fresh database; the test decides when to commit."""
    s = database.session(write=True)
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "env": "test",
        "database_url": database_url,
        "instance_path": tmp_path / "instance",
        "secret_key": TEST_SECRET,
        "work_dir": tmp_path / "work",
        "scheduler_enabled": False,
    }


@pytest.fixture
def app(app_config: dict[str, Any], database: Database) -> Flask:
    return create_app(app_config, database=database)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    test_client = app.test_client()
    # Vigil's cookies are Secure (__Host- prefix): talk to it as a browser on HTTPS would.
    test_client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    return test_client


class VigilRunner:
    """Invoke the ``vigil`` CLI in-process against the test's database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runner = CliRunner()

    def invoke(self, args: list[str], input: str | None = None) -> Result:
        from app.cli import context, main

        context.settings.cache_clear()
        context.database.cache_clear()
        try:
            return self.runner.invoke(main, args, input=input, env=self.env, catch_exceptions=False)
        finally:
            context.database().dispose()
            context.settings.cache_clear()
            context.database.cache_clear()


@pytest.fixture
def runner(app_config: dict[str, Any]) -> VigilRunner:
    return VigilRunner(
        {
            "VIGIL_ENV": "test",
            "VIGIL_DATABASE_URL": app_config["database_url"],
            "VIGIL_INSTANCE_PATH": str(app_config["instance_path"]),
            "VIGIL_SECRET_KEY": TEST_SECRET,
            "VIGIL_WORK_DIR": str(app_config["work_dir"]),
        }
    )
