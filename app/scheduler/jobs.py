"""The scheduler's periodic jobs, each a plain function of (database, settings, now).

Every job works on the database and is safe to run twice (a scheduler hand-over may overlap by a
tick): due scans are decided under a row lock, expiry and reaping only touch rows still in the
state they look for, and health flags are audited only when they change. Jobs never import CLI
modules.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.db import Database
from app.models import ScanRun
from app.models.base import RunTrigger, utcnow
from app.scheduler.due import Decision, schedule_due
from app.services import scan_health, scans
from app.services.actor import Actor
from app.services.exception_expiry import ExpirySummary, expire_due
from app.services.exception_policy import ExpiryPolicy
from app.services.exception_review import DailyReview, run_daily
from app.services.notifications import Notifier, send_outstanding

log = logging.getLogger("vigil.scheduler")
SYSTEM = Actor.system("scheduler")
REQUEUE_AFTER_SECONDS = 300


def due_scans(
    database: Database,
    settings: Settings,
    now: datetime | None = None,
    project_ids: list[int] | None = None,
    dispatch: scans.Dispatcher | None = None,
) -> list[Decision]:
    return schedule_due(
        database,
        grace_seconds=settings.misfire_grace_seconds,
        now=now or utcnow(),
        project_ids=project_ids,
        dispatch=dispatch,
    )


def exception_expiry(database: Database, now: datetime | None = None) -> ExpirySummary:
    with database.transaction() as session:
        return expire_due(session, now or utcnow(), SYSTEM)


def exception_review(database: Database, settings: Settings, now: datetime | None = None) -> DailyReview:
    """Daily accepted-risk review: remind owners, mark stale exceptions, flag fixable advisories."""
    notifier = Notifier.from_settings(settings)
    with database.transaction() as session:
        review = run_daily(session, notifier, ExpiryPolicy.from_settings(settings), now or utcnow())
    send_outstanding(database, notifier)  # e-mail and webhook after the commit, never inside it
    return review


def exception_reminders(database: Database, settings: Settings, now: datetime | None = None) -> Any:
    """Daily: remind owners of exceptions expiring soon, mark stale ones, flag fixable advisories."""
    from app.services import exception_review, notifications
    from app.services.exception_policy import ExpiryPolicy

    notifier = notifications.Notifier.from_settings(settings)
    with database.transaction() as session:
        done = exception_review.run_daily(session, notifier, ExpiryPolicy.from_settings(settings), now)
    notifications.send_outstanding(database, notifier)
    return done


@dataclass(frozen=True)
class Upkeep:
    reaped: list[int]
    redispatched: list[int]
    new_flags: list[str]


def upkeep(
    database: Database,
    settings: Settings,
    now: datetime | None = None,
    dispatch: scans.Dispatcher | None = None,
) -> Upkeep:
    """Reap dead runs, re-dispatch lost RQ messages, audit scan-health changes."""
    now = now or utcnow()
    stale_after = int(settings.extra.get("stale_after_seconds", scans.STALE_AFTER_SECONDS))
    with database.transaction() as session:
        reaped = scans.reap(session, now, stale_after)
    redispatched: list[int] = []
    if settings.redis_url and dispatch is not None:
        from app.execution import rq_queue

        with database.reader() as session:
            waiting = scans.stale_queued(session, REQUEUE_AFTER_SECONDS, now)
        redispatched = rq_queue.lost(settings, waiting) if waiting else []
        if redispatched:
            dispatch(redispatched)
    with database.transaction() as session:
        flags = scan_health.compute_flags(
            session, advisory_max_age_days=settings.advisory_max_age_days, now=now
        )
        new = scan_health.record_changes(session, flags, SYSTEM)
    return Upkeep(reaped, redispatched, [flag.key for flag in new])


def advisory_reevaluation(database: Database, now: datetime | None = None) -> int | None:
    """Re-match stored inventories when the advisory store changed since the last re-evaluation."""
    try:
        from app.services import advisories
    except ImportError:
        return None
    with database.reader() as session:
        version = advisories.store_status(session).version
        last = session.scalar(
            select(ScanRun.ruleset_version)
            .where(ScanRun.trigger == RunTrigger.ADVISORY)
            .order_by(ScanRun.id.desc())
            .limit(1)
        )
    if version is None or version[:120] == last:
        return 0
    summary = advisories.reevaluate_all(database, SYSTEM, now=now or utcnow())
    return summary.projects


def monthly_report(database: Database, now: datetime | None = None) -> int:
    """Last month's portfolio reports (PDF, XLSX), stored for download; idempotent."""
    from app.services.scheduled_reports import generate_monthly

    with database.transaction() as session:
        return len(generate_monthly(session, now or utcnow()))


def retention(settings: Settings, now: float | None = None) -> list[Path]:
    """Delete per-run raw tool output older than ``raw_output_retention_days``."""
    root = settings.scans_dir / "runs"
    if not root.is_dir():
        return []
    cutoff = (now or time.time()) - settings.raw_output_retention_days * 86400
    removed = []
    for child in root.iterdir():
        try:
            if child.is_dir() and not child.is_symlink() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child)
                removed.append(child)
        except OSError:
            log.warning("could not remove old scan output %s", child, exc_info=True)
    return removed
