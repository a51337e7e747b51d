"""Fault: ``kill -9`` of a ``vigil worker`` (RQ) in the middle of a scan.

A baseline scan leaves open findings. The next scan sleeps inside the tool and is picked up from a
private Redis by a real ``vigil worker`` process, which is killed while the run is ``running``. The
scheduler's upkeep job (run here with its clock moved past the heartbeat deadline, instead of
waiting 90 s) must end the run as failed with the reason; the project's findings must be exactly
those of before (none lost, none closed as fixed by the dead run); and the next run, through RQ and
a fresh worker process, must succeed.
"""

from __future__ import annotations

import signal
from datetime import timedelta

from app.bench.faults import FaultContext, Outcome, sleeper
from app.bench.faults.harness import (
    child_env,
    findings_of,
    kill_9,
    make_project,
    project_folder,
    queue_scan,
    reaped,
    run_state,
    settings_for,
    spawn_vigil,
    wait_for,
)
from app.bench.faults.servers import private_redis
from app.db import Database
from app.execution import dispatcher
from app.execution.executor import execute_run
from app.models.base import RunStatus, utcnow
from app.scheduler import jobs
from app.services import scans

NAME = "RQ worker killed mid-scan"


def run(context: FaultContext) -> Outcome:
    outcome = Outcome(NAME)
    database = Database(context.database_url)
    try:
        with sleeper.registered(), private_redis() as redis:
            _scenario(context, database, redis.url, outcome)
    finally:
        database.dispose()
    return outcome


def _scenario(context: FaultContext, database: Database, redis_url: str, outcome: Outcome) -> None:
    settings = settings_for(context, redis_url=redis_url)
    env = child_env(context, VIGIL_REDIS_URL=redis_url)
    project = make_project(database, context, f"rq-killed-{context.workdir.name}"[:100], findings=4)
    baseline = queue_scan(database, project.id)
    execute_run(database, baseline, settings=settings)
    before = findings_of(database, project.id)
    outcome.check(f"baseline scan left {len(before)} open findings", len(before) == 4, f"{before}")

    sleeper.configure(project_folder(project), sleep=300, findings=4)
    doomed = queue_scan(database, project.id, dispatch=dispatcher(settings))
    log = context.workdir / "rq-worker.log"
    worker = spawn_vigil(["worker"], env, log)
    with reaped([worker]):
        started = wait_for(lambda: run_state(database, doomed)[0] is RunStatus.RUNNING, timeout=90)
        if not outcome.check(
            "the RQ worker started the scan", started, log.read_text(errors="replace")[-300:]
        ):
            return
        code = kill_9(worker)
    outcome.check("kill -9 ended the worker", code == -signal.SIGKILL, f"exit {code}")
    outcome.check(
        "run still 'running' right after (nobody left to end it)",
        run_state(database, doomed)[0] is RunStatus.RUNNING,
    )

    later = utcnow() + timedelta(seconds=scans.STALE_AFTER_SECONDS + 1)
    upkeep = jobs.upkeep(database, settings, now=later)
    status, error = run_state(database, doomed)
    outcome.check(
        "the scheduler's upkeep ended it as failed with a reason",
        doomed in upkeep.reaped and status is RunStatus.FAILED and "heartbeat" in error,
        f"{status.value}: {error}",
    )
    after = findings_of(database, project.id)
    outcome.check(
        "findings identical before/after (none lost, none closed)", after == before, f"{before} -> {after}"
    )

    sleeper.configure(project_folder(project), sleep=0, findings=4)
    following = queue_scan(database, project.id, dispatch=dispatcher(settings))
    burst = spawn_vigil(["worker", "--burst"], env, context.workdir / "rq-burst.log")
    with reaped([burst]):
        burst.wait(timeout=120)
    status, error = run_state(database, following)
    outcome.check(
        "the next run (RQ, fresh worker) succeeded", status is RunStatus.SUCCEEDED, f"{status.value}: {error}"
    )
    final = findings_of(database, project.id)
    outcome.check("still the same open findings after it", final == before, f"{before} -> {final}")
