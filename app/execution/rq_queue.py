"""Scaled execution: scan runs as RQ jobs on Redis, run by ``vigil worker`` processes anywhere.

A job carries only the run id: the worker reads its own settings (database URL, limits) from its
environment, so no credential ever travels through Redis. The job id is derived from the run id, so
dispatching a run twice (a retry after a lost message) still executes it once: the executor's
claim is conditional on the run being queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

from redis import Redis
from rq import Queue

from app.config import Settings, load_settings
from app.db import Database, database_tag
from app.execution.executor import execute_run

log = logging.getLogger("vigil.execution")
QUEUE_PREFIX = "vigil-scans"
JOB_FUNCTION = "app.execution.rq_queue.run_job"


def connect(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def queue_name(database_url: str) -> str:
    """One queue per database: two installs sharing a Redis never run each other's jobs."""
    return f"{QUEUE_PREFIX}-{database_tag(database_url)}"


def queue_for(settings: Settings) -> Queue:
    return Queue(queue_name(settings.database_url), connection=connect(settings.redis_url))


def job_id(run_id: int) -> str:
    return f"scan-run-{int(run_id)}"


def enqueue(settings: Settings, run_ids: Sequence[int]) -> list[str]:
    """Put runs on the RQ queue (the rows are already committed as queued)."""
    queue = queue_for(settings)
    ids = []
    for run_id in run_ids:
        job = queue.enqueue_call(
            JOB_FUNCTION,
            args=(int(run_id),),
            job_id=job_id(run_id),
            timeout=settings.scan_timeout_seconds + 600,
            result_ttl=3600,
            failure_ttl=7 * 86400,
            description=f"scan run {int(run_id)}",
        )
        ids.append(job.id)
    return ids


def lost(settings: Settings, run_ids: Sequence[int]) -> list[int]:
    """Runs whose RQ job is gone or ended without running them (Redis flushed, enqueue failed)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    connection = connect(settings.redis_url)
    missing = []
    for run_id in run_ids:
        try:
            status = Job.fetch(job_id(run_id), connection=connection).get_status()
        except NoSuchJobError:
            missing.append(int(run_id))
            continue
        if status not in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            missing.append(int(run_id))
    return missing


_context: tuple[Settings, Database] | None = None


def configure(settings: Settings, database: Database) -> None:
    """Called once by ``vigil worker`` so jobs reuse its settings and connection pool."""
    global _context
    _context = (settings, database)


@lru_cache(maxsize=1)
def _default_context() -> tuple[Settings, Database]:
    settings = load_settings()
    return settings, Database(settings.database_url)


def run_job(run_id: int) -> str | None:
    """The RQ job: execute one run with this worker's settings; returns the final status."""
    settings, database = _context or _default_context()
    status = execute_run(database, int(run_id), settings=settings)
    return None if status is None else status.value
