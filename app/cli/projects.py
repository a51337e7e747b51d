"""``vigil projects add|list|remove``."""

from __future__ import annotations

import click

from app.cli.context import console_actor, transaction
from app.services import projects as project_service


@click.group("projects")
def projects_group() -> None:
    """Manage the repositories Vigil scans."""


@projects_group.command("add")
@click.argument("name")
@click.option("--path", "local_path", default=None, help="Local checkout to scan.")
@click.option("--git-url", default=None, help="Repository to clone (https://, ssh://, git@host: or file://).")
@click.option("--git-ref", default=None, help="Branch or tag to scan (default: the remote's HEAD).")
@click.option("--scanner", "scanners", multiple=True, help="Enable this scanner (repeatable).")
@click.option("--schedule", default=None, help="Cron expression, default nightly at 02:00.")
@click.option("--timezone", default="UTC", show_default=True)
def add_cmd(
    name: str,
    local_path: str | None,
    git_url: str | None,
    git_ref: str | None,
    scanners: tuple[str, ...],
    schedule: str | None,
    timezone: str,
) -> None:
    """Register a project."""
    with transaction() as session:
        project = project_service.add_project(
            session,
            console_actor(),
            name=name,
            local_path=local_path,
            git_url=git_url,
            git_ref=git_ref,
            scanners=scanners or None,
            schedule_cron=schedule,
            timezone=timezone,
        )
        click.echo(f"added project {project.name} (id {project.id})")


@projects_group.command("list")
def list_cmd() -> None:
    """List projects."""
    with transaction() as session:
        for project in project_service.list_projects(session, console_actor()):
            source = project.local_path or project.git_url
            click.echo(f"{project.id}\t{project.name}\t{source}\t{','.join(project.enabled_scanners)}")


@projects_group.command("remove")
@click.argument("name")
@click.confirmation_option(prompt="Remove the project and all its findings?")
def remove_cmd(name: str) -> None:
    """Remove a project and everything recorded about it."""
    with transaction() as session:
        project_service.remove_project(session, console_actor(), name)
    click.echo(f"removed project {name}")


commands = [projects_group]
