"""Fault: ``kill -9`` of the active ``vigil scheduler`` while it is dispatching a due scan.

Two scheduler processes start together on a project whose nightly run is due (three nights missed,
within the grace window). The moment one logs that it took the lock, so while it is catching up and
queueing, it is killed with SIGKILL (after a short delay that varies between rounds in the full
version: the kill lands before, during or just after the queueing transaction). The standby must take
over and the due run must exist exactly once, and run once: a ``vigil worker --burst`` executes it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from app.bench.faults import FaultContext, Outcome, sleeper
from app.bench.faults.harness import child_env, kill_9, log_has, make_project, reaped, spawn_vigil, wait_for
from app.db import Database
from app.models import Project, ScanRun
from app.models.base import RunStatus, RunTrigger, utcnow

NAME = "scheduler killed while dispatching"
ACQUIRED = "scheduler lock acquired"
GRACE_SECONDS = 4 * 86400


def _runs(database: Database, project_id: int) -> list[tuple[RunStatus, RunTrigger, dict]]:
    with database.reader() as session:
        rows = session.execute(
            select(ScanRun.status, ScanRun.trigger, ScanRun.details)
            .where(ScanRun.project_id == project_id)
            .order_by(ScanRun.id)
        ).all()
    return [(RunStatus(s), RunTrigger(t), d or {}) for s, t, d in rows]


def missed_three_nights(database: Database, project_id: int) -> None:
    """A nightly schedule (an hour ago) whose last three fire times were missed: no scheduler ran."""
    hour = (utcnow().hour - 1) % 24
    with database.transaction() as session:
        session.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(
                schedule_cron=f"0 {hour} * * *", last_scheduled_at=utcnow() - timedelta(days=3, minutes=5)
            )
        )


def run(context: FaultContext) -> Outcome:
    outcome = Outcome(NAME)
    # A delay after taking the lock (the kill lands before the run is queued), or None: the kill
    # lands the instant the queued run is committed, before the scheduler moves on. The short
    # version keeps the latter (the double-queue risk); the full one also kills before queueing.
    delays: tuple[float | None, ...] = (None,) if context.quick else (0.0, 0.2, 0.5, 1.0, None, None)
    database = Database(context.database_url)
    try:
        with sleeper.registered():
            for number, delay in enumerate(delays):
                _round(context, database, outcome, number, delay)
    finally:
        database.dispose()
    return outcome


def _round(
    context: FaultContext, database: Database, outcome: Outcome, number: int, delay: float | None
) -> None:
    project = make_project(database, context, f"sched-{number}-{context.workdir.name}"[:100], scheduled=True)
    missed_three_nights(database, project.id)
    env = child_env(context, VIGIL_MISFIRE_GRACE_SECONDS=str(GRACE_SECONDS))
    logs = [context.workdir / f"scheduler-{number}-{side}.log" for side in ("a", "b")]
    procs: list[subprocess.Popen[bytes]] = [
        spawn_vigil(["scheduler", "--poll-seconds", "0.5"], env, log) for log in logs
    ]
    moment = "as the run commits" if delay is None else f"{delay:.1f} s after the lock"
    label = f"r{number + 1} kill {moment}"
    with reaped(procs):
        if not outcome.check(
            f"{label}: a scheduler took the lock",
            wait_for(lambda: any(log_has(log, ACQUIRED) for log in logs), timeout=90, interval=0.01),
        ):
            return
        first = next(i for i, log in enumerate(logs) if log_has(log, ACQUIRED))
        if delay is None:
            wait_for(lambda: bool(_runs(database, project.id)), timeout=60, interval=0.002)
        else:
            time.sleep(delay)
        code = kill_9(procs[first])
        outcome.check(f"{label}: kill -9", code == -signal.SIGKILL, f"exit {code}")
        committed = "had" if _runs(database, project.id) else "had not"
        outcome.note(f"round {number + 1}: the killed scheduler {committed} committed the run")
        survivor_log: Path = logs[1 - first]
        took_over = wait_for(lambda: log_has(survivor_log, "scheduler active"), timeout=60)
        outcome.check(
            f"{label}: the standby took over", took_over, survivor_log.read_text(errors="replace")[-300:]
        )
        time.sleep(1.5)  # the new active scheduler has polled and synced several times meanwhile
        runs = _runs(database, project.id)
        once = [r for r in runs if r[1] is RunTrigger.SCHEDULE]
        outcome.check(f"{label}: the due run was queued exactly once", len(once) == 1 == len(runs), f"{runs}")
        if once:
            missed = once[0][2].get("missed_fire_times")
            outcome.check(
                f"{label}: three missed nights coalesced into it", missed == 3, f"missed_fire_times={missed}"
            )
        procs[1 - first].send_signal(signal.SIGTERM)
        procs[1 - first].wait(timeout=30)
    burst = spawn_vigil(["worker", "--burst"], child_env(context), context.workdir / f"burst-{number}.log")
    with reaped([burst]):
        burst.wait(timeout=120)
    statuses = [r[0] for r in _runs(database, project.id)]
    outcome.check(f"{label}: it ran once and succeeded", statuses == [RunStatus.SUCCEEDED], f"{statuses}")
