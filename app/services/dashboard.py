"""The portfolio dashboard's use case: every figure for the actor's projects, in one call.

Numbers come from SQL range counts and the daily snapshots (:mod:`app.metrics.queries`), shaped by
pure functions (:mod:`app.metrics.trends`); nothing loads the findings table into memory, so the
page costs the same with a thousand findings or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.metrics import queries, trends
from app.models import ExceptionState, Project, RiskException, RunStatus, ScanRun, utcnow
from app.services import scan_health
from app.services.actor import Actor
from app.services.figure_cache import FigureCache, data_version
from app.services.permissions import require
from app.services.scan_health import HealthFlag

EXPIRY_HORIZON_DAYS = 30
MTTR_WINDOW_DAYS = 90
WEEKS = 12
SCANNER_ORDER = ("bandit", "ruff", "semgrep", "detect-secrets", "pip-audit", "osv")


class DashboardError(VigilError, ValueError):
    """Bad dashboard parameters (an unsupported window)."""


@dataclass(frozen=True)
class Dashboard:
    window: int
    scope: frozenset[int] | None
    figures: Figures
    cached: bool
    # (open counts, history): which parts came from the cache.
    cached_parts: tuple[bool, bool]
    expiring: list[tuple[RiskException, str]]
    failed_runs: list[tuple[ScanRun, str]]
    failed_total: int
    generated_at: datetime

    def __getattr__(self, name: str) -> Any:
        # The figures' fields read as the dashboard's own (data.open_total, data.by_severity, ...).
        return getattr(self.figures, name)

    @property
    def overdue_total(self) -> int:
        return sum(self.figures.overdue.values())


def parse_window(raw: str | None) -> int:
    if not raw:
        return trends.WINDOWS[0]
    if not raw.isdigit() or int(raw) not in trends.WINDOWS:
        raise DashboardError(f"'days' must be one of {', '.join(map(str, trends.WINDOWS))}")
    return int(raw)


def expiring_exceptions(
    session: Session, scope: frozenset[int] | None, now: datetime, days: int = EXPIRY_HORIZON_DAYS
) -> list[tuple[RiskException, str]]:
    """Active exceptions that expire within ``days``, soonest first, with their project's name."""
    stmt = (
        select(RiskException, Project.name)
        .outerjoin(Project, Project.id == RiskException.project_id)
        .where(
            RiskException.state == ExceptionState.ACTIVE,
            RiskException.expires_at >= now,
            RiskException.expires_at < now + timedelta(days=days),
        )
        .order_by(RiskException.expires_at)
        .limit(50)
    )
    if scope is not None:
        stmt = stmt.where(
            or_(RiskException.project_id.in_(sorted(scope) or [-1]), RiskException.project_id.is_(None))
        )
    return [(exc, name or "all projects") for exc, name in session.execute(stmt).all()]


FAILED = (RunStatus.FAILED, RunStatus.TIMED_OUT)
FAILURE_WINDOW_DAYS = 7


def recent_failures(
    session: Session, scope: frozenset[int] | None, now: datetime
) -> tuple[list[tuple[ScanRun, str]], int]:
    """Runs that failed or timed out in the last week: the latest few and how many in all."""
    where = [ScanRun.status.in_(FAILED), ScanRun.queued_at >= now - timedelta(days=FAILURE_WINDOW_DAYS)]
    if scope is not None:
        where.append(ScanRun.project_id.in_(sorted(scope) or [-1]))
    total = int(session.scalar(select(func.count()).select_from(ScanRun).where(*where)) or 0)
    latest = session.execute(
        select(ScanRun, Project.name)
        .join(Project, Project.id == ScanRun.project_id)
        .where(*where)
        .order_by(ScanRun.queued_at.desc())
        .limit(5)
    ).all()
    return [(run, name) for run, name in latest], total


def health_flags(session: Session, actor: Actor, *, advisory_max_age_days: int) -> list[HealthFlag]:
    """Failed, skipped, overdue and silent-zero scans (the scheduler's health service).

    It walks every project's recent runs, so the dashboard loads it as a separate fragment after
    the page itself: the numbers above never wait for it.
    """
    require(actor, "dashboard.view")
    return scan_health.scan_health(session, actor, advisory_max_age_days=advisory_max_age_days)


@dataclass(frozen=True)
class OpenFigures:
    """Open findings now: they move with every triage, exception decision and import.

    "Past its SLA" is not among them: it moves with the clock, so it is counted on every view, as
    these open counts minus the few findings not yet due (a small index range).
    """

    categories: list[str]
    open_rows: list[tuple[str, list[int], int]]
    open_total: int


@dataclass(frozen=True)
class HistoryFigures:
    """When findings appeared and were fixed, and the daily snapshots: only scans and imports move
    these (a triage or an exception changes a status, never ``first_seen``, ``fixed_at`` or a
    snapshot), so a day of triage does not recount them."""

    weekly: list[tuple[str, str, int, int]]
    fix_rows: list[trends.FixSummary]
    fix_overall: float | None
    fix_since: date
    by_severity: trends.Trend
    by_scanner: trends.Trend


@dataclass(frozen=True)
class Figures(HistoryFigures, OpenFigures):
    """The costly part of the dashboard: plain data, safe to share between requests."""

    overdue: dict[str, int]
    computed_at: datetime


# Entries are exact while their version holds (the history is also keyed by its day); the
# lifetime is only a safety net for a write that would bypass the audit log.
SAFETY_SECONDS = 900.0
OPEN: FigureCache[OpenFigures] = FigureCache(ttl_seconds=SAFETY_SECONDS)
HISTORY: FigureCache[HistoryFigures] = FigureCache(ttl_seconds=SAFETY_SECONDS)
# Audit objects whose events change statuses only: they leave HistoryFigures as they are.
STATUS_ONLY_OBJECTS = ("finding", "exception")


def clear_caches() -> None:
    """Forget every cached figure (the benchmark's "recomputed from scratch")."""
    OPEN.clear()
    HISTORY.clear()


def compute_open(session: Session, scope: frozenset[int] | None) -> OpenFigures:
    grid = queries.open_by_severity_category(session, scope)
    categories, rows = trends.severity_category_table(grid)
    return OpenFigures(
        categories=categories,
        open_rows=rows,
        open_total=int(grid["count"].sum()) if not grid.empty else 0,
    )


def overdue_now(
    session: Session, scope: frozenset[int] | None, open_figures: OpenFigures, now: datetime
) -> dict[str, int]:
    """Past-due counts at ``now``: the open counts minus the findings not yet due (a small range)."""
    open_counts = {severity: total for severity, _, total in open_figures.open_rows}
    return queries.overdue_by_severity(session, scope, now, open_counts)


def compute_history(
    session: Session, scope: frozenset[int] | None, window: int, now: datetime
) -> HistoryFigures:
    weekly = queries.new_and_fixed_per_week(session, scope, now, WEEKS)
    # From the start of a day, so the count matches the findings list's day-based filter exactly.
    fix_since = datetime.combine((now - timedelta(days=MTTR_WINDOW_DAYS)).date(), time.min, tzinfo=UTC)
    fix_rows, fix_overall = trends.mean_time_to_fix(queries.fix_times(session, scope, fix_since))
    days = trends.sample_days(window, now.date())
    series = queries.snapshot_series(session, scope, days)
    return HistoryFigures(
        weekly=[
            (week.isoformat(), (week + timedelta(days=6)).isoformat(), int(new), int(fixed))
            for week, new, fixed in weekly.itertuples(index=False)
        ],
        fix_rows=fix_rows,
        fix_overall=fix_overall,
        fix_since=fix_since.date(),
        by_severity=trends.trend(series, days, "severity", trends.SEVERITY_ORDER),
        by_scanner=trends.trend(series, days, "scanner", SCANNER_ORDER),
    )


def _combine(
    session: Session,
    scope: frozenset[int] | None,
    open_figures: OpenFigures,
    history: HistoryFigures,
    now: datetime,
) -> Figures:
    overdue = overdue_now(session, scope, open_figures, now)
    return Figures(**vars(open_figures), overdue=overdue, **vars(history), computed_at=now)


def compute_figures(session: Session, scope: frozenset[int] | None, window: int, now: datetime) -> Figures:
    """Every figure from the database, no cache."""
    open_figures = compute_open(session, scope)
    return _combine(session, scope, open_figures, compute_history(session, scope, window, now), now)


def portfolio(
    session: Session,
    actor: Actor,
    window: int = 30,
    now: datetime | None = None,
    *,
    cache: bool = True,
) -> Dashboard:
    """The dashboard for the actor's projects; figures come from the caches while nothing changed.

    Open counts and history are cached apart, each with its own version: after a triage only the
    open counts are counted again.
    """
    require(actor, "dashboard.view")
    if window not in trends.WINDOWS:
        raise DashboardError(f"'days' must be one of {', '.join(map(str, trends.WINDOWS))}")
    now = now or utcnow()
    scope = actor.project_ids
    if not cache:
        figures, cached = compute_figures(session, scope, window, now), (False, False)
    else:
        open_figures, open_cached = OPEN.get_or_compute(
            scope, data_version(session), lambda: compute_open(session, scope)
        )
        # The current week, the fix-time window and the sampled days follow the date.
        history, history_cached = HISTORY.get_or_compute(
            (scope, window, now.date()),
            data_version(session, status_only=STATUS_ONLY_OBJECTS),
            lambda: compute_history(session, scope, window, now),
        )
        figures = _combine(session, scope, open_figures, history, now)
        cached = (open_cached, history_cached)
    failed, failed_total = recent_failures(session, scope, now)
    return Dashboard(
        window=window,
        scope=scope,
        figures=figures,
        cached=all(cached),
        cached_parts=cached,
        expiring=expiring_exceptions(session, scope, now),
        failed_runs=failed,
        failed_total=failed_total,
        generated_at=now,
    )
