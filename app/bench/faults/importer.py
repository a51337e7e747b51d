"""Fault: ``kill -9`` of a ``vigil import`` process in the middle of its write transaction.

A real ``vigil import`` reads a large generated report; the scenario waits until that process holds
the write transaction *and* has started writing findings (SQLite: the write lock is taken and the
WAL has grown; PostgreSQL: an ``INSERT INTO finding`` is running), then sends SIGKILL. Nothing of
the import may be visible afterwards: no run, finding, detection, history, snapshot change or
audit event.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.bench.faults import FaultContext, Outcome
from app.bench.faults.harness import child_env, kill_9, reaped
from app.config import ROOT
from app.db import Database, normalize_url
from app.ingestion.bench_report import write_report
from app.models import Project
from app.services.actor import Actor
from app.services.imports import import_report

NAME = "import killed"
TABLES = (
    "scan_run",
    "finding",
    "finding_detection",
    "finding_status_history",
    "count_snapshot",
    "audit_event",
)


def database_state(url: str) -> dict[str, Any]:
    """Row counts of every table an import writes, plus the findings and snapshots themselves."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            state: dict[str, Any] = {}
            for table in TABLES:  # fixed table names, never input
                query = text(f"SELECT count(*) FROM {table}")  # noqa: S608  # nosec B608
                state[table] = conn.execute(query).scalar()
            state["findings"] = conn.execute(
                text("SELECT id, fingerprint, status, last_seen, last_run_id FROM finding ORDER BY id")
            ).all()
            state["snapshots"] = conn.execute(
                text("SELECT day, scanner, severity, status, count FROM count_snapshot ORDER BY 1, 2, 3, 4")
            ).all()
    finally:
        engine.dispose()
    return state


def sqlite_writing(path: Path, wal_before: int) -> bool:
    """Another process holds the write lock and has already spilled rows into the WAL."""
    wal = path.with_name(path.name + "-wal")
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return wal.exists() and wal.stat().st_size > wal_before + 512 * 1024
    finally:
        conn.close()


def wal_size(url: str) -> int:
    path = Path(make_url(url).database or "")
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


OTHER_BACKENDS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
INSERTING_FINDINGS = OTHER_BACKENDS + " AND query ILIKE 'INSERT INTO finding %'"


def _postgres_count(url: str, query: str) -> int:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(query)).scalar() or 0)
    finally:
        engine.dispose()


def writing_findings(url: str, wal_before: int) -> bool:
    """Some other process is in the middle of writing findings (the moment to kill it)."""
    if make_url(url).get_backend_name() == "sqlite":
        return sqlite_writing(Path(make_url(url).database or ""), wal_before)
    return _postgres_count(url, INSERTING_FINDINGS) > 0


def wait_for_backends_gone(url: str, timeout: float = 30) -> None:
    """PostgreSQL notices a killed client's connection a moment later; its transaction then rolls back."""
    if make_url(url).get_backend_name() == "sqlite":
        return
    deadline = time.monotonic() + timeout
    while _postgres_count(url, OTHER_BACKENDS) and time.monotonic() < deadline:
        time.sleep(0.1)


def run(context: FaultContext) -> Outcome:
    outcome = Outcome(NAME)
    url = context.database_url
    rows = 30_000 if context.quick else 100_000
    database = Database(url)
    try:
        with database.transaction() as session:
            project = Project(name=f"killed-import-{context.workdir.name}"[:100], local_path="/srv/killed")
            session.add(project)
            session.flush()
            baseline = context.workdir / "baseline.sarif"
            write_report(baseline, iter(range(5)))
            import_report(session, Actor.cli(), project.id, baseline)
            name = project.name
    finally:
        database.dispose()
    before = database_state(url)
    report = context.workdir / "large.sarif"
    write_report(report, iter(range(rows)))
    wal_before = wal_size(url) if make_url(url).get_backend_name() == "sqlite" else 0
    command = [
        sys.executable,
        "-c",
        "from app.cli import main; main()",
        "import",
        "--project",
        name,
        str(report),
    ]
    child = subprocess.Popen(  # noqa: S603  # nosec B603 - fixed argv, this interpreter
        command, env=child_env(context), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    with reaped([child]):
        deadline = time.monotonic() + 240
        writing = False
        while time.monotonic() < deadline and child.poll() is None:
            writing = writing_findings(url, wal_before)
            if writing:
                break
            time.sleep(0.05)
        if not outcome.check(
            f"vigil import of {rows:,} findings reached its writes", writing, f"exit {child.poll()}"
        ):
            return outcome
        code = kill_9(child)
    outcome.check("kill -9 ended it", code == -signal.SIGKILL, f"exit {code}")
    wait_for_backends_gone(url)
    after = database_state(url)
    changed = [key for key in before if before[key] != after[key]]
    outcome.check(
        "database exactly as before (runs, findings, detections, history, snapshots, audit)",
        not changed,
        f"changed: {', '.join(changed)}",
    )
    return outcome
