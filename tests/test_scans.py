"""Queue, execute, cancel and reap scan runs; git sources; the `vigil scan` command."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.db import Database
from app.execution.executor import execute_run
from app.execution.pool import WorkerPool
from app.models import AuditEvent, Finding, Project, Role, ScanRun
from app.models.base import ActorType, FindingStatus, RunStatus, RunTrigger, utcnow
from app.services import advisories, scans
from app.services.actor import Actor
from app.services.advisory_import import import_advisories
from app.services.permissions import PermissionDenied
from app.sources import SourceError, clone, prepare_checkout, validate_ref
from tests.scan_fixtures import project_folder, write_fake_config

SYSTEM = Actor.system("test")


def _queue(database: Database, project_id: int, **kwargs: object) -> scans.QueuedScans:
    with database.transaction() as session:
        return scans.queue_scans(session, SYSTEM, project_id, **kwargs)  # type: ignore[arg-type]


def _run(database: Database, run_id: int) -> ScanRun:
    with database.reader() as session:
        run = session.get(ScanRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def test_queue_one_run_per_scanner_and_never_two_active(database: Database, make_project) -> None:
    project = make_project()
    first = _queue(database, project.id)
    assert len(first.run_ids) == 2 and first.busy == []
    second = _queue(database, project.id, scanners=["fake-a"])
    assert second.run_ids == [] and second.busy == ["fake-a"]
    with database.reader() as session:
        active = session.scalar(
            select(func.count()).where(ScanRun.project_id == project.id, ScanRun.status == RunStatus.QUEUED)
        )
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.action == "scan_triggered"))
        )
    assert active == 2
    assert actions == ["scan_triggered", "scan_triggered"]


def test_unknown_scanner_and_viewer_are_refused(database: Database, make_project) -> None:
    project = make_project()
    with pytest.raises(scans.ScanError, match="unknown scanner 'nope'"):
        _queue(database, project.id, scanners=["nope"])
    viewer = Actor(type=ActorType.USER, id=None, label="v", role=Role.VIEWER, project_ids=None)
    with database.transaction() as session, pytest.raises(PermissionDenied):
        scans.queue_scans(session, viewer, project.id)


def test_execute_run_ingests_in_one_transaction_and_audits(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project(findings=3)
    run_id = _queue(database, project.id, scanners=["fake-a"]).run_ids[0]
    assert execute_run(database, run_id, settings=scan_settings) is RunStatus.SUCCEEDED
    run = _run(database, run_id)
    assert (run.status, run.outcome, run.complete, run.count_total, run.count_new) == (
        RunStatus.SUCCEEDED,
        "findings",
        True,
        3,
        3,
    )
    assert run.tool_version == "fake-1.0" and run.worker_id and run.heartbeat_at and run.finished_at
    # A second claim of the same run does nothing: it runs once however many workers see it.
    assert execute_run(database, run_id, settings=scan_settings) is None
    with database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Finding)) == 3
        finished = [
            e.after for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "scan_finished"))
        ]
    assert len(finished) == 1 and finished[0]["status"] == "succeeded"


def test_failed_run_keeps_reason_and_closes_nothing(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project(findings=2)
    first = _queue(database, project.id, scanners=["fake-a"]).run_ids[0]
    execute_run(database, first, settings=scan_settings)
    write_fake_config(project_folder(project), fail=True)
    second = _queue(database, project.id, scanners=["fake-a"]).run_ids[0]
    assert execute_run(database, second, settings=scan_settings) is RunStatus.FAILED
    run = _run(database, second)
    assert run.error == "fake tool crashed" and "boom" in (run.stderr_tail or "") and not run.complete
    with database.reader() as session:
        statuses = set(session.scalars(select(Finding.status)))
    assert statuses == {FindingStatus.OPEN}
    # The next good run (with one finding gone) does close it.
    write_fake_config(project_folder(project), findings=1)
    third = _queue(database, project.id, scanners=["fake-a"]).run_ids[0]
    assert execute_run(database, third, settings=scan_settings) is RunStatus.SUCCEEDED
    assert _run(database, third).count_fixed == 1


def test_timed_out_run_is_recorded_as_such(database: Database, make_project, scan_settings: Settings) -> None:
    project = make_project()
    write_fake_config(project_folder(project), timeout=True)
    run_id = _queue(database, project.id, scanners=["fake-a"]).run_ids[0]
    assert execute_run(database, run_id, settings=scan_settings) is RunStatus.TIMED_OUT
    run = _run(database, run_id)
    assert run.error == "timed out after 1 s and was killed" and not run.complete and run.outcome == "failed"


def test_cancel_queued_at_once_and_running_kills_the_tool(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project()
    queued = _queue(database, project.id)
    with database.transaction() as session:
        run = scans.cancel_run(session, SYSTEM, queued.run_ids[0])
        assert run.status is RunStatus.CANCELLED
    assert execute_run(database, queued.run_ids[0], settings=scan_settings) is None

    write_fake_config(project_folder(project), sleep=60)
    slow = queued.run_ids[1]
    outcome: list[RunStatus | None] = []
    worker = threading.Thread(
        target=lambda: outcome.append(
            execute_run(database, slow, settings=scan_settings, heartbeat_seconds=0.1)
        )
    )
    worker.start()
    _wait_for(lambda: _run(database, slow).status is RunStatus.RUNNING)
    with database.transaction() as session:
        scans.cancel_run(session, SYSTEM, slow)
    worker.join(timeout=20)
    assert outcome == [RunStatus.CANCELLED]
    assert _run(database, slow).status is RunStatus.CANCELLED
    with database.transaction() as session, pytest.raises(scans.ScanError, match="already cancelled"):
        scans.cancel_run(session, SYSTEM, slow)


def test_reaper_fails_runs_whose_worker_stopped_beating(database: Database, make_project) -> None:
    project = make_project()
    run_id = _queue(database, project.id, scanners=["fake-a"]).run_ids[0]
    long_ago = utcnow() - timedelta(minutes=10)
    with database.transaction() as session:
        assert scans.claim(session, run_id, "dead-host:1:t", now=long_ago)
    with database.transaction() as session:
        assert scans.reap(session) == [run_id]
        assert scans.reap(session) == []
    run = _run(database, run_id)
    assert run.status is RunStatus.FAILED and "stopped sending heartbeats" in (run.error or "")
    # The project can be scanned again at once.
    assert _queue(database, project.id, scanners=["fake-a"]).run_ids


def test_pool_runs_queued_runs_with_bounded_concurrency(
    database: Database, make_project, scan_settings: Settings
) -> None:
    projects_ = [make_project(findings=1) for _ in range(3)]
    for project in projects_:
        write_fake_config(project_folder(project), findings=1, sleep=0.3)
    run_ids = [rid for p in projects_ for rid in _queue(database, p.id).run_ids]
    pool = WorkerPool(database, scan_settings, poll_seconds=0.1)
    peak = 0
    pool.start()
    try:
        while True:
            peak = max(peak, pool.busy)
            with database.reader() as session:
                done = session.scalar(
                    select(func.count()).where(ScanRun.id.in_(run_ids), ScanRun.status == RunStatus.SUCCEEDED)
                )
            if done == len(run_ids):
                break
            time.sleep(0.05)
    finally:
        pool.stop()
    assert 1 <= peak <= scan_settings.worker_threads


def test_git_project_is_cloned_per_run_and_commit_recorded(
    database: Database, scan_settings: Settings, tmp_path: Path, fakes: tuple[str, ...]
) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    write_fake_config(origin, findings=1)
    git = ["git", "-C", str(origin), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    (origin / "leak").symlink_to("/etc/hostname")
    subprocess.run(["git", "init", "-q", "-b", "main", str(origin)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    sha = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    with database.transaction() as session:
        project = Project(
            name="gitproj", git_url=f"file://{origin}", git_ref="main", enabled_scanners=["fake-a"]
        )
        session.add(project)
        session.flush()
        project_id = project.id
    run_id = _queue(database, project_id).run_ids[0]
    assert execute_run(database, run_id, settings=scan_settings) is RunStatus.SUCCEEDED
    run = _run(database, run_id)
    assert run.commit_sha == sha and run.count_total == 1
    checkout = prepare_checkout(
        local_path=None, git_url=f"file://{origin}", git_ref=None, scans_dir=tmp_path / "x", run_id=7
    )
    try:
        assert checkout.commit == sha
        leak = checkout.path / "leak"
        assert not leak.is_symlink() and leak.read_text() == "/etc/hostname"  # a plain file, not a link
    finally:
        checkout.cleanup()
    assert not checkout.path.exists()
    assert not (scan_settings.scans_dir / "runs" / str(run_id) / "src").exists()


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/x", "a..b", "main;rm", "-b"])
def test_unsafe_git_refs_are_rejected(ref: str) -> None:
    with pytest.raises(SourceError):
        validate_ref(ref)


@pytest.mark.parametrize("url", ["--upload-pack=x", "ext::sh -c touch% /tmp/pwned", "file:///tmp/../etc"])
def test_unsafe_git_urls_never_reach_git(url: str, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="unsafe|unsupported|'\\.\\.'"):
        clone(url, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_missing_local_path_fails_the_run_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        prepare_checkout(
            local_path=str(tmp_path / "gone"), git_url=None, git_ref=None, scans_dir=tmp_path, run_id=1
        )


def test_vigil_scan_wait_runs_and_reports(runner, database: Database, make_project) -> None:
    project = make_project(findings=2)
    result = runner.invoke(["scan", project.name, "--scanner", "fake-a", "--wait"])
    assert result.exit_code == 0, result.output
    assert "succeeded (2 results: 2 new" in result.output
    bad = runner.invoke(["scan", project.name, "--scanner", "nope"])
    assert bad.exit_code == 2 and bad.output.strip().startswith("error: unknown scanner 'nope'")
    missing = runner.invoke(["scan", "no-such-project"])
    assert missing.exit_code == 2 and "no project named" in missing.output
    with database.reader() as session:
        triggers = set(session.scalars(select(ScanRun.trigger)))
    assert triggers == {RunTrigger.MANUAL}


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_pool_shutdown_mid_scan_fails_the_run_with_the_reason(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project()
    write_fake_config(project_folder(project), sleep=60)
    run_id = _queue(database, project.id, scanners=["fake-a"]).run_ids[0]
    pool = WorkerPool(database, scan_settings, poll_seconds=0.1).start()
    try:
        _wait_for(lambda: _run(database, run_id).status is RunStatus.RUNNING)
    finally:
        pool.stop(cancel_running=True, timeout=20)
    run = _run(database, run_id)
    assert run.status is RunStatus.FAILED and run.error == "the worker shut down before the scan finished"


def test_osv_runs_against_the_advisory_store_and_fails_loudly_when_it_is_empty(
    database: Database, scan_settings: Settings, tmp_path: Path
) -> None:
    fixtures = Path(__file__).parent / "fixtures" / "advisories"
    checkout = tmp_path / "uvrepo"
    shutil.copytree(fixtures / "projects" / "uv", checkout)
    with database.transaction() as session:
        project = Project(
            name="deps", local_path=str(checkout), dependency_files=["uv.lock"], enabled_scanners=["osv"]
        )
        session.add(project)
        session.flush()
        project_id = project.id
    empty = _queue(database, project_id).run_ids[0]
    assert execute_run(database, empty, settings=scan_settings) is RunStatus.FAILED
    assert "advisory store is empty" in (_run(database, empty).error or "")
    with database.transaction() as session:
        import_advisories(session, SYSTEM, fixtures / "osv-v1")
        version = advisories.store_status(session).version
    run_id = _queue(database, project_id).run_ids[0]
    assert execute_run(database, run_id, settings=scan_settings) is RunStatus.SUCCEEDED
    run = _run(database, run_id)
    assert run.tool_version == "vigil-osv" and run.ruleset_version == version and run.complete
    with database.reader() as session:
        packages = sorted(session.scalars(select(Finding.package).where(Finding.project_id == project_id)))
    assert packages == ["django", "requests"]


def test_a_run_cancelled_before_it_started_leaves_the_pool_quietly(
    database: Database, scan_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """At shutdown the executor cancels runs still waiting for a thread; their callback must not raise."""
    pool = WorkerPool(database, scan_settings)
    waiting: Future[None] = Future()
    assert waiting.cancel()
    pool._inflight[7] = threading.Event()
    with caplog.at_level(logging.ERROR):
        pool._done(7, waiting)
    pool.stop()
    assert pool.busy == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
