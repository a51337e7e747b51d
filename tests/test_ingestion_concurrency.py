"""Two imports into one project never interleave (SQLite write lock, PostgreSQL advisory lock)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from app.db import Database
from app.models import Finding, Project, ScanRun
from app.services.actor import Actor
from app.services.imports import ImportResult, import_report
from tests.ingestion_helpers import sarif_report


def test_concurrent_imports_into_one_project_are_serialized(database_url: str, tmp_path: Path) -> None:
    database = Database(database_url)
    try:
        with database.transaction() as s:
            project = Project(name="busy", local_path="/srv/busy")
            s.add(project)
            s.flush()
            pid = project.id
        shared = [("python.eval", f"m{i}.py", 3, f"eval(v{i})") for i in range(300)]
        reports = [
            sarif_report(tmp_path / "a.sarif", shared + [("python.exec", "a.py", 1, "exec(a)")]),
            sarif_report(tmp_path / "b.sarif", shared + [("python.exec", "b.py", 1, "exec(b)")]),
        ]
        results: list[ImportResult] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def worker(report: Path) -> None:
            try:
                start.wait()
                with database.transaction() as s:
                    results.append(import_report(s, Actor.cli(), pid, report))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(r,)) for r in reports]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        # Serialized: the second import sees the first one's 300 shared findings as unchanged and
        # closes the first one's own extra finding; interleaved, both would count 301 new.
        news = sorted(r.summary.new for r in results)
        assert news == [1, 301]
        assert sorted(r.summary.unchanged for r in results) == [0, 300]
        assert sorted(r.summary.fixed for r in results) == [0, 1]
        with database.reader() as s:
            assert s.scalar(select(func.count()).select_from(Finding)) == 302
            assert s.scalar(select(func.count()).select_from(ScanRun)) == 2
    finally:
        database.dispose()
