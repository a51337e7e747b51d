"""Fault: ``kill -9`` of the gunicorn worker serving an API import, while other users triage.

A real gunicorn master runs two sync workers. A CI client uploads a large report to the import API;
once the worker serving it is writing findings (found through its socket, see
:mod:`app.bench.faults.gunicorn`), a reader and a triaging analyst start working on other
connections, and the import's worker is killed with SIGKILL. The master must respawn it; every
request on the other connections must succeed, before and after the kill; the database must hold the
whole import or none of it; every triage the server acknowledged must be in the findings' status,
their history and the audit log, one each; and ``vigil audit verify`` must find the chain intact.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.bench.faults import FaultContext, Outcome
from app.bench.faults import gunicorn as web
from app.bench.faults.harness import (
    api_key,
    audit_verify,
    child_env,
    signed_in_user,
    status_history_disagreements,
    wait_for,
)
from app.bench.faults.importer import wal_size, writing_findings
from app.db import Database
from app.ingestion.bench_report import write_report
from app.models import AuditEvent, Finding, FindingStatusHistory, Project, Role, ScanRun
from app.models.base import ActorType, RunTrigger
from app.services.actor import Actor
from app.services.imports import import_report

NAME = "web worker killed mid-request"
BASELINE = 40
CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


@dataclass
class Traffic:
    """Requests made on the other connections, and what came back."""

    stop: threading.Event = field(default_factory=threading.Event)
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    triaged: int = 0  # acknowledged status changes (200)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, outcome: Any, expected: int = 200) -> bool:
        with self.lock:
            if outcome == expected:
                self.ok += 1
                return True
            self.errors.append(f"{what}: {outcome}")
            return False


def run(context: FaultContext) -> Outcome:
    outcome = Outcome(NAME)
    database = Database(context.database_url)
    try:
        _scenario(context, database, outcome)
    finally:
        database.dispose()
    return outcome


def _setup(context: FaultContext, database: Database) -> tuple[int, list[int]]:
    baseline = context.workdir / "web-baseline.sarif"
    write_report(baseline, iter(range(BASELINE)))
    with database.transaction() as session:
        project = Project(name=f"web-kill-{context.workdir.name}"[:100], local_path="/srv/web-kill")
        project.schedule_enabled = False
        session.add(project)
        session.flush()
        import_report(session, Actor.cli(), project.id, baseline)
        ids = list(
            session.scalars(select(Finding.id).where(Finding.project_id == project.id).order_by(Finding.id))
        )
        return project.id, ids


def _read(port: int, cookie: str, traffic: Traffic) -> None:
    while not traffic.stop.is_set():
        for path in ("/findings", "/healthz"):
            try:
                status: int | str = web.request(port, "GET", path, {"Cookie": cookie})[0]
            except Exception as exc:  # noqa: BLE001 - a cut connection is exactly what is counted
                status = type(exc).__name__
            traffic.record(f"GET {path}", status)


def _triage(port: int, cookie: str, csrf: str, ids: list[int], traffic: Traffic) -> None:
    current = dict.fromkeys(ids, "open")
    n = 0
    while not traffic.stop.is_set():
        finding_id = ids[n % len(ids)]
        target = "false_positive" if current[finding_id] == "open" else "open"
        body = json.dumps({"status": target, "reason": f"fault scenario triage {n}"}).encode()
        headers = {"Cookie": cookie, "X-CSRFToken": csrf, "Content-Type": "application/json"}
        try:
            status: int | str = web.request(port, "PATCH", f"/findings/{finding_id}", headers, body)[0]
        except Exception as exc:  # noqa: BLE001 - a cut connection is exactly what is counted
            status = type(exc).__name__
        if traffic.record(f"PATCH /findings/{finding_id}", status):
            current[finding_id] = target
            with traffic.lock:
                traffic.triaged += 1
        n += 1


def _scenario(context: FaultContext, database: Database, outcome: Outcome) -> None:
    project_id, ids = _setup(context, database)
    user = signed_in_user(database, Role.ANALYST, (project_id,))
    key = api_key(database, ["upload"], [project_id])
    rows = 30_000 if context.quick else 150_000
    report = context.workdir / "web-large.sarif"
    write_report(report, iter(range(rows)))
    body, content_type = web.multipart("report", report)
    sqlite = make_url(context.database_url).get_backend_name() == "sqlite"
    wal_before = wal_size(context.database_url) if sqlite else 0

    env = child_env(context)
    with web.serving(env, context.workdir / "gunicorn.log") as (master, port):
        cookie = f"vigil-session={user.token}"
        page = web.request(port, "GET", "/findings", {"Cookie": cookie})[1].decode()
        found = CSRF_RE.search(page)
        if not outcome.check("signed-in analyst sees the findings page", found is not None):
            return
        csrf = found.group(1) if found else ""
        upload: dict[str, Any] = {}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.connect()
        client_port = conn.sock.getsockname()[1]

        def send() -> None:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
            try:
                conn.request("POST", f"/api/v1/projects/{project_id}/imports", body=body, headers=headers)
                upload["status"] = conn.getresponse().status
            except Exception as exc:  # noqa: BLE001 - the cut is the expected outcome
                upload["error"] = type(exc).__name__
            finally:
                conn.close()

        traffic = Traffic()
        threads = [
            threading.Thread(target=_read, args=(port, cookie, traffic), daemon=True),
            threading.Thread(target=_triage, args=(port, cookie, csrf, ids, traffic), daemon=True),
        ]
        for thread in threads:  # the other users are busy before, during and after the kill
            thread.start()
        wait_for(lambda: traffic.triaged >= 3, timeout=60)
        uploader = threading.Thread(target=send, name="upload", daemon=True)
        uploader.start()
        writing = wait_for(
            lambda: writing_findings(context.database_url, wal_before), timeout=240, interval=0.02
        )
        victim = web.serving_worker(master.pid, port, client_port)
        if victim is not None:
            os.kill(victim, signal.SIGKILL)  # at once: the import is still inside its transaction
        killed_at = time.monotonic()
        if not outcome.check(
            f"kill -9 of the worker serving an import of {rows:,} findings while it writes them",
            writing and victim is not None,
        ):
            traffic.stop.set()
            return
        others = web.workers_of(master.pid) - {victim}
        respawned = wait_for(
            lambda: len(web.workers_of(master.pid)) == 2 and victim not in web.workers_of(master.pid),
            timeout=60,
        )
        outcome.check("the master respawned the killed worker", respawned and master.poll() is None)
        outcome.note(f"respawned within {time.monotonic() - killed_at:.1f} s")
        fresh = web.workers_of(master.pid) - others - {victim}
        served_after = traffic.ok
        wait_for(lambda: traffic.ok > served_after + 20, timeout=30)
        traffic.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        uploader.join(timeout=60)
        outcome.check("the killed import's connection was cut (no answer)", "error" in upload, f"{upload}")
        outcome.check(
            f"{traffic.ok} requests on the other connections, during and after the kill: 0 errors",
            not traffic.errors and traffic.triaged > 0,
            "; ".join(traffic.errors[:5]),
        )
        outcome.note(f"{traffic.triaged} triage changes acknowledged; new worker {sorted(fresh)}")
    _check_database(context, database, outcome, project_id, user.user_id, traffic.triaged, rows)


def _check_database(
    context: FaultContext,
    database: Database,
    outcome: Outcome,
    project_id: int,
    user_id: int,
    triaged: int,
    rows: int,
) -> None:
    with database.reader() as session:
        imports = session.scalar(
            select(func.count()).where(ScanRun.project_id == project_id, ScanRun.trigger == RunTrigger.API)
        )
        findings = session.scalar(select(func.count()).where(Finding.project_id == project_id))
        history = session.scalar(select(func.count()).where(FindingStatusHistory.actor_user_id == user_id))
        audited = session.scalar(
            select(func.count()).where(
                AuditEvent.action == "finding_triage",
                AuditEvent.actor_type == ActorType.USER,
                AuditEvent.actor_id == user_id,
            )
        )
    whole = (imports == 0 and findings == BASELINE) or (imports == 1 and findings == rows)
    outcome.check("the import landed whole or not at all", whole, f"{imports} API runs, {findings} findings")
    outcome.note(
        "the killed import left nothing" if imports == 0 else "the import had committed before the kill"
    )
    outcome.check(
        "every finding's status matches its latest history row",
        status_history_disagreements(database, project_id) == 0,
    )
    outcome.check(
        "acknowledged triages = history rows = audit events",
        triaged == history == audited,
        f"acknowledged {triaged}, history {history}, audit {audited}",
    )
    intact, output = audit_verify(child_env(context))
    outcome.check("vigil audit verify: chain intact", intact, output)
