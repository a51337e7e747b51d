"""Sign-in limits in scaled mode: counters shared through Redis, and failing closed without it."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.db import Database
from tests.auth_fixtures import get_csrf
from tests.conftest import REDIS_URL


def _client(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": ip})
    return client


def _attempt(client: FlaskClient, token: str, n: int, run: str = "") -> int:
    data = {"username": f"user{run}{n}", "password": "wrong password 12345", "csrf_token": token}
    return client.post("/login", data=data).status_code


@pytest.mark.redis
def test_two_web_workers_share_the_login_limit_through_redis(
    app_config: dict[str, Any], database: Database
) -> None:
    if not REDIS_URL:
        pytest.skip("needs VIGIL_TEST_REDIS_URL (run by the Redis pass of .ci/run)")
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    workers = [create_app({**app_config, "redis_url": REDIS_URL}, database=database) for _ in range(2)]
    clients = [_client(worker, ip) for worker in workers]
    tokens = [get_csrf(c) for c in clients]
    run = secrets.token_hex(4)  # Redis outlives test runs: fresh account names and IP each time
    statuses = [_attempt(clients[n % 2], tokens[n % 2], n, run) for n in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429


def test_login_fails_closed_when_redis_is_down(app_config: dict[str, Any], database: Database) -> None:
    app = create_app({**app_config, "redis_url": "redis://127.0.0.1:1/0"}, database=database)
    client = _client(app, "127.0.0.1")
    token = get_csrf(client)
    response = client.post(
        "/login", data={"username": "x", "password": "wrong password 12345", "csrf_token": token}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "Traceback" not in response.get_data(as_text=True)
    assert not any("__Host-session" in c for c in response.headers.getlist("Set-Cookie"))
