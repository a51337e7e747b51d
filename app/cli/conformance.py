"""``vigil conformance DIR``: import a corpus of real reports and compare with its manifest."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.scanners import conformance


@click.command("conformance")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
def conformance_cmd(corpus: Path, as_json: bool) -> None:
    """Import every report of CORPUS (manifest.json + files) and compare counts and asserted fields.

    Exits 1 when an entry fails without a written reason (app/scanners/conformance_reasons.py).
    """
    outcomes = conformance.run(corpus)
    if as_json:
        click.echo(conformance.render_json(outcomes))
    else:
        for line in conformance.render_text(outcomes):
            click.echo(line)
    if conformance.unexplained(outcomes):
        sys.exit(1)


commands = [conformance_cmd]
