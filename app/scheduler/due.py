"""Which projects are due for their scheduled scan, computed from the database (not from memory).

APScheduler's cron triggers wake the scheduler on time, but the decision "is a run due?" is made
here from ``Project.last_scheduled_at`` (the fire time last acted on), so it survives restarts and
scheduler hand-overs: every fire time missed while nobody was running is found again; the missed
ones are coalesced into ONE run when the newest is within ``misfire_grace_seconds``, otherwise a
skipped run is recorded (a scan-health flag). Each project is decided in its own short write
transaction with the project row locked, so two schedulers overlapping during a hand-over cannot
both queue the same fire time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import VigilError
from app.models import Project, ScanRun
from app.models.base import RunStatus, RunTrigger, utcnow
from app.services import audit, scans
from app.services.actor import Actor

log = logging.getLogger("vigil.scheduler")
MAX_FIRE_TIMES = 5000
SCHEDULER = Actor.system("scheduler")


class ScheduleError(VigilError, ValueError):
    """A cron expression or time zone that cannot be used."""


def trigger_for(cron: str, timezone: str) -> CronTrigger:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {timezone!r}") from None
    try:
        return CronTrigger.from_crontab(cron, timezone=zone)
    except ValueError as exc:
        raise ScheduleError(f"invalid cron schedule {cron!r}: {exc}") from None


def validate_schedule(cron: str, timezone: str) -> str:
    trigger_for(cron, timezone)
    return cron


def latest_fire_time(trigger: CronTrigger, after: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The newest fire time in ``(after, now]`` and how many there were."""
    latest: datetime | None = None
    count = 0
    current = trigger.get_next_fire_time(after, after)
    while current is not None and current <= now:
        latest, count = current, count + 1
        if count >= MAX_FIRE_TIMES:
            # Down for ages with a frequent schedule: everything older than "now" is long missed.
            return latest_fire_time(trigger, now - timedelta(days=1), now)[0], count
        current = trigger.get_next_fire_time(current, current)
    return latest, count


def newest_fire_time(trigger: CronTrigger, after: datetime, until: datetime) -> datetime | None:
    """The newest fire time in ``(after, until]``, without walking every fire time since ``after``.

    Scan health asks this for every project on every dashboard view; a project whose baseline is a
    year old would otherwise cost 365 trigger steps (``latest_fire_time``). Instead a window ending
    at ``until`` doubles backwards until it holds a fire time, then only that window is walked.
    """
    first = trigger.get_next_fire_time(after, after)
    if first is None or first > until:
        return None
    span = timedelta(hours=1)
    while True:
        start = max(after, until - span)
        found = first if start == after else trigger.get_next_fire_time(start, start)
        if found is not None and found <= until:
            latest = found
            following = trigger.get_next_fire_time(latest, latest)
            while following is not None and following <= until:
                latest, following = following, trigger.get_next_fire_time(following, following)
            return latest
        span *= 2


@dataclass(frozen=True)
class Decision:
    project_id: int
    fire_time: datetime
    missed: int
    action: str  # "queued" or "skipped"
    run_ids: tuple[int, ...] = ()


def schedule_due(
    database: Database,
    *,
    grace_seconds: int,
    now: datetime | None = None,
    project_ids: list[int] | None = None,
    dispatch: scans.Dispatcher | None = None,
) -> list[Decision]:
    """Queue (or record as skipped) every project's due scheduled scan; return what was decided."""
    now = now or utcnow()
    with database.reader() as session:
        stmt = select(
            Project.id, Project.schedule_cron, Project.timezone, Project.last_scheduled_at, Project.created_at
        ).where(Project.active.is_(True), Project.schedule_enabled.is_(True))
        if project_ids is not None:
            stmt = stmt.where(Project.id.in_(project_ids))
        rows = session.execute(stmt.order_by(Project.id)).all()
    # Decide in a read first: only projects with a fire time due get a (locked) write transaction.
    ids = []
    for project_id, cron, timezone, last, created in rows:
        try:
            fire, _ = latest_fire_time(trigger_for(cron, timezone), last or created, now)
        except ScheduleError as exc:
            log.warning("project %s has an unusable schedule: %s", project_id, exc)
            continue
        if fire is not None:
            ids.append(project_id)
    decisions = []
    for project_id in ids:
        try:
            with database.transaction() as session:
                decision = _decide(session, project_id, grace_seconds, now, dispatch)
        except VigilError as exc:
            log.warning("project %s: scheduled scan not queued: %s", project_id, exc)
            continue
        if decision is not None:
            decisions.append(decision)
    return decisions


def _decide(
    session: Session, project_id: int, grace_seconds: int, now: datetime, dispatch: scans.Dispatcher | None
) -> Decision | None:
    project = session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None or not project.schedule_enabled or not project.active:
        return None
    trigger = trigger_for(project.schedule_cron, project.timezone)
    baseline = project.last_scheduled_at or project.created_at
    fire, missed = latest_fire_time(trigger, baseline, now)
    if fire is None:
        return None
    project.last_scheduled_at = fire
    details = {"scheduled_for": fire.isoformat(), "missed_fire_times": missed}
    if (now - fire).total_seconds() > grace_seconds:
        _record_skip(session, project, fire, f"missed by more than the {grace_seconds} s grace window", now)
        return Decision(project.id, fire, missed, "skipped")
    installed = scans.known_scanners()
    wanted = list(project.enabled_scanners or [])
    for scanner in [name for name in wanted if name not in installed]:
        _record_skip(session, project, fire, f"scanner {scanner!r} is not installed", now, scanner)
    runnable = [name for name in wanted if name in installed]
    if not runnable:
        return Decision(project.id, fire, missed, "skipped")
    queued = scans.queue_scans(
        session,
        SCHEDULER,
        project.id,
        scanners=runnable,
        trigger=RunTrigger.SCHEDULE,
        details=details,
        dispatch=dispatch,
        now=now,
    )
    for scanner in queued.busy:
        _record_skip(session, project, fire, f"a {scanner} run was still queued or running", now, scanner)
    return Decision(project.id, fire, missed, "queued", tuple(queued.run_ids))


def _record_skip(
    session: Session,
    project: Project,
    fire: datetime,
    reason: str,
    now: datetime,
    scanner: str | None = None,
) -> None:
    """A skipped scheduled scan is a run row too (status cancelled, ``details.skipped``): health sees it."""
    for name in [scanner] if scanner else list(project.enabled_scanners):
        session.add(
            ScanRun(
                project_id=project.id,
                scanner=name,
                trigger=RunTrigger.SCHEDULE,
                status=RunStatus.CANCELLED,
                queued_at=now,
                finished_at=now,
                error=f"skipped: {reason}",
                details={"skipped": True, "scheduled_for": fire.isoformat()},
            )
        )
    session.flush()
    audit.record(
        session,
        SCHEDULER,
        "scan_skipped",
        object_type="project",
        object_id=project.id,
        result="skipped",
        after={"scheduled_for": fire.isoformat(), "reason": reason, "scanner": scanner},
    )
