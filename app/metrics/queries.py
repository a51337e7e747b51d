"""SQL aggregates behind the dashboard: every number is computed by the database, never in Python.

The findings table holds a million rows; loading it into a DataFrame takes seconds. Instead each
figure is a *range count* over an index (migration 0006): ``count(*)`` over an index range costs a
few nanoseconds per entry on SQLite, whereas ``GROUP BY`` with per-row expressions costs ten times
more. Several counts go to the database as scalar subqueries of one statement (one round trip).

``scope`` is the set of project ids the actor may see (``None``: all projects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from app.models import Category, CountSnapshot, Finding, FindingStatus, Severity

Scope = frozenset[int] | None
SEVERITIES = tuple(Severity)
CATEGORIES = tuple(Category)


def project_condition(column: Any, scope: Scope) -> ColumnElement[bool]:
    """Restrict a query to the actor's projects (an empty scope matches nothing)."""
    if scope is None:
        return true()
    return column.in_(sorted(scope)) if scope else column.in_([-1])


def _counts(session: Session, conditions: Sequence[ColumnElement[bool]]) -> list[int]:
    """Evaluate ``count(*)`` for each condition in one statement."""
    if not conditions:
        return []
    subqueries = [
        select(func.count()).select_from(Finding).where(cond).scalar_subquery().label(f"c{i}")
        for i, cond in enumerate(conditions)
    ]
    row = session.execute(select(*subqueries)).one()
    return [int(v or 0) for v in row]


def open_by_severity_category(session: Session, scope: Scope) -> pd.DataFrame:
    """Open findings per (severity, category): columns severity, category, count."""
    pairs = [(s, c) for s in SEVERITIES for c in CATEGORIES]
    if scope is not None:
        # A few projects: group their rows, found through the (project, status, severity) index.
        rows = session.execute(
            select(Finding.severity, Finding.category, func.count())
            .where(project_condition(Finding.project_id, scope), Finding.status == FindingStatus.OPEN)
            .group_by(Finding.severity, Finding.category)
        ).all()
        found = {(_value(sev), _value(cat)): int(n) for sev, cat, n in rows}
        counts = [found.get((s.value, c.value), 0) for s, c in pairs]
    else:
        conditions = [
            and_(Finding.status == FindingStatus.OPEN, Finding.severity == s, Finding.category == c)
            for s, c in pairs
        ]
        counts = _counts(session, conditions)
    return pd.DataFrame(
        {"severity": [s.value for s, _ in pairs], "category": [c.value for _, c in pairs], "count": counts}
    )


def _value(item: Any) -> str:
    return str(getattr(item, "value", item))


def overdue_by_severity(
    session: Session, scope: Scope, now: datetime, open_counts: dict[str, int] | None = None
) -> dict[str, int]:
    """Open findings whose SLA due date has passed (paused clocks of accepted risks excluded).

    Most open findings of a mature portfolio are past due, so over all projects the figure is
    counted as its complement: given the open findings per severity (``open_counts``, already
    known from the severity/category grid), only those not yet due or without a due date are
    counted, a small range of the (status, severity, sla_due_at) index instead of nearly all of it.
    """
    if scope is not None:
        rows = session.execute(
            select(Finding.severity, func.count())
            .where(
                project_condition(Finding.project_id, scope),
                Finding.status == FindingStatus.OPEN,
                Finding.sla_due_at < now,
            )
            .group_by(Finding.severity)
        ).all()
        found = {_value(sev): int(n) for sev, n in rows}
        return {s.value: found.get(s.value, 0) for s in SEVERITIES}
    if open_counts is None:
        conditions = [
            and_(Finding.status == FindingStatus.OPEN, Finding.severity == s, Finding.sla_due_at < now)
            for s in SEVERITIES
        ]
        return dict(zip([s.value for s in SEVERITIES], _counts(session, conditions), strict=True))
    # Not yet due, and without a due date: two disjoint index ranges (an OR would collect rowids).
    not_due = [
        and_(Finding.status == FindingStatus.OPEN, Finding.severity == s, Finding.sla_due_at >= now)
        for s in SEVERITIES
    ] + [
        and_(Finding.status == FindingStatus.OPEN, Finding.severity == s, Finding.sla_due_at.is_(None))
        for s in SEVERITIES
    ]
    pending = _counts(session, not_due)
    return {
        s.value: open_counts.get(s.value, 0) - pending[i] - pending[i + len(SEVERITIES)]
        for i, s in enumerate(SEVERITIES)
    }


def week_starts(now: datetime, weeks: int) -> list[datetime]:
    """Monday 00:00 UTC of each of the last ``weeks`` weeks (the current one included), oldest first."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def new_and_fixed_per_week(session: Session, scope: Scope, now: datetime, weeks: int = 12) -> pd.DataFrame:
    """Findings first seen / fixed in each week: columns week, new, fixed."""
    starts = week_starts(now, weeks)
    in_scope = project_condition(Finding.project_id, scope)
    bounds = [(start, start + timedelta(weeks=1)) for start in starts]
    # With a scope these ranges run on the (project, first_seen) / (project, fixed_at) indexes.
    new = [and_(in_scope, Finding.first_seen >= a, Finding.first_seen < b) for a, b in bounds]
    fixed = [and_(in_scope, Finding.fixed_at >= a, Finding.fixed_at < b) for a, b in bounds]
    counts = _counts(session, new + fixed)
    return pd.DataFrame({"week": [s.date() for s in starts], "new": counts[:weeks], "fixed": counts[weeks:]})


def _as_days(session: Session, column: Any) -> Any:
    """A timestamp as a (fractional) day number, in the dialect's own arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(column)
    return func.extract("epoch", column) / 86400.0


@dataclass(frozen=True)
class FixTimes:
    severity: str
    fixed: int
    total_days: float


def fix_times(session: Session, scope: Scope, since: datetime) -> list[FixTimes]:
    """Per severity: how many findings were fixed since ``since`` and their summed time to fix.

    Sums of each timestamp (not of differences) let the database stay on a covering index.
    """
    fixed_days = func.sum(_as_days(session, Finding.fixed_at))
    seen_days = func.sum(_as_days(session, Finding.first_seen))
    found: dict[str, tuple[int, float]] = {}
    if scope is not None:
        rows = session.execute(
            select(Finding.severity, func.count(), fixed_days, seen_days)
            .where(project_condition(Finding.project_id, scope), Finding.fixed_at >= since)
            .group_by(Finding.severity)
        ).all()
        for sev, count, fixed_sum, seen_sum in rows:
            found[_value(sev)] = (int(count or 0), float(fixed_sum or 0) - float(seen_sum or 0))
    else:
        for severity in SEVERITIES:
            count, fixed_sum, seen_sum = session.execute(
                select(func.count(), fixed_days, seen_days).where(
                    Finding.severity == severity, Finding.fixed_at >= since
                )
            ).one()
            found[severity.value] = (int(count or 0), float(fixed_sum or 0) - float(seen_sum or 0))
    return [
        FixTimes(s.value, found.get(s.value, (0, 0.0))[0], max(found.get(s.value, (0, 0.0))[1], 0.0))
        for s in SEVERITIES
    ]


def snapshot_series(session: Session, scope: Scope, days: Sequence[date]) -> pd.DataFrame:
    """Open counts from the daily snapshots on the given days: columns day, scanner, severity, count."""
    if not days:
        return pd.DataFrame(columns=["day", "scanner", "severity", "count"])
    stmt = (
        select(
            CountSnapshot.day,
            CountSnapshot.scanner,
            CountSnapshot.severity,
            func.sum(CountSnapshot.count),
        )
        .where(
            CountSnapshot.status == FindingStatus.OPEN,
            CountSnapshot.day.in_(list(days)),
            project_condition(CountSnapshot.project_id, scope),
        )
        .group_by(CountSnapshot.day, CountSnapshot.scanner, CountSnapshot.severity)
    )
    rows = session.execute(stmt).all()
    return pd.DataFrame(
        [(r[0], r[1], getattr(r[2], "value", r[2]), int(r[3] or 0)) for r in rows],
        columns=["day", "scanner", "severity", "count"],
    )
