"""The bulk statements behind ingestion: load a project's findings, upsert, update, close, record.

Everything is SQLAlchemy Core in batches. Reading the existing state loads only the few columns the
lifecycle decisions need (no timestamps, which are costly to parse on SQLite), and timestamps of the
rare findings that need them are fetched afterwards by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.ingestion.bulk import executemany
from app.ingestion.fingerprint import package_key
from app.models import Finding, FindingDetection, FindingStatus, FindingStatusHistory

FINDING: Table = Finding.__table__  # type: ignore[assignment]
DETECTION: Table = FindingDetection.__table__  # type: ignore[assignment]
HISTORY: Table = FindingStatusHistory.__table__  # type: ignore[assignment]
LIVE = (FindingStatus.OPEN.value, FindingStatus.ACCEPTED.value)
FIXED = FindingStatus.FIXED.value
# What a report may change on a finding it sees again (the lifecycle columns change separately).
DISPLAY_COLUMNS = (
    "severity",
    "confidence",
    "title",
    "message",
    "path",
    "line",
    "column",
    "snippet",
    "cwe",
    "advisory_ids",
    "package",
    "installed_version",
    "fixed_versions",
    "extras",
    "last_seen",
    "last_run_id",
    "display_hash",
)
CHUNK = 5000
ID_CHUNK = 10_000
SQLITE_IMPORT_CACHE_KIB = 64 * 1024


@dataclass(frozen=True, slots=True)
class ExistingRow:
    id: int
    status: str
    exception_id: int | None
    reopen_count: int
    scanner: str
    display_hash: str | None = None


@dataclass
class Existing:
    rows: dict[str, ExistingRow]
    by_id: dict[int, ExistingRow]
    # (PEP 503 package, advisory id) -> fingerprint, for findings whose alias group moved.
    by_alias: dict[tuple[str, str], str]
    detections: dict[int, dict[str, bool]]  # finding id -> scanner -> active


@dataclass
class Plan:
    """Everything one ingestion writes, gathered first and written in a few statements."""

    run_id: int
    project_id: int
    now: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    detections: dict[str, dict[str, str]] = field(default_factory=dict)  # fingerprint -> scanner -> rule
    changes: list[dict[str, Any]] = field(default_factory=list)  # lifecycle updates by id
    histories: list[dict[str, Any]] = field(default_factory=list)
    new_histories: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # fingerprint -> id of every seen finding

    def history(
        self, finding_id: int, before: str | None, after: str, reason: str, exc_id: int | None
    ) -> None:
        self.histories.append(self._history(finding_id, before, after, reason, exc_id))

    def history_for_new(
        self, fingerprint: str, before: str | None, after: str, reason: str, exc_id: int | None
    ) -> None:
        self.new_histories.append((fingerprint, self._history(0, before, after, reason, exc_id)))

    def _history(
        self, finding_id: int, before: str | None, after: str, reason: str, exc_id: int | None
    ) -> dict[str, Any]:
        return {
            "finding_id": finding_id,
            "from_status": before,
            "to_status": after,
            "changed_at": self.now,
            "actor_user_id": None,
            "actor": "ingestion",
            "reason": reason,
            "scan_run_id": self.run_id,
            "exception_id": exc_id,
        }


def prepare(session: Session) -> None:
    """Give SQLite a page cache that holds the finding table's indexes during a large import.

    The default 2 MB cache makes every index update of a 100,000-row import a page miss; the
    setting lives on this connection only (SQLite connections are not pooled).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}"))


def load_existing(session: Session, project_id: int) -> Existing:
    rows: dict[str, ExistingRow] = {}
    by_id: dict[int, ExistingRow] = {}
    by_alias: dict[tuple[str, str], str] = {}
    result = session.execute(
        select(
            FINDING.c.fingerprint,
            FINDING.c.id,
            FINDING.c.status,
            FINDING.c.exception_id,
            FINDING.c.reopen_count,
            FINDING.c.scanner,
            FINDING.c.display_hash,
        ).where(FINDING.c.project_id == project_id)
    )
    for fingerprint, fid, status, exc_id, reopens, scanner, shown in result:
        row = ExistingRow(fid, str(status), exc_id, reopens or 0, scanner, shown)
        rows[fingerprint] = by_id[fid] = row
    packages = session.execute(
        select(FINDING.c.fingerprint, FINDING.c.package, FINDING.c.advisory_ids).where(
            FINDING.c.project_id == project_id, FINDING.c.package.is_not(None)
        )
    )
    for fingerprint, package, advisories in packages:
        for advisory in advisories or []:
            by_alias.setdefault((package_key(package), str(advisory).upper()), fingerprint)
    detections: dict[int, dict[str, bool]] = {}
    det = session.execute(
        select(DETECTION.c.finding_id, DETECTION.c.scanner, DETECTION.c.active)
        .join(FINDING, FINDING.c.id == DETECTION.c.finding_id)
        .where(FINDING.c.project_id == project_id)
    )
    for fid, scanner, active in det:
        detections.setdefault(fid, {})[scanner] = bool(active)
    return Existing(rows, by_id, by_alias, detections)


def load_sla(session: Session, ids: Sequence[int]) -> dict[int, tuple[datetime | None, datetime | None]]:
    """(sla_due_at, sla_paused_at) of a few findings, for the ones whose SLA clock changes."""
    result: dict[int, tuple[datetime | None, datetime | None]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stmt = select(Finding.id, Finding.sla_due_at, Finding.sla_paused_at).where(Finding.id.in_(chunk))
        for fid, due, paused in session.execute(stmt):
            result[fid] = (due, paused)
    return result


def _upsert(dialect: str, columns: Sequence[str]) -> Any:
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(FINDING)
    stmt = stmt.values({c: bindparam(c) for c in columns})
    return stmt.on_conflict_do_update(
        index_elements=["project_id", "fingerprint"],
        set_={name: stmt.excluded[name] for name in DISPLAY_COLUMNS},
    )


def _insert(table: Table, rows: Sequence[dict[str, Any]]) -> Any:
    return insert(table).values({c: bindparam(c) for c in rows[0]})


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _grouped_updates(session: Session, table: Any, key: str, changes: list[dict[str, Any]]) -> None:
    """executemany UPDATEs, one statement per distinct set of changed columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        columns = tuple(sorted(k for k in change if k != "b_id"))
        groups.setdefault(columns, []).append(change)
    for columns, rows in groups.items():
        stmt = (
            update(table).where(table.c[key] == bindparam("b_id")).values({c: bindparam(c) for c in columns})
        )
        executemany(session.connection(), stmt, rows)


def write_seen(session: Session, plan: Plan, existing: Existing) -> None:
    """Upsert every seen finding, apply lifecycle changes, then record which scanners saw what.

    A finding reported exactly as last time (same display hash) is not rewritten: one set-based
    UPDATE moves its ``last_seen``; the nightly rescan of an unchanged codebase is mostly that.
    """
    conn = session.connection()
    changed: list[dict[str, Any]] = []
    same: list[int] = []
    for row in plan.rows:
        old = existing.rows.get(row["fingerprint"])
        if old is not None:
            plan.ids[row["fingerprint"]] = old.id
            if old.display_hash == row["display_hash"]:
                same.append(old.id)
                continue
        changed.append(row)
    for start in range(0, len(same), ID_CHUNK):
        conn.execute(
            update(FINDING)
            .where(FINDING.c.id.in_(same[start : start + ID_CHUNK]))
            .values(last_seen=plan.now, last_run_id=plan.run_id)
        )
    fresh = {row["fingerprint"] for row in changed if row["fingerprint"] not in plan.ids}
    if changed:
        executemany(conn, _upsert(conn.dialect.name, list(changed[0])), changed)
        # Only new findings are read back (the project is locked, nothing else writes it).
        if fresh:
            ids = conn.execute(
                select(FINDING.c.fingerprint, FINDING.c.id).where(FINDING.c.project_id == plan.project_id)
            )
            plan.ids.update((fp, fid) for fp, fid in ids if fp in fresh)
    if plan.changes:
        _grouped_updates(session, FINDING, "id", plan.changes)
    for fingerprint, row in plan.new_histories:
        row["finding_id"] = plan.ids[fingerprint]
        plan.histories.append(row)
    _write_detections(session, plan, existing)


def _write_detections(session: Session, plan: Plan, existing: Existing) -> None:
    inserts: list[dict[str, Any]] = []
    revive: list[dict[str, Any]] = []
    touch: list[dict[str, Any]] = []
    for fingerprint, scanners in plan.detections.items():
        fid = plan.ids[fingerprint]
        known = existing.detections.get(fid, {})
        for scanner, rule in scanners.items():
            if scanner not in known:
                inserts.append(
                    {
                        "finding_id": fid,
                        "scanner": scanner[:64],
                        "tool_rule_id": rule[:255],
                        "first_run_id": plan.run_id,
                        "last_run_id": plan.run_id,
                        "first_seen": plan.now,
                        "last_seen": plan.now,
                        "active": True,
                    }
                )
            else:
                (touch if known[scanner] else revive).append({"b_id": fid, "b_scanner": scanner})
    conn = session.connection()
    if inserts:
        executemany(conn, _insert(DETECTION, inserts), inserts)
    values = {"last_seen": plan.now, "last_run_id": plan.run_id}
    if touch and len({t["b_scanner"] for t in touch}) == 1:
        # One scanner (the usual report): one set-based statement instead of one per finding.
        seen_now = select(FINDING.c.id).where(
            FINDING.c.project_id == plan.project_id, FINDING.c.last_run_id == plan.run_id
        )
        conn.execute(
            update(DETECTION)
            .where(
                DETECTION.c.scanner == touch[0]["b_scanner"],
                DETECTION.c.active.is_(True),
                DETECTION.c.finding_id.in_(seen_now),
            )
            .values(**values)
        )
        touch = []
    for rows, extra in ((touch, {}), (revive, {"active": True})):
        if not rows:
            continue
        stmt = (
            update(DETECTION)
            .where(DETECTION.c.finding_id == bindparam("b_id"), DETECTION.c.scanner == bindparam("b_scanner"))
            .values(**values, **extra)
        )
        executemany(conn, stmt, rows)


def close_missing(session: Session, plan: Plan, existing: Existing, scanners: set[str]) -> int:
    """Deactivate what the closing scanners no longer report; fix findings nobody reports any more."""
    seen_by = {plan.ids[fp]: set(s) for fp, s in plan.detections.items()}
    deactivate: list[dict[str, Any]] = []
    fixed: list[dict[str, Any]] = []
    for fid, row in existing.by_id.items():
        detections = existing.detections.get(fid)
        if detections is None:  # a finding recorded before detections were tracked
            detections = {row.scanner: row.status in LIVE}
            virtual = True
        else:
            virtual = False
        reporting = seen_by.get(fid, set())
        still_active = False
        for scanner, active in detections.items():
            if not active:
                continue
            if scanner in scanners and scanner not in reporting:
                if not virtual:
                    deactivate.append({"b_id": fid, "b_scanner": scanner})
            else:
                still_active = True
        if fid in seen_by or still_active or row.status not in LIVE:
            continue
        fixed.append(
            {
                "b_id": fid,
                "status": FIXED,
                "fixed_at": plan.now,
                "status_changed_at": plan.now,
                "exception_id": None,
                "sla_paused_at": None,
            }
        )
        plan.history(fid, row.status, FIXED, "no longer reported by a complete run", None)
    conn = session.connection()
    if deactivate:
        stmt = (
            update(DETECTION)
            .where(DETECTION.c.finding_id == bindparam("b_id"), DETECTION.c.scanner == bindparam("b_scanner"))
            .values(active=False)
        )
        executemany(conn, stmt, deactivate)
    if fixed:
        _grouped_updates(session, FINDING, "id", fixed)
    return len(fixed)


def write_history(session: Session, plan: Plan) -> None:
    if plan.histories:
        executemany(session.connection(), _insert(HISTORY, plan.histories), plan.histories)
