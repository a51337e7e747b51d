"""Metrics: pure trend functions, and SQL aggregates that agree whichever strategy computes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from app.metrics import queries, trends
from tests.finding_helpers import add_finding, add_project, add_snapshot

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday


def test_sample_days_keep_charts_to_about_sixty_points() -> None:
    today = date(2026, 11, 18)
    assert trends.sample_days(30, today) == [today - timedelta(days=n) for n in range(29, -1, -1)]
    for window in (90, 365):
        days = trends.sample_days(window, today)
        assert days[-1] == today and len(days) <= trends.MAX_POINTS
        assert days[0] >= today - timedelta(days=window)


def test_trend_repeats_the_last_value_over_gaps_and_starts_at_the_first_snapshot() -> None:
    days = [date(2026, 1, d) for d in range(1, 6)]
    frame = pd.DataFrame(
        [
            (date(2026, 1, 2), "bandit", "high", 4),
            (date(2026, 1, 2), "osv", "high", 1),
            (date(2026, 1, 2), "osv", "critical", 2),
            (date(2026, 1, 4), "bandit", "high", 3),
        ],
        columns=["day", "scanner", "severity", "count"],
    )
    by_severity = trends.trend(frame, days, "severity", trends.SEVERITY_ORDER)
    assert list(by_severity.series) == ["critical", "high"]
    # Starts at the first snapshot (Jan 2); Jan 3 has none and repeats Jan 2.
    assert by_severity.days == days[1:]
    assert by_severity.series["high"] == [5, 5, 3, 3]
    assert by_severity.series["critical"] == [2, 2, 0, 0]
    assert by_severity.latest == {"critical": 0, "high": 3}
    assert by_severity.datasets[0] == {"label": "critical", "data": [2, 2, 0, 0]}
    empty = trends.trend(frame.iloc[0:0], days, "scanner", ("bandit",))
    assert empty.series == {"bandit": [0] * 5}


def test_mean_time_to_fix_weights_by_count() -> None:
    rows, overall = trends.mean_time_to_fix(
        [
            queries.FixTimes("high", 2, 10.0),
            queries.FixTimes("low", 0, 0.0),
            queries.FixTimes("info", 1, 20.0),
        ]
    )
    assert [(r.severity, r.mean_days) for r in rows] == [("high", 5.0), ("low", None), ("info", 20.0)]
    assert overall == 10.0
    assert trends.mean_time_to_fix([queries.FixTimes("high", 0, 0.0)]) == (
        [trends.FixSummary("high", 0, None)],
        None,
    )


def test_queries_agree_between_portfolio_and_project_strategies(session: Session) -> None:
    a, b, c = add_project(session), add_project(session), add_project(session)
    for project, k in ((a, 1), (b, 2), (c, 3)):
        for n in range(k * 3):
            add_finding(
                session,
                project,
                severity=["critical", "high", "low"][n % 3],
                category=["security", "dependency"][n % 2],
                status=["open", "open", "fixed"][n % 3],
                first_seen=NOW - timedelta(days=2 + 5 * n),
                fixed_at=(NOW - timedelta(days=1 + n)) if n % 3 == 2 else None,
                sla_due_at=NOW - timedelta(days=1) if n % 2 else NOW + timedelta(days=5),
            )
        add_snapshot(session, project, NOW.date(), 5 * k)
        add_snapshot(session, project, NOW.date() - timedelta(days=1), 4 * k, scanner="osv", severity="low")
    add_finding(session, c, severity="high", first_seen=NOW - timedelta(days=40))  # no SLA due date
    session.commit()
    everyone = frozenset({a.id, b.id, c.id})
    # The range-count strategy (all projects) and the grouped strategy (named projects) agree.
    assert queries.open_by_severity_category(session, None).equals(
        queries.open_by_severity_category(session, everyone)
    )
    assert queries.overdue_by_severity(session, None, NOW) == queries.overdue_by_severity(
        session, everyone, NOW
    )
    # Counted as "open minus not yet due" from the grid's open counts: the same numbers.
    grid = queries.open_by_severity_category(session, None)
    open_counts = {str(k): int(v) for k, v in grid.groupby("severity")["count"].sum().items()}
    assert queries.overdue_by_severity(session, None, NOW, open_counts) == queries.overdue_by_severity(
        session, everyone, NOW
    )
    assert queries.new_and_fixed_per_week(session, None, NOW, 8).equals(
        queries.new_and_fixed_per_week(session, everyone, NOW, 8)
    )
    since = NOW - timedelta(days=90)
    assert _rounded(queries.fix_times(session, None, since)) == _rounded(
        queries.fix_times(session, everyone, since)
    )
    # And the numbers are right: project a has 3 findings, 2 open and 1 fixed.
    grid = queries.open_by_severity_category(session, frozenset({a.id}))
    assert int(grid["count"].sum()) == 2
    weekly = queries.new_and_fixed_per_week(session, frozenset({a.id}), NOW, 8)
    assert int(weekly["new"].sum()) == 3 and int(weekly["fixed"].sum()) == 1
    times = {t.severity: t for t in queries.fix_times(session, frozenset({a.id}), NOW - timedelta(days=90))}
    assert times["low"].fixed == 1 and abs(times["low"].total_days - 9.0) < 0.01  # seen 12 days ago, fixed 3
    series = queries.snapshot_series(session, frozenset({b.id}), [NOW.date() - timedelta(days=1), NOW.date()])
    assert sorted(series["count"].tolist()) == [8, 10]
    assert queries.snapshot_series(session, frozenset(), [NOW.date()]).empty


def _rounded(times: list[queries.FixTimes]) -> list[tuple[str, int, float]]:
    """Sums of day numbers may differ in the last float bits between strategies."""
    return [(t.severity, t.fixed, round(t.total_days, 6)) for t in times]


def test_an_actor_without_projects_sees_zeros(session: Session) -> None:
    project = add_project(session)
    add_finding(session, project, first_seen=NOW - timedelta(days=3), fixed_at=NOW - timedelta(days=1))
    add_snapshot(session, project, NOW.date(), 7)
    session.commit()
    nobody: frozenset[int] = frozenset()
    assert int(queries.open_by_severity_category(session, nobody)["count"].sum()) == 0
    assert sum(queries.overdue_by_severity(session, nobody, NOW).values()) == 0
    weekly = queries.new_and_fixed_per_week(session, nobody, NOW, 4)
    assert weekly["new"].tolist() == [0, 0, 0, 0] and weekly["fixed"].tolist() == [0, 0, 0, 0]
    assert all(t.fixed == 0 for t in queries.fix_times(session, nobody, NOW - timedelta(days=90)))
    assert queries.snapshot_series(session, nobody, [NOW.date()]).empty
