"""Offline advisories as use cases: import, store status, inventories, scans and re-evaluation.

The matching itself lives in :mod:`app.advisories` and never sees the database; this module loads
the store into an :class:`AdvisoryIndex`, stores what a scan read from a project's dependency files,
and, when the store changes, re-matches every project's latest inventory and hands the results to
the normal ingestion path in a ScanRun with trigger ``advisory``, so the trend can tell "a new
advisory was published" from "new code was committed".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Text, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from app.advisories.findings import SCANNER, evaluate
from app.advisories.inventory import Dependency, Inventory, collect
from app.advisories.matcher import AdvisoryIndex
from app.db import Database
from app.ingestion import IngestSummary, ingest
from app.models import (
    Advisory,
    AdvisoryImport,
    AdvisoryPackage,
    Base,
    DependencyInventory,
    Project,
    RunStatus,
    RunTrigger,
    ScanRun,
    utcnow,
)
from app.scanners.base import NormalizedFinding
from app.services import audit
from app.services.actor import Actor
from app.services.advisory_import import ImportSummary, import_advisories
from app.services.exception_review import flag_fixable_advisories
from app.services.permissions import require

__all__ = [
    "ImportSummary",
    "ReevaluationSummary",
    "StoreStatus",
    "import_advisories",
    "latest_inventories",
    "load_index",
    "reevaluate_all",
    "save_inventory",
    "scan_checkout",
    "store_status",
]

# JSON columns are fetched as text and decoded with orjson: the stdlib decoder SQLAlchemy uses
# for JSON types is most of the cost of loading 20,000 advisories.
INDEX_COLUMNS = (
    Advisory.osv_id,
    type_coerce(Advisory.aliases, Text).label("aliases"),
    Advisory.summary,
    Advisory.severity,
    Advisory.modified,
    type_coerce(Advisory.affected, Text).label("affected"),
)
DEPENDENCY_CHUNK = 5000
# Projects re-evaluated per write transaction: small enough that the write lock is held for well
# under a second and a failure undoes little (re-evaluation is idempotent: the next run redoes it),
# large enough that per-transaction costs (connection, BEGIN IMMEDIATE, commit) stay negligible.
PROJECTS_PER_TRANSACTION = 20
DEPENDENCY = Base.metadata.tables["dependency"]


@dataclass(frozen=True)
class StoreStatus:
    """The store's version and age, for `vigil advisories status` and scan health."""

    version: str | None
    last_import_at: datetime | None
    newest_modified: datetime | None
    advisories: int
    withdrawn: int
    packages: int
    age_days: float | None
    stale: bool


def store_status(session: Session, *, max_age_days: int = 7, now: datetime | None = None) -> StoreStatus:
    """Version = the last import that changed something; age = time since the last import of any kind.

    An empty store is stale: a scan health page must not show a green tick over "no advisories".
    """
    now = now or utcnow()
    last = session.scalar(select(AdvisoryImport).order_by(AdvisoryImport.id.desc()).limit(1))
    newest = session.scalar(select(func.max(Advisory.modified)))
    total = session.scalar(select(func.count()).select_from(Advisory)) or 0
    withdrawn = session.scalar(select(func.count()).where(Advisory.withdrawn.is_not(None))) or 0
    packages = session.scalar(select(func.count(func.distinct(AdvisoryPackage.package)))) or 0
    last_at = last.finished_at or last.started_at if last else None
    age = (now - last_at).total_seconds() / 86400 if last_at else None
    return StoreStatus(
        version=_version(session),
        last_import_at=last_at,
        newest_modified=newest,
        advisories=total,
        withdrawn=withdrawn,
        packages=packages,
        age_days=age,
        stale=total == 0 or age is None or age > max_age_days,
    )


def _version(session: Session) -> str | None:
    """``<import id>@<newest modified>`` of the store's content: changes exactly when matching can."""
    row = session.execute(
        select(func.max(Advisory.import_id), func.max(Advisory.modified), func.count())
    ).one()
    if not row[2]:
        return None
    newest = row[1].isoformat() if isinstance(row[1], datetime) else str(row[1])
    return f"{row[0]}@{newest}"


def load_index(session: Session, packages: Iterable[str] | None = None) -> AdvisoryIndex:
    """Compile the non-withdrawn advisories (only those naming ``packages``, when given)."""
    stmt = select(*INDEX_COLUMNS).where(Advisory.withdrawn.is_(None))
    if packages is not None:
        wanted = sorted(set(packages))
        if not wanted:
            return AdvisoryIndex(version=_version(session) or "")
        ids: set[int] = set()
        for start in range(0, len(wanted), 900):
            ids.update(
                session.scalars(
                    select(AdvisoryPackage.advisory_id).where(
                        AdvisoryPackage.package.in_(wanted[start : start + 900])
                    )
                )
            )
        rows: list[Any] = []
        ordered = sorted(ids)
        for start in range(0, len(ordered), 900):
            rows += session.execute(stmt.where(Advisory.id.in_(ordered[start : start + 900]))).all()
    else:
        rows = list(session.execute(stmt))
    return AdvisoryIndex.build(map(_decoded, rows), version=_version(session) or "")


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _decoded(row: Any) -> dict[str, Any]:
    return {
        "osv_id": row.osv_id,
        "aliases": _json(row.aliases),
        "summary": row.summary,
        "severity": row.severity,
        "modified": row.modified,
        "affected": _json(row.affected),
    }


def save_inventory(session: Session, project_id: int, inventory: Inventory, scan_run_id: int | None) -> int:
    """Store one reading of a project's dependency files (bulk Core insert); returns its id."""
    header = DependencyInventory(
        project_id=project_id,
        scan_run_id=scan_run_id,
        files=inventory.files[:500],
        problems=inventory.problems[:100],
        dependency_count=len(inventory.dependencies),
    )
    session.add(header)
    session.flush()
    rows = [{"inventory_id": header.id, **dep.as_row()} for dep in inventory.dependencies]
    for start in range(0, len(rows), DEPENDENCY_CHUNK):
        session.execute(insert(DEPENDENCY), rows[start : start + DEPENDENCY_CHUNK])
    return header.id


def latest_inventories(
    session: Session, project_ids: Sequence[int] | None = None, *, any_scanner: bool = False
) -> dict[int, int]:
    """project id -> id of its newest inventory (active projects with the osv scanner enabled)."""
    newest = (
        select(DependencyInventory.project_id, func.max(DependencyInventory.id).label("inventory_id"))
        .group_by(DependencyInventory.project_id)
        .subquery()
    )
    stmt = select(newest.c.project_id, newest.c.inventory_id, Project.enabled_scanners).join(
        Project, Project.id == newest.c.project_id
    )
    stmt = stmt.where(Project.active.is_(True))
    if project_ids is not None:
        stmt = stmt.where(Project.id.in_(list(project_ids)))
    return {
        row.project_id: row.inventory_id
        for row in session.execute(stmt)
        if any_scanner or SCANNER in (row.enabled_scanners or ())
    }


def inventory_rows(session: Session, inventory_ids: Sequence[int]) -> dict[int, list[Any]]:
    """inventory id -> its dependency rows (name, version, source, line, direct, dev, specifier)."""
    table = DEPENDENCY
    columns = [
        table.c[name] for name in ("inventory_id", "name", "version", "source", "line", "direct", "dev")
    ]
    result: dict[int, list[Any]] = {i: [] for i in inventory_ids}
    ordered = sorted(inventory_ids)
    for start in range(0, len(ordered), 900):
        chunk = ordered[start : start + 900]
        for row in session.execute(
            select(*columns, table.c.specifier).where(table.c.inventory_id.in_(chunk))
        ):
            result[row.inventory_id].append(row)
    return result


def scan_checkout(
    session: Session,
    project: Project,
    checkout: Path,
    scan_run: ScanRun | None = None,
    index: AdvisoryIndex | None = None,
) -> tuple[list[NormalizedFinding], Inventory]:
    """Read the checkout's dependency files, store the inventory, and match it against the store.

    Only the advisories naming the project's packages are loaded, so one project's scan does not
    compile the whole store.
    """
    inventory = collect(checkout, project.dependency_files or None)
    if inventory.failed:
        _keep_previous(session, project.id, inventory)
    save_inventory(session, project.id, inventory, scan_run.id if scan_run is not None else None)
    if index is None:
        index = load_index(session, {d.name for d in inventory.dependencies})
    return evaluate(inventory.dependencies, index), inventory


def _keep_previous(session: Session, project_id: int, inventory: Inventory) -> None:
    """Carry over what the last reading found in files that cannot be read now.

    A lock file broken by a bad merge must not make its vulnerable packages look fixed: the
    dependencies last read from it stay in the inventory (and the problem is recorded) until the
    file reads again.
    """
    previous = latest_inventories(session, [project_id], any_scanner=True).get(project_id)
    if previous is None:
        return
    failed = set(inventory.failed)
    kept = [
        Dependency(
            name=row.name,
            version=row.version,
            source=row.source,
            specifier=row.specifier or "",
            direct=row.direct,
            dev=row.dev,
            line=row.line,
            note="previous reading",
        )
        for row in inventory_rows(session, [previous])[previous]
        if row.source in failed
    ]
    if kept:
        inventory.dependencies.extend(kept)
        inventory.problems.append(
            f"kept {len(kept)} dependencies from the previous reading of {', '.join(sorted(failed))}"
        )


@dataclass
class ReevaluationSummary:
    store_version: str | None
    projects: int = 0
    dependencies: int = 0
    findings: int = 0
    new: int = 0
    fixed: int = 0
    reopened: int = 0
    run_ids: list[int] = field(default_factory=list)
    flagged_exceptions: list[int] = field(default_factory=list)


def _reevaluate_project(
    session: Session,
    actor: Actor,
    project_id: int,
    rows: list[Any],
    index: AdvisoryIndex,
    summary: ReevaluationSummary,
    now: datetime,
) -> None:
    findings = evaluate(rows, index)
    run = ScanRun(
        project_id=project_id,
        scanner=SCANNER,
        trigger=RunTrigger.ADVISORY,
        status=RunStatus.RUNNING,
        complete=True,
        ruleset_version=(index.version or None) and index.version[:120],
        tool_version="vigil-osv",
        queued_at=now,
        started_at=now,
        details={"reason": "advisory store changed", "dependencies": len(rows)},
    )
    session.add(run)
    session.flush()
    # The ingestion layer owns identity, reopen and close-missing, exactly as for a scan.
    result: IngestSummary = ingest(session, run, findings, now=now, actor=actor)
    run.status = RunStatus.SUCCEEDED
    run.finished_at = utcnow()
    summary.projects += 1
    summary.dependencies += len(rows)
    summary.findings += len(findings)
    summary.new += result.new
    summary.fixed += result.fixed
    summary.reopened += result.reopened
    summary.run_ids.append(run.id)


def reevaluate_all(
    target: Database | Session,
    actor: Actor,
    *,
    project_ids: Sequence[int] | None = None,
    packages: Iterable[str] | None = None,
    index: AdvisoryIndex | None = None,
    now: datetime | None = None,
) -> ReevaluationSummary:
    """Re-match every stored inventory against the store, through ingestion, without any scan.

    ``packages`` (an import's ``changed_packages``) limits the work to inventories that contain one
    of them: no other project's result can differ. Given a Database, projects are ingested in small
    batches, each its own transaction (a failure undoes one batch, and the write lock is never held
    for the whole run); given a Session, everything happens in the caller's transaction.
    """
    require(actor, "advisory.manage")
    now = now or utcnow()
    if isinstance(target, Session):
        return _reevaluate(target, actor, project_ids, packages, index, now)
    with target.reader() as reader:
        latest = _affected(reader, latest_inventories(reader, project_ids), packages)
        index = index or load_index(reader)
        rows = inventory_rows(reader, list(latest.values()))
    summary = ReevaluationSummary(store_version=index.version or None)
    # On SQLite, closing the last connection to a WAL database checkpoints it: holding one idle
    # connection open for the whole run keeps each project's commit from paying that cost.
    ordered = sorted(latest.items())
    with target.engine.connect() if target.is_sqlite else nullcontext():
        for start in range(0, len(ordered), PROJECTS_PER_TRANSACTION):
            with target.transaction() as session:
                for project_id, inventory_id in ordered[start : start + PROJECTS_PER_TRANSACTION]:
                    _reevaluate_project(session, actor, project_id, rows[inventory_id], index, summary, now)
        with target.transaction() as session:
            _finish(session, actor, summary, now)
    return summary


def _affected(session: Session, latest: dict[int, int], packages: Iterable[str] | None) -> dict[int, int]:
    """The inventories among ``latest`` that depend on any of ``packages`` (all when None)."""
    if packages is None:
        return latest
    names = sorted(set(packages))
    wanted = sorted(latest.values())
    hit: set[int] = set()
    for start in range(0, len(names), 500):
        for first in range(0, len(wanted), 500):
            hit.update(
                session.scalars(
                    select(DEPENDENCY.c.inventory_id)
                    .where(
                        DEPENDENCY.c.name.in_(names[start : start + 500]),
                        DEPENDENCY.c.inventory_id.in_(wanted[first : first + 500]),
                    )
                    .distinct()
                )
            )
    return {project: inventory for project, inventory in latest.items() if inventory in hit}


def _reevaluate(
    session: Session,
    actor: Actor,
    project_ids: Sequence[int] | None,
    packages: Iterable[str] | None,
    index: AdvisoryIndex | None,
    now: datetime,
) -> ReevaluationSummary:
    latest = _affected(session, latest_inventories(session, project_ids), packages)
    index = index or load_index(session)
    rows = inventory_rows(session, list(latest.values()))
    summary = ReevaluationSummary(store_version=index.version or None)
    for project_id, inventory_id in sorted(latest.items()):
        _reevaluate_project(session, actor, project_id, rows[inventory_id], index, summary, now)
    session.expire_all()  # ingestion wrote through Core: loaded findings are stale in this session
    _finish(session, actor, summary, now)
    return summary


def _finish(session: Session, actor: Actor, summary: ReevaluationSummary, now: datetime) -> None:
    flagged = flag_fixable_advisories(session, now)
    summary.flagged_exceptions = [exc.id for exc in flagged]
    audit.record(
        session,
        actor,
        "advisory_reevaluate",
        object_type="advisory_store",
        object_id=summary.store_version,
        after={
            "projects": summary.projects,
            "findings": summary.findings,
            "new": summary.new,
            "fixed": summary.fixed,
            "flagged_exceptions": summary.flagged_exceptions,
        },
    )
