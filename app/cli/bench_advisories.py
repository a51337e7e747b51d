"""``vigil bench advisories``: re-evaluation of a fleet's inventories against a full advisory store."""

from __future__ import annotations

import click

from app.bench import advisories as bench_advisories


@click.command("advisories")
@click.option("--projects", default=500, show_default=True, type=int)
@click.option("--dependencies", "per_project", default=200, show_default=True, type=int)
@click.option("--advisories", default=20_000, show_default=True, type=int)
@click.option(
    "--database-url", default=None, help="Run against this database instead of a scratch SQLite file."
)
def command(projects: int, per_project: int, advisories: int, database_url: str | None) -> None:
    """Re-match PROJECTS x DEPENDENCIES against ADVISORIES (target: at most 10 s on SQLite)."""
    result = bench_advisories.run(projects, per_project, advisories, database_url)
    click.echo(f"import {result.advisories} OSV records (all.zip):      {result.import_seconds:6.2f} s")
    stored = f"store {result.dependencies} dependencies in {result.projects} inventories:"
    click.echo(f"{stored} {result.seed_seconds:6.2f} s")
    click.echo(f"compile the advisory index:                 {result.index_seconds:6.2f} s")
    click.echo(f"match in memory ({result.findings} findings):       {result.match_seconds:6.2f} s")
    click.echo(
        f"re-evaluate all (load, match, ingest):      {result.reevaluate_seconds:6.2f} s "
        f"(CPU {result.reevaluate_cpu_seconds:.2f} s; {result.new} new findings; target "
        f"{bench_advisories.TARGET_SECONDS:.0f} s: {'met' if result.met else 'MISSED'})"
    )
    click.echo(f"re-evaluate again (nothing changed):        {result.second_reevaluate_seconds:6.2f} s")
    click.echo(
        f"import {result.delta_records} changed records + re-evaluate the {result.delta_projects} "
        f"projects using them ({result.delta_ingested} with new results): {result.delta_seconds:6.2f} s"
    )
