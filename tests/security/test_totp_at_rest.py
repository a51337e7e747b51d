"""TOTP secrets at rest: only the sealed form is stored, a wrong key fails closed, the migration
converts existing clear secrets both ways without losing one."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.config import ConfigError, load_settings
from app.db import Database, make_engine
from app.migrate import downgrade, upgrade
from app.models import AuditEvent, Role
from app.security import clock, totp
from app.security.secret_box import SecretBox, SecretBoxError
from tests.auth_fixtures import TEST_SECRET_BOX, get_csrf

BEFORE_SEALING = "0009_finding_project_page_index"
OTHER_KEY = "another-totp-key-" + "y" * 40


def _stored(database: Database, user_id: int) -> str:
    """Everything the database holds for the user, as one string (the column the secret lives in)."""
    with database.reader() as db:
        row = db.execute(sa.text("SELECT * FROM app_user WHERE id = :id"), {"id": user_id}).one()
    return " ".join(str(value) for value in row)


def test_enrolment_stores_only_the_sealed_secret(
    logged_in: Callable[..., FlaskClient], database: Database
) -> None:
    client = logged_in(Role.APPROVER)
    started = client.post("/account/totp/start", data={"csrf_token": get_csrf(client)})
    found = re.search(r"<code>([A-Z2-7]{32})</code>", started.get_data(as_text=True))
    assert found is not None
    secret = found.group(1)
    code = totp.code_at(secret, clock.now())
    confirmed = client.post("/account/totp/confirm", data={"code": code, "csrf_token": get_csrf(client)})
    assert confirmed.status_code == 302

    user_id = client.user.id  # type: ignore[attr-defined]
    stored = _stored(database, user_id)
    assert secret not in stored and secret.lower() not in stored
    with database.reader() as db:
        sealed = db.scalar(sa.text("SELECT totp_secret_sealed FROM app_user WHERE id = :id"), {"id": user_id})
    assert sealed.startswith("v1:")
    assert TEST_SECRET_BOX.open(sealed, user_id) == secret


def test_sealed_values_are_bound_to_their_key_and_user() -> None:
    box = SecretBox.derive("k" * 40)
    secret = pyotp.random_base32()
    first, second = box.seal(secret, 7), box.seal(secret, 7)
    assert first != second  # a fresh nonce each time: equal secrets do not look equal
    assert box.open(first, 7) == secret
    with pytest.raises(SecretBoxError, match="VIGIL_TOTP_KEY"):
        SecretBox.derive("j" * 40).open(first, 7)
    with pytest.raises(SecretBoxError):
        box.open(first, 8)  # copied onto another account
    tampered = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    with pytest.raises(SecretBoxError):
        box.open(tampered, 7)
    with pytest.raises(SecretBoxError, match="not in the sealed form"):
        box.open(secret, 7)


def test_wrong_key_fails_closed_with_a_clear_error(
    app_config: dict[str, Any],
    database: Database,
    make_user: Callable[..., Any],
    login: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = pyotp.random_base32()
    admin = make_user(Role.ADMIN, totp_secret=secret, totp_enabled=True)
    app = create_app({**app_config, "totp_key": OTHER_KEY}, database=database)
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"})
    assert login(client, admin.username, admin.password).headers["Location"].startswith("/login/totp")

    code = totp.code_at(secret, clock.now())
    with caplog.at_level(logging.ERROR, logger="vigil.auth"):
        refused = client.post(
            "/login/totp", data={"code": code, "csrf_token": get_csrf(client, "/login/totp")}
        )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 503
    assert "cannot be checked" in page and "Traceback" not in page
    assert any("VIGIL_TOTP_KEY" in record.getMessage() for record in caplog.records)
    assert client.get("/admin/users").status_code == 302  # not signed in
    with database.reader() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "authn_totp_fail")).one()
        assert event.result == "failure"
        assert event.after == {"reason": "totp_secret_unreadable"}

    # The same secret under the right key still works: nothing was changed by the refusal.
    right = create_app(app_config, database=database).test_client()
    right.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.2"})
    login(right, admin.username, admin.password)
    ok = right.post("/login/totp", data={"code": code, "csrf_token": get_csrf(right, "/login/totp")})
    assert ok.status_code == 302


def _add_clear_user(database_url: str, secret: str) -> int:
    """A user as the schema before sealing stored it: the clear base32 seed in ``totp_secret``."""
    now = datetime.now(UTC)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            users = sa.Table("app_user", sa.MetaData(), autoload_with=conn)
            result = conn.execute(
                users.insert().values(
                    username="legacy",
                    display_name="legacy",
                    password_hash="x",
                    role="approver",
                    active=True,
                    must_change_password=False,
                    totp_secret=secret,
                    totp_enabled=True,
                    failed_logins=0,
                    created_at=now,
                    password_changed_at=now,
                )
            )
            assert result.inserted_primary_key is not None
            return int(result.inserted_primary_key[0])
    finally:
        engine.dispose()


def _column(database_url: str, column: str, user_id: int) -> Any:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text(f"SELECT {column} FROM app_user WHERE id = :id"), {"id": user_id})
    finally:
        engine.dispose()


def test_migration_seals_existing_secrets_and_downgrade_opens_them(database_url: str) -> None:
    downgrade(database_url, BEFORE_SEALING)
    secret = pyotp.random_base32()
    user_id = _add_clear_user(database_url, secret)

    upgrade(database_url, secret_box=TEST_SECRET_BOX)
    sealed = _column(database_url, "totp_secret_sealed", user_id)
    assert secret not in sealed
    assert TEST_SECRET_BOX.open(sealed, user_id) == secret

    # A downgrade under another key refuses and loses nothing.
    with pytest.raises(SecretBoxError):
        downgrade(database_url, BEFORE_SEALING, secret_box=SecretBox.derive(OTHER_KEY))
    assert _column(database_url, "totp_secret_sealed", user_id) == sealed

    downgrade(database_url, BEFORE_SEALING, secret_box=TEST_SECRET_BOX)
    assert _column(database_url, "totp_secret", user_id) == secret
    upgrade(database_url, secret_box=TEST_SECRET_BOX)


def test_production_refuses_a_weak_totp_key(tmp_path: Any) -> None:
    strong = "s" * 48
    base = {"env": "production", "secret_key": strong, "instance_path": tmp_path}
    with pytest.raises(ConfigError, match="VIGIL_TOTP_KEY is too short"):
        load_settings({**base, "totp_key": "short"}, environ={})
    with pytest.raises(ConfigError, match="VIGIL_TOTP_KEY is missing or a well-known default"):
        load_settings({**base, "totp_key": "changeme"}, environ={})
    settings = load_settings({**base, "totp_key": OTHER_KEY}, environ={})
    assert SecretBox.from_settings(settings) == SecretBox.derive(OTHER_KEY)
    assert SecretBox.from_settings(settings) != SecretBox.derive(strong)
