"""Checklist 40 on SQLite: web writes while the pool scans and the scheduler runs -> never "locked".

The full minute runs as ``vigil bench scheduling --seconds 60`` (real scanners); CI runs 8 seconds
with fake scanners that each report 150 findings, so every scan lands a real ingestion transaction.
"""

from __future__ import annotations

from pathlib import Path

from app.bench.scheduling import run_contention
from tests.scan_fixtures import write_fake_config


def test_checklist_40_sqlite_web_writes_and_scans_concurrently_never_locked(
    tmp_path: Path, fakes: tuple[str, ...]
) -> None:
    source = tmp_path / "repo"
    source.mkdir()
    write_fake_config(source, findings=150)
    report = run_contention(8.0, tmp_path / "work", source=source, scanners=fakes, writers=4)
    assert report.locked_errors == 0
    assert report.other_errors == []
    assert report.web_writes > 20 and report.web_reads == report.web_writes
    assert report.runs.get("succeeded", 0) >= 4
    assert set(report.runs) <= {"succeeded", "queued", "running", "cancelled"}
    assert report.findings == 300  # both fake scanners' findings landed, once each
