"""``vigil bench reports``: XLSX of 100,000 findings, CSV of the same, PDF for 20 projects.

Targets (this machine): XLSX ≤ 10 s, CSV ≤ 2 s, PDF ≤ 10 s. Each figure is the exporter's own
time on data already loaded, plus the end-to-end time including the database read, so a slow
query and a slow writer can be told apart.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from app.bench.seed import seed
from app.db import Database
from app.migrate import upgrade
from app.models import Project
from app.reports import EXPORTERS
from app.reports.compliance import build_compliance

TARGETS = {"xlsx": 10.0, "csv": 2.0, "pdf": 10.0}


@dataclass(frozen=True)
class ReportTiming:
    format: str
    findings: int
    projects: int
    load_seconds: float
    render_seconds: float
    bytes: int
    target_seconds: float

    @property
    def met(self) -> bool:
        return self.render_seconds <= self.target_seconds


def run(
    findings: int = 100_000, pdf_projects: int = 20, database_url: str | None = None
) -> list[ReportTiming]:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        try:
            now = datetime.now(UTC)
            seed(
                database,
                projects=pdf_projects,
                findings=findings,
                days=90,
                with_history=False,
                fixed_ratio=0.0,
                now=now,
            )
            with database.reader() as session:
                ids = list(session.scalars(select(Project.id)))
                started = time.perf_counter()
                data = build_compliance(session, ids, now, period_days=30)
                load = time.perf_counter() - started
            results = []
            for fmt in ("csv", "xlsx", "pdf"):
                started = time.perf_counter()
                content = EXPORTERS[fmt].render(data)
                elapsed = time.perf_counter() - started
                results.append(
                    ReportTiming(
                        fmt, len(data.open_findings), len(ids), load, elapsed, len(content), TARGETS[fmt]
                    )
                )
            return results
        finally:
            database.dispose()


def as_rows(results: list[ReportTiming]) -> list[dict[str, object]]:
    return [{**asdict(r), "met": r.met} for r in results]
