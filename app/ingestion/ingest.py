"""Turn one run's findings into changes to the living record: new, unchanged, reopened, fixed, accepted.

The shape is Lemur's source sync: upsert what is seen, close what is not, return counts. Everything
happens in the caller's transaction, so an import lands completely or not at all; the caller owns
commit and rollback. Rows move through SQLAlchemy Core statements in bulk (one upsert
``ON CONFLICT (project_id, fingerprint)`` for every seen finding), never one ORM object per finding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.ingestion import store
from app.ingestion.fingerprint import Identified, alias_group, fingerprints, package_key
from app.ingestion.locks import lock_project
from app.ingestion.snapshots import write_snapshot
from app.ingestion.suppression import ExceptionMatcher
from app.models import FindingStatus, Project, RunStatus, ScanRun, utcnow
from app.scanners.base import NormalizedFinding
from app.services import audit
from app.services.actor import Actor

OPEN, FIXED, ACCEPTED, FALSE_POSITIVE = (
    FindingStatus.OPEN.value,
    FindingStatus.FIXED.value,
    FindingStatus.ACCEPTED.value,
    FindingStatus.FALSE_POSITIVE.value,
)
LIVE = (OPEN, ACCEPTED)
# Only a run that finished its work may close findings: anything else may simply have missed them.
CLOSING_STATUSES = (RunStatus.RUNNING, RunStatus.SUCCEEDED)
INLINE_REASON = "suppressed in the source (inline comment or tool suppression)"
INLINE_GONE = "no longer suppressed in the source"


@dataclass(frozen=True)
class IngestSummary:
    """What one run changed. ``new``, ``unchanged`` and ``reopened`` split the report's distinct
    findings; ``fixed`` counts findings closed; ``suppressed`` counts reported findings that ended up
    accepted (an exception or an inline suppression), whichever of the first three they are in."""

    new: int = 0
    unchanged: int = 0
    reopened: int = 0
    fixed: int = 0
    suppressed: int = 0
    total: int = 0
    closed_nothing: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _origin(category: str) -> str:
    return category if category in ("dependency", "secret") else "code"


def _sla_due(project: Project, severity: str, start: datetime) -> datetime | None:
    days = (project.sla_days or {}).get(severity)
    return start + timedelta(days=int(days)) if isinstance(days, int | float) and days > 0 else None


def _row(f: NormalizedFinding, fingerprint: str, project_id: int) -> dict[str, Any]:
    extras = dict(f.extras)
    if f.end_line is not None:
        extras.setdefault("end_line", f.end_line)
    row = {
        "project_id": project_id,
        "fingerprint": fingerprint,
        "scanner": f.scanner[:64],
        "rule_id": f.rule_id[:255],
        "tool_rule_id": f.tool_rule_id[:255],
        "category": f.category,
        "severity": f.severity,
        "confidence": f.confidence[:32] if f.confidence else None,
        "title": (f.title or f.rule_id)[:500],
        "message": f.message or "",
        "path": f.path[:1024] if f.path else None,
        "line": f.line,
        "column": f.column,
        "snippet": f.snippet,
        "cwe": list(f.cwe),
        "advisory_ids": list(f.advisory_ids),
        "package": f.package[:255] if f.package else None,
        "installed_version": f.installed_version[:120] if f.installed_version else None,
        "fixed_versions": list(f.fixed_versions),
        "origin": _origin(f.category),
        "extras": extras,
    }
    shown = [
        row[name]
        for name in store.DISPLAY_COLUMNS
        if name not in ("last_seen", "last_run_id", "display_hash")
    ]
    row["display_hash"] = hashlib.blake2b(orjson.dumps(shown, default=str), digest_size=16).hexdigest()
    return row


def _merge_alias_groups(items: list[Identified], existing: store.Existing) -> None:
    """A dependency finding whose advisory gained or lost an alias is still the same finding.

    Its fingerprint is the group's preferred id; when that id changed (a CVE assigned to a GHSA, say),
    any shared alias in the same package finds the finding already on record.
    """
    taken = {item.fingerprint for item in items}
    for item in items:
        f = item.finding
        if item.fingerprint in existing.rows or not f.package or not f.advisory_ids:
            continue
        pkg = package_key(f.package)
        for advisory in sorted({a.upper() for a in f.advisory_ids}, key=lambda a: a != alias_group([a])):
            match = existing.by_alias.get((pkg, advisory))
            if match is not None and match not in taken:
                taken.add(match)
                item.fingerprint = match
                break


def ingest(
    session: Session,
    scan_run: ScanRun,
    findings: Iterable[NormalizedFinding],
    *,
    checkout: Path | None = None,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> IngestSummary:
    """Apply ``scan_run``'s findings to its project's living record, in the caller's transaction.

    ``scan_run`` must be flushed (it has an id). A run that is not ``complete`` or did not succeed
    adds and updates what it saw but closes nothing. Writes the run's counts, status-history rows,
    the day's count snapshot and one audit event.
    """
    now = now or utcnow()
    project = session.get(Project, scan_run.project_id)
    if project is None:
        raise ValueError(f"scan run {scan_run.id} points at a missing project")
    lock_project(session, project.id)
    store.prepare(session)
    items = fingerprints(list(findings), checkout)
    existing = store.load_existing(session, project.id)
    _merge_alias_groups(items, existing)
    matcher = ExceptionMatcher.load(session, project.id, now)
    plan = store.Plan(run_id=scan_run.id, project_id=project.id, now=now)
    unaccept: list[tuple[store.ExistingRow, int | None]] = []
    new = unchanged = reopened = suppressed = 0
    for item in items:
        f = item.finding
        row = _row(f, item.fingerprint, project.id)
        old = existing.rows.get(item.fingerprint)
        exc_id = matcher.match(
            old.id if old else None, f.rule_id, f.tool_rule_id, f.path, f.package, f.advisory_ids
        )
        accepted = exc_id is not None or f.suppressed
        target = ACCEPTED if accepted else OPEN
        # The insert half of the upsert: only used when the finding is new.
        row.update(
            last_seen=now,
            last_run_id=scan_run.id,
            status=target,
            first_seen=now,
            first_run_id=scan_run.id,
            status_changed_at=now,
            fixed_at=None,
            reopen_count=0,
            sla_due_at=_sla_due(project, f.severity, now),
            sla_paused_at=now if accepted else None,
            exception_id=exc_id,
        )
        plan.rows.append(row)
        plan.detections[item.fingerprint] = item.detections
        if old is None:
            new += 1
            if accepted:
                plan.history_for_new(item.fingerprint, None, ACCEPTED, _reason(exc_id), exc_id)
        elif old.status == FALSE_POSITIVE:
            unchanged += 1  # a triage decision outlives every reimport
            continue
        elif old.status == FIXED:
            reopened += 1
            plan.changes.append(
                {
                    "b_id": old.id,
                    "status": target,
                    "status_changed_at": now,
                    "fixed_at": None,
                    "reopen_count": old.reopen_count + 1,
                    "sla_due_at": row["sla_due_at"],
                    "sla_paused_at": row["sla_paused_at"],
                    "exception_id": exc_id,
                }
            )
            reason = "reported again after being fixed" + (f"; {_reason(exc_id)}" if accepted else "")
            plan.history(old.id, FIXED, target, reason, exc_id)
        else:
            unchanged += 1
            if target == ACCEPTED and old.status == ACCEPTED and exc_id != old.exception_id:
                plan.changes.append({"b_id": old.id, "exception_id": exc_id})
                plan.history(old.id, ACCEPTED, ACCEPTED, _reason(exc_id), exc_id)
            elif target == ACCEPTED and old.status != ACCEPTED:
                plan.changes.append(
                    {"b_id": old.id, "status": ACCEPTED, "status_changed_at": now, "exception_id": exc_id}
                )
                plan.history(old.id, old.status, ACCEPTED, _reason(exc_id), exc_id)
            elif target == OPEN and old.status == ACCEPTED:
                unaccept.append((old, exc_id))
        if target == ACCEPTED:
            suppressed += 1
    if unaccept:
        _give_back(session, plan, unaccept)
    store.write_seen(session, plan, existing)
    closes = scan_run.complete and RunStatus(scan_run.status) in CLOSING_STATUSES
    fixed = 0
    if closes:
        scanners = {scan_run.scanner} | {s for item in items for s in item.detections}
        fixed = store.close_missing(session, plan, existing, scanners)
    store.write_history(session, plan)
    write_snapshot(session, project.id, now.date())
    summary = IngestSummary(
        new=new,
        unchanged=unchanged,
        reopened=reopened,
        fixed=fixed,
        suppressed=suppressed,
        total=len(items),
        closed_nothing=not closes,
    )
    _record_counts(scan_run, summary)
    audit.record(
        session,
        actor or Actor.system("ingestion"),
        "scan_ingest",
        object_type="scan_run",
        object_id=scan_run.id,
        after={"project_id": project.id, "scanner": scan_run.scanner, **summary.as_dict()},
    )
    return summary


def _reason(exc_id: int | None) -> str:
    return f"accepted under exception #{exc_id}" if exc_id is not None else INLINE_REASON


def _give_back(session: Session, plan: store.Plan, rows: list[tuple[store.ExistingRow, int | None]]) -> None:
    """Accepted findings whose exception expired or went away are open again, SLA clock resumed."""
    sla = store.load_sla(session, [old.id for old, _ in rows])
    for old, _ in rows:
        due, paused = sla.get(old.id, (None, None))
        if due is not None and paused is not None:
            due = due + (plan.now - paused)
        plan.changes.append(
            {
                "b_id": old.id,
                "status": OPEN,
                "status_changed_at": plan.now,
                "exception_id": None,
                "sla_due_at": due,
                "sla_paused_at": None,
            }
        )
        why = f"exception #{old.exception_id} no longer in force" if old.exception_id else INLINE_GONE
        plan.history(old.id, ACCEPTED, OPEN, why, old.exception_id)


def _record_counts(run: ScanRun, summary: IngestSummary) -> None:
    run.count_total = summary.total
    run.count_new = summary.new
    run.count_unchanged = summary.unchanged
    run.count_reopened = summary.reopened
    run.count_fixed = summary.fixed
    run.count_suppressed = summary.suppressed
