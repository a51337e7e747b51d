"""kill -9 in the middle of an import leaves the database exactly as it was (SQLite and PostgreSQL).

A real ``vigil import`` process imports a large generated report; the scenario waits until that
process holds its write transaction *and* has started writing findings, then sends SIGKILL. Nothing
of the import may be visible afterwards: no run, no finding, no detection, no history, no snapshot
change, no audit event. The scenario is shared with ``vigil bench faults``
(:mod:`app.bench.faults.importer`), which runs it with a larger report.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_faults import run_scenario


def test_kill_9_mid_import_leaves_database_unchanged(database_url: str, tmp_path: Path) -> None:
    outcome = run_scenario("importer", database_url, tmp_path)
    assert [check.what for check in outcome.checks][-1].startswith("database exactly as before")
