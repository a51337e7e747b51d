"""Scan health: the nightly job nobody watches must say loudly when it did not do its work.

Flags (each with a one-line message for the dashboard and the API):

- ``scan_failed``: a project's last scheduled run of a scanner failed or timed out;
- ``scan_skipped``: it was skipped (missed beyond the grace window, or a previous run still busy);
- ``scan_overdue``: a fire time of the project's schedule passed and nothing was queued for it
  (no scheduler running), or a scheduled run has waited in the queue too long (no worker running);
- ``scanner_zero``: a scanner reported zero results where its previous successful runs reported many
  (the silent zero of a misconfigured tool is the worst failure a scanner can have);
- ``advisory_stale``: the offline advisory database is older than ``advisory_max_age_days``.

:func:`record_changes` writes ``scan_health_flag`` when a flag appears and ``scan_health_clear``
when it goes away; the scheduler calls it every few minutes.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Project, ScanRun
from app.models.base import RunStatus, RunTrigger, utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import require

OVERDUE_TOLERANCE = timedelta(minutes=15)
STUCK_QUEUED = timedelta(minutes=30)
ZERO_HISTORY = 5
ZERO_MIN_TYPICAL = 5
FLAG_ACTION, CLEAR_ACTION = "scan_health_flag", "scan_health_clear"


@dataclass(frozen=True)
class HealthFlag:
    kind: str
    message: str
    project_id: int | None = None
    project: str | None = None
    scanner: str | None = None
    since: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.project_id or '-'}:{self.scanner or '-'}"[:64]

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["since"] = self.since.isoformat() if self.since else None
        data["key"] = self.key
        return data


def scan_health(
    session: Session, actor: Actor, *, advisory_max_age_days: int, now: datetime | None = None
) -> list[HealthFlag]:
    """The flags the actor may see (their projects, plus the shared advisory database)."""
    require(actor, "scan.view")
    flags = compute_flags(session, advisory_max_age_days=advisory_max_age_days, now=now)
    return [f for f in flags if f.project_id is None or actor.can_see_project(f.project_id)]


def compute_flags(
    session: Session, *, advisory_max_age_days: int, now: datetime | None = None
) -> list[HealthFlag]:
    now = now or utcnow()
    flags: list[HealthFlag] = []
    projects = session.scalars(select(Project).where(Project.active.is_(True)).order_by(Project.id)).all()
    for project in projects:
        if project.schedule_enabled:
            flags.extend(_schedule_flags(session, project, now))
        flags.extend(_zero_flags(session, project))
    if any("osv" in (p.enabled_scanners or []) for p in projects):
        flags.extend(_advisory_flags(session, advisory_max_age_days, now))
    return flags


def _schedule_flags(session: Session, project: Project, now: datetime) -> list[HealthFlag]:
    from app.scheduler.due import ScheduleError, latest_fire_time, trigger_for

    flags = []
    recent = session.scalars(
        select(ScanRun)
        .where(ScanRun.project_id == project.id, ScanRun.trigger == RunTrigger.SCHEDULE)
        .order_by(ScanRun.id.desc())
        .limit(50)
    ).all()
    latest: dict[str, ScanRun] = {}
    for run in recent:
        latest.setdefault(run.scanner, run)
    for scanner, run in sorted(latest.items()):
        when = run.finished_at or run.queued_at
        if run.status in (RunStatus.FAILED, RunStatus.TIMED_OUT):
            reason = (run.error or run.status.value).splitlines()[0][:200]
            flags.append(
                _flag(
                    "scan_failed",
                    f"last scheduled {scanner} run {run.status.value}: {reason}",
                    project,
                    scanner,
                    when,
                )
            )
        elif run.status is RunStatus.CANCELLED and (run.details or {}).get("skipped"):
            flags.append(
                _flag(
                    "scan_skipped",
                    f"last scheduled {scanner} run was {run.error or 'skipped'}",
                    project,
                    scanner,
                    when,
                )
            )
        elif run.status is RunStatus.QUEUED and now - run.queued_at > STUCK_QUEUED:
            flags.append(
                _flag(
                    "scan_overdue",
                    f"scheduled {scanner} run waiting since {run.queued_at:%Y-%m-%d %H:%M} "
                    "UTC: is a worker running?",
                    project,
                    scanner,
                    run.queued_at,
                )
            )
    try:
        trigger = trigger_for(project.schedule_cron, project.timezone)
    except ScheduleError as exc:
        return [*flags, _flag("scan_overdue", f"schedule cannot run: {exc}", project, None, None)]
    baseline = project.last_scheduled_at or project.created_at
    missed, _count = latest_fire_time(trigger, baseline, now - OVERDUE_TOLERANCE)
    if missed is not None:
        flags.append(
            _flag(
                "scan_overdue",
                f"scheduled scan of {missed:%Y-%m-%d %H:%M} UTC did not happen: is the scheduler running?",
                project,
                None,
                missed,
            )
        )
    return flags


def _zero_flags(session: Session, project: Project) -> list[HealthFlag]:
    flags = []
    for scanner in project.enabled_scanners or []:
        runs = session.scalars(
            select(ScanRun)
            .where(
                ScanRun.project_id == project.id,
                ScanRun.scanner == scanner,
                ScanRun.status == RunStatus.SUCCEEDED,
                ScanRun.trigger.in_([RunTrigger.SCHEDULE, RunTrigger.MANUAL, RunTrigger.API]),
            )
            .order_by(ScanRun.id.desc())
            .limit(ZERO_HISTORY + 1)
        ).all()
        if len(runs) < 2 or runs[0].count_total != 0:
            continue
        typical = statistics.median(run.count_total for run in runs[1:])
        if typical >= ZERO_MIN_TYPICAL:
            flags.append(
                _flag(
                    "scanner_zero",
                    f"{scanner} reported 0 results; it usually reports about "
                    f"{int(typical)}: check the tool before trusting the green",
                    project,
                    scanner,
                    runs[0].finished_at,
                )
            )
    return flags


def _advisory_flags(session: Session, max_age_days: int, now: datetime) -> list[HealthFlag]:
    try:
        from app.services.advisories import store_status
    except ImportError:
        return []
    status = store_status(session, max_age_days=max_age_days, now=now)
    if not status.stale:
        return []
    age = "empty" if status.age_days is None else f"{status.age_days:.1f} days old"
    return [
        HealthFlag(
            "advisory_stale",
            f"the offline advisory database is {age} (limit {max_age_days} days): import a fresh OSV export",
            since=status.last_import_at,
        )
    ]


def _flag(
    kind: str, message: str, project: Project, scanner: str | None, since: datetime | None
) -> HealthFlag:
    return HealthFlag(kind, message, project.id, project.name, scanner, since)


def raised_keys(session: Session) -> set[str]:
    """Flags currently raised according to the audit log (latest flag/clear event per key)."""
    newest = (
        select(func.max(AuditEvent.id))
        .where(AuditEvent.action.in_([FLAG_ACTION, CLEAR_ACTION]))
        .group_by(AuditEvent.object_id)
    )
    rows = session.execute(select(AuditEvent.object_id, AuditEvent.action).where(AuditEvent.id.in_(newest)))
    return {object_id for object_id, action in rows if action == FLAG_ACTION and object_id}


def record_changes(session: Session, flags: list[HealthFlag], actor: Actor | None = None) -> list[HealthFlag]:
    """Audit every flag that appeared and every one that cleared; return the new ones."""
    actor = actor or Actor.system("scheduler")
    before = raised_keys(session)
    current = {flag.key: flag for flag in flags}
    new = [flag for key, flag in current.items() if key not in before]
    for flag in new:
        audit.record(
            session,
            actor,
            FLAG_ACTION,
            object_type="scan_health",
            object_id=flag.key,
            result=flag.kind,
            after=flag.as_dict(),
        )
    for key in sorted(before - current.keys()):
        audit.record(session, actor, CLEAR_ACTION, object_type="scan_health", object_id=key, result="cleared")
    return new
