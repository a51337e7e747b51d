"""Pure functions over small frames: trend tables, mean time to fix, the sampled days of a window.

Nothing here touches the database, so each function is tested with hand-made frames. The frames
come from :mod:`app.metrics.queries` and hold at most a few thousand rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from app.metrics.queries import FixTimes

WINDOWS = (30, 90, 365)
MAX_POINTS = 60
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def sample_days(window: int, today: date) -> list[date]:
    """The days drawn for a window: daily up to 60 points, then every n-th day, ending today.

    A year of daily points per series is more than a chart can show; sampling keeps the query to
    about 60 snapshot days whatever the window.
    """
    if window < 1:
        raise ValueError("window must be at least one day")
    step = max(1, math.ceil(window / MAX_POINTS))
    return sorted(today - timedelta(days=offset) for offset in range(0, window, step))


@dataclass(frozen=True)
class Trend:
    """A small table: one row per sampled day, one column per series."""

    days: list[date]
    series: dict[str, list[int]]

    @property
    def labels(self) -> list[str]:
        return [d.isoformat() for d in self.days]

    def rows(self) -> list[tuple[str, list[int]]]:
        keys = list(self.series)
        return [(label, [self.series[k][i] for k in keys]) for i, label in enumerate(self.labels)]

    @property
    def datasets(self) -> list[dict[str, object]]:
        """Chart.js-shaped series (label + data), for a ``data-chart`` attribute."""
        return [{"label": k, "data": v} for k, v in self.series.items()]

    @property
    def latest(self) -> dict[str, int]:
        return {k: (v[-1] if v else 0) for k, v in self.series.items()}


def trend(frame: pd.DataFrame, days: Sequence[date], by: str, order: Sequence[str] = ()) -> Trend:
    """Sum ``count`` per day and ``by`` column; a day without any snapshot repeats the day before.

    Snapshots are written when scans run; a night without scans (server down) would otherwise
    show as a drop to zero, which reads as "everything fixed". The frame holds a few thousand
    rows, so plain dictionaries do this faster than a pandas pivot (which costs milliseconds of
    fixed overhead per call on every recomputed dashboard).
    """
    days = list(days)
    if frame.empty:
        keys = list(order)
        return Trend(days, {k: [0] * len(days) for k in keys})
    totals: dict[date, dict[Any, int]] = {}
    for day, key, count in zip(
        frame["day"].tolist(), frame[by].tolist(), frame["count"].tolist(), strict=True
    ):
        row = totals.setdefault(day, {})
        row[key] = row.get(key, 0) + int(count)
    columns = {key for row in totals.values() for key in row}
    # The chart starts at the first snapshot (before it nothing is known, which is not "zero");
    # gaps after it repeat the last value.
    first = min(totals)
    days = [d for d in days if d >= first] or days[-1:]
    present = [k for k in order if k in columns] + sorted(c for c in columns if c not in order)
    series: dict[str, list[int]] = {str(k): [] for k in present}
    last: dict[Any, int] = {}
    for day in days:
        if day in totals:
            last = {k: totals[day].get(k, 0) for k in present}
        for k in present:
            series[str(k)].append(last.get(k, 0))
    return Trend(days, series)


@dataclass(frozen=True)
class FixSummary:
    severity: str
    fixed: int
    mean_days: float | None


def mean_time_to_fix(times: Sequence[FixTimes]) -> tuple[list[FixSummary], float | None]:
    """Mean days from first seen to fixed, per severity and overall (None when nothing was fixed)."""
    rows = [
        FixSummary(t.severity, t.fixed, round(t.total_days / t.fixed, 1) if t.fixed else None) for t in times
    ]
    fixed = sum(t.fixed for t in times)
    overall = round(sum(t.total_days for t in times) / fixed, 1) if fixed else None
    return rows, overall


def severity_category_table(frame: pd.DataFrame) -> tuple[list[str], list[tuple[str, list[int], int]]]:
    """Open counts as (categories, [(severity, counts per category, row total)]) for a grid."""
    if frame.empty:
        return [], []
    cells: dict[tuple[Any, Any], int] = {}
    for severity, category, count in zip(
        frame["severity"].tolist(), frame["category"].tolist(), frame["count"].tolist(), strict=True
    ):
        cells[(severity, category)] = cells.get((severity, category), 0) + int(count)
    columns = sorted({category for _, category in cells})
    present = {severity for severity, _ in cells}
    rows = []
    for severity in [s for s in SEVERITY_ORDER if s in present]:
        counts = [cells.get((severity, c), 0) for c in columns]
        rows.append((severity, counts, sum(counts)))
    return [str(c) for c in columns], rows
