"""``vigil import`` draws a progress bar on stderr for a large report and still prints the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import import_cmd
from app.db import Database
from app.models import Project
from tests.conftest import VigilRunner
from tests.ingestion_helpers import sarif_report


def test_large_report_import_shows_progress(
    runner: VigilRunner, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database.transaction() as s:
        s.add(Project(name="big-shop", local_path="/srv/big-shop"))
    report = sarif_report(tmp_path / "r.sarif", [("python.eval", "shop/views.py", 3, "eval(x)")])
    monkeypatch.setattr(import_cmd, "PROGRESS_BYTES", 1)  # every report counts as large
    out = runner.invoke(["import", "--project", "big-shop", str(report)])
    assert out.exit_code == 0, out.output
    assert "reading report" in out.output and "new 1," in out.output
