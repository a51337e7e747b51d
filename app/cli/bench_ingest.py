"""``vigil bench ingest --findings N``: import speed and memory against this machine's limit."""

from __future__ import annotations

import json

import click

from app.ingestion import bench as ingest_bench


@click.command("ingest")
@click.option("--findings", "count", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option(
    "--size-mb",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Instead of --findings: a report of about this many MB, first import only (its peak RSS).",
)
@click.option("--database-url", default=None, help="Benchmark this database (default: a fresh SQLite file).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def command(count: int, size_mb: float | None, database_url: str | None, as_json: bool) -> None:
    """Import a generated SARIF report of N results, reimport it, replay it, import a 90% subset."""
    echo = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    if size_mb is not None:
        count = ingest_bench.findings_for_size(size_mb)
    result = ingest_bench.run(count, database_url=database_url, echo=echo, first_only=size_mb is not None)
    if as_json:
        click.echo(json.dumps(result.as_dict(), sort_keys=True))
        return
    for line in ingest_bench.render(result):
        click.echo(line)
