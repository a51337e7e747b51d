"""The bulk statements behind ingestion, one chunk of a report at a time.

Each chunk looks up only its own fingerprints (the unique ``(project_id, fingerprint)`` index),
then writes in a few statements: an INSERT of the new findings, an UPDATE by id of those whose
display changed, one set-based UPDATE of ``last_seen`` for those reported exactly as last time, the
lifecycle changes, the status-history rows and the detections. What the run saw is marked in the
database itself (``last_run_id``), so nothing grows with the size of the report.

Detections are rows only where they say more than the finding does. A finding with no
``finding_detection`` row is detected by its own scanner (``finding.scanner``) alone, and that
detection is active unless the finding is fixed: nothing is written for the common finding that only
its own scanner reports, on its first import or any later one. Rows appear once a second scanner
reports the finding; the implicit detection is then written out first, as it stood before the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.ingestion.bulk import executemany, fetch_rows, in_list, placeholder
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
# What a finding's implicit own detection takes from the finding (the rest: its id, active unless fixed).
IMPLICIT_COLUMNS = ("scanner", "tool_rule_id", "first_run_id", "last_run_id", "first_seen", "last_seen")
ID_CHUNK = 10_000
SQLITE_IMPORT_CACHE_KIB = 8 * 1024


@dataclass(frozen=True, slots=True)
class ExistingRow:
    id: int
    status: str
    exception_id: int | None
    reopen_count: int
    scanner: str
    display_hash: str | None = None
    last_run_id: int | None = None
    has_detections: bool = False  # else detected by its own scanner alone (see the module docstring)


@dataclass
class Plan:
    """What one chunk writes, gathered first and written in a few statements."""

    run_id: int
    project_id: int
    now: datetime
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    changed_rows: list[dict[str, Any]] = field(default_factory=list)  # display updates, by b_id
    same_ids: list[int] = field(default_factory=list)  # reported exactly as last time
    detections: dict[str, dict[str, str]] = field(default_factory=dict)  # fingerprint -> scanner -> rule
    implicit: list[int] = field(default_factory=list)  # ids whose own detection becomes a row
    changes: list[dict[str, Any]] = field(default_factory=list)  # lifecycle updates by id
    histories: list[dict[str, Any]] = field(default_factory=list)
    new_histories: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # fingerprint -> id of every seen finding

    def detect(self, fingerprint: str, scanners: dict[str, str], old: ExistingRow | None) -> None:
        """Note which scanners reported ``fingerprint`` in this chunk, when that needs rows.

        A finding reported by its own scanner alone needs none. One that another scanner reports
        needs a row per scanner; if it had none yet, its implicit own detection is written first.
        """
        if old is None:
            if len(scanners) > 1:
                self.detections[fingerprint] = scanners
        elif old.has_detections:
            self.detections[fingerprint] = scanners
        elif any(scanner[:64] != old.scanner for scanner in scanners):
            self.implicit.append(old.id)
            self.detections[fingerprint] = scanners

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
    """Give SQLite a page cache that holds the finding table's indexes during a large import, and
    keep the temporary b-trees of large ``IN`` lists in memory.

    The default 2 MB cache makes every index update of a 100,000-row import a page miss; 8 MB
    imports as fast as 16, 32, 64 or 256 MB did, and every megabyte of it counts against the
    memory bound of a streamed gigabyte report. The settings live on this connection only (SQLite
    connections are not pooled).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}"))
        session.execute(text("PRAGMA temp_store=MEMORY"))


def _slices(values: Sequence[Any], size: int = ID_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def lookup(session: Session, project_id: int, fingerprints: Sequence[str]) -> dict[str, ExistingRow]:
    """The findings already on record among ``fingerprints`` (one indexed query per slice), and
    whether each has detection rows (a probe of the detections' primary key)."""
    rows: dict[str, ExistingRow] = {}
    conn = session.connection()
    mark = placeholder(conn)
    columns = (
        "fingerprint",
        "id",
        "status",
        "exception_id",
        "reopen_count",
        "scanner",
        "display_hash",
        "last_run_id",
        "EXISTS (SELECT 1 FROM finding_detection WHERE finding_id = finding.id)",
    )
    for part in _slices(fingerprints):
        clause, params = in_list(conn, part)
        found = fetch_rows(
            conn,
            columns,
            f"FROM finding WHERE project_id = {mark} AND fingerprint {clause}",
            (project_id, *params),
        )
        for fp, fid, status, exc_id, reopens, scanner, shown, last_run, has_rows in found:
            rows[fp] = ExistingRow(
                fid, str(status), exc_id, reopens or 0, scanner, shown, last_run, bool(has_rows)
            )
    return rows


def project_is_empty(session: Session, project_id: int) -> bool:
    """Whether the project has no finding on record yet (its first import)."""
    stmt = select(FINDING.c.id).where(FINDING.c.project_id == project_id).limit(1)
    return session.execute(stmt).first() is None


def load_aliases(session: Session, project_id: int) -> dict[tuple[str, str], str]:
    """(PEP 503 package, advisory id) -> fingerprint of the project's dependency findings."""
    by_alias: dict[tuple[str, str], str] = {}
    packages = session.execute(
        select(FINDING.c.fingerprint, FINDING.c.package, FINDING.c.advisory_ids).where(
            FINDING.c.project_id == project_id, FINDING.c.package.is_not(None)
        )
    )
    for fingerprint, package, advisories in packages:
        for advisory in advisories or []:
            by_alias.setdefault((package_key(package), str(advisory).upper()), fingerprint)
    return by_alias


def load_sla(session: Session, ids: Sequence[int]) -> dict[int, tuple[datetime | None, datetime | None]]:
    """(sla_due_at, sla_paused_at) of a few findings, for the ones whose SLA clock changes."""
    result: dict[int, tuple[datetime | None, datetime | None]] = {}
    for part in _slices(ids):
        stmt = select(Finding.id, Finding.sla_due_at, Finding.sla_paused_at).where(Finding.id.in_(part))
        for fid, due, paused in session.execute(stmt):
            result[fid] = (due, paused)
    return result


def _insert(table: Table, rows: Sequence[dict[str, Any]]) -> Any:
    return insert(table).values({c: bindparam(c) for c in rows[0]})


def _update_by_id(table: Table, columns: Iterable[str], key: str = "id") -> Any:
    return update(table).where(table.c[key] == bindparam("b_id")).values({c: bindparam(c) for c in columns})


def _grouped_updates(session: Session, table: Table, changes: list[dict[str, Any]]) -> None:
    """executemany UPDATEs, one statement per distinct set of changed columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        groups.setdefault(tuple(sorted(k for k in change if k != "b_id")), []).append(change)
    for columns, rows in groups.items():
        executemany(session.connection(), _update_by_id(table, columns), rows)


def write_chunk(session: Session, plan: Plan) -> None:
    """Write one chunk: new findings, display updates, ``last_seen``, lifecycle, history, detections."""
    conn = session.connection()
    if plan.implicit:
        _materialize(conn, plan)  # reads the findings as they were before this chunk changes them
    if plan.new_rows:
        executemany(conn, _insert(FINDING, plan.new_rows), plan.new_rows)
        # The project is locked: these fingerprints are the rows just inserted.
        mark = placeholder(conn)
        for part in _slices([row["fingerprint"] for row in plan.new_rows]):
            clause, params = in_list(conn, part)
            where = f"FROM finding WHERE project_id = {mark} AND fingerprint {clause}"
            plan.ids.update(fetch_rows(conn, ("fingerprint", "id"), where, (plan.project_id, *params)))
    if plan.changed_rows:
        executemany(conn, _update_by_id(FINDING, DISPLAY_COLUMNS), plan.changed_rows)
    if plan.same_ids:
        _touch(conn, plan.same_ids, plan)
    if plan.changes:
        _grouped_updates(session, FINDING, plan.changes)
    for fingerprint, row in plan.new_histories:
        row["finding_id"] = plan.ids[fingerprint]
        plan.histories.append(row)
    if plan.histories:
        executemany(conn, _insert(HISTORY, plan.histories), plan.histories)
    _write_detections(session, plan)


def _touch(conn: Connection, ids: Sequence[int], plan: Plan, scanner: str | None = None) -> None:
    """``last_seen``/``last_run_id`` of many findings (or one scanner's detections of them, revived)
    in one statement per slice of ids."""
    mark = placeholder(conn)
    proc = FINDING.c.last_seen.type._cached_bind_processor(conn.dialect)
    now = proc(plan.now) if proc else plan.now
    # Placeholders only: every value is bound.
    head: tuple[str, ...] = ()
    sql = f"UPDATE finding SET last_seen = {mark}, last_run_id = {mark} WHERE id "  # noqa: S608
    if scanner is not None:
        head = (scanner,)
        sql = (
            f"UPDATE finding_detection SET last_seen = {mark}, last_run_id = {mark}, active = TRUE "  # noqa: S608
            f"WHERE scanner = {mark} AND finding_id "
        )
    for part in _slices(ids):
        clause, params = in_list(conn, part)
        conn.exec_driver_sql(sql + clause, (now, plan.run_id, *head, *params))


def _materialize(conn: Connection, plan: Plan) -> None:
    """Write out the implicit own-scanner detection of findings another scanner now reports, as it
    stood before this chunk: first and last sighting from the finding, active unless it is fixed.

    Whether the own scanner reports the finding in this chunk too is the ordinary touch of a known
    detection afterwards. A ``false_positive`` keeps an active detection: triage does not say the
    scanner stopped reporting it, and the finding may be reopened.
    """
    f = FINDING.c
    for part in _slices(plan.implicit):
        write_implicit_detections(conn, f.status != FIXED, f.id.in_(part))


def write_implicit_detections(conn: Connection, active: Any, *where: Any) -> None:
    """``INSERT ... SELECT`` of the implicit detection of the findings matching ``where`` as rows:
    the finding's own scanner and sightings (:data:`IMPLICIT_COLUMNS`), ``active`` as given."""
    f = FINDING.c
    implicit = select(f.id, *(f[c] for c in IMPLICIT_COLUMNS), active).where(*where)
    conn.execute(insert(DETECTION).from_select(["finding_id", *IMPLICIT_COLUMNS, "active"], implicit))


def implicit_detection(finding: Finding) -> FindingDetection:
    """The detection a finding without detection rows stands for, for display: transient, never
    added to a session (the same values :func:`_materialize` would write)."""
    carried = {c: getattr(finding, c) for c in IMPLICIT_COLUMNS}
    return FindingDetection(finding_id=finding.id, active=finding.status != FindingStatus.FIXED, **carried)


def _known_detections(conn: Connection, ids: Sequence[int]) -> set[tuple[int, str]]:
    known: set[tuple[int, str]] = set()
    for part in _slices(ids):
        clause, params = in_list(conn, part)
        result = conn.exec_driver_sql(
            f"SELECT finding_id, scanner FROM finding_detection WHERE finding_id {clause}",  # noqa: S608
            tuple(params),
        )
        known.update(result.fetchall())
    return known


def _write_detections(session: Session, plan: Plan) -> None:
    """Record which scanners saw what, for the findings that have rows: new (finding, scanner)
    pairs are inserted, known ones touched (and revived) with one set-based UPDATE per scanner."""
    if not plan.detections:
        return
    conn = session.connection()
    new = {row["fingerprint"] for row in plan.new_rows}
    known = _known_detections(conn, [plan.ids[fp] for fp in plan.detections if fp not in new])
    inserts: list[dict[str, Any]] = []
    touch: dict[str, list[int]] = {}
    for fingerprint, scanners in plan.detections.items():
        fid = plan.ids[fingerprint]
        for scanner, rule in scanners.items():
            if (fid, scanner) in known:
                touch.setdefault(scanner, []).append(fid)
                continue
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
            known.add((fid, scanner))
    if inserts:
        executemany(conn, _insert(DETECTION, inserts), inserts)
    for scanner, ids in touch.items():
        _touch(conn, ids, plan, scanner)
