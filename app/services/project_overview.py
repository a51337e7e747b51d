"""Read models for the project and scan-run pages, and the schedule edit.

Queueing and cancelling runs belong to the scheduler (``app.services.scans``); these functions
only read runs, always within the actor's projects, and validate schedules with APScheduler's own
cron parser so the page accepts exactly what the scheduler will run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.metrics import queries, trends
from app.models import Project, RunStatus, ScanRun, utcnow
from app.services import audit
from app.services import projects as project_service
from app.services.actor import Actor
from app.services.permissions import NotFound, require

RUN_PAGE = 50
PROJECT_TREND_DAYS = 90


class ScheduleError(VigilError, ValueError):
    """A cron expression or time zone the scheduler would not accept."""


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    last_runs: dict[str, ScanRun]


def last_runs(session: Session, project_ids: Sequence[int]) -> dict[int, dict[str, ScanRun]]:
    """project id -> scanner -> its most recent run."""
    if not project_ids:
        return {}
    newest = (
        select(func.max(ScanRun.id).label("id"))
        .where(ScanRun.project_id.in_(list(project_ids)))
        .group_by(ScanRun.project_id, ScanRun.scanner)
        .subquery()
    )
    result: dict[int, dict[str, ScanRun]] = {}
    for run in session.scalars(select(ScanRun).where(ScanRun.id.in_(select(newest.c.id)))):
        result.setdefault(run.project_id, {})[run.scanner] = run
    return result


def project_rows(session: Session, actor: Actor) -> list[ProjectRow]:
    projects = project_service.list_projects(session, actor)
    runs = last_runs(session, [p.id for p in projects])
    return [ProjectRow(p, runs.get(p.id, {})) for p in projects]


@dataclass(frozen=True)
class ProjectOverview:
    project: Project
    last_runs: dict[str, ScanRun]
    runs: list[ScanRun]
    trend: trends.Trend
    open_by_severity: dict[str, int]
    dependencies: list[Any]
    inventory_problems: list[str]


def _inventory(session: Session, project_id: int) -> tuple[list[Any], list[str]]:
    from app.models.advisory import DependencyInventory, InventoryDependency

    inventory = session.scalar(
        select(DependencyInventory)
        .where(DependencyInventory.project_id == project_id)
        .order_by(DependencyInventory.id.desc())
        .limit(1)
    )
    if inventory is None:
        return [], []
    rows = session.scalars(
        select(InventoryDependency)
        .where(InventoryDependency.inventory_id == inventory.id)
        .order_by(InventoryDependency.name)
        .limit(1000)
    )
    return list(rows), list(inventory.problems or [])


def overview(session: Session, actor: Actor, project_id: int, now: datetime | None = None) -> ProjectOverview:
    project = project_service.get_project(session, actor, project_id)
    now = now or utcnow()
    scope = frozenset({project.id})
    days = trends.sample_days(PROJECT_TREND_DAYS, now.date())
    series = queries.snapshot_series(session, scope, days)
    grid = queries.open_by_severity_category(session, scope)
    by_severity = {str(k): int(v) for k, v in grid.groupby("severity")["count"].sum().items() if int(v) > 0}
    runs = list(
        session.scalars(
            select(ScanRun)
            .where(ScanRun.project_id == project.id)
            .order_by(ScanRun.queued_at.desc(), ScanRun.id.desc())
            .limit(RUN_PAGE)
        )
    )
    dependencies, problems = _inventory(session, project.id)
    return ProjectOverview(
        project=project,
        last_runs=last_runs(session, [project.id]).get(project.id, {}),
        runs=runs,
        trend=trends.trend(series, days, "severity", trends.SEVERITY_ORDER),
        open_by_severity=by_severity,
        dependencies=dependencies,
        inventory_problems=problems,
    )


def list_runs(
    session: Session,
    actor: Actor,
    *,
    project_id: int | None = None,
    statuses: Sequence[RunStatus] = (),
    before_id: int | None = None,
    limit: int = RUN_PAGE,
) -> tuple[list[tuple[ScanRun, str]], int | None]:
    """Runs newest first (keyset on id), with project names; returns the next page's ``before_id``."""
    require(actor, "scan.view")
    stmt = select(ScanRun, Project.name).join(Project, Project.id == ScanRun.project_id)
    if project_id is not None:
        project_service.get_project(session, actor, project_id)
        stmt = stmt.where(ScanRun.project_id == project_id)
    elif actor.project_ids is not None:
        stmt = stmt.where(ScanRun.project_id.in_(sorted(actor.project_ids) or [-1]))
    if statuses:
        stmt = stmt.where(ScanRun.status.in_(list(statuses)))
    if before_id is not None:
        stmt = stmt.where(ScanRun.id < before_id)
    rows = [(run, name) for run, name in session.execute(stmt.order_by(ScanRun.id.desc()).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def get_run(session: Session, actor: Actor, run_id: int) -> tuple[ScanRun, Project]:
    require(actor, "scan.view")
    run = session.get(ScanRun, run_id)
    if run is None or not actor.can_see_project(run.project_id):
        raise NotFound()
    project = session.get(Project, run.project_id)
    assert project is not None
    return run, project


def validate_schedule(cron: str, timezone: str) -> tuple[str, str]:
    cron = " ".join(cron.split())
    timezone = timezone.strip()
    if not cron or len(cron) > 120:
        raise ScheduleError("give a cron expression of five fields, e.g. '0 2 * * *'")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {timezone[:64]!r} (use a name like 'Europe/Berlin')"
        ) from None
    try:
        trigger = CronTrigger.from_crontab(cron, timezone=zone)
    except ValueError as exc:
        raise ScheduleError(f"invalid cron expression {cron!r}: {exc}") from None
    if trigger.get_next_fire_time(None, utcnow()) is None:
        raise ScheduleError("this schedule never fires")
    return cron, timezone


def next_runs(cron: str, timezone: str, count: int = 3) -> list[datetime]:
    """The next few times a schedule fires (shown beside the form so a typo is visible)."""
    trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
    times: list[datetime] = []
    previous = None
    now = utcnow()
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, previous + timedelta(seconds=1) if previous else now)
        if fire is None:
            break
        times.append(fire)
        previous = fire
    return times


def update_schedule(
    session: Session, actor: Actor, project_id: int, *, cron: str, timezone: str, enabled: bool
) -> Project:
    require(actor, "project.manage")
    project = project_service.get_project(session, actor, project_id)
    cron, timezone = validate_schedule(cron, timezone)
    before = {
        "cron": project.schedule_cron,
        "timezone": project.timezone,
        "enabled": project.schedule_enabled,
    }
    project.schedule_cron, project.timezone, project.schedule_enabled = cron, timezone, enabled
    audit.record(
        session,
        actor,
        "project_schedule",
        object_type="project",
        object_id=project.id,
        before=before,
        after={"cron": cron, "timezone": timezone, "enabled": enabled},
    )
    session.flush()
    return project
