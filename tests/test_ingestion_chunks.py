"""Chunked ingestion: reports longer than one chunk behave exactly as reports ingested whole.

A one-shot iterator is what the import service feeds from a streamed SARIF file, so most tests pass
``iter(...)`` with a tiny chunk size to cut the report in several chunks.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingestion import chunks, ingest
from app.ingestion.chunks import ScatteredReport
from app.models import (
    ExceptionScope,
    Finding,
    FindingDetection,
    FindingStatus,
    FindingStatusHistory,
)
from app.scanners.base import NormalizedFinding
from app.services import imports as import_service
from app.services.actor import Actor
from tests.ingestion_helpers import (
    active_exception,
    code,
    dependency,
    findings_of,
    project,
    run,
    sarif_report,
)


def _files(count: int, per_file: int = 1, prefix: str = "src") -> list[NormalizedFinding]:
    return [
        code(path=f"{prefix}/m{i:04d}.py", line=10 + 20 * j, snippet=f"eval(x_{i})")
        for i in range(count)
        for j in range(per_file)
    ]


def test_fingerprint_repeated_in_a_later_chunk_counts_once_and_merges_detections(session: Session) -> None:
    proj = project(session)
    repeated = dataclasses.replace(dependency(), scanner="osv-scanner", tool_rule_id="OSV-1")
    report = [dependency(), *_files(5), repeated]
    summary = ingest(session, run(session, proj, "pip-audit"), iter(report), chunk_size=2)
    assert (summary.new, summary.total) == (6, 6)
    [dep] = [f for f in findings_of(session, proj) if f.package]
    scanners = session.scalars(select(FindingDetection.scanner).where(FindingDetection.finding_id == dep.id))
    assert sorted(scanners) == ["osv-scanner", "pip-audit"]
    # The same report again: still one finding, unchanged, both detections kept active.
    again = ingest(session, run(session, proj, "pip-audit"), iter(report), chunk_size=2)
    assert (again.new, again.unchanged, again.fixed, again.total) == (0, 6, 0, 6)
    active = session.scalars(select(FindingDetection.active).where(FindingDetection.finding_id == dep.id))
    assert list(active) == [True, True]


def test_same_rule_twice_in_a_file_has_the_same_identities_streamed_or_whole(session: Session) -> None:
    proj = project(session)
    report = _files(7, per_file=3)
    whole = ingest(session, run(session, proj), report)
    fingerprints = {f.fingerprint for f in findings_of(session, proj)}
    streamed = ingest(session, run(session, proj), iter(report), chunk_size=4)
    assert (whole.new, streamed.new, streamed.unchanged, streamed.fixed) == (21, 0, 21, 0)
    assert {f.fingerprint for f in findings_of(session, proj)} == fingerprints


def test_closing_across_chunks_fixes_exactly_what_is_missing(session: Session) -> None:
    proj = project(session)
    report = _files(10)
    ingest(session, run(session, proj), iter(report), chunk_size=3)
    subset = [f for i, f in enumerate(report) if i % 4 != 1]  # drops m0001, m0005, m0009
    summary = ingest(session, run(session, proj), iter(subset), chunk_size=3)
    assert (summary.new, summary.unchanged, summary.fixed) == (0, 7, 3)
    fixed = sorted(f.path or "" for f in findings_of(session, proj) if f.status is FindingStatus.FIXED)
    assert fixed == ["src/m0001.py", "src/m0005.py", "src/m0009.py"]
    history = session.scalars(
        select(FindingStatusHistory.reason).where(FindingStatusHistory.to_status == FindingStatus.FIXED)
    ).all()
    assert history == ["no longer reported by a complete run"] * 3
    # Back in a later chunk of the next run: reopened, not new.
    back = ingest(session, run(session, proj), iter(report), chunk_size=3)
    assert (back.new, back.reopened, back.unchanged, back.fixed) == (0, 3, 7, 0)


def test_exception_applies_to_findings_in_a_later_chunk(session: Session) -> None:
    proj = project(session)
    rule = {"scope": ExceptionScope.RULE, "rule_id": "py.eval_used", "path_glob": "admin/*"}
    exc = active_exception(session, proj.id, timedelta(days=30), **rule)
    report = [*_files(6), *_files(2, prefix="admin")]
    summary = ingest(session, run(session, proj), iter(report), chunk_size=2)
    assert (summary.new, summary.suppressed) == (8, 2)
    accepted = [f for f in findings_of(session, proj) if f.status is FindingStatus.ACCEPTED]
    assert sorted(f.path or "" for f in accepted) == ["admin/m0000.py", "admin/m0001.py"]
    assert {f.exception_id for f in accepted} == {exc.id}


def test_stream_returning_to_a_written_file_is_refused_before_it_is_misidentified(session: Session) -> None:
    proj = project(session)
    scattered = [*_files(3), code(path="src/m0000.py", line=99, snippet="eval(x_0)")]
    with pytest.raises(ScatteredReport):
        ingest(session, run(session, proj), iter(scattered), chunk_size=2)


def test_import_of_a_scattered_streamed_report_falls_back_to_the_whole_report(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rule twice in a.py, with b.py's results in between: identities as if read whole."""
    proj = project(session)
    results = [
        ("py.eval", "a.py", 10, "eval(x)"),
        ("py.eval", "b.py", 10, "eval(y)"),
        ("py.eval", "c.py", 10, "eval(z)"),
        ("py.eval", "a.py", 30, "eval(x)"),
    ]
    report = sarif_report(tmp_path / "scattered.sarif", results)
    actor = Actor.system("test")
    whole = import_service.import_report(session, actor, proj.id, report)
    expected = {(f.path, f.line, f.fingerprint) for f in findings_of(session, proj)}
    monkeypatch.setattr(import_service, "STREAM_BYTES", 0)
    monkeypatch.setattr(chunks, "CHUNK_SIZE", 1)
    again = sarif_report(tmp_path / "again.sarif", list(reversed(results)))
    streamed = import_service.import_report(session, actor, proj.id, again)
    assert (whole.summary.new, streamed.summary.new, streamed.summary.unchanged) == (4, 0, 4)
    assert streamed.scanner == "semgrep"
    assert {(f.path, f.line, f.fingerprint) for f in findings_of(session, proj)} == expected


def _generated(count: int) -> Iterator[NormalizedFinding]:
    """Findings made one at a time, as a streamed report yields them (each file twice)."""
    for i in range(count):
        yield NormalizedFinding(
            scanner="semgrep",
            rule_id=f"rule-{i % 50}",
            tool_rule_id=f"rule-{i % 50}",
            category="security",
            severity="medium",
            title=f"rule-{i % 50} in file {i // 2}",
            message="untrusted input reaches a sensitive call " + "x" * 200,
            path=f"src/pkg{i % 7}/file_{i // 2:06d}.py",
            line=10 + i % 2 * 40,
            snippet=f"value_{i} = eval(request.args['v{i}'])",
        )


def _peak(session: Session, proj_id: int, count: int, chunk_size: int) -> int:
    from app.models import Project

    proj = session.get(Project, proj_id)
    assert proj is not None
    scan_run = run(session, proj, "semgrep")
    tracemalloc.start()
    try:
        summary = ingest(session, scan_run, _generated(count), chunk_size=chunk_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.total == count
    session.rollback()
    return peak


def test_ingest_holds_one_chunk_at_a_time(session: Session) -> None:
    """Eight chunks peak within a few chunks' worth of one: memory follows the chunk, not the report."""
    proj_id = project(session, "memory").id
    session.commit()
    chunk = 300
    # Warm-up: statement caches, and the imports a report longer than one chunk makes (the
    # stream's file bookkeeping loads numpy on the second chunk: megabytes of module state).
    _peak(session, proj_id, 2 * chunk, chunk)
    one = _peak(session, proj_id, chunk, chunk)
    eight = _peak(session, proj_id, 8 * chunk, chunk)
    # The reader thread may hold two chunks besides the one being written (one queued, one being
    # read): about three chunks at most, however long the report.
    assert eight < 3 * one, (one, eight)
    sixteen = _peak(session, proj_id, 16 * chunk, chunk)
    assert sixteen < 1.5 * eight, (eight, sixteen)  # twice the report, not twice the memory
    assert not session.scalars(select(Finding.id).where(Finding.project_id == proj_id)).first()
