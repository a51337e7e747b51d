"""Exports and compliance reports: scope checks, rendering, and a fingerprint for each export.

Each export's SHA-256 is written to the audit log (object ``report``/<sha256>), so
``vigil report verify FILE`` can later say whether a file is an unaltered Vigil export, when it
was made and by whom.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import AuditEvent, Project
from app.reports import EXPORTERS
from app.reports.compliance import ComplianceData, as_of_end, build_compliance
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import NotFound, require

MAX_PERIOD_DAYS = 3660
EARLIEST_YEAR = 2000  # nothing Vigil records predates this; also keeps date arithmetic in range


class ReportError(VigilError, ValueError):
    """Bad report parameters (unknown format, future date, unknown project)."""


@dataclass(frozen=True)
class ExportResult:
    filename: str
    media_type: str
    content: bytes
    sha256: str
    audit_event_id: int


@dataclass(frozen=True)
class Verification:
    genuine: bool
    sha256: str
    exported_at: datetime | None = None
    exported_by: str | None = None
    report_format: str | None = None


def resolve_scope(session: Session, actor: Actor, project_refs: Sequence[str | int] | None) -> list[int]:
    """Project ids in scope: all the actor may see, or the named ones (unknown or hidden → 404)."""
    require(actor, "report.export")
    visible = select(Project.id, Project.name).order_by(Project.name)
    if actor.project_ids is not None:
        visible = visible.where(Project.id.in_(actor.project_ids))
    rows = session.execute(visible).all()
    if not project_refs:
        return [r.id for r in rows]
    by_id = {r.id: r.id for r in rows}
    by_name = {r.name: r.id for r in rows}
    chosen = []
    for ref in project_refs:
        pid = by_id.get(int(ref)) if str(ref).isdigit() else by_name.get(str(ref))
        if pid is None:
            raise NotFound()
        chosen.append(pid)
    return sorted(set(chosen))


def compliance_data(
    session: Session,
    actor: Actor,
    project_refs: Sequence[str | int] | None = None,
    *,
    as_of: date | datetime | None = None,
    period_days: int = 30,
) -> ComplianceData:
    if not 1 <= period_days <= MAX_PERIOD_DAYS:
        raise ReportError(f"period must be between 1 and {MAX_PERIOD_DAYS} days")
    moment = as_of_end(as_of)
    if moment.date() > datetime.now(UTC).date():
        raise ReportError("a report cannot be made as of a future date")
    if moment.year < EARLIEST_YEAR:
        raise ReportError(f"a report cannot be made as of a date before {EARLIEST_YEAR}")
    return build_compliance(
        session, resolve_scope(session, actor, project_refs), moment, period_days=period_days
    )


def export(
    session: Session,
    actor: Actor,
    fmt: str,
    project_refs: Sequence[str | int] | None = None,
    *,
    as_of: date | datetime | None = None,
    period_days: int = 30,
) -> ExportResult:
    """Render one export and record its SHA-256 in the audit log (same transaction)."""
    exporter = EXPORTERS.get(fmt)
    if exporter is None:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORTERS)}")
    data = compliance_data(session, actor, project_refs, as_of=as_of, period_days=period_days)
    content = exporter.render(data)
    digest = hashlib.sha256(content).hexdigest()
    scope = (
        "portfolio" if not project_refs else re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(data.projects))[:60]
    )
    filename = f"vigil-{scope}-{data.as_of.strftime('%Y%m%d')}.{exporter.extension}"
    event = audit.record(
        session,
        actor,
        "report_export",
        object_type="report",
        object_id=digest,
        after={
            "format": fmt,
            "sha256": digest,
            "filename": filename,
            "projects": data.projects,
            "as_of": data.as_of.isoformat(),
            "bytes": len(content),
        },
    )
    return ExportResult(filename, exporter.media_type, content, digest, event.id)


def verify(session: Session, content: bytes) -> Verification:
    """Is this file byte-for-byte an export Vigil recorded?"""
    digest = hashlib.sha256(content).hexdigest()
    event = session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.action == "report_export",
            AuditEvent.object_type == "report",
            AuditEvent.object_id == digest,
        )
        .order_by(AuditEvent.id)
        .limit(1)
    )
    if event is None:
        return Verification(False, digest)
    fmt = (event.after or {}).get("format")
    return Verification(True, digest, event.at, event.actor, fmt)
