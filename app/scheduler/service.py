"""The scheduler process: wait for the lock, then run APScheduler's jobs while holding it.

One :class:`SchedulerService` runs in ``vigil serve`` (a thread) or as ``vigil scheduler`` (the main
loop). Every ``poll_seconds`` it tries the lock; the one that gets it becomes active: it first
catches up on fire times missed while no scheduler was running (coalesced, see
:mod:`app.scheduler.due`), then starts a ``BackgroundScheduler`` with one cron job per project and
the periodic upkeep jobs (``coalesce=True``, ``misfire_grace_time`` from settings). Standby copies
keep polling and take over within ``poll_seconds`` of the active one's death. If the active one
finds it lost its lock (its PostgreSQL connection died), it stops its jobs at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from app.config import Settings
from app.db import Database
from app.execution import dispatcher
from app.models import Project
from app.scheduler import jobs
from app.scheduler.due import ScheduleError, trigger_for
from app.scheduler.lock import SchedulerLock, lock_for

log = logging.getLogger("vigil.scheduler")
POLL_SECONDS = 15.0
SYNC_SECONDS = 30
UPKEEP_SECONDS = 60
EXPIRY_SECONDS = 600
ADVISORY_SECONDS = 3600


class SchedulerService:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        lock: SchedulerLock | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.lock = lock or lock_for(database, settings.instance_path)
        self.poll_seconds = poll_seconds or float(settings.extra.get("scheduler_poll_seconds", POLL_SECONDS))
        self.dispatch = dispatcher(settings)
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.scheduler is not None

    # -- lock loop ---------------------------------------------------------------------------
    def step(self) -> bool:
        """One poll: become active if the lock is free, step down if it was lost. Returns ``active``."""
        if self.active:
            if not self.lock.still_held():
                log.error("scheduler lock lost; stopping scheduled jobs")
                self._deactivate()
        else:
            try:
                acquired = self.lock.try_acquire()
            except Exception:
                log.warning("could not try the scheduler lock", exc_info=True)
                acquired = False
            if acquired:
                self._activate()
        return self.active

    def run_forever(self) -> None:
        log.info("scheduler waiting for the lock", extra={"poll_seconds": self.poll_seconds})
        try:
            while not self._stop.is_set():
                self.step()
                self._stop.wait(self.poll_seconds)
        finally:
            self._deactivate()
            self.lock.release()

    def start(self) -> SchedulerService:
        """Run the lock loop in a daemon thread (``vigil serve``)."""
        self._thread = threading.Thread(target=self.run_forever, name="vigil-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._deactivate()
            self.lock.release()

    # -- active scheduler -------------------------------------------------------------------
    def _activate(self) -> None:
        log.info("scheduler lock acquired: this process runs the schedule")
        self.catch_up()
        scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": self.settings.misfire_grace_seconds,
                "max_instances": 1,
            },
        )
        scheduler.add_job(self._guard(self.sync), IntervalTrigger(seconds=SYNC_SECONDS), id="sync")
        scheduler.add_job(self._guard(self.upkeep), IntervalTrigger(seconds=UPKEEP_SECONDS), id="upkeep")
        scheduler.add_job(
            self._guard(lambda: jobs.exception_expiry(self.database)),
            IntervalTrigger(seconds=EXPIRY_SECONDS),
            id="exception_expiry",
        )
        scheduler.add_job(
            self._guard(lambda: jobs.exception_review(self.database, self.settings)),
            CronTrigger.from_crontab("0 7 * * *", timezone="UTC"),
            id="exception_review",
        )
        scheduler.add_job(
            self._guard(lambda: jobs.advisory_reevaluation(self.database)),
            IntervalTrigger(seconds=ADVISORY_SECONDS),
            id="advisory_reevaluation",
        )
        scheduler.add_job(
            self._guard(lambda: jobs.exception_reminders(self.database, self.settings)),
            CronTrigger.from_crontab("0 8 * * *", timezone="UTC"),
            id="exception_reminders",
        )
        scheduler.add_job(
            self._guard(lambda: jobs.retention(self.settings)),
            CronTrigger.from_crontab("30 3 * * *", timezone="UTC"),
            id="retention",
        )
        scheduler.add_job(
            self._guard(lambda: jobs.monthly_report(self.database)),
            CronTrigger.from_crontab("0 4 1 * *", timezone="UTC"),
            id="monthly_report",
        )
        self.scheduler = scheduler
        self.sync_project_jobs()
        scheduler.start()

    def _deactivate(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)

    def _guard(self, job: Callable[[], Any]) -> Callable[[], None]:
        """A failing job logs and waits for its next turn; it never stops the scheduler."""

        def run() -> None:
            if not self.lock.still_held():
                self._deactivate()
                return
            try:
                job()
            except Exception:
                log.exception("scheduled job failed")

        return run

    def catch_up(self) -> None:
        """Everything due now (including runs missed while no scheduler was active), once."""
        for job in (self.upkeep, lambda: jobs.exception_expiry(self.database), self.sync):
            try:
                job()
            except Exception:
                log.exception("catch-up job failed")

    def sync(self) -> None:
        jobs.due_scans(self.database, self.settings, dispatch=self.dispatch)
        self.sync_project_jobs()

    def upkeep(self) -> None:
        jobs.upkeep(self.database, self.settings, dispatch=self.dispatch)

    def sync_project_jobs(self) -> None:
        """One cron job per scheduled project; changed schedules replace their job, removed ones go."""
        scheduler = self.scheduler
        if scheduler is None:
            return
        with self.database.reader() as session:
            rows = session.execute(
                select(Project.id, Project.schedule_cron, Project.timezone).where(
                    Project.active.is_(True), Project.schedule_enabled.is_(True)
                )
            ).all()
        wanted = {}
        for project_id, cron, timezone in rows:
            try:
                wanted[f"scan:{project_id}"] = (project_id, trigger_for(cron, timezone), f"{cron}|{timezone}")
            except ScheduleError as exc:
                log.warning("project %s: %s", project_id, exc)
        for job in scheduler.get_jobs():
            if job.id.startswith("scan:") and job.id not in wanted:
                job.remove()
        for job_id, (project_id, trigger, signature) in wanted.items():
            existing = scheduler.get_job(job_id)
            if existing is not None and existing.name == signature:
                continue
            scheduler.add_job(
                self._guard(self._project_job(project_id)),
                trigger,
                id=job_id,
                name=signature,
                replace_existing=True,
            )

    def _project_job(self, project_id: int) -> Callable[[], None]:
        def run() -> None:
            jobs.due_scans(self.database, self.settings, project_ids=[project_id], dispatch=self.dispatch)

        return run
