"""Small, explicit data for findings and dashboard tests: projects, findings, runs and snapshots."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from app.models import CountSnapshot, Finding, Project, ScanRun, utcnow

_seq = count(1)


def add_project(session: Session, name: str | None = None, **fields: Any) -> Project:
    project = Project(name=name or f"proj-{next(_seq)}", local_path="/srv/none", **fields)
    session.add(project)
    session.flush()
    return project


def add_finding(session: Session, project: Project, **fields: Any) -> Finding:
    n = next(_seq)
    now = utcnow()
    values: dict[str, Any] = {
        "project_id": project.id,
        "fingerprint": hashlib.sha256(f"f{n}".encode()).hexdigest(),
        "scanner": "bandit",
        "rule_id": "B602",
        "tool_rule_id": "B602",
        "category": "security",
        "severity": "high",
        "title": f"Finding {n}",
        "message": "subprocess call with shell=True",
        "path": f"src/app/module{n}.py",
        "line": 10,
        "first_seen": now - timedelta(days=10),
        "last_seen": now - timedelta(minutes=n),
    }
    values.update(fields)
    finding = Finding(**values)
    session.add(finding)
    session.flush()
    return finding


def add_run(session: Session, project: Project, **fields: Any) -> ScanRun:
    values: dict[str, Any] = {"project_id": project.id, "scanner": "bandit", "status": "succeeded"}
    values.update(fields)
    run = ScanRun(**values)
    session.add(run)
    session.flush()
    return run


def add_snapshot(
    session: Session,
    project: Project,
    day: date,
    count_: int,
    *,
    scanner: str = "bandit",
    severity: str = "high",
) -> None:
    session.add(
        CountSnapshot(
            project_id=project.id,
            day=day,
            scanner=scanner,
            category="security",
            severity=severity,
            status="open",
            count=count_,
        )
    )
    session.flush()


def days_ago(n: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=n)
