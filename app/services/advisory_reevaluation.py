"""Re-evaluation: when the advisory store changes, re-match stored inventories through ingestion.

No repository is touched: each project's latest dependency inventory is matched against the store
and the findings go through the normal ingestion path in a ScanRun with trigger ``advisory`` and
scanner ``osv``, so new advisories open findings, withdrawn or newly fixed ones close them, and the
trend can tell "a new advisory was published" from "new code was committed".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.advisories.findings import SCANNER, evaluate
from app.advisories.matcher import AdvisoryIndex
from app.advisories.scanner import TOOL_VERSION
from app.db import Database
from app.ingestion import IngestSummary, ingest
from app.models import Base, RunOutcome, RunStatus, RunTrigger, ScanRun, utcnow
from app.scanners.base import NormalizedFinding
from app.services import audit
from app.services.actor import Actor
from app.services.advisory_store import DEPENDENCY, inventory_rows, latest_inventories, load_index
from app.services.exception_review import flag_fixable_advisories
from app.services.permissions import require

# Projects re-evaluated per write transaction: small enough that the write lock is held for well
# under a second and a failure undoes little (re-evaluation is idempotent: the next run redoes it),
# large enough that per-transaction costs (connection, BEGIN IMMEDIATE, commit) stay negligible.
PROJECTS_PER_TRANSACTION = 20
DIGEST_KEY = "findings_digest"
SCAN_RUN = Base.metadata.tables["scan_run"]


@dataclass
class ReevaluationSummary:
    store_version: str | None
    projects: int = 0
    dependencies: int = 0
    findings: int = 0
    new: int = 0
    fixed: int = 0
    reopened: int = 0
    # Projects whose re-matched findings are exactly those of their last re-evaluation (skipped).
    unchanged: int = 0
    run_ids: list[int] = field(default_factory=list)
    flagged_exceptions: list[int] = field(default_factory=list)


def findings_digest(findings: list[NormalizedFinding]) -> str:
    """A fingerprint of everything ingestion would write for these findings."""
    keys = sorted(
        (
            f.package or "",
            f.rule_id,
            list(f.advisory_ids),
            f.installed_version or "",
            list(f.fixed_versions),
            f.severity,
            f.title,
            f.message,
            f.path or "",
            f.line or 0,
            orjson.dumps(f.extras, option=orjson.OPT_SORT_KEYS).decode(),
        )
        for f in findings
    )
    return hashlib.sha256(orjson.dumps(keys)).hexdigest()


def previous_digests(session: Session, project_ids: Iterable[int]) -> dict[int, str]:
    """project id -> digest of its latest osv run, when that run was a successful re-evaluation.

    Any later scan (or a failed re-evaluation) leaves no digest to compare with, so the project is
    re-ingested: skipping is only ever "the last thing that happened here had this exact result".
    """
    wanted = sorted(set(project_ids))
    latest: list[int] = []
    for start in range(0, len(wanted), 500):
        latest += session.scalars(
            select(func.max(ScanRun.id))
            .where(ScanRun.scanner == SCANNER, ScanRun.project_id.in_(wanted[start : start + 500]))
            .group_by(ScanRun.project_id)
        ).all()
    result: dict[int, str] = {}
    for start in range(0, len(latest), 500):
        for run in session.execute(
            select(ScanRun.project_id, ScanRun.trigger, ScanRun.status, ScanRun.details).where(
                ScanRun.id.in_(latest[start : start + 500])
            )
        ):
            digest = (run.details or {}).get(DIGEST_KEY)
            if run.trigger == RunTrigger.ADVISORY and run.status == RunStatus.SUCCEEDED and digest:
                result[run.project_id] = digest
    return result


def _reevaluate_project(
    session: Session,
    actor: Actor,
    project_id: int,
    rows: list[Any],
    index: AdvisoryIndex,
    summary: ReevaluationSummary,
    previous: dict[int, str],
    now: datetime,
) -> None:
    findings = evaluate(rows, index)
    digest = findings_digest(findings)
    summary.findings += len(findings)
    if previous.get(project_id) == digest:
        # Same result as this project's last re-evaluation: ingestion would change nothing. The run
        # is still recorded (one Core insert) so the store version it was checked against is known.
        session.execute(
            insert(SCAN_RUN).values(
                project_id=project_id,
                scanner=SCANNER,
                trigger=RunTrigger.ADVISORY.value,
                status=RunStatus.SUCCEEDED.value,
                outcome=(RunOutcome.FINDINGS if findings else RunOutcome.CLEAN).value,
                complete=True,
                ruleset_version=(index.version or None) and index.version[:120],
                tool_version=TOOL_VERSION,
                queued_at=now,
                started_at=now,
                finished_at=now,
                count_total=len(findings),
                count_unchanged=len(findings),
                details={"reason": "advisory store changed; same result as before", DIGEST_KEY: digest},
            )
        )
        summary.unchanged += 1
        return
    run = ScanRun(
        project_id=project_id,
        scanner=SCANNER,
        trigger=RunTrigger.ADVISORY,
        status=RunStatus.RUNNING,
        complete=True,
        ruleset_version=(index.version or None) and index.version[:120],
        tool_version=TOOL_VERSION,
        queued_at=now,
        started_at=now,
        details={"reason": "advisory store changed", "dependencies": len(rows), DIGEST_KEY: digest},
    )
    session.add(run)
    session.flush()
    # The ingestion layer owns identity, reopen and close-missing, exactly as for a scan.
    result: IngestSummary = ingest(session, run, findings, now=now, actor=actor)
    run.status = RunStatus.SUCCEEDED
    run.outcome = RunOutcome.FINDINGS if findings else RunOutcome.CLEAN
    run.finished_at = utcnow()
    summary.projects += 1
    summary.dependencies += len(rows)
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
        previous = previous_digests(reader, latest)
    summary = ReevaluationSummary(store_version=index.version or None)
    # On SQLite, closing the last connection to a WAL database checkpoints it: holding one idle
    # connection open for the whole run keeps each project's commit from paying that cost.
    ordered = sorted(latest.items())
    with target.engine.connect() if target.is_sqlite else nullcontext():
        for start in range(0, len(ordered), PROJECTS_PER_TRANSACTION):
            with target.transaction() as session:
                for project_id, inventory_id in ordered[start : start + PROJECTS_PER_TRANSACTION]:
                    _reevaluate_project(
                        session, actor, project_id, rows[inventory_id], index, summary, previous, now
                    )
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
    previous = previous_digests(session, latest)
    summary = ReevaluationSummary(store_version=index.version or None)
    for project_id, inventory_id in sorted(latest.items()):
        _reevaluate_project(session, actor, project_id, rows[inventory_id], index, summary, previous, now)
    session.flush()
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
