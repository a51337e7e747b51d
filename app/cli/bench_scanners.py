"""``vigil bench scanners [DIR]``: run each scanner Vigil runs on a folder, under the normal runner.

Reports per scanner the outcome, the number of results, the tool's own run time, the wall time
including the suppression count, and the peak RSS of the tool's processes (sampled by the runner
from /proc every half second; a tool finishing sooner shows 0), so the nightly budget and memory
limit of a project can be set before it is scheduled. Defaults to the demo project shipped with Vigil.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from app.cli.context import settings
from app.scanners.registry import SCANNERS, ScanOptions
from app.scanners.runner import MiB

DEMO = Path(__file__).resolve().parent.parent / "demo" / "sample_project"
SUBPROCESS_SCANNERS = ("bandit", "ruff", "semgrep", "detect-secrets", "mypy", "pip-audit")


@click.command("scanners")
@click.argument(
    "directory",
    required=False,
    type=click.Path(exists=True, file_okay=False, resolve_path=True, path_type=Path),
)
@click.option("--scanner", "names", multiple=True, help="Only this scanner (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def command(directory: Path | None, names: tuple[str, ...], as_json: bool) -> None:
    """Time each scanner on DIRECTORY (default: the demo project)."""
    target = directory or DEMO
    chosen = names or tuple(n for n in SUBPROCESS_SCANNERS if n in SCANNERS)
    unknown = [n for n in chosen if n not in SCANNERS]
    if unknown:
        raise click.BadParameter(f"unknown scanner {unknown[0]!r}", param_hint="--scanner")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as folder:
        for name in chosen:
            options = ScanOptions.from_settings(settings(), work_dir=Path(folder) / name)
            started = time.perf_counter()
            result = SCANNERS[name].run(target, options)
            rows.append(
                {
                    "scanner": name,
                    "outcome": result.outcome.value,
                    "results": len(result.findings),
                    "suppressions": len(result.suppressions),
                    "tool_seconds": round(result.duration_seconds, 2),
                    "wall_seconds": round(time.perf_counter() - started, 2),
                    "peak_rss_mb": round(result.peak_rss_bytes / MiB, 1),
                    "tool_version": result.tool_version,
                    "error": result.error,
                }
            )
    if as_json:
        click.echo(json.dumps({"directory": str(target), "scanners": rows}, sort_keys=True))
        return
    click.echo(f"scanners on {target}")
    for row in rows:
        line = (
            f"{row['scanner']:<15} {row['outcome']:<9} {row['results']:>5} results"
            f"  tool {row['tool_seconds']:>7.2f} s  wall {row['wall_seconds']:>7.2f} s"
            f"  peak RSS {row['peak_rss_mb']:>6.1f} MB  ({row['tool_version']})"
        )
        if row["error"]:
            line += f"  error: {str(row['error'])[:120]}"
        click.echo(line)
