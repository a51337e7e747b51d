"""The ``vigil`` command: thin click commands over the same services the web uses.

``COMMAND_MODULES`` is the registry: each module exposes ``commands`` (click commands or groups).
Expected failures (``VigilError``) print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from app.errors import VigilError

COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.db_cmds",
    "app.cli.users",
    "app.cli.apikeys",
    "app.cli.audit",
    "app.cli.projects",
    "app.cli.exceptions",
    "app.cli.serve",
    "app.cli.scans",
    "app.cli.scheduler",
    "app.cli.reports",
    "app.cli.gate",
    "app.cli.conformance",
    "app.cli.advisories",
    "app.cli.bench",
    "app.cli.import_cmd",
    "app.cli.dogfood",
)

EXIT_USAGE = 2


class VigilGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VigilError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)


@click.group(cls=VigilGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vigil")
def main() -> None:
    """Vigil: self-hosted security dashboard."""


for _module_name in COMMAND_MODULES:
    for _command in importlib.import_module(_module_name).commands:
        main.add_command(_command)
