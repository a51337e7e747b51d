"""Due-scan decisions, the scheduler lock, the jobs and scan health, driven by explicit ticks."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db import Database
from app.execution.executor import execute_run
from app.models import AuditEvent, Finding, FindingStatus, Project, RiskException, ScanRun
from app.models.base import ExceptionState, RunStatus, RunTrigger, utcnow
from app.scheduler import jobs
from app.scheduler.due import ScheduleError, latest_fire_time, schedule_due, trigger_for
from app.scheduler.lock import AdvisorySchedulerLock, FileSchedulerLock, lock_for
from app.scheduler.service import SchedulerService
from app.services import scan_health, scans
from app.services.actor import Actor
from app.services.exception_expiry import expire_due
from tests.exception_helpers import approved_finding_exception
from tests.scan_fixtures import project_folder, write_fake_config

GRACE = 6 * 3600
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _set(database: Database, project_id: int, **values: object) -> None:
    with database.transaction() as session:
        session.execute(update(Project).where(Project.id == project_id).values(**values))


def _runs(database: Database, project_id: int) -> list[tuple[str, RunStatus, dict]]:
    with database.reader() as session:
        rows = session.execute(
            select(ScanRun.scanner, ScanRun.status, ScanRun.details)
            .where(ScanRun.project_id == project_id)
            .order_by(ScanRun.id)
        ).all()
    return [tuple(row) for row in rows]


def test_cron_fire_times_respect_the_project_time_zone() -> None:
    trigger = trigger_for("0 2 * * *", "Europe/Berlin")
    latest, count = latest_fire_time(trigger, T0 - timedelta(days=3), T0)
    assert count == 3 and latest == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 02:00 CET
    with pytest.raises(ScheduleError, match="invalid cron"):
        trigger_for("61 * * * *", "UTC")
    with pytest.raises(ScheduleError, match="unknown time zone"):
        trigger_for("0 2 * * *", "Mars/Olympus")


def test_missed_fire_times_coalesce_into_exactly_one_run(database: Database, make_project) -> None:
    project = make_project(schedule_cron="*/5 * * * *")
    _set(database, project.id, last_scheduled_at=T0)
    decisions = schedule_due(database, grace_seconds=GRACE, now=T0 + timedelta(minutes=17))
    assert [(d.action, d.missed, d.fire_time) for d in decisions] == [
        ("queued", 3, T0 + timedelta(minutes=15))
    ]
    assert schedule_due(database, grace_seconds=GRACE, now=T0 + timedelta(minutes=18)) == []
    runs = _runs(database, project.id)
    assert [(name, status) for name, status, _ in runs] == [
        ("fake-a", RunStatus.QUEUED),
        ("fake-b", RunStatus.QUEUED),
    ]
    assert runs[0][2]["scheduled_for"] == (T0 + timedelta(minutes=15)).isoformat()
    # The next fire time while the first runs are still queued: recorded as skipped, not doubled.
    later = schedule_due(database, grace_seconds=GRACE, now=T0 + timedelta(minutes=20, seconds=5))
    assert [d.action for d in later] == ["queued"] and later[0].run_ids == ()
    assert sum(1 for _, status, _ in _runs(database, project.id) if status is RunStatus.QUEUED) == 2


def test_missed_beyond_grace_is_skipped_and_flagged(database: Database, make_project) -> None:
    project = make_project(schedule_cron="0 2 * * *")
    _set(database, project.id, last_scheduled_at=T0 - timedelta(days=2))
    now = T0 + timedelta(hours=20)
    (decision,) = schedule_due(database, grace_seconds=3600, now=now)
    assert decision.action == "skipped"
    assert {status for _, status, _ in _runs(database, project.id)} == {RunStatus.CANCELLED}
    with database.transaction() as session:
        flags = scan_health.compute_flags(session, advisory_max_age_days=7, now=now)
        kinds = {(f.kind, f.scanner) for f in flags if f.project_id == project.id}
        assert kinds == {("scan_skipped", "fake-a"), ("scan_skipped", "fake-b")}
        assert len(scan_health.record_changes(session, flags)) == len(flags)
        assert scan_health.record_changes(session, flags) == []  # audited once, when it appears
        scan_health.record_changes(session, [])
        cleared = session.scalar(select(func.count()).where(AuditEvent.action == "scan_health_clear"))
    assert cleared == len(flags)


def test_health_flags_failed_overdue_and_silent_zero(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project(findings=12, schedule_cron="0 * * * *")
    for findings in (12, 12, 0):
        write_fake_config(project_folder(project), findings=findings)
        with database.transaction() as session:
            (run_id,) = scans.queue_scans(
                session, Actor.system(), project.id, scanners=["fake-a"], trigger=RunTrigger.SCHEDULE
            ).run_ids
        execute_run(database, run_id, settings=scan_settings)
    write_fake_config(project_folder(project), fail=True)
    with database.transaction() as session:
        (run_id,) = scans.queue_scans(
            session, Actor.system(), project.id, scanners=["fake-b"], trigger=RunTrigger.SCHEDULE
        ).run_ids
    execute_run(database, run_id, settings=scan_settings)
    _set(database, project.id, last_scheduled_at=utcnow() - timedelta(hours=3))
    with database.reader() as session:
        flags = {(f.kind, f.scanner) for f in scan_health.compute_flags(session, advisory_max_age_days=7)}
    assert ("scanner_zero", "fake-a") in flags
    assert ("scan_failed", "fake-b") in flags
    assert ("scan_overdue", None) in flags


def test_file_lock_admits_one_scheduler_until_released(tmp_path) -> None:
    first, second = FileSchedulerLock(tmp_path / "db.lock"), FileSchedulerLock(tmp_path / "db.lock")
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire() and not first.try_acquire()
    second.release()


def test_the_lock_matches_the_database(database: Database, tmp_path) -> None:
    lock = lock_for(database, tmp_path)
    other = lock_for(Database(database.url), tmp_path)
    expected = AdvisorySchedulerLock if database.engine.dialect.name == "postgresql" else FileSchedulerLock
    assert isinstance(lock, expected)
    try:
        assert lock.try_acquire() and not other.try_acquire()
        lock.release()
        assert other.try_acquire() and other.still_held()
    finally:
        lock.release()
        other.release()


def test_two_schedulers_one_active_and_standby_takes_over(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project(schedule_cron="*/10 * * * *")
    _set(database, project.id, last_scheduled_at=utcnow() - timedelta(minutes=25))
    one = SchedulerService(database, scan_settings, poll_seconds=0.1)
    two = SchedulerService(Database(database.url), scan_settings, poll_seconds=0.1)
    try:
        assert one.step() is True
        assert two.step() is False
        assert one.step() is True and two.step() is False
        assert len(_runs(database, project.id)) == 2  # the catch-up queued once (one run per scanner)
        one.stop()
        assert two.step() is True
        assert len(_runs(database, project.id)) == 2  # the hand-over did not queue the same fire time again
        assert {job.id for job in two.scheduler.get_jobs()} >= {f"scan:{project.id}", "sync", "upkeep"}
    finally:
        one.stop()
        two.stop()
        two.database.dispose()


def test_expire_due_reopens_findings_with_history_and_audit(database: Database, make_project) -> None:
    project = make_project()
    now = utcnow()
    with database.transaction() as session:
        exc, target = approved_finding_exception(session, session.get(Project, project.id), days=10, now=now)
        exc_id, finding_id = exc.id, target.id
    with database.transaction() as session:
        assert expire_due(session, now + timedelta(days=5)).expired == []
    summary = jobs.exception_expiry(database, now + timedelta(days=11))
    assert summary.expired == [exc_id] and summary.reopened_findings == 1
    with database.reader() as session:
        assert session.get(RiskException, exc_id).state is ExceptionState.EXPIRED
        assert session.get(Finding, finding_id).status is FindingStatus.OPEN
        assert session.scalar(select(func.count()).where(AuditEvent.action == "exception_expire")) == 1


def test_upkeep_reaps_and_retention_removes_old_output(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project()
    with database.transaction() as session:
        (run_id,) = scans.queue_scans(session, Actor.system(), project.id, scanners=["fake-a"]).run_ids
    with database.transaction() as session:
        scans.claim(session, run_id, "gone:1:t", now=utcnow() - timedelta(hours=1))
    result = jobs.upkeep(database, scan_settings)
    assert result.reaped == [run_id]
    old = scan_settings.scans_dir / "runs" / "999"
    old.mkdir(parents=True)
    fresh = scan_settings.scans_dir / "runs" / "1000"
    fresh.mkdir()
    os.utime(old, (time.time() - 100 * 86400,) * 2)
    assert jobs.retention(scan_settings) == [old]
    assert fresh.exists() and not old.exists()


def test_a_scanner_not_installed_is_skipped_and_the_others_still_run(
    database: Database, make_project
) -> None:
    project = make_project(scanners=["fake-a", "gone-tool"], schedule_cron="0 * * * *")
    _set(database, project.id, last_scheduled_at=T0)
    (decision,) = schedule_due(database, grace_seconds=GRACE, now=T0 + timedelta(minutes=61))
    assert decision.action == "queued" and len(decision.run_ids) == 1
    runs = {(name, status) for name, status, _ in _runs(database, project.id)}
    assert runs == {("fake-a", RunStatus.QUEUED), ("gone-tool", RunStatus.CANCELLED)}
    assert schedule_due(database, grace_seconds=GRACE, now=T0 + timedelta(minutes=62)) == []


def test_daily_reminder_job_reminds_owners_once_a_week(
    database: Database, make_project, scan_settings: Settings
) -> None:
    project = make_project()
    now = utcnow()
    with database.transaction() as session:
        approved_finding_exception(session, session.get(Project, project.id), days=5, now=now)
    assert jobs.exception_reminders(database, scan_settings, now).reminders == 1
    assert jobs.exception_reminders(database, scan_settings, now + timedelta(days=1)).reminders == 0
