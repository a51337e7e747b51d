"""``vigil bench ingest`` end to end on a small report: every step's counts, the machine's limit, and
nothing left behind in a database it was given."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.db import Database
from app.ingestion import bench
from app.models import Finding, Project, ScanRun


def test_every_step_counts_and_the_given_database_is_left_as_it_was(
    database_url: str, tmp_path: Path
) -> None:
    result = bench.run(300, database_url=database_url, workdir=tmp_path)
    steps = {step.name: step.summary for step in result.steps}
    assert steps["first import"]["new"] == 300
    assert (steps["unchanged reimport"]["new"], steps["unchanged reimport"]["unchanged"]) == (0, 300)
    assert steps["same bytes replayed"]["duplicate"] is True
    assert (steps["90% subset"]["unchanged"], steps["90% subset"]["fixed"]) == (270, 30)
    assert result.limit_s > 0 and result.ratio > 0
    assert all(step.peak_rss_mb > 0 for step in result.steps)
    assert any("ingest" in line for line in bench.render(result))
    database = Database(database_url)
    try:
        with database.session() as s:
            counts = [s.scalar(select(func.count()).select_from(t)) for t in (Project, Finding, ScanRun)]
    finally:
        database.dispose()
    assert counts == [0, 0, 0]
