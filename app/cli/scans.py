"""``vigil scan PROJECT`` and ``vigil scans list|cancel|health``: thin commands over the scan services."""

from __future__ import annotations

import time

import click
from sqlalchemy import select

from app.cli.context import console_actor, database, require_schema, settings, transaction
from app.execution import dispatcher
from app.execution.executor import execute_run
from app.models import Project, ScanRun
from app.models.base import RunStatus
from app.services import scan_health, scans
from app.services.projects import ProjectError

WAIT_POLL_SECONDS = 0.5


def _project_id(name_or_id: str) -> int:
    with database().reader() as session:
        project = session.scalar(select(Project).where(Project.name == name_or_id.strip()))
        if project is None and name_or_id.isdigit():
            project = session.get(Project, int(name_or_id))
        if project is None:
            raise ProjectError(f"no project named {name_or_id.strip()!r}")
        return project.id


def _describe(run: ScanRun) -> str:
    text = f"run {run.id} {run.scanner}: {run.status.value}"
    if run.status is RunStatus.SUCCEEDED:
        text += (
            f" ({run.count_total} results: {run.count_new} new, {run.count_reopened} reopened,"
            f" {run.count_fixed} fixed)"
        )
    elif run.error:
        text += f" ({run.error.splitlines()[0][:200]})"
    return text


@click.command("scan")
@click.argument("project")
@click.option("--scanner", "scanners", multiple=True, help="Run only this scanner (repeatable).")
@click.option("--wait", is_flag=True, help="Wait for the runs to finish (runs them here if no worker does).")
@click.option(
    "--timeout", default=0, type=int, help="With --wait: give up after this many seconds (0: never)."
)
def scan_cmd(project: str, scanners: tuple[str, ...], wait: bool, timeout: int) -> None:
    """Queue a scan of PROJECT (name or id) now, through the same queue as the schedule."""
    require_schema()
    cfg = settings()
    project_id = _project_id(project)
    dispatch = dispatcher(cfg)
    with transaction() as session:
        queued = scans.queue_scans(
            session, console_actor(), project_id, scanners=scanners or None, dispatch=dispatch
        )
    for name in queued.busy:
        click.echo(f"{name}: a run is already queued or running; not queued again")
    for run_id in queued.run_ids:
        click.echo(f"queued run {run_id}")
    if not wait or not queued.run_ids:
        return
    if not cfg.redis_url:
        # No RQ: run them here. A running `vigil serve` pool may claim some first; the claim decides.
        for run_id in queued.run_ids:
            execute_run(database(), run_id, settings=cfg)
    deadline = time.monotonic() + timeout if timeout > 0 else None
    while True:
        with database().reader() as session:
            runs = session.scalars(
                select(ScanRun).where(ScanRun.id.in_(queued.run_ids)).order_by(ScanRun.id)
            ).all()
            if all(run.status.finished for run in runs):
                lines = [_describe(run) for run in runs]
                ok = all(run.status is RunStatus.SUCCEEDED for run in runs)
                break
        if deadline is not None and time.monotonic() > deadline:
            raise click.ClickException(f"runs still not finished after {timeout} s")
        time.sleep(WAIT_POLL_SECONDS)
    for line in lines:
        click.echo(line)
    if not ok:
        raise SystemExit(1)


@click.group("scans")
def scans_group() -> None:
    """Inspect and cancel scan runs; show scan health."""


@scans_group.command("list")
@click.option("--project", default=None, help="Only this project (name or id).")
@click.option("--limit", default=20, show_default=True, type=int)
def list_cmd(project: str | None, limit: int) -> None:
    project_id = _project_id(project) if project else None
    with transaction() as session:
        for run in scans.list_runs(session, console_actor(), project_id, limit):
            click.echo(
                f"{run.queued_at:%Y-%m-%d %H:%M}\tp{run.project_id}\t{run.trigger.value}\t{_describe(run)}"
            )


@scans_group.command("cancel")
@click.argument("run_id", type=int)
def cancel_cmd(run_id: int) -> None:
    """Cancel a queued run at once, or ask a running one's worker to kill its tool."""
    with transaction() as session:
        run = scans.cancel_run(session, console_actor(), run_id)
        state = (
            "cancelled" if run.status is RunStatus.CANCELLED else "cancel requested (the tool will be killed)"
        )
    click.echo(f"run {run_id}: {state}")


@scans_group.command("health")
def health_cmd() -> None:
    """Print scan-health flags; exit 1 when there is any."""
    with transaction() as session:
        flags = scan_health.scan_health(
            session, console_actor(), advisory_max_age_days=settings().advisory_max_age_days
        )
    for flag in flags:
        where = f"{flag.project or '-'}/{flag.scanner or '-'}"
        click.echo(f"{flag.kind}\t{where}\t{flag.message}")
    if not flags:
        click.echo("scan health: ok")
    else:
        raise SystemExit(1)


commands = [scan_cmd, scans_group]
