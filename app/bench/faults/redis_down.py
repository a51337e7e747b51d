"""Fault: Redis stopped under a running web application (scaled mode: rate limits and the RQ queue).

Runs on a private ``redis-server`` (never the machine's shared one). Browser sessions live in the
database (:mod:`app.web.session_store`), not in Redis, so signed-in users must keep getting their
pages; sign-in, whose attempt counters live in Redis, must fail closed (503 with Retry-After, for a
wrong and a right password alike, never an unlimited 401); "Scan now" must not lose the run: it stays
queued in the database and the scheduler's upkeep puts it on the queue once Redis is back, where a
worker runs it. When Redis returns, sign-in limiting works again without a restart.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from app.bench.faults import FaultContext, Outcome, sleeper
from app.bench.faults.harness import (
    browser,
    child_env,
    make_project,
    reaped,
    run_state,
    settings_for,
    signed_in_user,
    spawn_vigil,
    web_app,
)
from app.bench.faults.servers import PrivateRedis, private_redis
from app.db import Database
from app.execution import dispatcher
from app.models import Role, ScanRun
from app.models.base import RunStatus, utcnow
from app.scheduler import jobs

NAME = "Redis stopped"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ("/", "/findings", "/scans", "/projects")


def _csrf(client: FlaskClient, path: str) -> str:
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    return match.group(1) if match else ""


def _sign_in(client: FlaskClient, username: str, password: str) -> tuple[int, str, bool]:
    """(status, Retry-After, whether a session cookie was set) of one sign-in attempt."""
    data = {"username": username, "password": password, "csrf_token": _csrf(client, "/login")}
    response = client.post("/login", data=data)
    cookie = any("session=" in c for c in response.headers.getlist("Set-Cookie"))
    return response.status_code, response.headers.get("Retry-After", ""), cookie


def run(context: FaultContext) -> Outcome:
    outcome = Outcome(NAME)
    database = Database(context.database_url)
    try:
        with sleeper.registered(), private_redis() as redis:
            _scenario(context, database, redis, outcome)
    finally:
        database.dispose()
    return outcome


def _scenario(context: FaultContext, database: Database, redis: PrivateRedis, outcome: Outcome) -> None:
    project = make_project(database, context, f"redis-down-{context.workdir.name}"[:100], findings=2)
    user = signed_in_user(database, Role.ADMIN)
    app = web_app(context, redis_url=redis.url)
    reader = browser(app, user.token)
    attempts = 10 if context.quick else 50

    redis.stop()
    statuses = {path: reader.get(path).status_code for path in PAGES}
    outcome.check(
        f"signed-in user's pages still served ({', '.join(PAGES)})",
        set(statuses.values()) == {200},
        f"{statuses}",
    )
    wrong = [_sign_in(browser(app), user.username, f"wrong-{n}") for n in range(attempts)]
    outcome.check(
        f"{attempts} wrong-password sign-ins refused with 503 + Retry-After (fail closed)",
        all(status == 503 and retry and not cookie for status, retry, cookie in wrong),
        f"{sorted({w[0] for w in wrong})}",
    )
    right = _sign_in(browser(app), user.username, user.password)
    outcome.check(
        "the right password is refused too while limits cannot be counted", right[0] == 503 and not right[2]
    )

    project_id = project.id
    token = _csrf(reader, f"/projects/{project_id}")
    response = reader.post(f"/projects/{project_id}/scan", data={"csrf_token": token})
    with database.reader() as session:
        queued = list(session.scalars(select(ScanRun.id).where(ScanRun.project_id == project_id)))
    outcome.check(
        "Scan now answers without an error and the run stays queued in the database",
        response.status_code in (302, 303)
        and len(queued) == 1
        and run_state(database, queued[0])[0] is RunStatus.QUEUED,
        f"{response.status_code}, runs {queued}",
    )

    redis.start()
    status, _retry, _cookie = _sign_in(browser(app), user.username, "wrong-again")
    outcome.check(
        "Redis back: sign-in limiting works again without a restart (401)", status == 401, f"{status}"
    )
    settings = settings_for(context, redis_url=redis.url)
    later = utcnow() + timedelta(seconds=jobs.REQUEUE_AFTER_SECONDS + 1)
    redispatched = jobs.upkeep(database, settings, now=later, dispatch=dispatcher(settings)).redispatched
    burst = spawn_vigil(
        ["worker", "--burst"],
        child_env(context, VIGIL_REDIS_URL=redis.url),
        context.workdir / "redis-burst.log",
    )
    with reaped([burst]):
        burst.wait(timeout=120)
    final = run_state(database, queued[0])[0] if queued else None
    outcome.check(
        "the scheduler's upkeep re-queued the run on Redis and a worker ran it",
        bool(queued) and redispatched == queued and final is RunStatus.SUCCEEDED,
        f"redispatched {redispatched}, run {final}",
    )
