"""``vigil report`` (export a compliance report), ``vigil report verify FILE``."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.context import console_actor, transaction
from app.reports import EXPORTERS
from app.services import reports as report_service


@click.group("report", invoke_without_command=True)
@click.option("--scope", "scope", multiple=True, help="Project name or id (repeatable); default: portfolio.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="YYYY-MM-DD")
@click.option("--period-days", default=30, show_default=True, type=int)
@click.option("--format", "fmt", type=click.Choice(sorted(EXPORTERS)), default="pdf", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.pass_context
def report_group(
    ctx: click.Context,
    scope: tuple[str, ...],
    as_of: object,
    period_days: int,
    fmt: str,
    output: Path | None,
) -> None:
    """Export a compliance report (PDF, XLSX, CSV, JSON or SARIF) and record its SHA-256."""
    if ctx.invoked_subcommand is not None:
        return
    day = as_of.date() if hasattr(as_of, "date") else None  # click gives a datetime
    with transaction() as session:
        result = report_service.export(
            session, console_actor(), fmt, list(scope) or None, as_of=day, period_days=period_days
        )
    target = output or Path(result.filename)
    target.write_bytes(result.content)
    click.echo(f"wrote {target} ({len(result.content)} bytes)")
    click.echo(f"sha256 {result.sha256}")


@report_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_cmd(file: Path) -> None:
    """Say whether FILE is an unaltered export recorded by this Vigil (exit 1 if not)."""
    with transaction() as session:
        result = report_service.verify(session, file.read_bytes())
    if not result.genuine:
        click.echo(f"NOT a recorded Vigil export (sha256 {result.sha256})")
        raise SystemExit(1)
    when = result.exported_at.isoformat(timespec="seconds") if result.exported_at else "?"
    click.echo(f"genuine Vigil {result.report_format} export, made {when} by {result.exported_by}")
    click.echo(f"sha256 {result.sha256}")


commands = [report_group]
