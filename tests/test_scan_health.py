"""Scan health over many projects: set-based queries and one fire-time search per schedule.

The flags must be exactly those of the per-project rules (tests/test_scheduler.py drives them
through real scans); these tests pin the cases the set-based reading could get wrong: projects
sharing a schedule with different baselines, the newest run per scanner, disabled scanners,
the history behind a silent zero, and an analyst's scope.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app.db import Database
from app.models import Project, ScanRun
from app.models.base import ActorType, Role, RunStatus, RunTrigger
from app.scheduler.due import latest_fire_time, newest_fire_time, trigger_for
from app.services import projects, scan_health
from app.services.actor import Actor

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "cron,zone",
    [
        ("0 2 * * *", "UTC"),
        ("0 2 * * *", "Europe/Berlin"),
        ("*/5 * * * *", "UTC"),
        ("0 3 * * 1", "America/New_York"),
        ("15 4 1 * *", "UTC"),
        ("0 */6 * * *", "Asia/Kolkata"),
        ("30 1 29 2 *", "UTC"),
    ],
)
def test_newest_fire_time_equals_walking_every_fire_time(cron: str, zone: str) -> None:
    trigger = trigger_for(cron, zone)
    rng = random.Random(cron + zone)
    for _ in range(25):
        until = NOW - timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
        span = 3 if "*/5" in cron or "*/6" in cron else 60 if "* * *" in cron else 900
        after = until - timedelta(minutes=rng.randrange(0, span * 24 * 60))
        assert newest_fire_time(trigger, after, until) == latest_fire_time(trigger, after, until)[0]


def _project(database: Database, folder: Path, name: str, **fields: object) -> int:
    folder.mkdir()
    with database.transaction() as session:
        project = projects.add_project(
            session,
            Actor.system("test"),
            name=name,
            local_path=str(folder),
            scanners=["fake-a", "fake-b"],
            schedule_cron=str(fields.pop("cron", "0 2 * * *")),
        )
        session.execute(update(Project).where(Project.id == project.id).values(**fields))
        return project.id


def _runs(
    database: Database, project_id: int, scanner: str, *runs: tuple[RunStatus, int, RunTrigger]
) -> None:
    """Runs oldest first: (status, results, trigger)."""
    with database.transaction() as session:
        for n, (status, results, trigger) in enumerate(runs):
            at = NOW - timedelta(days=len(runs) - n)
            session.add(
                ScanRun(
                    project_id=project_id,
                    scanner=scanner,
                    trigger=trigger,
                    status=status,
                    complete=status is RunStatus.SUCCEEDED,
                    queued_at=at,
                    finished_at=at + timedelta(minutes=5),
                    count_total=results,
                    error="boom: exit 2" if status is RunStatus.FAILED else None,
                )
            )


S, F, SCHED, MANUAL, UPLOAD = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunTrigger.SCHEDULE,
    RunTrigger.MANUAL,
    RunTrigger.UPLOAD,
)


def test_flags_of_many_projects_read_the_newest_runs(database: Database, tmp_path: Path) -> None:
    last_night = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
    fresh = _project(database, tmp_path / "a", "fresh", last_scheduled_at=last_night)
    stale = _project(database, tmp_path / "b", "stale", last_scheduled_at=last_night - timedelta(days=300))
    hourly = _project(
        database, tmp_path / "c", "hourly", cron="0 * * * *", last_scheduled_at=NOW - timedelta(hours=3)
    )
    broken = _project(database, tmp_path / "d", "broken", cron="0 2 * * *", timezone="Mars/Olympus")
    # fresh: fake-a failed last night after good runs; fake-b failed before but recovered.
    _runs(database, fresh, "fake-a", (S, 9, SCHED), (S, 9, SCHED), (F, 0, SCHED))
    _runs(database, fresh, "fake-b", (F, 0, SCHED), (S, 7, SCHED))
    # stale: fake-a went silent (median of its earlier results 12); an upload of 0 does not count.
    _runs(
        database,
        stale,
        "fake-a",
        (S, 12, SCHED),
        (S, 11, MANUAL),
        (S, 14, SCHED),
        (S, 0, SCHED),
        (S, 0, UPLOAD),
    )
    # stale: fake-b is small anyway (median 3): zero is believable.
    _runs(database, stale, "fake-b", (S, 3, SCHED), (S, 2, SCHED), (S, 0, SCHED))
    # hourly: a failed run of a scanner that is no longer enabled is not a flag.
    _runs(database, hourly, "old-tool", (F, 0, SCHED))
    _runs(database, hourly, "fake-a", (S, 0, SCHED))  # zero without history: nothing to compare
    with database.reader() as session:
        flags = scan_health.compute_flags(session, advisory_max_age_days=7, now=NOW)
    found = {(f.project_id, f.kind, f.scanner): f for f in flags}
    assert set(found) == {
        (fresh, "scan_failed", "fake-a"),
        (stale, "scan_overdue", None),
        (stale, "scanner_zero", "fake-a"),
        (hourly, "scan_overdue", None),
        (broken, "scan_overdue", None),
    }
    assert "about 12" in found[(stale, "scanner_zero", "fake-a")].message
    assert found[(stale, "scan_overdue", None)].since == last_night  # the newest missed fire time
    assert found[(hourly, "scan_overdue", None)].since == datetime(2026, 6, 10, 11, 0, tzinfo=UTC)
    assert "unknown time zone" in found[(broken, "scan_overdue", None)].message
    order = [f.project_id or 0 for f in flags]
    assert order == sorted(order)  # grouped by project


def test_an_analyst_sees_the_flags_of_their_projects_only(database: Database, tmp_path: Path) -> None:
    mine = _project(database, tmp_path / "a", "mine", last_scheduled_at=NOW - timedelta(days=3))
    theirs = _project(database, tmp_path / "b", "theirs", last_scheduled_at=NOW - timedelta(days=3))
    _runs(database, theirs, "fake-a", (F, 0, SCHED))
    analyst = Actor(type=ActorType.USER, id=1, label="ana", role=Role.ANALYST, project_ids=frozenset({mine}))
    with database.reader() as session:
        flags = scan_health.scan_health(session, analyst, advisory_max_age_days=7, now=NOW)
    assert {(f.project_id, f.kind) for f in flags} == {(mine, "scan_overdue")}
