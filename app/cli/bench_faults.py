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
from pathlib import Path

import click

from app.bench.faults import SCENARIOS, FaultContext, Outcome, ScenarioSkipped
from app.migrate import upgrade

SHORT_NAMES = {module.rsplit(".", 1)[1]: module for module in SCENARIOS}


def run_scenarios(names: list[str], database_url: str, work: Path, *, quick: bool) -> list[Outcome | str]:
    """Each scenario's outcome, or the reason it was skipped, in registry order."""
    results: list[Outcome | str] = []
    for name in names:
        module = importlib.import_module(SHORT_NAMES[name])
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        try:
            outcome: Outcome = module.run(FaultContext(database_url, folder, quick=quick))
        except ScenarioSkipped as exc:
            results.append(f"SKIP {module.NAME}: {exc}")
            continue
        outcome.note(f"{time.perf_counter() - started:.0f} s")
        results.append(outcome)
    return results


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
        results = run_scenarios(names, url, work, quick=quick)
    for result in results:
        click.echo(result if isinstance(result, str) else result.summary())
    if any(isinstance(r, Outcome) and not r.passed for r in results):
        raise SystemExit(1)
