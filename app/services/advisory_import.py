"""Importing OSV records into the advisory store, incrementally and in one transaction.

A record is written only when it is new or its ``modified`` time moved forward, so re-importing the
same nightly zip is cheap and says "nothing changed" (and then nothing is re-evaluated). Records
that affect no PyPI package are ignored unless the store already holds them (an advisory moved to
another ecosystem must stop matching). Malformed records are skipped and counted, with the first
problems kept on the import row; a source that is unsafe as a whole (zip bomb, path traversal,
oversized) is refused before anything is written. All writes are Core statements in bulk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app.advisories.osv import AdvisoryError, OsvRecord, parse_record
from app.advisories.sources import Limits, iter_documents
from app.models import AdvisoryImport, Base, ExceptionScope, ExceptionState, Finding, RiskException, utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.permissions import require

MAX_KEPT_PROBLEMS = 20
MAX_REPORTED_PROBLEMS = 100
CHUNK = 2000
ADVISORY = Base.metadata.tables["advisory"]
ADVISORY_PACKAGE = Base.metadata.tables["advisory_package"]


@dataclass
class ImportSummary:
    import_id: int
    source: str
    records_seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    ignored: int = 0
    rejected: int = 0
    newest_modified: datetime | None = None
    problems: list[str] = field(default_factory=list)
    # id (and aliases) -> fixed versions that appeared in this import for an already known advisory
    gained_fixes: dict[str, list[str]] = field(default_factory=dict)
    # Packages whose advisories changed: only projects depending on them can see different results.
    changed_packages: set[str] = field(default_factory=set)
    # Active exceptions flagged for review because their advisory gained a fixed version.
    flagged_exceptions: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _collect(path: Path, limits: Limits | None, summary: ImportSummary) -> dict[str, OsvRecord]:
    records: dict[str, OsvRecord] = {}
    for document in iter_documents(path, limits):
        summary.records_seen += 1
        try:
            if document.problem is not None:
                raise AdvisoryError(document.problem)
            record = parse_record(document.data, document.origin)
        except AdvisoryError as exc:
            summary.rejected += 1
            if len(summary.problems) < MAX_REPORTED_PROBLEMS:
                summary.problems.append(str(exc))
            continue
        known = records.get(record.id)
        if known is None or record.modified > known.modified:
            records[record.id] = record
    return records


def _row(record: OsvRecord, import_id: int, now: datetime) -> dict[str, Any]:
    return {
        "osv_id": record.id,
        "aliases": list(record.aliases),
        "modified": record.modified,
        "published": record.published,
        "withdrawn": record.withdrawn,
        "summary": record.summary,
        "severity": record.severity,
        "severity_source": record.severity_source,
        "affected": [a.as_json() for a in record.affected],
        "fixed_versions": sorted(record.fixed_versions),
        "imported_at": now,
        "import_id": import_id,
    }


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _known_fixes(existing: dict[str, Any], record: OsvRecord) -> set[str]:
    """Fixed versions the store already knew for this vulnerability (the record or its aliases)."""
    known: set[str] = set()
    for ident in (record.id, *record.aliases):
        row = existing.get(ident)
        if row is not None:
            known.update(row.fixed_versions or ())
    return known


def import_advisories(
    session: Session,
    actor: Actor,
    path: Path,
    *,
    limits: Limits | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Load OSV records from ``path`` (zip, folder or JSON file) into the store; the caller commits."""
    require(actor, "advisory.manage")
    now = now or utcnow()
    path = Path(path)
    imp = AdvisoryImport(started_at=now, source=str(path)[:1024], actor=actor.label[:255])
    summary = ImportSummary(import_id=0, source=str(path))
    records = _collect(path, limits, summary)  # raises AdvisoryError before anything is written
    imp.source_sha256 = _sha256(path)
    session.add(imp)
    session.flush()
    summary.import_id = imp.id

    table = ADVISORY
    existing: dict[str, Any] = {}
    for row in session.execute(
        select(table.c.id, table.c.osv_id, table.c.modified, table.c.aliases, table.c.fixed_versions)
    ):
        existing[row.osv_id] = row
    by_alias = dict(existing)
    for stored_row in existing.values():
        for alias in stored_row.aliases or ():
            by_alias.setdefault(alias, stored_row)

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for record in records.values():
        stored = existing.get(record.id)
        if stored is not None and record.modified <= stored.modified:
            summary.unchanged += 1
            continue
        if stored is None and not record.affected:
            summary.ignored += 1
            continue
        if record.withdrawn is not None:
            summary.withdrawn += 1
        elif stored is not None or any(a in by_alias for a in record.aliases):
            gained = sorted(record.fixed_versions - _known_fixes(by_alias, record))
            if gained:
                for ident in (record.id, *record.aliases):
                    summary.gained_fixes[ident] = gained
        values = _row(record, imp.id, now)
        if stored is None:
            inserts.append(values)
        else:
            updates.append({"b_id": stored.id, **values})
        if summary.newest_modified is None or record.modified > summary.newest_modified:
            summary.newest_modified = record.modified
    summary.added, summary.updated = len(inserts), len(updates)

    for values in (*inserts, *updates):
        summary.changed_packages.update(a["name"] for a in values["affected"])
    for chunk in _chunks(updates):
        summary.changed_packages.update(
            session.scalars(
                select(ADVISORY_PACKAGE.c.package).where(
                    ADVISORY_PACKAGE.c.advisory_id.in_([r["b_id"] for r in chunk])
                )
            )
        )
    packages: list[dict[str, Any]] = []
    for chunk in _chunks(inserts):
        ids = session.execute(insert(table).returning(table.c.id, table.c.osv_id), chunk).all()
        by_id = {r["osv_id"]: r for r in chunk}
        packages += [
            {"advisory_id": new_id, "package": a["name"]}
            for new_id, osv_id in ids
            for a in by_id[osv_id]["affected"]
        ]
    if updates:
        params: dict[str, Any] = {k: bindparam(k) for k in updates[0] if k != "b_id"}
        stmt = update(table).where(table.c.id == bindparam("b_id")).values(params)
        for chunk in _chunks(updates):
            session.execute(stmt, chunk)
            session.execute(
                delete(ADVISORY_PACKAGE).where(ADVISORY_PACKAGE.c.advisory_id.in_([r["b_id"] for r in chunk]))
            )
        packages += [{"advisory_id": r["b_id"], "package": a["name"]} for r in updates for a in r["affected"]]
    unique = {(p["advisory_id"], p["package"]): p for p in packages}
    for chunk in _chunks(list(unique.values())):
        session.execute(insert(ADVISORY_PACKAGE), chunk)

    for name in ("records_seen", "added", "updated", "unchanged", "withdrawn", "ignored", "rejected"):
        setattr(imp, name, getattr(summary, name))
    imp.newest_modified = summary.newest_modified
    imp.problems = summary.problems[:MAX_KEPT_PROBLEMS]
    imp.finished_at = utcnow()
    audit.record(
        session,
        actor,
        "advisory_import",
        object_type="advisory_import",
        object_id=imp.id,
        after={
            "source": str(path),
            "sha256": imp.source_sha256,
            "added": summary.added,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "withdrawn": summary.withdrawn,
            "ignored": summary.ignored,
            "rejected": summary.rejected,
        },
    )
    if summary.gained_fixes:
        summary.flagged_exceptions = _flag_exceptions(session, actor, summary.gained_fixes)
    session.flush()
    return summary


def _flag_exceptions(session: Session, actor: Actor, gained: dict[str, list[str]]) -> list[int]:
    """Active exceptions covering an advisory that just gained a fixed version need a second look.

    An accepted risk is often justified by "no fix exists"; once one does, the owner should upgrade
    or say again why not. Covers exceptions naming the advisory (or an alias) and exceptions on a
    single finding whose advisory ids include it.
    """
    flagged: list[int] = []
    stmt = (
        select(RiskException, Finding.advisory_ids)
        .outerjoin(Finding, Finding.id == RiskException.finding_id)
        .where(
            RiskException.state == ExceptionState.ACTIVE,
            RiskException.needs_review.is_(False),
            RiskException.scope.in_([ExceptionScope.ADVISORY, ExceptionScope.FINDING]),
        )
        .order_by(RiskException.id)
    )
    for exc, finding_ids in session.execute(stmt):
        ids = {exc.advisory_id or "", *(exc.aliases or ()), *(finding_ids or ())}
        fixes = sorted({v for ident in ids if ident in gained for v in gained[ident]})
        if not fixes:
            continue
        exc.needs_review = True
        exc.review_reason = f"the advisory now has a fixed version: {', '.join(fixes[:5])}"
        audit.record(
            session,
            actor,
            "exception_flag_review",
            object_type="exception",
            object_id=exc.id,
            after={"reason": exc.review_reason},
        )
        flagged.append(exc.id)
    return flagged
