"""Realistic bulk data for benchmarks: projects, findings with history, runs and daily snapshots.

Everything goes through SQLAlchemy Core ``insert()`` with lists of dicts in large chunks (the ORM
is an order of magnitude slower for this). The data is deterministic for a given seed so two runs
of a benchmark measure the same thing.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from app.db import Database
from app.models import CountSnapshot, Finding, FindingStatusHistory, Project, RunStatus, ScanRun

SCANNERS = ("bandit", "ruff", "semgrep", "detect-secrets", "osv")
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_WEIGHTS = (2, 10, 30, 40, 18)
CATEGORY = {
    "bandit": "security",
    "ruff": "quality",
    "semgrep": "security",
    "detect-secrets": "secret",  # pragma: allowlist secret - a category name
    "osv": "dependency",
}
RULES = [f"B{n}" for n in range(101, 120)] + [f"S{n}" for n in range(301, 330)] + ["SIM102", "B904"]
CHUNK = 20_000


@dataclass(frozen=True)
class SeedSummary:
    projects: int
    findings: int
    snapshots: int
    history: int


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(
    database: Database,
    *,
    projects: int = 200,
    findings: int = 1_000_000,
    days: int = 365,
    with_history: bool = True,
    fixed_ratio: float = 0.35,
    seed_value: int = 7,
    now: datetime | None = None,
) -> SeedSummary:
    """Fill an empty, migrated database; returns what was written."""
    rng = random.Random(seed_value)  # noqa: S311 - reproducible benchmark data, not secrets
    now = now or datetime.now(UTC)
    start = now - timedelta(days=days)
    with database.transaction() as session:
        session.execute(
            insert(Project),
            [
                {
                    "name": f"service-{i:03d}",
                    "local_path": f"/srv/repos/service-{i:03d}",
                    "enabled_scanners": list(SCANNERS),
                    "created_at": start,
                    "updated_at": start,
                }
                for i in range(projects)
            ],
        )
        project_ids = [
            row[0] for row in session.execute(Project.__table__.select().with_only_columns(Project.id))
        ]
        session.execute(
            insert(ScanRun),
            [
                {
                    "project_id": pid,
                    "scanner": scanner,
                    "status": RunStatus.SUCCEEDED,
                    "complete": True,
                    "queued_at": now - timedelta(hours=6),
                    "started_at": now - timedelta(hours=6),
                    "finished_at": now - timedelta(hours=5),
                }
                for pid in project_ids
                for scanner in SCANNERS
            ],
        )
    history_rows = 0
    written = 0
    with database.transaction() as session:
        for batch in _chunks(_finding_rows(rng, project_ids, findings, start, now, days, fixed_ratio)):
            session.execute(insert(Finding), batch)
            written += len(batch)
    if with_history:
        with database.transaction() as session:
            ids = session.execute(
                Finding.__table__.select().with_only_columns(
                    Finding.id, Finding.first_seen, Finding.status, Finding.fixed_at
                )
            )
            for batch in _chunks(_history_rows(ids)):
                session.execute(insert(FindingStatusHistory), batch)
                history_rows += len(batch)
    snapshots = 0
    with database.transaction() as session:
        for batch in _chunks(_snapshot_rows(rng, project_ids, now, days)):
            session.execute(insert(CountSnapshot), batch)
            snapshots += len(batch)
    return SeedSummary(len(project_ids), written, snapshots, history_rows)


def _finding_rows(
    rng: random.Random,
    project_ids: list[int],
    count: int,
    start: datetime,
    now: datetime,
    days: int,
    fixed_ratio: float,
) -> Iterator[dict[str, Any]]:
    for n in range(count):
        scanner = SCANNERS[n % len(SCANNERS)]
        severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
        first_seen = start + timedelta(seconds=rng.randrange(days * 86400))
        fixed = rng.random() < fixed_ratio
        fixed_at = min(now, first_seen + timedelta(days=rng.randrange(1, 90))) if fixed else None
        path = f"src/pkg{n % 97}/module_{n % 1013}.py"
        yield {
            "project_id": project_ids[n % len(project_ids)],
            "fingerprint": hashlib.sha256(f"{n}".encode()).hexdigest(),
            "scanner": scanner,
            "rule_id": RULES[n % len(RULES)],
            "tool_rule_id": RULES[n % len(RULES)],
            "category": CATEGORY[scanner],
            "severity": severity,
            "confidence": "high",
            "title": f"{RULES[n % len(RULES)]} issue in module {n % 1013}",
            "message": "Generated benchmark finding",
            "path": path,
            "line": 1 + n % 800,
            "status": "fixed" if fixed else "open",
            "first_seen": first_seen,
            "last_seen": fixed_at or now,
            "fixed_at": fixed_at,
            "status_changed_at": fixed_at or first_seen,
            "sla_due_at": first_seen + timedelta(days=30),
            "cwe": [78] if n % 3 == 0 else [],
            "advisory_ids": [],
            "fixed_versions": [],
            "extras": {},
        }


def _history_rows(rows: Any) -> Iterator[dict[str, Any]]:
    for fid, first_seen, status, fixed_at in rows:
        yield {
            "finding_id": fid,
            "from_status": None,
            "to_status": "open",
            "changed_at": first_seen,
            "actor": "system",
            "reason": "first seen",
        }
        if str(getattr(status, "value", status)) == "fixed" and fixed_at is not None:
            yield {
                "finding_id": fid,
                "from_status": "open",
                "to_status": "fixed",
                "changed_at": fixed_at,
                "actor": "system",
                "reason": "no longer reported",
            }


def _snapshot_rows(
    rng: random.Random, project_ids: list[int], now: datetime, days: int
) -> Iterator[dict[str, Any]]:
    today = now.date()
    for pid in project_ids:
        base = {s: rng.randrange(1, 40) for s in SEVERITIES}
        for d in range(days, -1, -1):
            day = today - timedelta(days=d)
            for scanner in ("bandit", "osv"):
                for severity in SEVERITIES:
                    yield {
                        "project_id": pid,
                        "day": day,
                        "scanner": scanner,
                        "category": CATEGORY[scanner],
                        "severity": severity,
                        "status": "open",
                        "count": max(0, base[severity] + (d % 17) - 8),
                    }
