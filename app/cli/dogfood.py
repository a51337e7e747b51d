"""``vigil dogfood``: scan Vigil's own repository with Vigil and ask the CI gate. Exit 0 pass, 1 fail.

A thin command over :func:`app.services.dogfood.run_dogfood`; it uses the configured database like
every other command (a CI job points ``VIGIL_DATABASE_URL`` at a scratch SQLite file and runs
``vigil db upgrade`` first).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.context import database, require_schema, settings
from app.services.dogfood import DogfoodReport, run_dogfood
from app.services.dogfood_config import CONFIG_NAME, load

EXIT_PASS, EXIT_FAIL = 0, 1


def _print(report: DogfoodReport) -> None:
    click.echo(f"dogfood: project {report.project!r} at commit {report.commit[:12]}")
    for run in report.runs:
        detail = f"{run.total} results" if run.status == "succeeded" else (run.error or "no reason given")
        click.echo(f"  run {run.run_id} {run.scanner}: {run.status} ({detail.splitlines()[0][:200]})")
    for name, why in report.skipped.items():
        click.echo(f"  {name}: not run: {why}")
    for status, by_severity in sorted(report.counts.items()):
        parts = ", ".join(f"{severity} {number}" for severity, number in sorted(by_severity.items()))
        click.echo(f"  {status}: {parts}")
    for item in report.accepted:
        click.echo(
            f"  accepted #{item.exception_id} (entry {item.entry}) {item.rule} in {item.path_glob}:"
            f" {item.findings} finding(s) until {item.expires_at:%Y-%m-%d}"
        )
    for line in report.stale:
        click.echo(f"  stale: {line}")
    if report.revoked:
        click.echo(f"  revoked (changed or removed entries): {', '.join(f'#{i}' for i in report.revoked)}")
    if report.created_users:
        click.echo(f"  users created to record the decisions: {', '.join(report.created_users)}")
    for finding_id in report.unexplained:
        click.echo(f"  accepted without a written reason: finding {finding_id}")
    result = report.gate
    if result is not None:
        click.echo(f"gate (fail on {result.fail_on}): {'pass' if result.passed else 'fail'}")
        for found in result.blocking:
            click.echo(f"  {found.severity} {found.rule_id} {found.path or found.package}:{found.line}")
    click.echo(f"dogfood: {'pass' if report.passed else 'fail'}")


@click.command("dogfood")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The git work tree to scan (its committed HEAD).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Exclusions and accepted risks [default: REPO/{CONFIG_NAME}].",
)
@click.option(
    "--threads", type=click.IntRange(min=1, max=8), default=2, show_default=True, help="Scanners run at once."
)
def command(repo: Path, config_path: Path | None, threads: int) -> None:
    """Scan this repository with its exclusions, apply its accepted risks, ask the gate."""
    require_schema()
    config = load(config_path or repo / CONFIG_NAME)
    report = run_dogfood(database(), settings(), config, repo, threads=threads)
    _print(report)
    sys.exit(EXIT_PASS if report.passed else EXIT_FAIL)


commands = [command]
