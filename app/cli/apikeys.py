"""``vigil apikeys create|list|revoke``: CI keys from the server's console."""

from __future__ import annotations

import click

from app.cli.context import console_actor, transaction
from app.services import api_keys as key_service


@click.group("apikeys")
def apikeys_group() -> None:
    """Manage API keys for CI (upload reports, read findings, ask the gate)."""


@apikeys_group.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="upload, read or gate (repeatable).")
@click.option("--project", "projects", multiple=True, help="Limit the key to this project (name or id).")
@click.option("--expires-days", default=90, show_default=True, type=int, help="0 for no expiry.")
@click.option("--description", default="")
def create_cmd(
    name: str, scopes: tuple[str, ...], projects: tuple[str, ...], expires_days: int, description: str
) -> None:
    """Create a key; the secret is printed once and only its hash is stored."""
    with transaction() as session:
        created = key_service.create(
            session,
            console_actor(),
            name=name,
            scopes=scopes,
            projects=projects,
            expires_days=expires_days or None,
            description=description,
        )
        key_id = created.key.id
    click.echo(f"created API key {name} (id {key_id})")
    click.echo(f"secret (shown once, store it in your CI secrets): {created.secret}")


@apikeys_group.command("list")
def list_cmd() -> None:
    """List keys: id, name, prefix, scopes, projects, expiry, last use, state (never the secret)."""
    with transaction() as session:
        for key in key_service.list_keys(session, console_actor()):
            expires = key.expires_at.date().isoformat() if key.expires_at else "never"
            used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            projects = ",".join(str(p) for p in key.project_ids) or "all"
            click.echo(
                f"{key.id}\t{key.name}\tvigil_{key.prefix}_…\t{','.join(key.scopes)}\t{projects}\t"
                f"expires {expires}\tused {used}\t{key_service.status_of(key)}"
            )


@apikeys_group.command("revoke")
@click.argument("key")
def revoke_cmd(key: str) -> None:
    """Revoke a key by id, prefix or name."""
    with transaction() as session:
        revoked = key_service.revoke(session, console_actor(), key)
        name = revoked.name
    click.echo(f"revoked API key {name}")


commands = [apikeys_group]
