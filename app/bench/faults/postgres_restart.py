"""Fault: PostgreSQL restarted (``pg_ctl restart -m fast``) while a scan is running.

Runs on a private PostgreSQL cluster (never the machine's shared server). A baseline scan leaves
open findings; a web application (in this process, with its own connection pool) serves a signed-in
user; a real ``vigil worker`` process starts a scan that changes the findings, and PostgreSQL is
restarted in the middle of it, cutting every connection. The scan must either complete after
reconnecting or end failed with a reason, with nothing half-ingested; then, without restarting
anything, the web application must serve pages again and the same worker must run the next scan.
"""

from __future__ import annotations

import time

from app.bench.faults import FaultContext, Outcome, sleeper
from app.bench.faults.harness import (
    browser,
    child_env,
    findings_of,
    make_project,
    project_folder,
    queue_scan,
    reaped,
    run_state,
    settings_for,
    signed_in_user,
    spawn_vigil,
    status_history_disagreements,
    wait_for,
    web_app,
)
from app.bench.faults.servers import PrivatePostgres, private_postgres
from app.db import Database
from app.execution.executor import execute_run
from app.migrate import upgrade
from app.models import Role
from app.models.base import RunStatus

NAME = "PostgreSQL restarted mid-scan"
ENDED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT)


def run(context: FaultContext) -> Outcome:
    outcome = Outcome(NAME)
    with sleeper.registered(), private_postgres() as server:
        upgrade(server.url)
        database = Database(server.url)
        try:
            _scenario(context, server, database, outcome)
        finally:
            database.dispose()
    return outcome


def _scenario(context: FaultContext, server: PrivatePostgres, database: Database, outcome: Outcome) -> None:
    settings = settings_for(context, database_url=server.url)
    project = make_project(database, context, "pg-restart", findings=3)
    execute_run(database, queue_scan(database, project.id), settings=settings)
    before = findings_of(database, project.id)
    token = signed_in_user(database, Role.ADMIN).token
    app = web_app(context, database_url=server.url)
    client = browser(app, token)
    outcome.check("web app serves the findings list before", client.get("/findings").status_code == 200)

    sleeper.configure(project_folder(project), sleep=3 if context.quick else 8, findings=5)
    run_id = queue_scan(database, project.id)
    log = context.workdir / "pg-worker.log"
    worker = spawn_vigil(["worker", "--threads", "1"], child_env(context, database_url=server.url), log)
    with reaped([worker]):
        if not outcome.check(
            "the worker process started the scan",
            wait_for(lambda: run_state(database, run_id)[0] is RunStatus.RUNNING, timeout=60),
            log.read_text(errors="replace")[-300:],
        ):
            return
        started = time.monotonic()
        server.restart()
        outcome.note(f"pg_ctl restart -m fast took {time.monotonic() - started:.1f} s")
        ended = wait_for(lambda: run_state(database, run_id)[0] in ENDED, timeout=120, interval=0.2)
        status, error = run_state(database, run_id)
        outcome.check(
            "the scan ended: completed after reconnecting, or failed with a reason",
            ended and (status is RunStatus.SUCCEEDED or bool(error)),
            f"{status.value}: {error}",
        )
        outcome.note(f"the interrupted scan {status.value}" + (f" ({error})" if error else ""))
        after = findings_of(database, project.id)
        whole = len(after) == 5 if status is RunStatus.SUCCEEDED else after == before
        outcome.check(
            "no partial ingestion (all 5 findings landed, or exactly the 3 of before)", whole, f"{after}"
        )
        outcome.check(
            "every finding's status matches its history",
            status_history_disagreements(database, project.id) == 0,
        )

        first = client.get("/findings")
        outcome.check(
            "web app serves pages again without a restart (first request)",
            first.status_code == 200,
            f"{first.status_code}",
        )
        sleeper.configure(project_folder(project), sleep=0, findings=5)
        following = queue_scan(database, project.id)
        recovered = wait_for(
            lambda: run_state(database, following)[0] is RunStatus.SUCCEEDED, timeout=60, interval=0.2
        )
        outcome.check(
            "the same worker process runs the next scan",
            recovered and worker.poll() is None,
            f"{run_state(database, following)}",
        )
        _outage_while_landing(context, server, database, project.id, outcome)


def _outage_while_landing(
    context: FaultContext, server: PrivatePostgres, database: Database, project_id: int, outcome: Outcome
) -> None:
    """PostgreSQL down for several seconds around the moment the scan's result lands."""
    outage = 4.0 if context.quick else 10.0
    before = findings_of(database, project_id)
    folder = context.workdir / "repos" / "pg-restart"
    sleeper.configure(folder, sleep=1.5, findings=6)
    run_id = queue_scan(database, project_id)
    if not wait_for(lambda: run_state(database, run_id)[0] is RunStatus.RUNNING, timeout=60):
        outcome.check("the worker started the scan before the outage", False)
        return
    server.outage_begins()
    time.sleep(outage)  # the tool finishes meanwhile: the result has nowhere to land
    server.outage_ends()
    ended = wait_for(lambda: run_state(database, run_id)[0] in ENDED, timeout=120, interval=0.2)
    status, error = run_state(database, run_id)
    outcome.check(
        f"PostgreSQL down {outage:g} s while the result lands: the run ends, not stuck 'running'",
        ended,
        f"{status.value}: {error}",
    )
    outcome.note(f"after the {outage:g} s outage the scan {status.value}" + (f" ({error})" if error else ""))
    after = findings_of(database, project_id)
    whole = len(after) == 6 if status is RunStatus.SUCCEEDED else after == before
    outcome.check("still no partial ingestion", whole, f"{len(before)} -> {len(after)} findings")
