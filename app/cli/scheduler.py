"""``vigil scheduler`` and ``vigil worker``: the scaled deployment's background processes.

``vigil scheduler`` waits on the lock (standby) or runs the schedule (active). ``vigil worker`` runs
scans: an RQ worker on ``VIGIL_REDIS_URL`` when set, otherwise the same thread pool ``vigil serve``
embeds, polling the database queue.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from app.cli.context import database, require_schema, settings
from app.logging_setup import configure_logging


def _background_logging() -> None:
    """JSON log lines on stderr, like the web app: job failures must reach the operator's logs."""
    configure_logging(settings().log_level)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@click.command("scheduler")
@click.option("--poll-seconds", default=15.0, show_default=True, help="How often a standby tries the lock.")
def scheduler_cmd(poll_seconds: float) -> None:
    """Run the schedule (exactly one active; other copies wait as standby)."""
    require_schema()
    _background_logging()
    from app.scheduler.service import SchedulerService

    service = SchedulerService(database(), settings(), poll_seconds=poll_seconds)
    stop = threading.Event()
    _stop_on_signals(stop)
    click.echo(f"scheduler started: standby until the lock is free (polling every {poll_seconds:g} s)")
    service.start()
    was_active = False
    while not stop.wait(0.5):
        if service.active != was_active:
            was_active = service.active
            click.echo("scheduler active: holding the lock" if was_active else "scheduler standby")
    service.stop()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty (RQ) or after one pass (pool).")
@click.option(
    "--threads", default=0, type=int, help="Pool size without Redis (default VIGIL_WORKER_THREADS)."
)
def worker_cmd(burst: bool, threads: int) -> None:
    """Run queued scans: an RQ worker when VIGIL_REDIS_URL is set, else a database-polling pool."""
    require_schema()
    _background_logging()
    cfg = settings()
    if cfg.redis_url:
        from rq import SimpleWorker

        from app.execution import rq_queue

        rq_queue.configure(cfg, database())
        queue = rq_queue.queue_for(cfg)
        click.echo(f"worker consuming RQ queue {queue.name!r}")
        # SimpleWorker runs jobs in this process: the run's heartbeat thread lives and dies with it.
        SimpleWorker([queue], connection=queue.connection).work(burst=burst)
        return
    from dataclasses import replace

    from app.execution.pool import WorkerPool

    if threads > 0:
        cfg = replace(cfg, worker_threads=threads)
    pool = WorkerPool(database(), cfg)
    click.echo(f"worker pool of {pool.size} thread(s) polling the database queue")
    if burst:
        while pool.fill() or pool.busy:
            threading.Event().wait(0.2)
        pool.stop()
        return
    stop = threading.Event()
    _stop_on_signals(stop)
    pool.start()
    stop.wait()
    pool.stop(cancel_running=True)


commands = [scheduler_cmd, worker_cmd]
