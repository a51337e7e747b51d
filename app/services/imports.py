"""Import a report file into a project: one scan run, one transaction, exactly once.

The caller's transaction holds the whole import, so a bad report or a crash at any point leaves
nothing behind. The report's bytes are hashed before anything else: the same report imported again
(a CI retry, a double click) finds its earlier run and only refreshes ``last_seen``; it never
creates a second run. The project lock is taken before that check, so two identical uploads at the
same moment cannot both miss each other.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.ingestion import IngestSummary
from app.ingestion.chunks import ScatteredReport, TimedIterator
from app.ingestion.ingest import Ingestion
from app.ingestion.locks import lock_project
from app.models import Finding, Project, RunOutcome, RunStatus, RunTrigger, ScanRun, utcnow
from app.scanners.base import NormalizedFinding, ReportError
from app.scanners.importers.loader import AUTO, ReportStream, iter_report, parse_report
from app.scanners.importers.safe_load import DEFAULT_MAX_BYTES
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import NotFound, require, require_project

# Above this size the report is streamed (SARIF) rather than decoded whole.
STREAM_BYTES = 32 * 1024 * 1024
HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ImportResult:
    run_id: int
    project_id: int
    format: str
    scanner: str
    summary: IngestSummary
    duplicate: bool = False
    complete: bool = True
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "project_id": self.project_id,
            "format": self.format,
            "scanner": self.scanner,
            "duplicate": self.duplicate,
            "complete": self.complete,
            "timings": self.timings,
            **self.summary.as_dict(),
        }


def file_sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


def idempotency_key(report_sha256: str, fmt: str) -> str:
    """One run per (report bytes, format): the same bytes read as another format are another report."""
    return hashlib.sha256(f"{report_sha256}:{fmt}".encode()).hexdigest()


@dataclass
class _Report:
    """A report opened for ingestion: its findings (a list, or a stream read once) and metadata,
    which for a stream is final only once it has been read to the end."""

    source: ReportStream | None
    findings: Iterable[NormalizedFinding]
    format: str
    scanner: str
    tool_version: str | None
    complete: bool
    problems: list[str]

    def settle(self) -> None:
        """Take the stream's final metadata (call after the findings were consumed)."""
        if self.source is not None:
            s = self.source
            self.format, self.scanner, self.tool_version = s.format, s.scanner, s.tool_version
            self.complete, self.problems = s.complete, list(s.problems)


def _open(path: Path, fmt: str, max_bytes: int, *, stream: bool) -> _Report:
    """Large reports are streamed (SARIF: one result at a time); smaller ones are decoded whole."""
    if stream:
        source = iter_report(path, fmt, max_bytes=max_bytes)
        return _Report(
            source, source, source.format, source.scanner, source.tool_version, source.complete, []
        )
    report = parse_report(path, fmt, max_bytes=max_bytes)
    return _Report(
        None,
        report.findings,
        report.format,
        report.scanner,
        report.tool_version,
        report.complete,
        list(report.problems),
    )


def _feed(
    session: Session, run: ScanRun, report: _Report, now: datetime, reopen: Callable[[], _Report]
) -> tuple[Ingestion, _Report, float, float]:
    """Ingest the report's findings; (job, report, seconds spent reading and parsing, seconds the
    writes waited for that reading). The reading runs on a reader thread while chunks are written,
    so the first figure overlaps the writes and only the second adds to the import's time.

    A streamed report whose results for one file are scattered cannot be fingerprinted chunk by
    chunk: what was written is rolled back to a savepoint and the report is read again, whole.
    """
    job = Ingestion(session, run, now=now)
    if report.source is None:  # decoded whole already: fingerprinted whole, written in chunks
        job.feed(report.findings)
        return job, report, 0.0, job.read_wait
    timed = TimedIterator(report.findings)
    try:
        with session.begin_nested():
            job.feed(timed)
    except ScatteredReport:
        wasted = job.read_wait
        report = reopen()
        again = TimedIterator(report.findings)
        findings = list(again)
        job = Ingestion(session, run, now=now)
        job.feed(findings)
        report.settle()
        return job, report, timed.seconds + again.seconds, wasted + again.seconds + job.read_wait
    report.settle()
    return job, report, timed.seconds, job.read_wait


def _replay(session: Session, actor: Actor, run: ScanRun) -> ImportResult:
    """The report was imported before: refresh ``last_seen`` of what its run saw, change nothing else."""
    # The project narrows the rows to its own (an index range) before the run marker is checked.
    seen = (Finding.project_id == run.project_id, Finding.last_run_id == run.id)
    session.execute(update(Finding).where(*seen).values(last_seen=utcnow()))
    summary = IngestSummary(unchanged=run.count_total, total=run.count_total, closed_nothing=True)
    audit.record(
        session,
        actor,
        "report_import",
        object_type="scan_run",
        object_id=run.id,
        result="duplicate",
        after={"project_id": run.project_id, "report_sha256": run.report_sha256},
    )
    return ImportResult(
        run.id,
        run.project_id,
        run.report_format or AUTO,
        run.scanner,
        summary,
        duplicate=True,
        complete=run.complete,
    )


def import_report(
    session: Session,
    actor: Actor,
    project_id: int,
    path: Path,
    *,
    fmt: str = AUTO,
    trigger: RunTrigger = RunTrigger.UPLOAD,
    api_key_id: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Parse ``path`` and ingest it into ``project_id`` in the caller's transaction.

    Raises ReportError (one line, nothing written) for a report Vigil cannot read.
    """
    require(actor, "report.upload")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound()
    require_project(actor, project.id)
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise ReportError(fmt, f"report is {size:,} bytes, larger than the {max_bytes:,}-byte limit")
    sha = file_sha256(path, progress)
    lock_project(session, project.id)
    previous = session.scalars(
        select(ScanRun)
        .where(ScanRun.project_id == project.id, ScanRun.report_sha256 == sha)
        .order_by(ScanRun.id)
    ).all()
    for run in previous:
        if fmt == AUTO or run.report_format == fmt:
            return _replay(session, actor, run)
    now = utcnow()
    started = time.perf_counter()
    streamed = size > STREAM_BYTES
    report = _open(path, fmt, max_bytes, stream=streamed)
    open_s = time.perf_counter() - started  # a whole (not streamed) report is parsed here
    run = ScanRun(
        project_id=project.id,
        scanner=(report.scanner or report.format)[:64],
        trigger=trigger,
        status=RunStatus.RUNNING,
        complete=report.complete,
        tool_version=report.tool_version[:120] if report.tool_version else None,
        report_format=report.format,
        report_sha256=sha,
        idempotency_key=idempotency_key(sha, report.format),
        requested_by_id=actor.id if actor.is_user else None,
        api_key_id=api_key_id,
        queued_at=now,
        started_at=now,
        details={"problems": report.problems[:50], "bytes": size, "file": path.name[:255]},
    )
    session.add(run)
    session.flush()
    reopen = lambda: _open(path, fmt, max_bytes, stream=streamed)  # noqa: E731 - read again, whole
    job, report, read_s, waited_s = _feed(session, run, report, now, reopen)
    # A stream names its tool, and tells whether it is complete, only once read to the end.
    run.scanner = (report.scanner or report.format)[:64]
    run.tool_version = report.tool_version[:120] if report.tool_version else None
    run.complete = complete = report.complete
    run.details = {**run.details, "problems": report.problems[:50]}
    summary = job.finish(actor)
    report_format = report.format
    total_s = time.perf_counter() - started
    timings = {
        "parse_s": round(open_s + read_s, 3),
        "parse_wait_s": round(open_s + waited_s, 3),
        "ingest_s": round(total_s - open_s - waited_s, 3),
    }
    run.details = {**run.details, "timings": timings}
    run.status = RunStatus.SUCCEEDED
    if summary.total:
        run.outcome = RunOutcome.FINDINGS
    else:  # an empty partial report proves nothing: never call it clean
        run.outcome = RunOutcome.CLEAN if complete else RunOutcome.FAILED
    run.finished_at = utcnow()
    session.flush()
    return ImportResult(
        run.id, project.id, report_format, run.scanner, summary, complete=complete, timings=timings
    )
