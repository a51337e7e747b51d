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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, load_only

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
ZERO_TRIGGERS = (RunTrigger.SCHEDULE, RunTrigger.MANUAL, RunTrigger.API)
ID_CHUNK = 5000
# What the flags read of a run; the rest (stderr tail, tool versions, ...) stays in the table.
HEALTH_COLUMNS = (
    ScanRun.id,
    ScanRun.project_id,
    ScanRun.scanner,
    ScanRun.status,
    ScanRun.error,
    ScanRun.details,
    ScanRun.queued_at,
    ScanRun.finished_at,
    ScanRun.count_total,
)


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
    """Every flag, from a handful of set-based queries whatever the number of projects.

    The newest scheduled run and the newest successful run of each (project, enabled scanner)
    come from two statements of index seeks (:func:`_newest_runs`); scanners whose newest run
    reported zero results cost one more statement per scanner name, for their history.
    """
    now = now or utcnow()
    flags: list[HealthFlag] = []
    projects = session.scalars(select(Project).where(Project.active.is_(True)).order_by(Project.id)).all()
    scanners = sorted({name for p in projects for name in p.enabled_scanners or []})
    scheduled = _newest_runs(session, scanners, ScanRun.trigger == RunTrigger.SCHEDULE)
    succeeded = _newest_runs(
        session,
        scanners,
        and_(ScanRun.status == RunStatus.SUCCEEDED, ScanRun.trigger.in_(ZERO_TRIGGERS)),
    )
    scheduled_projects = [p for p in projects if p.schedule_enabled]
    schedules = _MissedFireTimes(scheduled_projects, now - OVERDUE_TOLERANCE)
    for project in scheduled_projects:
        enabled = project.enabled_scanners or []
        latest = {name: run for name, run in scheduled.get(project.id, {}).items() if name in enabled}
        flags.extend(_schedule_flags(project, latest, now, schedules))
    flags.extend(_zero_flags(session, projects, succeeded))
    position = {project.id: n for n, project in enumerate(projects)}
    flags.sort(key=lambda flag: position.get(flag.project_id or 0, len(position)))  # by project
    if any("osv" in (p.enabled_scanners or []) for p in projects):
        flags.extend(_advisory_flags(session, advisory_max_age_days, now))
    return flags


def _newest_runs(
    session: Session, scanners: Sequence[str], condition: ColumnElement[bool]
) -> dict[int, dict[str, ScanRun]]:
    """Per active project and scanner, the newest run matching ``condition``.

    One row per project with one correlated subquery per scanner name: each is a seek on
    ``ix_scan_run_project_scanner_id`` that stops at the first match, so the cost follows the
    number of projects, not the years of run history behind them.
    """
    if not scanners:
        return {}
    columns = [
        select(ScanRun.id)
        .where(ScanRun.project_id == Project.id, ScanRun.scanner == name, condition)
        .order_by(ScanRun.id.desc())
        .limit(1)
        .scalar_subquery()
        for name in scanners
    ]
    rows = session.execute(select(Project.id, *columns).where(Project.active.is_(True))).all()
    wanted = [run_id for row in rows for run_id in row[1:] if run_id is not None]
    runs: dict[int, ScanRun] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        stmt = select(ScanRun).options(load_only(*HEALTH_COLUMNS)).where(ScanRun.id.in_(chunk))
        runs.update((run.id, run) for run in session.scalars(stmt))
    newest: dict[int, dict[str, ScanRun]] = {}
    for project_id, *run_ids in rows:
        for name, run_id in zip(scanners, run_ids, strict=True):
            if run_id is not None and run_id in runs:
                newest.setdefault(project_id, {})[name] = runs[run_id]
    return newest


class _MissedFireTimes:
    """The newest fire time each project's schedule missed, worked out once per distinct schedule.

    Projects mostly share a schedule, and the newest fire time before ``until`` is the same for
    all of them: it was missed by a project exactly when it lies after that project's baseline
    (the fire time last acted on), so one search per schedule answers every project.
    """

    def __init__(self, projects: Sequence[Project], until: datetime) -> None:
        from app.scheduler.due import ScheduleError, newest_fire_time, trigger_for

        earliest: dict[tuple[str, str], datetime] = {}
        for project in projects:
            key = (project.schedule_cron, project.timezone)
            baseline = self.baseline(project)
            earliest[key] = min(earliest.get(key, baseline), baseline)
        self._newest: dict[tuple[str, str], datetime | None | Exception] = {}
        for key, after in earliest.items():
            try:
                self._newest[key] = newest_fire_time(trigger_for(*key), after, until)
            except ScheduleError as exc:
                self._newest[key] = exc

    @staticmethod
    def baseline(project: Project) -> datetime:
        return project.last_scheduled_at or project.created_at

    def missed(self, project: Project) -> datetime | None | Exception:
        newest = self._newest[(project.schedule_cron, project.timezone)]
        if isinstance(newest, datetime) and newest <= self.baseline(project):
            return None
        return newest


def _schedule_flags(
    project: Project, latest: dict[str, ScanRun], now: datetime, schedules: _MissedFireTimes
) -> list[HealthFlag]:
    flags = []
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
    missed = schedules.missed(project)
    if isinstance(missed, Exception):
        return [*flags, _flag("scan_overdue", f"schedule cannot run: {missed}", project, None, None)]
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


def _zero_flags(
    session: Session, projects: Sequence[Project], newest: dict[int, dict[str, ScanRun]]
) -> list[HealthFlag]:
    """A scanner whose newest successful run found nothing, where its previous runs found many."""
    zero: dict[str, list[Project]] = {}
    for project in projects:
        for name in project.enabled_scanners or []:
            run = newest.get(project.id, {}).get(name)
            if run is not None and run.count_total == 0:
                zero.setdefault(name, []).append(project)
    flags = []
    for name, candidates in sorted(zero.items()):
        history = _previous_counts(session, name, [p.id for p in candidates])
        for project in candidates:
            previous = history.get(project.id, [])
            if not previous or statistics.median(previous) < ZERO_MIN_TYPICAL:
                continue
            flags.append(
                _flag(
                    "scanner_zero",
                    f"{name} reported 0 results; it usually reports about "
                    f"{int(statistics.median(previous))}: check the tool before trusting the green",
                    project,
                    name,
                    newest[project.id][name].finished_at,
                )
            )
    return flags


def _previous_counts(session: Session, scanner: str, project_ids: list[int]) -> dict[int, list[int]]:
    """Result counts of the successful runs before the newest one, per project (one statement)."""
    columns = [
        select(ScanRun.count_total)
        .where(
            ScanRun.project_id == Project.id,
            ScanRun.scanner == scanner,
            ScanRun.status == RunStatus.SUCCEEDED,
            ScanRun.trigger.in_(ZERO_TRIGGERS),
        )
        .order_by(ScanRun.id.desc())
        .limit(1)
        .offset(back)
        .scalar_subquery()
        for back in range(1, ZERO_HISTORY + 1)
    ]
    history: dict[int, list[int]] = {}
    for start in range(0, len(project_ids), ID_CHUNK):
        chunk = project_ids[start : start + ID_CHUNK]
        for project_id, *counts in session.execute(select(Project.id, *columns).where(Project.id.in_(chunk))):
            history[project_id] = [int(c) for c in counts if c is not None]
    return history


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
