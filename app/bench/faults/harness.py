"""What every fault scenario needs: ``vigil`` child processes, projects, users and "nothing lost" reads.

Children are started with ``python -c`` so they can register the sleeper scanner before the CLI
runs; everything else about them is the real ``vigil`` command with its environment variables.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from app.bench.faults import FaultContext, sleeper
from app.config import ROOT, Settings, load_settings
from app.db import Database
from app.models import Finding, Project, ProjectMember, Role, ScanRun, User
from app.models.base import RunStatus, RunTrigger
from app.security.passwords import hash_password
from app.services import api_keys, projects, scans
from app.services import sessions as session_service
from app.services.actor import Actor

log = logging.getLogger("vigil.faults")
# Random per run: the scenarios' processes share it through their environment.
SECRET = secrets.token_urlsafe(32)
CHILD_CODE = "import app.bench.faults.sleeper as s; s.register(); from app.cli import main; main()"


def child_env(context: FaultContext, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a spawned ``vigil`` process (no inherited ``VIGIL_*`` variable leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        {
            "VIGIL_ENV": "test",
            "VIGIL_DATABASE_URL": database_url or context.database_url,
            "VIGIL_INSTANCE_PATH": str(context.workdir / "instance"),
            "VIGIL_SECRET_KEY": SECRET,
            "VIGIL_WORK_DIR": str(context.workdir / "work"),
            "VIGIL_COOKIE_SECURE": "false",
            "VIGIL_SCHEDULER_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return env


def spawn_vigil(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A real ``vigil`` process (stdout and stderr to ``log``) that knows the sleeper scanner."""
    with log.open("ab") as handle:
        return subprocess.Popen(  # noqa: S603  # nosec B603 - fixed argv, this interpreter
            [sys.executable, "-c", CHILD_CODE, *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


@contextmanager
def reaped(processes: list[subprocess.Popen[bytes]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process a scenario started is gone when it ends (killed by its own pid if needed)."""
    try:
        yield processes
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def kill_9(proc: subprocess.Popen[bytes]) -> int:
    os.kill(proc.pid, signal.SIGKILL)
    return proc.wait(timeout=20)


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll until ``condition`` holds; False (never an exception) when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return True
        except Exception:
            log.debug("condition not met yet", exc_info=True)
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def log_has(path: Path, needle: str) -> bool:
    return path.exists() and needle in path.read_text(errors="replace")


def _overrides(context: FaultContext, database_url: str | None, redis_url: str) -> dict[str, Any]:
    return {
        "env": "test",
        "database_url": database_url or context.database_url,
        "instance_path": context.workdir / "instance",
        "secret_key": SECRET,
        "work_dir": context.workdir / "work",
        "redis_url": redis_url,
    }


def settings_for(context: FaultContext, database_url: str | None = None, redis_url: str = "") -> Settings:
    """The same settings :func:`child_env` gives a child, for work done in this process."""
    return load_settings(_overrides(context, database_url, redis_url), environ={})


def make_project(
    database: Database, context: FaultContext, name: str, *, scheduled: bool = False, **config: Any
) -> Project:
    """A local-folder project scanned by the sleeper (config: ``sleep``, ``findings``).

    Unless ``scheduled``, its schedule is off, so a scheduler started by another scenario on the
    same database never queues runs for it.
    """
    folder = context.workdir / "repos" / name
    folder.mkdir(parents=True, exist_ok=True)
    sleeper.configure(folder, **config)
    with database.transaction() as session:
        return projects.add_project(
            session,
            Actor.system("faults"),
            name=name,
            local_path=str(folder),
            scanners=[sleeper.NAME],
            schedule_enabled=scheduled,
        )


def queue_scan(
    database: Database, project_id: int, dispatch: Any = None, trigger: RunTrigger = RunTrigger.MANUAL
) -> int:
    with database.transaction() as session:
        (run_id,) = scans.queue_scans(
            session,
            Actor.system("faults"),
            project_id,
            scanners=[sleeper.NAME],
            trigger=trigger,
            dispatch=dispatch,
        ).run_ids
    return int(run_id)


def run_state(database: Database, run_id: int) -> tuple[RunStatus, str]:
    with database.reader() as session:
        run = session.get(ScanRun, run_id)
        assert run is not None
        return RunStatus(run.status), run.error or ""


def project_folder(project: Project) -> Path:
    return Path(project.local_path or "")


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    username: str
    password: str
    token: str  # the browser session cookie's value


def signed_in_user(
    database: Database, role: Role = Role.ANALYST, project_ids: tuple[int, ...] = ()
) -> SignedIn:
    """A user with a known password and a live browser session (as after a sign-in)."""
    password = secrets.token_urlsafe(24)
    with database.transaction() as session:
        user = User(
            username=f"faults-{role.value}-{secrets.token_hex(3)}",
            display_name="faults",
            password_hash=hash_password(password),
            role=role,
        )
        session.add(user)
        session.flush()
        for pid in project_ids:
            session.add(ProjectMember(project_id=pid, user_id=user.id))
        token, _row = session_service.start(
            session, user, ip="127.0.0.1", user_agent="faults", second_factor=True
        )
        return SignedIn(user.id, user.username, password, token)


def api_key(database: Database, scopes: list[str], project_ids: list[int]) -> str:
    with database.transaction() as session:
        created = api_keys.create(
            session,
            Actor.system("faults"),
            name=f"faults-{secrets.token_hex(3)}",
            scopes=scopes,
            projects=project_ids,
        )
        return created.secret


def web_app(context: FaultContext, database_url: str | None = None, redis_url: str = "") -> Flask:
    """The real application in this process (its own engine and pool), as a web worker builds it."""
    from app import create_app

    overrides = _overrides(context, database_url, redis_url)
    return create_app({**overrides, "scheduler_enabled": False, "cookie_secure": False})


def browser(app: Flask, token: str | None = None) -> FlaskClient:
    """A client with the session cookie of :func:`signed_in_user` (or none)."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "127.0.0.1"})
    if token is not None:
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], token)
    return client


def findings_of(database: Database, project_id: int) -> list[tuple[int, str, str]]:
    """(id, fingerprint, status) of a project's findings: compared before and after a fault."""
    with database.reader() as session:
        rows = session.execute(
            select(Finding.id, Finding.fingerprint, Finding.status)
            .where(Finding.project_id == project_id)
            .order_by(Finding.id)
        ).all()
    return [(row[0], row[1], str(getattr(row[2], "value", row[2]))) for row in rows]


def status_history_disagreements(database: Database, project_id: int) -> int:
    """Findings whose status is not the ``to_status`` of their latest history row."""
    query = text(
        "SELECT count(*) FROM finding f JOIN finding_status_history h ON h.finding_id = f.id "
        "WHERE f.project_id = :p AND h.id = (SELECT max(h2.id) FROM finding_status_history h2 "
        "WHERE h2.finding_id = f.id) AND h.to_status <> f.status"
    )
    with database.reader() as session:
        return int(session.execute(query, {"p": project_id}).scalar() or 0)


def audit_verify(env: dict[str, str]) -> tuple[bool, str]:
    """``vigil audit verify`` as its own process: the real command an operator would run."""
    done = subprocess.run(  # nosec B603 - fixed argv, this interpreter
        [sys.executable, "-c", "from app.cli import main; main()", "audit", "verify"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()[-300:]
