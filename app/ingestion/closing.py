"""Close what a complete run no longer reports, in set-based SQL over the project's findings.

Every finding and detection the run reported carries ``last_run_id = run``, so "not seen" is a
condition in SQL, not a set of fingerprints in memory. Per scanner: the detections of the closing
scanners that this run did not report are deactivated; a live finding is fixed only when no scanner
still reports it (ruff may close its detection of an ``eval`` that bandit still reports). A finding
without detection rows (the common one, reported by its own scanner alone: see
:mod:`app.ingestion.store`) counts as detected by its own scanner, active while it is live, so only a
run of that scanner fixes it. A false positive the run's scanner stopped reporting gets that detection
written out, inactive, so the finding keeps the record should it be set back to open. The
status-history rows come from the same condition, in one ``INSERT ... SELECT``, before the findings
change.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import exists, false, func, insert, literal, null, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.ingestion.store import DETECTION, FINDING, FIXED, HISTORY, LIVE, write_implicit_detections
from app.models import FindingStatus

REASON = "no longer reported by a complete run"
FALSE_POSITIVE = FindingStatus.FALSE_POSITIVE.value


def _gone(project_id: int, run_id: int, scanners: Collection[str]) -> Any:
    """Live findings of the project this run did not see and no scanner reports any more."""
    detected = select(DETECTION.c.finding_id).where(DETECTION.c.finding_id == FINDING.c.id)
    return (
        FINDING.c.project_id == project_id,
        FINDING.c.status.in_(LIVE),
        FINDING.c.last_run_id.is_distinct_from(run_id),
        ~exists(detected.where(DETECTION.c.active.is_(True))),
        or_(FINDING.c.scanner.in_(sorted(scanners)), exists(detected)),
    )


def _record_silenced_triage(
    conn: Connection, project_id: int, run_id: int, scanners: Collection[str]
) -> None:
    """A false positive without detection rows that its scanner no longer reports gets that scanner's
    detection written out, inactive.

    Without rows a finding counts as detected by its own scanner unless it is fixed, and a false
    positive is not fixed: if it were later set back to open, nothing would remember that its scanner
    had stopped reporting it, and only that scanner's next run could fix it. With the inactive row, a
    complete run of any scanner fixes it, as for a finding whose rows were always written.
    """
    f = FINDING.c
    write_implicit_detections(
        conn,
        false(),
        f.project_id == project_id,
        f.status == FALSE_POSITIVE,
        f.scanner.in_(sorted(scanners)),
        f.last_run_id.is_distinct_from(run_id),
        ~exists().where(DETECTION.c.finding_id == f.id),
    )


def close_missing(
    session: Session,
    project_id: int,
    run_id: int,
    now: datetime,
    scanners: Collection[str],
    live_seen: int | None = None,
) -> int:
    """Deactivate what the closing scanners no longer report; fix findings nobody reports any more.

    ``live_seen`` is how many open or accepted findings the run reported. When the project has no
    other live finding, none can be fixed, and the pass over the project's rows is skipped: a count
    of index entries instead (a first import or a rescan that reports everything again).
    """
    conn = session.connection()
    _record_silenced_triage(conn, project_id, run_id, scanners)
    of_project = select(FINDING.c.id).where(FINDING.c.project_id == project_id)
    conn.execute(
        update(DETECTION)
        .where(
            DETECTION.c.active.is_(True),
            DETECTION.c.scanner.in_(sorted(scanners)),
            DETECTION.c.last_run_id.is_distinct_from(run_id),
            DETECTION.c.finding_id.in_(of_project),
        )
        .values(active=False)
    )
    if live_seen is not None:
        live = select(func.count()).select_from(FINDING)
        live = live.where(FINDING.c.project_id == project_id, FINDING.c.status.in_(LIVE))
        if int(conn.execute(live).scalar_one()) <= live_seen:
            return 0
    gone = _gone(project_id, run_id, scanners)
    history = select(
        FINDING.c.id,
        FINDING.c.status,
        literal(FIXED, HISTORY.c.to_status.type),
        literal(now, HISTORY.c.changed_at.type),
        null(),
        literal("ingestion", HISTORY.c.actor.type),
        literal(REASON, HISTORY.c.reason.type),
        literal(run_id, HISTORY.c.scan_run_id.type),
        null(),
    ).where(*gone)
    names = [
        "finding_id",
        "from_status",
        "to_status",
        "changed_at",
        "actor_user_id",
        "actor",
        "reason",
        "scan_run_id",
        "exception_id",
    ]
    conn.execute(insert(HISTORY).from_select(names, history))
    result = conn.execute(
        update(FINDING)
        .where(*gone)
        .values(status=FIXED, fixed_at=now, status_changed_at=now, exception_id=None, sla_paused_at=None)
    )
    return int(result.rowcount or 0)
