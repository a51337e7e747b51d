"""The CI gate: may this build pass?

Only open findings block: accepted risks (approved exceptions), false positives and fixed findings
never do. A baseline ratchet lets a team adopt the gate on an old codebase: with ``new_since``,
only findings first seen after the chosen scan block.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import Finding, FindingStatus, Project, RunStatus, ScanRun, Severity
from app.models.base import SEVERITY_RANK
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import NotFound, require, require_project

BASELINE_KEY = "gate_baseline_run_id"
MAX_LISTED = 200


class GateError(VigilError, ValueError):
    """Bad gate parameters."""


class NoBaseline(GateError):
    """``new_since=baseline`` on a project that has none yet (a state conflict, not bad syntax)."""


@dataclass(frozen=True)
class BlockingFinding:
    id: int
    severity: str
    rule_id: str
    title: str
    path: str | None
    line: int | None
    package: str | None
    first_seen: datetime


@dataclass(frozen=True)
class GateResult:
    project: str
    passed: bool
    fail_on: str
    new_since_run_id: int | None
    blocking_count: int
    blocking: list[BlockingFinding]

    def as_dict(self) -> dict[str, object]:
        return {
            "project": self.project,
            "result": "pass" if self.passed else "fail",
            "fail_on": self.fail_on,
            "new_since_run_id": self.new_since_run_id,
            "blocking_count": self.blocking_count,
            "blocking": [{**f.__dict__, "first_seen": f.first_seen.isoformat()} for f in self.blocking],
        }


def parse_threshold(value: str) -> Severity:
    try:
        return Severity(value.strip().lower())
    except ValueError:
        raise GateError(
            f"fail_on must be one of {', '.join(s.value for s in Severity)}, got {value!r}"
        ) from None


def _baseline_run(session: Session, project: Project, new_since: str | None) -> ScanRun | None:
    if new_since is None or new_since == "":
        return None
    if new_since == "baseline":
        run_id = (project.settings or {}).get(BASELINE_KEY)
        if run_id is None:
            raise NoBaseline(f"project {project.name!r} has no gate baseline; set one first")
    elif new_since.isdigit() and len(new_since) <= 10:
        run_id = int(new_since)
    else:
        raise GateError("new_since must be 'baseline' or a scan run id")
    run = session.get(ScanRun, int(run_id))
    if run is None or run.project_id != project.id:
        raise NotFound()
    return run


def evaluate(
    session: Session, actor: Actor, project_id: int, fail_on: str = "high", new_since: str | None = None
) -> GateResult:
    require(actor, "gate.check")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound()
    require_project(actor, project.id)
    threshold = parse_threshold(fail_on)
    blocking_levels = [s for s in Severity if SEVERITY_RANK[s] >= SEVERITY_RANK[threshold]]
    baseline = _baseline_run(session, project, new_since)
    stmt = select(Finding).where(
        Finding.project_id == project.id,
        Finding.status == FindingStatus.OPEN,
        Finding.severity.in_(blocking_levels),
    )
    if baseline is not None:
        cutoff = baseline.finished_at or baseline.started_at or baseline.queued_at
        stmt = stmt.where(Finding.first_seen > cutoff)
    rows = session.scalars(stmt.order_by(Finding.id)).all()
    rows = sorted(rows, key=lambda f: (-SEVERITY_RANK[Severity(f.severity)], f.id))
    blocking = [
        BlockingFinding(
            f.id, Severity(f.severity).value, f.rule_id, f.title, f.path, f.line, f.package, f.first_seen
        )
        for f in rows[:MAX_LISTED]
    ]
    return GateResult(
        project.name, not rows, threshold.value, baseline.id if baseline else None, len(rows), blocking
    )


def set_baseline(session: Session, actor: Actor, project_id: int, run_id: int | None = None) -> ScanRun:
    """Make a scan the gate's baseline (default: the project's latest successful run)."""
    require(actor, "project.manage")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound()
    if run_id is None:
        run = session.scalar(
            select(ScanRun)
            .where(ScanRun.project_id == project.id, ScanRun.status == RunStatus.SUCCEEDED)
            .order_by(ScanRun.finished_at.desc(), ScanRun.id.desc())
            .limit(1)
        )
        if run is None:
            raise GateError(f"project {project.name!r} has no successful scan to use as a baseline")
    else:
        run = session.get(ScanRun, run_id)
        if run is None or run.project_id != project.id:
            raise GateError(f"scan run {run_id} does not belong to project {project.name!r}")
    before = (project.settings or {}).get(BASELINE_KEY)
    project.settings = {**(project.settings or {}), BASELINE_KEY: run.id}
    audit.record(
        session,
        actor,
        "gate_baseline_set",
        object_type="project",
        object_id=project.id,
        before={"run_id": before},
        after={"run_id": run.id},
    )
    return run
