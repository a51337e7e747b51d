"""``vigil db upgrade|downgrade|current``: schema migrations, never run implicitly by the web app."""

from __future__ import annotations

import click

from app import migrate
from app.cli.context import settings
from app.db import make_engine
from app.security.secret_box import SecretBox


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def upgrade_cmd(revision: str) -> None:
    """Migrate the schema up (creates the SQLite file if needed)."""
    cfg = settings()
    if cfg.is_sqlite:
        cfg.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(cfg.database_url, revision, secret_box=SecretBox.from_settings(cfg))
    click.echo(f"database at revision {revision}")


@db_group.command("downgrade")
@click.argument("revision")
def downgrade_cmd(revision: str) -> None:
    """Migrate the schema down to REVISION (``base`` removes every table)."""
    cfg = settings()
    migrate.downgrade(cfg.database_url, revision, secret_box=SecretBox.from_settings(cfg))
    click.echo(f"database at revision {revision}")


@db_group.command("current")
def current_cmd() -> None:
    """Show the schema revision the database is at."""
    engine = make_engine(settings().database_url)
    try:
        revisions = migrate.current_revisions(engine)
    finally:
        engine.dispose()
    click.echo(", ".join(sorted(revisions)) or "(empty)")


commands = [db_group]
