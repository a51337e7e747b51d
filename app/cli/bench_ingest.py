"""``vigil bench ingest --findings N``: import speed and memory against this machine's limit."""

from __future__ import annotations

import json

import click

from app.ingestion import bench as ingest_bench


@click.command("ingest")
@click.option("--findings", "count", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--database-url", default=None, help="Benchmark this database (default: a fresh SQLite file).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def command(count: int, database_url: str | None, as_json: bool) -> None:
    """Import a generated SARIF report of N results, reimport it, replay it, import a 90% subset."""
    echo = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    result = ingest_bench.run(count, database_url=database_url, echo=echo)
    if as_json:
        click.echo(json.dumps(result.as_dict(), sort_keys=True))
        return
    for line in ingest_bench.render(result):
        click.echo(line)
