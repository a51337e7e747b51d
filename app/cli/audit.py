"""``vigil audit verify``: walk the hash chain; exit 1 naming the first broken row."""

from __future__ import annotations

import sys

import click

from app.cli.context import console_actor, transaction
from app.services import audit_queries


@click.group("audit")
def audit_group() -> None:
    """The append-only audit log."""


@audit_group.command("verify")
def verify_cmd() -> None:
    """Check that no audit row was altered, removed or inserted out of order."""
    with transaction() as session:
        broken = audit_queries.verify(session, console_actor())
    if broken is not None:
        click.echo(f"audit chain BROKEN at event {broken.event_id}: {broken.reason}", err=True)
        sys.exit(1)
    click.echo("audit chain intact")


commands = [audit_group]
