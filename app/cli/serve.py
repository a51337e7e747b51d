"""``vigil serve``: the embedded default in one process.

First run: installs the front-end assets, migrates the schema, creates the first admin (one-time
password printed once) and the demo project. Then it serves with gunicorn (one worker, several
threads) and, inside that worker, the in-process scheduler and worker pool.
"""

from __future__ import annotations

import importlib
from typing import Any

import click
from flask import Flask

from app import create_app, migrate
from app.assets import ensure_assets
from app.cli.context import console_actor, database, settings
from app.security.secret_box import SecretBox
from app.services import bootstrap


def start_background(app: Flask) -> None:
    """Start the embedded scheduler and worker pool when that subsystem is installed."""
    try:
        embedded = importlib.import_module("app.scheduler.embedded")
    except ModuleNotFoundError:
        return
    embedded.start_embedded(app)


def prepare() -> bootstrap.FirstRun:
    cfg = settings()
    written = ensure_assets()
    if written:
        click.echo(f"installed front-end assets: {', '.join(written)}")
    if cfg.is_sqlite:
        cfg.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(cfg.database_url, secret_box=SecretBox.from_settings(cfg))
    with database().transaction() as session:
        result = bootstrap.first_run(session, console_actor())
    if result.admin_password:
        click.echo("=" * 72)
        click.echo(f"First run: created admin user {result.admin_username!r}")
        click.echo(f"One-time password (shown once, change it at first login): {result.admin_password}")
        click.echo("=" * 72)
    if result.demo_project_id:
        click.echo(f"registered the demo project (id {result.demo_project_id})")
        queue = _optional("app.services.scans", "queue_initial_scans")
        if queue is not None:
            queue(database(), result.demo_project_id)
    return result


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ModuleNotFoundError, AttributeError):
        return None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Serve pages only; run `vigil scheduler` elsewhere.")
def serve_cmd(host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Set up on first run, then serve the dashboard (embedded default)."""
    prepare()
    from gunicorn.app.base import BaseApplication

    flask_app = create_app(database=database())

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")
            # Path only: a query string may carry a secret someone wrongly put in a URL.
            self.cfg.set("access_log_format", '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s')
            if not no_scheduler:
                self.cfg.set("post_worker_init", lambda _worker: start_background(flask_app))

        def load(self) -> Flask:
            return flask_app

    click.echo(f"Vigil listening on http://{host}:{port}/")
    _Server().run()


commands = [serve_cmd]
