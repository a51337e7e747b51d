"""``vigil bench web`` end to end on a tiny portfolio: it seeds, signs in, measures and reports.

Only the shape of the report is checked here; the figures themselves are measured by running the
command (see the README), never asserted in a unit test.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app.cli import main


def test_bench_web_runs_and_reports_every_measurement(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    args = ["bench", "web", "--findings", "400", "--projects", "4", "--days", "5", "--requests", "12"]
    result = CliRunner().invoke(main, [*args, "--database-url", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in (
        "findings list (admin, any filter/sort/page)",
        "findings list (analyst, 5 projects)",
        "dashboard 30 days, recomputed (admin, all)",
        "dashboard 365 days, recomputed (admin, all)",
        "dashboard 30 days, cached figures (admin, all)",
        "dashboard 30 days, after a triage (admin, all)",
        "dashboard 30 days, recomputed (analyst, 5 projects)",
        "scan health fragment",
    ):
        assert name in result.output
    assert "p95 ms" in result.output
    # A second run reuses the seeded database instead of seeding again.
    again = CliRunner().invoke(main, [*args, "--database-url", url], catch_exceptions=False)
    assert again.exit_code == 0 and "using the 400 findings already in" in again.output
