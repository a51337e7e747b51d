"""The embedded default (`vigil serve`'s scheduler and pool in one process) and RQ re-dispatch."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select, update

from app import create_app
from app.config import Settings
from app.db import Database
from app.execution import dispatcher, rq_queue
from app.models import Project, ScanRun
from app.models.base import RunStatus, RunTrigger, utcnow
from app.scheduler import jobs
from app.scheduler.embedded import start_embedded
from app.services import scans
from app.services.actor import Actor
from tests.scan_fixtures import REDIS_URL


def test_serve_embedded_scheduler_and_pool_scan_a_due_project_unattended(
    app_config: dict, database: Database, make_project
) -> None:
    project = make_project(findings=3, schedule_cron="* * * * *")
    with database.transaction() as session:
        session.execute(
            update(Project)
            .where(Project.id == project.id)
            .values(last_scheduled_at=utcnow() - timedelta(minutes=2))
        )
    app = create_app({**app_config, "scheduler_enabled": True}, database=database)
    service, pool = start_embedded(app)
    assert service is not None and pool is not None
    try:
        deadline = time.monotonic() + 30
        while True:
            with database.reader() as session:
                rows = session.execute(
                    select(ScanRun.trigger, ScanRun.status, ScanRun.count_total).where(
                        ScanRun.project_id == project.id
                    )
                ).all()
            if len(rows) == 2 and all(status is RunStatus.SUCCEEDED for _, status, _ in rows):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        assert {(trigger, total) for trigger, _, total in rows} == {(RunTrigger.SCHEDULE, 3)}
        assert service.active
    finally:
        service.stop()
        pool.stop()


@pytest.mark.redis
def test_upkeep_redispatches_runs_whose_rq_job_was_lost(
    database: Database, make_project, scan_settings: Settings
) -> None:
    if not REDIS_URL:
        pytest.skip("VIGIL_TEST_REDIS_URL is not set")
    settings = replace(scan_settings, redis_url=REDIS_URL)
    redis = Redis.from_url(REDIS_URL)
    queue_key = f"rq:queue:{rq_queue.queue_name(settings.database_url)}"
    project = make_project()
    with database.transaction() as session:
        (run_id,) = scans.queue_scans(
            session, Actor.system(), project.id, scanners=["fake-a"], now=utcnow() - timedelta(hours=1)
        ).run_ids
    redis.delete(f"rq:job:{rq_queue.job_id(run_id)}", queue_key)
    try:
        first = jobs.upkeep(database, settings, dispatch=dispatcher(settings))
        assert first.redispatched == [run_id]
        assert redis.llen(queue_key) == 1
        second = jobs.upkeep(database, settings, dispatch=dispatcher(settings))
        assert second.redispatched == []  # its job is queued now: not sent twice
    finally:
        redis.delete(f"rq:job:{rq_queue.job_id(run_id)}", queue_key)
