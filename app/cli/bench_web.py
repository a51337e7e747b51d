"""``vigil bench web``: findings list and dashboard server time over a million findings."""

from __future__ import annotations

import click

from app.web.benchmark import report, run


@click.command("web")
@click.option("--findings", default=1_000_000, show_default=True, type=int)
@click.option("--projects", default=200, show_default=True, type=int)
@click.option("--days", default=365, show_default=True, type=int, help="Days of daily snapshots.")
@click.option("--requests", default=200, show_default=True, type=int, help="Findings-list requests.")
@click.option("--database-url", default=None, help="Default: a throw-away SQLite file. Reused if seeded.")
def command(findings: int, projects: int, days: int, requests: int, database_url: str | None) -> None:
    """Seed, then time the findings list (p95 ≤ 100 ms) and the dashboard (p95 ≤ 150 ms)."""
    results = run(
        database_url=database_url,
        findings=findings,
        projects=projects,
        days=days,
        requests=requests,
        log=click.echo,
    )
    for line in report(results):
        click.echo(line)
