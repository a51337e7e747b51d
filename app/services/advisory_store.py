"""The advisory store and inventories as stored data: status, the compiled index, inventories.

Shared by the scan path (``scan_checkout``), re-evaluation and scan health. Bulk paths use Core
statements: 20,000 advisories and 100,000 dependency rows are read or written in a few queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Text, delete, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from app.advisories.findings import SCANNER
from app.advisories.inventory import Inventory
from app.advisories.matcher import AdvisoryIndex
from app.models import (
    Advisory,
    AdvisoryImport,
    AdvisoryPackage,
    Base,
    DependencyInventory,
    Project,
    utcnow,
)

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
KEEP_INVENTORIES = 10
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
    _prune(session, project_id)
    return header.id


def _prune(session: Session, project_id: int) -> None:
    """Keep the newest KEEP_INVENTORIES readings per project.

    A nightly scan of 500 projects with 200 dependencies each would otherwise add 36 million
    dependency rows a year; re-evaluation only ever needs the newest reading, and a few older ones
    show what changed recently.
    """
    old = session.scalars(
        select(DependencyInventory.id)
        .where(DependencyInventory.project_id == project_id)
        .order_by(DependencyInventory.id.desc())
        .offset(KEEP_INVENTORIES)
    ).all()
    if old:
        session.execute(delete(DEPENDENCY).where(DEPENDENCY.c.inventory_id.in_(old)))
        session.execute(delete(DependencyInventory).where(DependencyInventory.id.in_(old)))


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
