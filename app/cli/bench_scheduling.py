"""``vigil bench scheduling --seconds 60``: web writes and scans on one SQLite file (checklist 40)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from app.bench.scheduling import run_contention
from app.demo import SAMPLE_PROJECT


@click.command("scheduling")
@click.option("--seconds", type=click.FloatRange(min=1), default=60.0, show_default=True)
@click.option(
    "--writers", type=click.IntRange(min=1), default=4, show_default=True, help="Web writer threads."
)
@click.option("--scanner", "scanners", multiple=True, help="Scanners to run (default: ruff, bandit).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def command(seconds: float, writers: int, scanners: tuple[str, ...], as_json: bool) -> None:
    """Web writes + embedded pool scans + scheduler on SQLite; exits 1 on any "database is locked"."""
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as work:
        report = run_contention(
            seconds,
            Path(work),
            source=SAMPLE_PROJECT,
            scanners=scanners or ("ruff", "bandit"),
            writers=writers,
        )
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True))
    else:
        click.echo(
            f"{seconds:g} s, {writers} web writers + {sum(report.runs.values())} scan runs {report.runs}"
        )
        click.echo(
            f"web writes {report.web_writes} (median {report.write_median_ms} ms, "
            f"p95 {report.write_p95_ms} ms, max {report.write_max_ms} ms), "
            f"reads {report.web_reads}, findings {report.findings}"
        )
        click.echo(
            f"'database is locked' errors: {report.locked_errors}; other errors: {len(report.other_errors)}"
        )
        for line in report.other_errors[:10]:
            click.echo(f"  {line}")
    if report.locked_errors:
        raise SystemExit(1)
