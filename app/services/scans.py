"""Scan runs: queue, claim, finish, cancel and reap — the bookkeeping every execution path shares.

The CLI, the "scan now" button, the API and the scheduler all queue through :func:`queue_scans`,
so the rule "a project is never scanned by two runs of the same scanner at once" lives in one
place: the project row is locked while active runs are checked. Workers (the embedded pool or RQ)
claim a queued run with a conditional UPDATE, so one run executes at most once however many
workers see it. A run whose worker died stops sending heartbeats; :func:`reap` ends it as failed
with the reason, so nothing stays "running" forever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import VigilError
from app.models import Project, ScanRun
from app.models.base import ActorType, RunOutcome, RunStatus, RunTrigger, utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import NotFound, require, require_project

ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
HEARTBEAT_SECONDS = 10
STALE_AFTER_SECONDS = 90
Dispatcher = Callable[[Sequence[int]], None]


class ScanError(VigilError, ValueError):
    """A scan request that cannot be honoured (unknown scanner, run not cancellable...)."""


@dataclass(frozen=True)
class QueuedScans:
    project_id: int
    run_ids: list[int] = field(default_factory=list)
    # Scanners not queued because a run of theirs is already queued or running for this project.
    busy: list[str] = field(default_factory=list)


def known_scanners() -> frozenset[str]:
    """Names a run may use: the scanner registry plus the database-backed scanners (osv)."""
    from app.execution.scanning import scanner_names

    return scanner_names()


def _dispatch_after_commit(session: Session, dispatch: Dispatcher | None, run_ids: list[int]) -> None:
    """Hand runs to the executors only once they are committed (a worker must be able to see them)."""
    if dispatch is None or not run_ids:
        return

    def _after_commit(_session: Session) -> None:
        dispatch(list(run_ids))

    event.listen(session, "after_commit", _after_commit, once=True)


def queue_scans(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    scanners: Sequence[str] | None = None,
    trigger: RunTrigger = RunTrigger.MANUAL,
    details: dict[str, Any] | None = None,
    dispatch: Dispatcher | None = None,
    now: datetime | None = None,
) -> QueuedScans:
    """Queue one run per scanner (default: the project's enabled scanners) unless one is active."""
    require(actor, "scan.trigger", f"project:{project_id}")
    require_project(actor, project_id)
    # Lock the project row: two concurrent requests cannot both see "no active run" (PostgreSQL);
    # SQLite write transactions are already serialized by BEGIN IMMEDIATE.
    project = session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None:
        raise NotFound()
    names = list(dict.fromkeys(scanners or project.enabled_scanners))
    if not names:
        raise ScanError(f"project {project.name!r} has no scanners enabled")
    registry = known_scanners()
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise ScanError(f"unknown scanner {unknown[0]!r} (known: {', '.join(sorted(registry))})")
    active = set(
        session.scalars(
            select(ScanRun.scanner).where(
                ScanRun.project_id == project.id,
                ScanRun.scanner.in_(names),
                ScanRun.status.in_(ACTIVE_STATUSES),
            )
        )
    )
    now = now or utcnow()
    result = QueuedScans(project.id)
    for name in names:
        if name in active:
            result.busy.append(name)
            continue
        run = ScanRun(
            project_id=project.id,
            scanner=name,
            trigger=trigger,
            status=RunStatus.QUEUED,
            queued_at=now,
            requested_by_id=actor.id if actor.type is ActorType.USER else None,
            api_key_id=actor.id if actor.type is ActorType.API_KEY else None,
            details=dict(details or {}),
        )
        session.add(run)
        session.flush()
        result.run_ids.append(run.id)
    audit.record(
        session,
        actor,
        "scan_triggered",
        object_type="project",
        object_id=project.id,
        after={"trigger": trigger.value, "run_ids": result.run_ids, "busy": result.busy, **(details or {})},
    )
    _dispatch_after_commit(session, dispatch, result.run_ids)
    return result


def queue_initial_scans(database: Database, project_id: int, dispatch: Dispatcher | None = None) -> list[int]:
    """First run of ``vigil serve``: scan the demo project so the dashboard has real data."""
    with database.transaction() as session:
        queued = queue_scans(session, Actor.system("first-run"), project_id, dispatch=dispatch)
    return queued.run_ids


def get_run(session: Session, actor: Actor, run_id: int) -> ScanRun:
    require(actor, "scan.view")
    run = session.get(ScanRun, run_id)
    if run is None:
        raise NotFound()
    require_project(actor, run.project_id)
    return run


def claim(session: Session, run_id: int, worker_id: str, now: datetime | None = None) -> bool:
    """queued -> running, atomically: True for exactly one caller however many try."""
    now = now or utcnow()
    result = session.execute(
        update(ScanRun)
        .where(ScanRun.id == run_id, ScanRun.status == RunStatus.QUEUED, ScanRun.cancel_requested.is_(False))
        .values(status=RunStatus.RUNNING, worker_id=worker_id[:255], started_at=now, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def heartbeat(session: Session, run_id: int, now: datetime | None = None) -> bool:
    """Record that the run's worker is alive; return True when someone asked to cancel the run."""
    session.execute(
        update(ScanRun)
        .where(ScanRun.id == run_id, ScanRun.status == RunStatus.RUNNING)
        .values(heartbeat_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(session.scalar(select(ScanRun.cancel_requested).where(ScanRun.id == run_id)))


def finish(
    session: Session,
    run: ScanRun,
    status: RunStatus,
    *,
    outcome: RunOutcome | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Set the final state and write ``scan_finished`` in the caller's transaction."""
    run.status = status
    run.outcome = (
        outcome if outcome is not None else (RunOutcome.FAILED if status is not RunStatus.SUCCEEDED else None)
    )
    if status is RunStatus.CANCELLED:
        run.outcome = None
    if error:
        run.error = error[:4000]
    run.finished_at = now or utcnow()
    audit.record(
        session,
        Actor.system("scan-worker"),
        "scan_finished",
        object_type="scan_run",
        object_id=run.id,
        result="success" if status is RunStatus.SUCCEEDED else status.value,
        after={
            "project_id": run.project_id,
            "scanner": run.scanner,
            "status": status.value,
            "outcome": run.outcome.value if run.outcome else None,
            "total": run.count_total,
            "new": run.count_new,
            "fixed": run.count_fixed,
            "error": (error or "")[:255] or None,
        },
    )


def cancel_run(session: Session, actor: Actor, run_id: int, now: datetime | None = None) -> ScanRun:
    """Queued: cancelled at once. Running: flagged; its worker kills the tool's process group."""
    require(actor, "scan.cancel", f"scan_run:{run_id}")
    run = get_run(session, actor, run_id)
    if run.status.finished:
        raise ScanError(f"scan run {run.id} is already {run.status.value}")
    before = {"status": run.status.value}
    if run.status is RunStatus.QUEUED:
        run.cancel_requested = True
        finish(
            session, run, RunStatus.CANCELLED, error=f"cancelled by {actor.label} before it started", now=now
        )
    else:
        run.cancel_requested = True
        session.flush()
    audit.record(
        session,
        actor,
        "scan_cancel",
        object_type="scan_run",
        object_id=run.id,
        before=before,
        after={"status": run.status.value, "cancel_requested": True},
    )
    return run


def reap(
    session: Session, now: datetime | None = None, stale_after_seconds: int = STALE_AFTER_SECONDS
) -> list[int]:
    """End runs whose worker stopped sending heartbeats (it died): failed, with the reason."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stale_after_seconds)
    stale = session.scalars(
        select(ScanRun)
        .where(ScanRun.status == RunStatus.RUNNING, ScanRun.heartbeat_at < cutoff)
        .with_for_update(skip_locked=True)
    ).all()
    for run in stale:
        last = run.heartbeat_at.isoformat() if run.heartbeat_at else "never"
        finish(
            session,
            run,
            RunStatus.FAILED,
            error=f"worker {run.worker_id or '?'} stopped sending heartbeats (last {last}); it probably died",
            now=now,
        )
    return [run.id for run in stale]


def stale_queued(session: Session, older_than_seconds: int, now: datetime | None = None) -> list[int]:
    """Queued runs nobody picked up for a while (a lost RQ message): candidates to dispatch again."""
    cutoff = (now or utcnow()) - timedelta(seconds=older_than_seconds)
    return list(
        session.scalars(
            select(ScanRun.id)
            .where(ScanRun.status == RunStatus.QUEUED, ScanRun.queued_at < cutoff)
            .order_by(ScanRun.id)
            .limit(500)
        )
    )


def queued_run_ids(session: Session, limit: int, exclude: Sequence[int] = ()) -> list[int]:
    """The oldest queued runs, for the embedded pool to pick up."""
    stmt = (
        select(ScanRun.id).where(ScanRun.status == RunStatus.QUEUED).order_by(ScanRun.queued_at, ScanRun.id)
    )
    if exclude:
        stmt = stmt.where(ScanRun.id.not_in(list(exclude)))
    return list(session.scalars(stmt.limit(limit)))


def list_runs(
    session: Session, actor: Actor, project_id: int | None = None, limit: int = 50
) -> list[ScanRun]:
    require(actor, "scan.view")
    stmt = select(ScanRun).order_by(ScanRun.id.desc()).limit(limit)
    if project_id is not None:
        require_project(actor, project_id)
        stmt = stmt.where(ScanRun.project_id == project_id)
    elif actor.project_ids is not None:
        stmt = stmt.where(ScanRun.project_id.in_(actor.project_ids))
    return list(session.scalars(stmt))
