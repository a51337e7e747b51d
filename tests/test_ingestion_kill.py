"""kill -9 in the middle of an import leaves the database exactly as it was (SQLite and PostgreSQL).

A real ``vigil import`` process imports a large generated report; the test waits until that process
holds its write transaction *and* has started writing findings, then sends SIGKILL. Nothing of the
import may be visible afterwards: no run, no finding, no detection, no history, no snapshot change,
no audit event.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import Database, normalize_url
from app.ingestion.bench_report import write_report
from app.models import Project
from app.services.actor import Actor
from app.services.imports import import_report
from tests.conftest import TEST_SECRET
from tests.ingestion_helpers import sarif_report

LARGE = 30_000
TABLES = (
    "scan_run",
    "finding",
    "finding_detection",
    "finding_status_history",
    "count_snapshot",
    "audit_event",
)


def _state(url: str) -> dict[str, Any]:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            state: dict[str, Any] = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES
            }
            state["findings"] = conn.execute(
                text("SELECT id, fingerprint, status, last_seen, last_run_id FROM finding ORDER BY id")
            ).all()
            state["snapshots"] = conn.execute(
                text("SELECT day, scanner, severity, status, count FROM count_snapshot ORDER BY 1, 2, 3, 4")
            ).all()
    finally:
        engine.dispose()
    return state


def _sqlite_writing(path: Path, wal_before: int) -> bool:
    """The import holds the write lock and has already spilled rows into the WAL."""
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


def _postgres_writing(url: str) -> bool:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND query ILIKE 'INSERT INTO finding %'"
                )
            ).scalar()
    finally:
        engine.dispose()
    return bool(found)


def _postgres_backends(url: str) -> int:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()


def test_kill_9_mid_import_leaves_database_unchanged(database_url: str, tmp_path: Path) -> None:
    database = Database(database_url)
    try:
        with database.transaction() as s:
            project = Project(name="killed", local_path="/srv/killed")
            s.add(project)
            s.flush()
            baseline = sarif_report(tmp_path / "base.sarif", [("python.eval", "a.py", 3, "eval(x)")])
            import_report(s, Actor.cli(), project.id, baseline)
    finally:
        database.dispose()
    before = _state(database_url)
    report = tmp_path / "large.sarif"
    write_report(report, iter(range(LARGE)))
    env = {
        **os.environ,
        "VIGIL_ENV": "test",
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"),
        "VIGIL_SECRET_KEY": TEST_SECRET,
        "VIGIL_WORK_DIR": str(tmp_path / "work"),
    }
    sqlite_path = None
    wal_before = 0
    if make_url(database_url).get_backend_name() == "sqlite":
        sqlite_path = Path(make_url(database_url).database or "")
        wal = sqlite_path.with_name(sqlite_path.name + "-wal")
        wal_before = wal.stat().st_size if wal.exists() else 0
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from app.cli import main; main()",
            "import",
            "--project",
            "killed",
            str(report),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        writing = False
        while time.monotonic() < deadline and child.poll() is None:
            writing = (
                _sqlite_writing(sqlite_path, wal_before) if sqlite_path else _postgres_writing(database_url)
            )
            if writing:
                break
            time.sleep(0.05)
        assert writing, f"the import never reached its writes (exit {child.poll()})"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    if sqlite_path is None:
        deadline = time.monotonic() + 30
        while _postgres_backends(database_url) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert _state(database_url) == before
