"""``vigil import --project NAME FILE``: ingest a report from the console, once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from app.cli.context import console_actor, settings, transaction
from app.errors import VigilError
from app.models import RunTrigger
from app.scanners.importers import IMPORTERS
from app.services import imports as import_service
from app.services import projects as project_service

PROGRESS_BYTES = 8 * 1024 * 1024


@contextmanager
def _progress(size: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for ``size`` bytes (stdout stays the summary); none when size is 0."""
    if not size:
        yield None
        return
    with click.progressbar(length=size, label="reading report", file=click.get_text_stream("stderr")) as bar:
        yield bar.update


@click.command("import")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", *sorted(IMPORTERS)]),
    help="Report format; auto detects it from the content.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_report(project_name: str, fmt: str, as_json: bool, file: Path) -> None:
    """Import FILE (a scanner report) into a project: new, unchanged, reopened, fixed, suppressed."""
    size = file.stat().st_size
    with transaction() as session:
        project = project_service.get_by_name(session, project_name)
        if project is None:
            raise VigilError(f"no project named {project_name.strip()!r}")
        with _progress(size if size >= PROGRESS_BYTES and not as_json else 0) as progress:
            result = import_service.import_report(
                session,
                console_actor(),
                project.id,
                file,
                fmt=fmt,
                trigger=RunTrigger.MANUAL,
                max_bytes=settings().max_upload_bytes,
                progress=progress,
            )
    if as_json:
        click.echo(json.dumps(result.as_dict(), sort_keys=True))
        return
    s = result.summary
    note = " (already imported: nothing changed but last seen)" if result.duplicate else ""
    click.echo(f"run {result.run_id}: {result.format} report from {result.scanner}{note}")
    click.echo(f"new {s.new}, unchanged {s.unchanged}, reopened {s.reopened}, fixed {s.fixed}, ", nl=False)
    click.echo(f"suppressed {s.suppressed}")
    if s.closed_nothing and not result.duplicate:
        click.echo("the report is partial or the run did not complete: nothing was closed")


commands = [import_report]
