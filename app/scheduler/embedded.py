"""The embedded default: ``vigil serve`` runs the scheduler and the worker pool in its own process.

Called once from the gunicorn worker (``post_worker_init``), never from ``create_app``: web
workers of a scaled deployment never start a scheduler. With ``VIGIL_REDIS_URL`` set, scans go to
RQ and ``vigil worker`` processes run them, so no pool is started here.
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from app.config import Settings
from app.execution import register_local_pool
from app.execution.pool import WorkerPool
from app.scheduler.service import SchedulerService
from app.web.database import get_database

log = logging.getLogger("vigil.scheduler")


def start_embedded(app: Flask) -> tuple[SchedulerService | None, WorkerPool | None]:
    """Start the in-process scheduler (when enabled) and worker pool (when not scaled out)."""
    settings: Settings = app.config["VIGIL"]
    database = get_database(app)
    pool = None
    if not settings.redis_url:
        pool = WorkerPool(database, settings).start()
        register_local_pool(pool.notify)
        atexit.register(pool.stop, cancel_running=True, timeout=5.0)
    service = None
    if settings.scheduler_enabled:
        service = SchedulerService(database, settings).start()
        atexit.register(service.stop)
    app.extensions["vigil.scheduler"] = service
    app.extensions["vigil.pool"] = pool
    log.info("embedded scheduler %s, worker pool %s", "on" if service else "off", "on" if pool else "off")
    return service, pool
