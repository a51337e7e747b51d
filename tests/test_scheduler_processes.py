"""Real processes: two `vigil scheduler`s, a killed scheduler, a restarted one, RQ and pool workers.

Intervals are shortened through command-line options (poll every 0.5 s) so each test takes seconds.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from app.bench.faults.scheduler import missed_three_nights
from app.config import Settings
from app.db import Database
from app.execution import rq_queue
from app.execution.executor import execute_run
from app.models import Project, ScanRun
from app.models.base import RunStatus, RunTrigger, utcnow
from app.services import scans
from app.services.actor import Actor
from tests.scan_fixtures import REDIS_URL, project_folder, spawn_vigil, vigil_env, write_fake_config

DAYS = 86400


def _wait_for(condition: Callable[[], bool], timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _runs(database: Database, project_id: int) -> list[tuple[int, str, RunStatus, RunTrigger, dict]]:
    with database.reader() as session:
        rows = session.execute(
            select(ScanRun.id, ScanRun.scanner, ScanRun.status, ScanRun.trigger, ScanRun.details)
            .where(ScanRun.project_id == project_id)
            .order_by(ScanRun.id)
        ).all()
    return [tuple(row) for row in rows]


def _log_has(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text(errors="replace")


def test_checklist_40_two_scheduler_processes_run_a_due_job_once_and_standby_takes_over(
    database: Database, make_project, scan_settings: Settings, tmp_path: Path, processes: list
) -> None:
    project = make_project()
    missed_three_nights(database, project.id)
    env = vigil_env(scan_settings, VIGIL_MISFIRE_GRACE_SECONDS=str(4 * DAYS))
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]
    for log in logs:
        processes.append(spawn_vigil(["scheduler", "--poll-seconds", "0.5"], env, log))
    _wait_for(lambda: len(_runs(database, project.id)) >= 2, what="the due scan to be queued")
    _wait_for(lambda: any(_log_has(log, "scheduler active") for log in logs), what="an active scheduler")
    time.sleep(2.0)  # both processes polled several times meanwhile
    runs = _runs(database, project.id)
    assert [(name, status, trigger) for _, name, status, trigger, _ in runs] == [
        ("fake-a", RunStatus.QUEUED, RunTrigger.SCHEDULE),
        ("fake-b", RunStatus.QUEUED, RunTrigger.SCHEDULE),
    ]
    assert runs[0][4]["missed_fire_times"] == 3  # three missed nights coalesced into one run
    active = [i for i, log in enumerate(logs) if _log_has(log, "scheduler active")]
    assert len(active) == 1

    killed, standby = processes[active[0]], processes[1 - active[0]]
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=10)
    _wait_for(
        lambda: _log_has(logs[1 - active[0]], "scheduler active"), timeout=60, what="the standby to take over"
    )
    time.sleep(1.0)
    assert len(_runs(database, project.id)) == 2  # the new active one did not queue the same night again
    standby.send_signal(signal.SIGTERM)
    assert standby.wait(timeout=20) == 0


def test_missed_runs_while_down_execute_exactly_once_after_restart(
    database: Database, make_project, scan_settings: Settings, tmp_path: Path, processes: list
) -> None:
    project = make_project(scanners=["fake-a"])
    missed_three_nights(database, project.id)
    env = vigil_env(scan_settings, VIGIL_MISFIRE_GRACE_SECONDS=str(4 * DAYS))
    for attempt in range(2):  # start, stop, start again: the second start finds nothing due
        log = tmp_path / f"scheduler-{attempt}.log"
        proc = spawn_vigil(["scheduler", "--poll-seconds", "0.5"], env, log)
        processes.append(proc)
        _wait_for(lambda log=log: _log_has(log, "scheduler active"), what="the scheduler to start")
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        runs = _runs(database, project.id)
        assert [(name, trigger) for _, name, _, trigger, _ in runs] == [("fake-a", RunTrigger.SCHEDULE)]
    with database.reader() as session:
        last = session.scalar(select(Project.last_scheduled_at).where(Project.id == project.id))
    assert last is not None and utcnow() - last < timedelta(days=1)


def _queue(database: Database, project_id: int, trigger: RunTrigger = RunTrigger.MANUAL) -> int:
    with database.transaction() as session:
        (run_id,) = scans.queue_scans(
            session, Actor.system(), project_id, scanners=["fake-a"], trigger=trigger
        ).run_ids
    return run_id


def _status(database: Database, run_id: int) -> tuple[RunStatus, str | None, str | None]:
    with database.reader() as session:
        run = session.get(ScanRun, run_id)
        assert run is not None
        return run.status, run.error, run.worker_id


@pytest.fixture
def rq_settings(scan_settings: Settings):
    if not REDIS_URL:
        pytest.skip("VIGIL_TEST_REDIS_URL is not set")
    settings = replace(scan_settings, redis_url=REDIS_URL)
    yield settings
    Redis.from_url(REDIS_URL).delete(f"rq:queue:{rq_queue.queue_name(settings.database_url)}")


@pytest.mark.redis
def test_vigil_worker_process_runs_a_scan_from_the_rq_queue(
    database: Database, make_project, rq_settings: Settings, tmp_path: Path, processes: list, runner
) -> None:
    project = make_project(findings=4)
    runner.env["VIGIL_REDIS_URL"] = REDIS_URL
    result = runner.invoke(["scan", project.name, "--scanner", "fake-a"])
    assert result.exit_code == 0, result.output
    (run_id,) = [rid for rid, *_ in _runs(database, project.id)]
    assert Redis.from_url(REDIS_URL).llen(f"rq:queue:{rq_queue.queue_name(rq_settings.database_url)}") == 1
    worker = spawn_vigil(
        ["worker", "--burst"], vigil_env(rq_settings, VIGIL_REDIS_URL=REDIS_URL), tmp_path / "w.log"
    )
    processes.append(worker)
    assert worker.wait(timeout=60) == 0, (tmp_path / "w.log").read_text()
    status, error, worker_id = _status(database, run_id)
    assert status is RunStatus.SUCCEEDED, error
    assert worker_id is not None and f":{worker.pid}:" in worker_id


@pytest.mark.parametrize("mode", ["pool", "rq"])
def test_worker_killed_mid_scan_fails_the_run_then_the_next_run_succeeds(
    mode: str, database: Database, make_project, scan_settings: Settings, tmp_path: Path, processes: list
) -> None:
    extra = {}
    if mode == "rq":
        if not REDIS_URL:
            pytest.skip("VIGIL_TEST_REDIS_URL is not set")
        extra["VIGIL_REDIS_URL"] = REDIS_URL
    env = vigil_env(scan_settings, **extra)
    settings = replace(scan_settings, redis_url=extra.get("VIGIL_REDIS_URL", ""))
    project = make_project()
    write_fake_config(project_folder(project), sleep=120)
    first = _queue(database, project.id, RunTrigger.SCHEDULE)
    if mode == "rq":
        rq_queue.enqueue(settings, [first])
    worker = spawn_vigil(["worker"], env, tmp_path / "worker.log")
    processes.append(worker)
    try:
        _wait_for(lambda: _status(database, first)[0] is RunStatus.RUNNING, what="the scan to start")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert _status(database, first)[0] is RunStatus.RUNNING  # nobody is left to finish it...
        with database.transaction() as session:  # ...until the reaper notices the silence
            assert scans.reap(session, utcnow() + timedelta(seconds=scans.STALE_AFTER_SECONDS + 1)) == [first]
        status, error, _ = _status(database, first)
        assert status is RunStatus.FAILED and "stopped sending heartbeats" in (error or "")

        write_fake_config(project_folder(project), findings=2)
        second = _queue(database, project.id, RunTrigger.SCHEDULE)
        if mode == "rq":  # the next job goes through RQ again, run by an in-process RQ worker
            rq_queue.enqueue(settings, [second])
            rq_queue.configure(settings, database)
            queue = rq_queue.queue_for(settings)
            try:
                SimpleWorker([queue], connection=queue.connection).work(burst=True)
            finally:
                rq_queue._context = None
        else:
            assert execute_run(database, second, settings=settings) is RunStatus.SUCCEEDED
        assert _status(database, second)[0] is RunStatus.SUCCEEDED
    finally:
        if mode == "rq":
            Redis.from_url(REDIS_URL).delete(f"rq:queue:{rq_queue.queue_name(settings.database_url)}")
