"""Parallel wrong passwords for one account: never more than the limit reach the password check.

The per-account limit counts failures only, so Flask-Limiter checks it before the view and records
the failure after it; without ``app.web.attempts`` parallel attempts all passed the check first
(9 of 20 got through a limit of 5 on four gunicorn workers). An attempt arriving while another for
the same account is in flight is refused at once (no thread waits on the lock), so a burst gets
between one and the limit through, and every other attempt is refused. The database lockout, which also
answers 429, is put out of reach here so the limiter alone is measured. Embedded default: one
process, thread locks; scaled: two applications standing in for two workers, locks in Redis.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.bench.load_http import in_threads
from app.db import Database
from app.models import Role
from app.security.rate_limits import ACCOUNT_LIMIT, allowed
from tests.auth_fixtures import MakeUser, get_csrf
from tests.conftest import REDIS_URL

ATTEMPTS = 16


def _parallel_attempts(apps: list[Flask], username: str) -> list[int]:
    clients: list[FlaskClient] = []
    for n in range(ATTEMPTS):  # a different address each: the per-IP limit stays out of the way
        client = apps[n % len(apps)].test_client()
        client.environ_base.update({"wsgi.url_scheme": "https", "REMOTE_ADDR": f"10.77.{n // 250}.{n % 250}"})
        clients.append(client)
    tokens = [get_csrf(c) for c in clients]
    gate = threading.Barrier(ATTEMPTS)
    statuses: list[int] = []

    def attempt(pair: tuple[FlaskClient, str]) -> None:
        client, token = pair
        gate.wait()
        data = {"username": username, "password": "wrong password 12345", "csrf_token": token}
        statuses.append(client.post("/login", data=data).status_code)

    in_threads(attempt, zip(clients, tokens, strict=True))
    return sorted(statuses)


def _assert_within_limit(statuses: list[int]) -> None:
    through = statuses.count(401)
    assert 1 <= through <= allowed(ACCOUNT_LIMIT), statuses
    assert statuses.count(429) == ATTEMPTS - through, statuses


def test_parallel_attempts_in_one_process_stop_at_the_limit(
    app_config: dict[str, Any], database: Database, make_user: MakeUser
) -> None:
    user = make_user(Role.ANALYST)
    app = create_app({**app_config, "login_lockout_failures": 100_000}, database=database)
    _assert_within_limit(_parallel_attempts([app], user.username))


@pytest.mark.redis
def test_parallel_attempts_on_two_workers_sharing_redis_stop_at_the_limit(
    app_config: dict[str, Any], database: Database, make_user: MakeUser
) -> None:
    if not REDIS_URL:
        pytest.skip("needs VIGIL_TEST_REDIS_URL (run by the Redis pass of .ci/run)")
    user = make_user(Role.ANALYST, username=f"parallel-{secrets.token_hex(4)}")  # Redis outlives runs
    config = {**app_config, "redis_url": REDIS_URL, "login_lockout_failures": 100_000}
    workers = [create_app(config, database=database) for _ in range(2)]
    _assert_within_limit(_parallel_attempts(workers, user.username))
