"""The bridge from a queued run to the scanner registry: build the options, call the scanner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Project, ScanRun
from app.scanners.base import NormalizedFinding
from app.scanners.scan import ScanOptions, ScanResult


@dataclass(frozen=True)
class ProjectInfo:
    """What a run needs to know about its project, read before any tool starts (no DB held open)."""

    id: int
    name: str
    local_path: str | None
    git_url: str | None
    git_ref: str | None
    dependency_files: tuple[str, ...]
    exclude_paths: tuple[str, ...]
    honour_repo_config: bool
    ignore_inline_suppressions: bool


def registry() -> dict[str, Any]:
    from app.scanners.registry import SCANNERS

    return dict(SCANNERS)


@dataclass(frozen=True)
class DatabaseScan:
    """What a database-backed scanner found; ``error`` set means a failed (incomplete) run."""

    findings: list[NormalizedFinding]
    error: str | None = None
    ruleset_version: str | None = None


def _osv(session: Session, project_id: int, checkout: Path, run: ScanRun) -> DatabaseScan:
    """Dependency files matched against the offline store; an empty store is a failure, not a zero."""
    from app.services.advisories import scan_checkout, store_status

    project = session.get(Project, project_id)
    if project is None:
        return DatabaseScan([], "the project no longer exists")
    status = store_status(session)
    if status.advisories == 0:
        return DatabaseScan(
            [], "the offline advisory store is empty: import an OSV export (vigil advisories)"
        )
    findings, inventory = scan_checkout(session, project, checkout, run)
    error = "; ".join(inventory.problems)[:1000] if inventory.failed else None
    return DatabaseScan(findings, error, status.version)


DatabaseScanner = Callable[[Session, int, Path, ScanRun], DatabaseScan]
# Scanners that read Vigil's own database (the offline advisory store): they run inside the run's
# final write transaction, after the checkout is ready, and take milliseconds (no external tool).
DATABASE_SCANNERS: dict[str, DatabaseScanner] = {"osv": _osv}


def scanner_names() -> frozenset[str]:
    return frozenset(registry()) | frozenset(DATABASE_SCANNERS)


def build_options(
    settings: Settings, project: ProjectInfo, work_dir: Path, cancel: threading.Event
) -> ScanOptions:
    """The scanner's options from settings (limits) and the project (exclusions, config policy)."""
    return ScanOptions.from_settings(
        settings,
        work_dir=work_dir,
        cancel=cancel,
        dependency_files=project.dependency_files,
        exclude_paths=project.exclude_paths,
        honour_repo_config=project.honour_repo_config,
        ignore_inline_suppressions=project.ignore_inline_suppressions,
    )


def run_scanner(name: str, checkout: Path, options: ScanOptions) -> ScanResult:
    scanner = registry().get(name)
    if scanner is None:
        raise KeyError(name)
    return scanner.run(checkout, options)


def outcome_name(result: Any) -> str:
    outcome = getattr(result, "outcome", "failed")
    return str(getattr(outcome, "value", outcome))
