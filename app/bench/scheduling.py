"""SQLite under the embedded default's real load: web writes while the scheduler and pool scan.

Checklist item 40: web requests and scans writing to one SQLite file at the same time must never
see "database is locked". This drives exactly that for a given time — writer threads doing what a
web request does (a lock-first write transaction with an audit row, then a read), the embedded
worker pool scanning a project over and over (tool run outside any transaction, one landing
transaction with ingestion), and an active scheduler — and counts every error, including the
ones the pool and heartbeat threads only log. ``vigil bench scheduling`` runs it for 60 s with real
scanners; a CI test runs it for a few seconds with fake ones.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from app.config import load_settings
from app.db import Database
from app.execution.pool import WorkerPool
from app.migrate import upgrade
from app.models import Finding, Project, ScanRun
from app.models.base import RunStatus
from app.scheduler.service import SchedulerService
from app.services import audit, projects, scans
from app.services.actor import Actor

LOCKED = "database is locked"


@dataclass
class ContentionReport:
    seconds: float
    writers: int
    web_writes: int = 0
    web_reads: int = 0
    write_median_ms: float = 0.0
    write_p95_ms: float = 0.0
    write_max_ms: float = 0.0
    runs: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    locked_errors: int = 0
    other_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _ErrorLog(logging.Handler):
    """Counts what background threads log: a 'locked' error there is as bad as one raised here."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.locked = 0
        self.other: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + (
            "\n" + logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        )
        with self._lock:
            if LOCKED in text:
                self.locked += 1
            else:
                self.other.append(text.splitlines()[0][:200])


def run_contention(
    seconds: float,
    work: Path,
    *,
    source: Path,
    scanners: Sequence[str],
    writers: int = 4,
    worker_threads: int = 2,
) -> ContentionReport:
    """Drive web writes, scans and the scheduler on a fresh SQLite file in ``work`` for ``seconds``."""
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "contention.db"
    for leftover in work.glob("contention.db*"):
        leftover.unlink()
    url = f"sqlite:///{db_path}"
    upgrade(url)
    settings = load_settings(
        {
            "env": "test",
            "database_url": url,
            "instance_path": work / "instance",
            "work_dir": work / "scans",
            "secret_key": secrets.token_urlsafe(48),
            "worker_threads": worker_threads,
            "redis_url": "",
            "extra": {"heartbeat_seconds": 0.5},
        },
        environ={},
    )
    checkout = work / "source"
    shutil.rmtree(checkout, ignore_errors=True)
    shutil.copytree(source, checkout)
    database = Database(url)
    system = Actor.system("bench")
    with database.transaction() as session:
        project = projects.add_project(
            session,
            system,
            name="contention",
            local_path=str(checkout),
            scanners=list(scanners),
            schedule_cron="* * * * *",
        )
        project_id = project.id
    report = ContentionReport(seconds=seconds, writers=writers)
    errors = _ErrorLog()
    logging.getLogger().addHandler(errors)
    stop = threading.Event()
    latencies: list[float] = []
    counters = {"writes": 0, "reads": 0, "locked": 0}
    raised: list[str] = []
    guard = threading.Lock()

    def web_writer(index: int) -> None:
        while not stop.is_set():
            try:
                started = time.perf_counter()
                with database.transaction() as session:
                    session.execute(
                        update(Project)
                        .where(Project.id == project_id)
                        .values(description=f"edit {index} {time.time()}")
                    )
                    audit.record(
                        session, system, "bench_web_write", object_type="project", object_id=project_id
                    )
                elapsed = time.perf_counter() - started
                with database.reader() as session:
                    session.scalar(select(func.count()).select_from(Finding))
                with guard:
                    latencies.append(elapsed)
                    counters["writes"] += 1
                    counters["reads"] += 1
            except Exception as exc:  # noqa: BLE001 - every error is counted and reported
                with guard:
                    if LOCKED in str(exc):
                        counters["locked"] += 1
                    else:
                        raised.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            stop.wait(0.01)

    def feeder() -> None:
        while not stop.is_set():
            try:
                with database.transaction() as session:
                    scans.queue_scans(session, system, project_id)
            except Exception as exc:  # noqa: BLE001 - counted like the web writes
                with guard:
                    if LOCKED in str(exc):
                        counters["locked"] += 1
                    else:
                        raised.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            stop.wait(0.2)

    pool = WorkerPool(database, settings, poll_seconds=0.1).start()
    scheduler = SchedulerService(database, settings, poll_seconds=0.5).start()
    threads = [threading.Thread(target=web_writer, args=(i,), daemon=True) for i in range(writers)]
    threads.append(threading.Thread(target=feeder, daemon=True))
    try:
        for thread in threads:
            thread.start()
        stop.wait(seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        pool.stop(timeout=60)
        scheduler.stop()
        logging.getLogger().removeHandler(errors)
    with database.reader() as session:
        rows = session.execute(
            select(ScanRun.status, func.count())
            .where(ScanRun.project_id == project_id)
            .group_by(ScanRun.status)
        ).all()
        report.findings = session.scalar(select(func.count()).select_from(Finding)) or 0
    database.dispose()
    report.runs = {RunStatus(status).value: count for status, count in rows}
    report.web_writes, report.web_reads = counters["writes"], counters["reads"]
    if latencies:
        ordered = sorted(latencies)
        report.write_p95_ms = round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1)
        report.write_max_ms = round(ordered[-1] * 1000, 1)
        report.write_median_ms = round(statistics.median(ordered) * 1000, 1)
    report.locked_errors = counters["locked"] + errors.locked
    report.other_errors = raised + errors.other
    return report
