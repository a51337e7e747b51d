"""``vigil bench faults``: kill processes and stop servers mid-work, and check that nothing is lost.

Runs every scenario of :mod:`app.bench.faults` (the test suite runs the same ones, shorter) and
prints one line per scenario: PASS or FAIL, each property checked, and what happened. Exits 1 when
any scenario fails. The database is a fresh SQLite file unless ``--database-url`` names another
(migrated first); scenarios that restart PostgreSQL or stop Redis start private servers of their own.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import click

from app.bench.faults import SCENARIOS, FaultContext, Outcome, ScenarioSkipped
from app.migrate import upgrade

SHORT_NAMES = {module.rsplit(".", 1)[1]: module for module in SCENARIOS}


def run_scenarios(names: list[str], database_url: str, work: Path, *, quick: bool) -> Iterator[Outcome | str]:
    """Each scenario's outcome (or why it was skipped) as soon as it ends, in registry order.

    A scenario that crashes is a failed scenario with the exception as its reason; the others still run.
    """
    for name in names:
        module = importlib.import_module(SHORT_NAMES[name])
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        try:
            outcome: Outcome = module.run(FaultContext(database_url, folder, quick=quick))
        except ScenarioSkipped as exc:
            yield f"SKIP {module.NAME}: {exc}"
            continue
        except Exception as exc:  # noqa: BLE001 - reported as this scenario's failure
            outcome = Outcome(module.NAME)
            outcome.check("scenario ran to its end", False, f"{type(exc).__name__}: {exc}")
        outcome.note(f"{time.perf_counter() - started:.0f} s")
        yield outcome


@click.command("faults")
@click.option("--database-url", default="", help="Database to run on (default: a fresh SQLite file).")
@click.option(
    "--scenario",
    "only",
    multiple=True,
    type=click.Choice(sorted(SHORT_NAMES)),
    help="Run only these scenarios (repeatable).",
)
@click.option("--quick", is_flag=True, help="The short versions the test suite runs.")
def command(database_url: str, only: tuple[str, ...], quick: bool) -> None:
    """kill -9 of a web worker, scheduler, RQ worker, import; PostgreSQL restarted; Redis stopped."""
    names = [name for name in SHORT_NAMES if not only or name in only]
    with tempfile.TemporaryDirectory(prefix="vigil-faults-") as folder:
        work = Path(folder)
        url = database_url or f"sqlite:///{work / 'faults.db'}"
        upgrade(url)
        failed = 0
        for result in run_scenarios(names, url, work, quick=quick):
            click.echo(result if isinstance(result, str) else result.summary())
            failed += isinstance(result, Outcome) and not result.passed
    if failed:
        raise SystemExit(1)
