"""Inline suppressions: ``# nosec``, ``# noqa: S…``, ``nosemgrep``, ``pragma: allowlist secret``.

Each is an exception nobody approved and nobody will be reminded of. Scanners report the ones
they saw (``ScanResult.suppressions``); this module stores them per scan run, so a project
page can list the current ones and show whether their number grows. A project can switch them
off (``ignore_inline_suppressions``), after which each needs a real, expiring exception.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models import InlineSuppression, Project, ScanRun
from app.scanners.suppressions import PATTERNS
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import NotFound, require, require_project

# The scanners' own definition of each kind: one set of patterns for counting and classifying.
KINDS = tuple(PATTERNS)
MAX_PER_RUN = 50_000


def classify(comment: str) -> str | None:
    """Which kind of suppression a source comment is, or None for an ordinary comment."""
    for kind, pattern in PATTERNS.items():
        if pattern.search(comment):
            return kind
    return None


def _field(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


def record_inline_suppressions(session: Session, run: ScanRun, items: Iterable[Any]) -> int:
    """Store a run's suppressions (objects or mappings with path, line and kind or comment text)."""
    rows = []
    for item in items:
        comment = str(_field(item, "comment", "") or _field(item, "text", "") or "")[:500]
        kind = _field(item, "kind") or classify(comment)
        path = str(_field(item, "path", "") or "")
        line = _field(item, "line")
        if kind not in KINDS or not path or not isinstance(line, int):
            continue
        rows.append(
            {
                "project_id": run.project_id,
                "scan_run_id": run.id,
                "scanner": run.scanner,
                "kind": kind,
                "path": path[:1024],
                "line": line,
                "comment": comment,
                "recorded_at": run.finished_at or run.started_at or run.queued_at,
            }
        )
        if len(rows) >= MAX_PER_RUN:
            break
    if rows:
        session.execute(insert(InlineSuppression), rows)
    return len(rows)


@dataclass(frozen=True)
class SuppressionSummary:
    project: Project
    current: list[InlineSuppression]
    by_kind: dict[str, int]
    trend: list[tuple[date, int]]


def _latest_runs(session: Session, project_id: int) -> list[int]:
    """The newest run of each scanner that recorded suppressions: together, the current picture."""
    stmt = (
        select(func.max(InlineSuppression.scan_run_id))
        .where(InlineSuppression.project_id == project_id)
        .group_by(InlineSuppression.scanner)
    )
    return [r for r in session.scalars(stmt) if r is not None]


def _trend(session: Session, project_id: int) -> list[tuple[date, int]]:
    stmt = (
        select(
            InlineSuppression.scan_run_id,
            InlineSuppression.scanner,
            func.min(InlineSuppression.recorded_at),
            func.count(),
        )
        .where(InlineSuppression.project_id == project_id)
        .group_by(InlineSuppression.scan_run_id, InlineSuppression.scanner)
        .order_by(InlineSuppression.scan_run_id)
    )
    # Per day, the last run of each scanner counts; days are summed over scanners.
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for _run_id, scanner, at, count in session.execute(stmt):
        per_day[at.date()][scanner] = count
    return [(day, sum(counts.values())) for day, counts in sorted(per_day.items())]


def project_summary(session: Session, actor: Actor, project_id: int) -> SuppressionSummary:
    require(actor, "project.view")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound()
    require_project(actor, project.id)
    runs = _latest_runs(session, project.id)
    current = list(
        session.scalars(
            select(InlineSuppression)
            .where(InlineSuppression.scan_run_id.in_(runs))
            .order_by(InlineSuppression.path, InlineSuppression.line)
        )
    )
    by_kind = {kind: 0 for kind in KINDS}
    for row in current:
        by_kind[row.kind] = by_kind.get(row.kind, 0) + 1
    return SuppressionSummary(project, current, by_kind, _trend(session, project.id))


def set_ignore_inline(session: Session, actor: Actor, project_id: int, ignore: bool) -> Project:
    """Make the scanners ignore inline comments for this project (admins only: it changes results)."""
    require(actor, "project.manage")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound()
    before = project.ignore_inline_suppressions
    project.ignore_inline_suppressions = ignore
    session.flush()
    audit.record(
        session,
        actor,
        "project_ignore_inline_suppressions",
        object_type="project",
        object_id=project.id,
        before={"ignore_inline_suppressions": before},
        after={"ignore_inline_suppressions": ignore},
    )
    return project
