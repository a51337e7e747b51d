"""``vigil bench api-fuzz``: schemathesis against every API operation, long (CI runs it briefly)."""

from __future__ import annotations

import sys

import click

from app.bench.api_fuzz import report, run


@click.command("api-fuzz")
@click.option(
    "--examples", type=click.IntRange(min=1), default=500, show_default=True, help="Examples per operation."
)
@click.option("--database-url", default=None, help="Default: a throw-away SQLite file, migrated and seeded.")
def command(examples: int, database_url: str | None) -> None:
    """Fuzz every operation of the OpenAPI document; exit 1 on a 5xx or a response off the contract."""
    results = run(examples=examples, database_url=database_url, log=click.echo)
    for line in report(results):
        click.echo(line)
    if any(r.failed_examples for r in results):
        sys.exit(1)
