"""Offline advisories as use cases: import, store status, inventories, scans and re-evaluation.

The matching itself lives in :mod:`app.advisories` and never sees the database. This module is the
one entry point the CLI, the scan executor, the scheduler and scan health import; the work is split
over ``advisory_import`` (loading OSV records), ``advisory_store`` (status, the compiled index,
inventories) and ``advisory_reevaluation`` (re-matching every inventory through ingestion).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.advisories.findings import evaluate
from app.advisories.inventory import Dependency, Inventory, collect
from app.advisories.matcher import AdvisoryIndex
from app.models import (
    Project,
    ScanRun,
)
from app.scanners.base import NormalizedFinding
from app.services.advisory_import import ImportSummary, import_advisories
from app.services.advisory_reevaluation import ReevaluationSummary, reevaluate_all
from app.services.advisory_store import (
    StoreStatus,
    inventory_rows,
    latest_inventories,
    load_index,
    save_inventory,
    store_status,
)

__all__ = [
    "ImportSummary",
    "ReevaluationSummary",
    "StoreStatus",
    "import_advisories",
    "inventory_rows",
    "latest_inventories",
    "load_index",
    "reevaluate_all",
    "save_inventory",
    "scan_checkout",
    "store_status",
]


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
    inventory = collect(checkout, project.dependency_files or None, project.exclude_paths or ())
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
