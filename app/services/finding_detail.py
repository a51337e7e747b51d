"""Everything the detail page shows about one finding, gathered in one call.

Code context is read from the project's checkout only when the path resolves inside it (no
``..``, no symlink escape, bounded size); otherwise the snippet the scanner stored is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.ingestion.store import implicit_detection
from app.models import (
    Finding,
    FindingDetection,
    FindingStatusHistory,
    Project,
    RiskException,
    ScanRun,
)
from app.models.advisory import Advisory
from app.services.actor import Actor
from app.services.findings import get_finding

CONTEXT_LINES = 5
MAX_SOURCE_BYTES = 2_000_000


@dataclass(frozen=True)
class CodeLine:
    number: int
    text: str
    hit: bool


@dataclass
class FindingDetail:
    finding: Finding
    project: Project
    history: list[FindingStatusHistory]
    detections: list[FindingDetection]
    runs: list[ScanRun]
    exceptions: list[RiskException]
    advisories: list[Advisory]
    code: list[CodeLine] = field(default_factory=list)
    code_source: str = ""


def _source_lines(project: Project, finding: Finding) -> list[CodeLine]:
    if not project.local_path or not finding.path or not finding.line:
        return []
    root = Path(project.local_path).resolve()
    try:
        target = (root / finding.path).resolve()
        if (
            not target.is_relative_to(root)
            or not target.is_file()
            or target.stat().st_size > MAX_SOURCE_BYTES
        ):
            return []
        lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    start = max(1, finding.line - CONTEXT_LINES)
    end = min(len(lines), finding.line + CONTEXT_LINES)
    return [CodeLine(n, lines[n - 1], n == finding.line) for n in range(start, end + 1)]


def _snippet_lines(finding: Finding) -> list[CodeLine]:
    if not finding.snippet:
        return []
    first = finding.line or 1
    return [CodeLine(first + i, text, i == 0) for i, text in enumerate(finding.snippet.splitlines()[:40])]


def finding_detail(session: Session, actor: Actor, finding_id: int) -> FindingDetail:
    finding = get_finding(session, actor, finding_id)
    project = session.get(Project, finding.project_id)
    assert project is not None  # a finding's project is removed with it (ON DELETE CASCADE)
    history = list(
        session.scalars(
            select(FindingStatusHistory)
            .where(FindingStatusHistory.finding_id == finding.id)
            .order_by(FindingStatusHistory.changed_at.desc(), FindingStatusHistory.id.desc())
            .limit(200)
        )
    )
    detections = list(
        session.scalars(select(FindingDetection).where(FindingDetection.finding_id == finding.id))
    )
    if not detections:  # reported by its own scanner alone: no rows (see app/ingestion/store.py)
        detections = [implicit_detection(finding)]
    run_ids: set[int] = {r for r in (finding.first_run_id, finding.last_run_id) if r}
    for d in detections:
        run_ids.update(r for r in (d.first_run_id, d.last_run_id) if r)
    run_ids.update(h.scan_run_id for h in history if h.scan_run_id)
    runs = list(
        session.scalars(select(ScanRun).where(ScanRun.id.in_(run_ids)).order_by(ScanRun.queued_at.desc()))
    )
    exception_ids = {finding.exception_id} | {h.exception_id for h in history}
    exceptions = list(
        session.scalars(
            select(RiskException)
            .where(
                or_(
                    RiskException.finding_id == finding.id,
                    RiskException.id.in_([i for i in exception_ids if i]),
                )
            )
            .order_by(RiskException.requested_at.desc())
        )
    )
    advisories: list[Advisory] = []
    if finding.advisory_ids:
        advisories = list(
            session.scalars(select(Advisory).where(Advisory.osv_id.in_(list(finding.advisory_ids)[:50])))
        )
    code = _source_lines(project, finding)
    source = "repository" if code else "scanner"
    if not code:
        code = _snippet_lines(finding)
    return FindingDetail(
        finding, project, history, detections, runs, exceptions, advisories, code, source if code else ""
    )


def advisory_summary(advisory: Advisory) -> dict[str, Any]:
    return {
        "id": advisory.osv_id,
        "aliases": list(advisory.aliases or []),
        "summary": advisory.summary,
        "severity": advisory.severity,
        "fixed_versions": list(advisory.fixed_versions or []),
    }
