"""``vigil advisories import PATH`` and ``vigil advisories status``: the offline OSV mirror.

Import is one transaction (the store changes completely or not at all); when it changed anything,
every project's stored dependency inventory is then re-matched, project by project, so new
advisories open findings and withdrawn or fixed ones close them without rescanning any repository.
"""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.context import console_actor, database, require_schema, settings, transaction
from app.services import advisories as advisory_service


@click.group("advisories")
def advisories_group() -> None:
    """Offline OSV advisory store."""


@advisories_group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-reevaluate", is_flag=True, help="Only load the records; re-match projects later.")
def import_cmd(path: Path, no_reevaluate: bool) -> None:
    """Load OSV records from an all.zip, a folder of JSON files or one JSON file."""
    with transaction() as session:
        summary = advisory_service.import_advisories(session, console_actor(), path)
    click.echo(
        f"import #{summary.import_id}: {summary.records_seen} records read, {summary.added} added, "
        f"{summary.updated} updated, {summary.unchanged} unchanged, {summary.withdrawn} withdrawn, "
        f"{summary.ignored} not PyPI, {summary.rejected} rejected"
    )
    if summary.flagged_exceptions:
        ids = ", ".join(f"#{i}" for i in summary.flagged_exceptions)
        click.echo(f"exceptions flagged for review (their advisory now has a fixed version): {ids}")
    for problem in summary.problems[:10]:
        click.echo(f"  skipped: {problem}")
    if len(summary.problems) > 10:
        click.echo(f"  ... and {summary.rejected - 10} more rejected records")
    if not summary.changed:
        click.echo("advisory store unchanged; nothing to re-evaluate")
        return
    if no_reevaluate:
        click.echo("re-evaluation skipped (--no-reevaluate)")
        return
    result = advisory_service.reevaluate_all(database(), console_actor(), packages=summary.changed_packages)
    click.echo(
        f"re-evaluated {result.projects} projects using the {len(summary.changed_packages)} changed "
        f"packages ({result.dependencies} dependencies): "
        f"{result.new} new, {result.fixed} fixed, {result.reopened} reopened findings"
    )
    if result.flagged_exceptions:
        ids = ", ".join(f"#{i}" for i in result.flagged_exceptions)
        click.echo(f"exceptions flagged for review (a fixed version exists): {ids}")


@advisories_group.command("reevaluate")
def reevaluate_cmd() -> None:
    """Re-match every project's latest dependency inventory against the store."""
    require_schema()
    result = advisory_service.reevaluate_all(database(), console_actor())
    click.echo(
        f"re-evaluated {result.projects} projects ({result.dependencies} dependencies): "
        f"{result.new} new, {result.fixed} fixed, {result.reopened} reopened findings"
    )


@advisories_group.command("status")
def status_cmd() -> None:
    """Show the store's version, age and size."""
    max_age = settings().advisory_max_age_days
    with transaction() as session:
        status = advisory_service.store_status(session, max_age_days=max_age)
    if status.last_import_at is None:
        click.echo("advisory store is empty: run `vigil advisories import PATH` (stale)")
        return
    age = f"{status.age_days:.1f} days" if status.age_days is not None else "unknown"
    newest = status.newest_modified.isoformat() if status.newest_modified else "-"
    click.echo(f"version: {status.version or '-'}")
    click.echo(f"last import: {status.last_import_at.isoformat()} ({age} ago)")
    click.echo(f"newest record modified: {newest}")
    click.echo(f"advisories: {status.advisories} ({status.withdrawn} withdrawn), packages: {status.packages}")
    click.echo(f"state: {'STALE' if status.stale else 'fresh'} (limit {max_age} days)")


commands = [advisories_group]
