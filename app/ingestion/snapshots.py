"""The day's count snapshot of a project, written by ingestion itself (never by ORM events).

Trend charts read these rows instead of the findings table. Each import replaces the project's rows
for the day with fresh aggregates, so the last import of a day is what the day shows, and a
combination that dropped to zero is removed rather than left at a stale count.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.models import CountSnapshot, Finding


def write_snapshot(session: Session, project_id: int, day: date) -> int:
    """Replace ``project_id``'s snapshot rows for ``day``; returns how many rows were written."""
    counts = session.execute(
        select(Finding.scanner, Finding.category, Finding.severity, Finding.status, func.count())
        .where(Finding.project_id == project_id)
        .group_by(Finding.scanner, Finding.category, Finding.severity, Finding.status)
    ).all()
    session.execute(
        delete(CountSnapshot).where(CountSnapshot.project_id == project_id, CountSnapshot.day == day)
    )
    rows = [
        {
            "project_id": project_id,
            "day": day,
            "scanner": scanner,
            "category": category,
            "severity": severity,
            "status": status,
            "count": count,
        }
        for scanner, category, severity, status, count in counts
    ]
    if rows:
        session.execute(insert(CountSnapshot), rows)
    return len(rows)
