"""``execute_run``: the one function that runs a queued scan, wherever it runs.

The embedded pool calls it in a thread, ``vigil worker`` calls it from an RQ job: same code path.
The order matters for SQLite's single writer: claim the run (short write), run the tool with no
transaction open (a heartbeat thread writes a timestamp every few seconds), then land the result
in ONE write transaction: ingestion plus the run's final status and counts. A failed or timed-out
run stores its stderr tail and reason, ingests nothing, and therefore closes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from app.config import Settings
from app.db import Database
from app.errors import VigilError
from app.execution.scanning import (
    DATABASE_SCANNERS,
    ProjectInfo,
    build_options,
    outcome_name,
    run_scanner,
)
from app.models import Project, ScanRun
from app.models.base import RunOutcome, RunStatus, utcnow
from app.services import scans
from app.services.inline_suppressions import record_inline_suppressions
from app.sources import Checkout, prepare_checkout, run_dir

log = logging.getLogger("vigil.execution")
# Below scans.STALE_AFTER_SECONDS: a landing that waits for the database must not outlive the reaper.
LAND_RETRY_SECONDS = 60.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


class Heartbeat(threading.Thread):
    """Proves the worker is alive while the tool runs, and relays a cancel request to the tool."""

    def __init__(self, database: Database, run_id: int, interval: float, cancel: threading.Event) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.database = database
        self.run_id = run_id
        self.interval = interval
        self.cancel = cancel
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                with self.database.transaction() as session:
                    if scans.heartbeat(session, self.run_id):
                        self.cancel.set()
            except Exception:  # a missed beat is retried; the reaper allows several
                log.warning("heartbeat failed", extra={"run_id": self.run_id}, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=max(5.0, self.interval * 2))


def _claim(database: Database, run_id: int, worker: str) -> tuple[str, ProjectInfo] | None:
    with database.transaction() as session:
        if not scans.claim(session, run_id, worker):
            return None
        run = session.get(ScanRun, run_id)
        project = session.scalar(select(Project).where(Project.id == run.project_id)) if run else None
        if run is None or project is None:
            return None
        return run.scanner, ProjectInfo(
            id=project.id,
            name=project.name,
            local_path=project.local_path,
            git_url=project.git_url,
            git_ref=project.git_ref,
            dependency_files=tuple(project.dependency_files or ()),
            exclude_paths=tuple(project.exclude_paths or ()),
            honour_repo_config=project.honour_repo_config,
            ignore_inline_suppressions=project.ignore_inline_suppressions,
        )


def execute_run(
    database: Database,
    run_id: int,
    *,
    settings: Settings,
    cancel: threading.Event | None = None,
    heartbeat_seconds: float | None = None,
) -> RunStatus | None:
    """Run one queued scan to its end; None when another worker claimed it (or it was cancelled)."""
    me = worker_id()
    claimed = _claim(database, run_id, me)
    if claimed is None:
        return None
    scanner, project = claimed
    cancel = cancel or threading.Event()
    interval = heartbeat_seconds or float(settings.extra.get("heartbeat_seconds", scans.HEARTBEAT_SECONDS))
    beat = Heartbeat(database, run_id, interval, cancel)
    beat.start()
    checkout: Checkout | None = None
    result: Any = None
    error: str | None = None
    try:
        checkout = prepare_checkout(
            local_path=project.local_path,
            git_url=project.git_url,
            git_ref=project.git_ref,
            scans_dir=settings.scans_dir,
            run_id=run_id,
        )
        if scanner not in DATABASE_SCANNERS:
            work = run_dir(settings.scans_dir, run_id) / "output"
            work.mkdir(parents=True, exist_ok=True)
            result = run_scanner(scanner, checkout.path, build_options(settings, project, work, cancel))
    except KeyError:
        error = f"scanner {scanner!r} is not installed on worker {me}"
    except VigilError as exc:
        error = str(exc)
    except Exception as exc:  # any crash must end the run as failed, never leave it running
        log.exception("scan run crashed", extra={"run_id": run_id})
        error = f"internal error in the worker: {type(exc).__name__}"
    finally:
        beat.stop()
    try:
        return _land(database, run_id, checkout, result, error, cancel.is_set())
    finally:
        if checkout is not None:
            checkout.cleanup()


def _land(
    database: Database,
    run_id: int,
    checkout: Checkout | None,
    result: Any,
    error: str | None,
    cancelled: bool,
) -> RunStatus | None:
    def attempt() -> RunStatus | None:
        with database.transaction() as session:
            return _finish(session, run_id, checkout, result, error, cancelled, utcnow())

    try:
        return _retry_while_unreachable(attempt, run_id)
    except Exception as exc:  # ingestion failed: the run fails, nothing half-written
        log.exception("landing the scan result failed", extra={"run_id": run_id})
        with database.transaction() as session:
            run = session.get(ScanRun, run_id)
            if run is None or run.status is not RunStatus.RUNNING:
                return None if run is None else run.status
            scans.finish(
                session, run, RunStatus.FAILED, error=f"ingestion failed: {type(exc).__name__}: {exc}"
            )
            return RunStatus.FAILED


def _retry_while_unreachable(attempt: Callable[[], RunStatus | None], run_id: int) -> RunStatus | None:
    """Land the result; while the database is unreachable (a restart, a failover), wait and retry.

    The tool's output is still in memory and nothing was committed, so retrying is safe; giving up at
    once would throw a good scan away and leave the run "running" until the reaper notices. Retries
    stop well before the reaper's deadline (no heartbeat is sent meanwhile).
    """
    deadline = time.monotonic() + LAND_RETRY_SECONDS
    delay = 0.5
    while True:
        try:
            return attempt()
        except (OperationalError, InterfaceError):
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database unreachable while landing a scan; retrying", extra={"run_id": run_id})
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _finish(
    session: Any,
    run_id: int,
    checkout: Checkout | None,
    result: Any,
    error: str | None,
    cancelled: bool,
    now: datetime,
) -> RunStatus | None:
    run = session.scalar(select(ScanRun).where(ScanRun.id == run_id).with_for_update())
    if run is None:
        return None
    if run.status is not RunStatus.RUNNING:
        # The reaper already ended it (this worker looked dead): keep that verdict.
        return RunStatus(run.status)
    if checkout is not None:
        run.commit_sha = checkout.commit
    if result is not None:
        run.tool_version = _clip(getattr(result, "tool_version", None), 120)
        run.ruleset_version = _clip(getattr(result, "ruleset_version", None), 120)
        run.exit_code = getattr(result, "exit_code", None)
        run.stderr_tail = getattr(result, "stderr_tail", None)
        run.complete = bool(getattr(result, "complete", False))
    database_scanner = DATABASE_SCANNERS.get(run.scanner)
    if database_scanner is not None and error is None and checkout is not None and not cancelled:
        scan = database_scanner(session, run.project_id, checkout.path, run)
        run.tool_version = f"vigil-{run.scanner}"
        run.ruleset_version = _clip(scan.ruleset_version, 120)
        # An unreadable dependency file: what was read still lands, but nothing is closed as fixed.
        run.complete = scan.error is None
        _apply(session, run, scan.findings, checkout, now)
        if scan.error is None:
            return _succeed(session, run, scan.findings)
        scans.finish(session, run, RunStatus.FAILED, error=scan.error)
        return RunStatus.FAILED
    outcome = outcome_name(result) if result is not None else "failed"
    if run.cancel_requested:
        run.complete = False
        scans.finish(session, run, RunStatus.CANCELLED, error="cancelled while running; the tool was killed")
        return RunStatus.CANCELLED
    if cancelled or getattr(result, "cancelled", False):
        # Nobody asked to cancel it: this worker is shutting down. A failure, so health flags it.
        run.complete = False
        scans.finish(session, run, RunStatus.FAILED, error="the worker shut down before the scan finished")
        return RunStatus.FAILED
    if error is not None or result is None:
        run.complete = False
        scans.finish(session, run, RunStatus.FAILED, error=error or "the scanner returned nothing")
        return RunStatus.FAILED
    if getattr(result, "timed_out", False):
        run.complete = False
        reason = getattr(result, "error", None) or "the scanner timed out and was killed"
        scans.finish(session, run, RunStatus.TIMED_OUT, error=reason)
        return RunStatus.TIMED_OUT
    if outcome == RunOutcome.FAILED.value:
        run.complete = False
        reason = getattr(result, "error", None) or f"the scanner failed (exit code {run.exit_code})"
        scans.finish(session, run, RunStatus.FAILED, error=reason)
        return RunStatus.FAILED
    # The inline suppression comments the scanner saw, stored per run for the project's trend.
    record_inline_suppressions(session, run, getattr(result, "suppressions", ()) or ())
    findings = list(getattr(result, "findings", ()) or ())
    _apply(session, run, findings, checkout, now)
    return _succeed(session, run, findings)


def _apply(session: Any, run: ScanRun, findings: list[Any], checkout: Checkout | None, now: datetime) -> None:
    """Ingestion in the landing transaction; it closes findings only for a complete run."""
    from app.ingestion import ingest

    summary = ingest(session, run, findings, checkout=checkout.path if checkout else None, now=now)
    _counts(run, summary, len(findings))


def _succeed(session: Any, run: ScanRun, findings: list[Any]) -> RunStatus:
    final = RunOutcome.FINDINGS if findings else RunOutcome.CLEAN
    scans.finish(session, run, RunStatus.SUCCEEDED, outcome=final, now=utcnow())
    return RunStatus.SUCCEEDED


def _counts(run: ScanRun, summary: Any, total: int) -> None:
    for name in ("new", "unchanged", "reopened", "fixed", "suppressed"):
        value = getattr(summary, name, None)
        if isinstance(value, int):
            setattr(run, f"count_{name}", value)
    total_value = getattr(summary, "total", None)
    run.count_total = total_value if isinstance(total_value, int) else total


def _clip(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]
