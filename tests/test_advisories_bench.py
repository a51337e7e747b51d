"""``vigil bench advisories`` runs end to end on a small fleet (speed is measured by the command)."""

from __future__ import annotations

from click.testing import CliRunner

from app.cli.bench_advisories import command


def test_bench_advisories_small_fleet() -> None:
    result = CliRunner().invoke(
        command, ["--projects", "4", "--dependencies", "30", "--advisories", "400"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("import 400 OSV records")
    assert any(line.startswith("store 120 dependencies in 4 inventories") for line in lines)
    findings = next(line for line in lines if line.startswith("match in memory"))
    assert "(0 findings)" not in findings
    assert any(line.startswith("re-evaluate all (load, match, ingest)") for line in lines)
    assert "changed records + re-evaluate" in lines[-1]
