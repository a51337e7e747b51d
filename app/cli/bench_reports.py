"""``vigil bench reports``: XLSX and CSV of 100,000 findings, PDF for 20 projects."""

from __future__ import annotations

import json

import click

from app.reports.bench import as_rows, run


@click.command("reports")
@click.option("--findings", default=100_000, show_default=True, type=int)
@click.option("--projects", default=20, show_default=True, type=int)
@click.option("--database-url", default=None, help="Default: a throw-away SQLite file.")
@click.option("--json", "as_json", is_flag=True)
def command(findings: int, projects: int, database_url: str | None, as_json: bool) -> None:
    """Time each report format on generated data (targets: XLSX ≤ 10 s, CSV ≤ 2 s, PDF ≤ 10 s)."""
    results = run(findings=findings, pdf_projects=projects, database_url=database_url)
    if as_json:
        click.echo(json.dumps(as_rows(results), indent=2))
        return
    click.echo(f"{'format':<6} {'rows':>8} {'load s':>8} {'render s':>9} {'target s':>9} {'bytes':>11}  met")
    for r in results:
        click.echo(
            f"{r.format:<6} {r.findings:>8} {r.load_seconds:>8.2f} {r.render_seconds:>9.2f} "
            f"{r.target_seconds:>9.1f} {r.bytes:>11}  {'yes' if r.met else 'NO'}"
        )
