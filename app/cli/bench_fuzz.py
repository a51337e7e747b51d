"""``vigil bench fuzz --examples N``: the importer fuzz targets, run long (CI runs them briefly).

The targets are hypothesis tests in ``tests/test_report_fuzz.py`` (hypothesis is a test dependency,
so they stay with the tests); this command runs them from a source checkout with N examples each.
"""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs this interpreter's pytest on a fixed file, argument list only
import sys
import time

import click

from app.config import ROOT
from app.errors import VigilError

TARGETS = ROOT / "tests" / "test_report_fuzz.py"


@click.command("fuzz")
@click.option(
    "--examples", type=click.IntRange(min=1), default=2000, show_default=True, help="Examples per target."
)
def command(examples: int) -> None:
    """Run every importer fuzz target with EXAMPLES examples; exit 1 on any unhandled exception."""
    if not TARGETS.is_file():
        raise VigilError(
            f"{TARGETS} not found: run this from a source checkout with the test extras installed"
        )
    started = time.perf_counter()
    env = dict(os.environ, VIGIL_FUZZ_EXAMPLES=str(examples))
    done = subprocess.run(  # noqa: S603  # nosec B603 - fixed argument list
        [sys.executable, "-m", "pytest", str(TARGETS), "-q", "-p", "no:cacheprovider"],
        env=env,
        cwd=ROOT,
        check=False,
    )
    seconds = time.perf_counter() - started
    click.echo(f"fuzz: {examples:,} examples per target in {seconds:,.0f} s, exit {done.returncode}")
    if done.returncode:
        sys.exit(1)
