"""Processes die, nothing is lost: each fault scenario of ``vigil bench faults``, short version.

The scenarios live in ``app/bench/faults/`` so this suite and the benchmark assert the same checks;
each starts real processes (gunicorn, ``vigil scheduler``, ``vigil worker``, ``vigil import``) and,
where it restarts or stops a server, its own private PostgreSQL cluster or Redis server.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from app.bench.faults import FaultContext, Outcome, ScenarioSkipped


def run_scenario(module: str, database_url: str, tmp_path: Path) -> Outcome:
    context = FaultContext(database_url=database_url, workdir=tmp_path, quick=True)
    try:
        outcome: Outcome = importlib.import_module(f"app.bench.faults.{module}").run(context)
    except ScenarioSkipped as exc:
        pytest.skip(str(exc))
    assert outcome.passed, outcome.summary()
    return outcome


def test_rq_worker_killed_mid_scan_fails_the_run_and_loses_no_finding(
    database_url: str, tmp_path: Path
) -> None:
    outcome = run_scenario("rq_worker", database_url, tmp_path)
    assert any("findings identical" in check.what for check in outcome.checks)


def test_scheduler_killed_while_dispatching_queues_the_due_run_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    run_scenario("scheduler", database_url, tmp_path)


def test_postgres_restart_mid_scan_loses_nothing_and_everything_reconnects(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Brings its own PostgreSQL cluster (``sqlite_url`` is unused: one run per pass is enough)."""
    run_scenario("postgres_restart", sqlite_url, tmp_path)


def test_redis_stopped_pages_still_served_sign_in_fails_closed_scan_not_lost(
    database_url: str, tmp_path: Path
) -> None:
    run_scenario("redis_down", database_url, tmp_path)


def test_gunicorn_worker_killed_mid_import_is_respawned_and_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    run_scenario("web_worker", database_url, tmp_path)


def test_vigil_bench_faults_prints_one_line_per_scenario_and_its_verdict() -> None:
    from click.testing import CliRunner

    from app.cli import main

    result = CliRunner().invoke(main, ["bench", "faults", "--quick", "--scenario", "redis_down"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()  # JSON logs of the scenario go to stderr
    assert len(lines) == 1 and lines[0].startswith("PASS Redis stopped: signed-in user's pages still served")
