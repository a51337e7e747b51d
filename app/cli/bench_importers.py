"""``vigil bench sarif-stream --size-mb N``: stream a generated SARIF report, report time and peak RSS."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from app.scanners.importers import bench as importer_bench


@click.command("sarif-stream")
@click.option("--size-mb", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option(
    "--workdir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Where to write it."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def command(size_mb: int, workdir: Path | None, as_json: bool) -> None:
    """Write a SARIF report of SIZE_MB megabytes and import it with the streaming reader."""
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        result = importer_bench.run(Path(folder), size_mb)
    if as_json:
        click.echo(json.dumps(importer_bench.as_dict(result), sort_keys=True))
        return
    for line in importer_bench.render(result):
        click.echo(line)
