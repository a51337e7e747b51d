"""Browse and triage findings: visibility by project, keyset pages, status changes with a reason.

A finding outside the actor's projects does not exist for them (``NotFound``, a 404), whether it
is asked for by id, named in a filter or slipped into a bulk selection. Pages use keyset
pagination on (sort key, id) over the indexes of migration 0006, so page 2,000 costs what page 1
costs. ``accepted`` is reachable only through an approved exception and ``fixed`` only through a
scan, so triage offers just open <-> false positive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import Finding, FindingStatus, FindingStatusHistory, Project, Severity, utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.finding_filters import FilterError, FindingFilter, decode_cursor, encode_cursor
from app.services.permissions import NotFound, require
from app.sqlite_hints import indexed_by

SEVERITY_DESC = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)
TRIAGE_MOVES = {
    (FindingStatus.OPEN, FindingStatus.FALSE_POSITIVE),
    (FindingStatus.FALSE_POSITIVE, FindingStatus.OPEN),
}
MAX_BULK = 500
MAX_REASON = 2000
COUNT_CAP = 10_000
MAX_CHOICES = 1000
PATCHABLE = frozenset({"status", "reason"})
# Up to this many projects in view, lists and counts read the project-led covering index.
FEW_PROJECTS = 25
BROWSE_INDEX = "ix_finding_project_browse"


class TriageError(VigilError, ValueError):
    """A triage request that cannot be applied; nothing was changed."""


@dataclass(frozen=True)
class Page:
    items: list[Finding]
    projects: dict[int, str]
    next_cursor: str | None
    total: int
    total_capped: bool
    # The visible projects, for the filter's project picker.
    project_choices: list[tuple[int, str]]


def visible_scope(actor: Actor) -> frozenset[int] | None:
    require(actor, "finding.view")
    return actor.project_ids


def check_project_ids(session: Session, actor: Actor, project_ids: Sequence[int]) -> None:
    """Every project named in a filter must exist and be visible, or the whole request is a 404."""
    if not project_ids:
        return
    if actor.project_ids is not None and not set(project_ids) <= actor.project_ids:
        raise NotFound()
    found = set(session.scalars(select(Project.id).where(Project.id.in_(project_ids))))
    if found != set(project_ids):
        raise NotFound()


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def conditions(
    flt: FindingFilter, scope: frozenset[int] | None, now: datetime, dialect: str = "sqlite"
) -> list[ColumnElement[bool]]:
    """The WHERE clause of a filter; every value is bound, every column is from the allow-list."""
    where: list[ColumnElement[bool]] = []
    if scope is not None:
        where.append(Finding.project_id.in_(sorted(scope) or [-1]))
    if flt.project_ids:
        where.append(Finding.project_id.in_(flt.project_ids))
    if flt.scanners:
        where.append(Finding.scanner.in_(flt.scanners))
    if flt.categories:
        where.append(Finding.category.in_(flt.categories))
    if flt.severities:
        where.append(Finding.severity.in_(flt.severities))
    if flt.statuses:
        where.append(Finding.status.in_(flt.statuses))
    if flt.rule:
        where.append(Finding.rule_id == flt.rule)
    if flt.path_prefix:
        where.extend(path_prefix_conditions(flt.path_prefix, dialect))
    if flt.text:
        pattern = "%" + _escape_like(flt.text) + "%"
        where.append(
            or_(
                Finding.title.ilike(pattern, escape="\\"),
                Finding.message.ilike(pattern, escape="\\"),
                Finding.path.ilike(pattern, escape="\\"),
                Finding.rule_id.ilike(pattern, escape="\\"),
            )
        )
    if flt.overdue:
        where.append(and_(Finding.sla_due_at < now, Finding.status == FindingStatus.OPEN))
    if flt.seen_from:
        where.append(Finding.first_seen >= _day_start(flt.seen_from))
    if flt.seen_to:
        where.append(Finding.first_seen < _day_start(flt.seen_to) + timedelta(days=1))
    if flt.fixed_from:
        where.append(Finding.fixed_at >= _day_start(flt.fixed_from))
    if flt.fixed_to:
        where.append(Finding.fixed_at < _day_start(flt.fixed_to) + timedelta(days=1))
    return where


def path_prefix_conditions(prefix: str, dialect: str) -> list[ColumnElement[bool]]:
    """``path LIKE 'prefix%'``, plus on SQLite the same as an index range.

    SQLite's LIKE is case-insensitive and so cannot use an index; with the default binary collation
    ``prefix <= path < prefix+1`` selects exactly the paths that start with the prefix, so the range
    finds the rows through ``ix_finding_path_status`` and the LIKE keeps the meaning exact.
    PostgreSQL's collations do not order paths byte by byte, so there the LIKE stands alone.
    """
    parts: list[ColumnElement[bool]] = [Finding.path.like(_escape_like(prefix) + "%", escape="\\")]
    if dialect == "sqlite":
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        parts += [Finding.path >= prefix, Finding.path < upper]
    return parts


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def few_projects(scope: frozenset[int] | None, flt: FindingFilter) -> bool:
    """Whether the rows in view belong to a handful of projects (an analyst, a project filter)."""
    named = flt.project_ids or (tuple(scope) if scope is not None else None)
    return named is not None and len(named) <= FEW_PROJECTS


def _ids(where: list[ColumnElement[bool]], narrow: bool) -> Select[Any]:
    """``SELECT id WHERE ...``; a few projects' rows are found and filtered in their covering index.

    ``ix_finding_project_browse`` holds every filtered column but the free text, so the filters
    run on index entries; left alone, SQLite would rather walk a global index in page order and
    read table rows until a page of that handful of projects is full.
    """
    stmt: Select[Any] = select(Finding.id).where(*where)
    return indexed_by(stmt, Finding, BROWSE_INDEX) if narrow else stmt


def _keyset_page(
    session: Session,
    where: list[ColumnElement[bool]],
    sort: str,
    after: list[Any] | None,
    limit: int,
    narrow: bool = False,
) -> list[Finding]:
    """Ids first, rows second: the ordering and the limit run on index entries alone.

    When the database sorts (a few projects' findings, not one index range) it then sorts narrow
    index entries instead of whole rows, and only the page's rows are read from the table.
    """
    column = Finding.first_seen  # every sort pages by first seen, worst severity first within severity
    stmt = _ids(where, narrow)
    if sort.startswith("-") or sort == "severity":
        if after is not None:
            stmt = stmt.where(tuple_(column, Finding.id) < tuple_(after[0], after[1]))
        stmt = stmt.order_by(column.desc(), Finding.id.desc())
    else:
        if after is not None:
            stmt = stmt.where(tuple_(column, Finding.id) > tuple_(after[0], after[1]))
        stmt = stmt.order_by(column.asc(), Finding.id.asc())
    ids = list(session.scalars(stmt.limit(limit)))
    if not ids:
        return []
    rows = {f.id: f for f in session.scalars(select(Finding).where(Finding.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def _severity_page(
    session: Session,
    flt: FindingFilter,
    where: list[ColumnElement[bool]],
    after: list[Any] | None,
    limit: int,
    narrow: bool = False,
) -> list[Finding]:
    """Worst first: one index-ordered keyset query per severity, in rank order, until the page is full.

    Severity is stored as text, so ORDER BY severity would sort alphabetically, and ordering by a
    CASE expression cannot use an index; five small ordered queries can.
    """
    wanted = [s for s in SEVERITY_DESC if not flt.severities or s in flt.severities]
    if after is not None:
        wanted = wanted[wanted.index(after[0]) :] if after[0] in wanted else []
    items: list[Finding] = []
    for severity in wanted:
        position = after[1:] if after is not None and severity == after[0] else None
        items += _keyset_page(
            session,
            [*where, Finding.severity == severity],
            "-first_seen",
            position,
            limit - len(items),
            narrow,
        )
        if len(items) >= limit:
            break
    return items


def list_findings(
    session: Session,
    actor: Actor,
    flt: FindingFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> Page:
    """One page of findings the actor may see, plus a capped total for the heading."""
    scope = visible_scope(actor)
    check_project_ids(session, actor, flt.project_ids)
    after = decode_cursor(cursor, flt.sort) if cursor else None
    where = conditions(flt, scope, now or utcnow(), session.get_bind().dialect.name)
    narrow = few_projects(scope, flt)
    if flt.sort == "severity":
        rows = _severity_page(session, flt, where, after, limit + 1, narrow)
    else:
        rows = _keyset_page(session, where, flt.sort, after, limit + 1, narrow)
    items, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more and items:
        last = items[-1]
        values: list[Any] = [last.severity.value] if flt.sort == "severity" else []
        next_cursor = encode_cursor(flt.sort, [*values, last.first_seen, last.id])
    capped = _ids(where, narrow).limit(COUNT_CAP + 1).subquery()
    total = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    project_ids = {f.project_id for f in items}
    name_rows = session.execute(select(Project.id, Project.name).where(Project.id.in_(project_ids)))
    names = {pid: name for pid, name in name_rows}
    choices = select(Project.id, Project.name).order_by(Project.name).limit(MAX_CHOICES)
    if scope is not None:
        choices = choices.where(Project.id.in_(sorted(scope) or [-1]))
    project_choices = [(pid, name) for pid, name in session.execute(choices)]
    return Page(items, names, next_cursor, min(total, COUNT_CAP), total > COUNT_CAP, project_choices)


def get_finding(session: Session, actor: Actor, finding_id: int) -> Finding:
    """The finding, or ``NotFound`` when it does not exist or lies outside the actor's projects."""
    require(actor, "finding.view")
    finding = session.get(Finding, finding_id)
    if finding is None or not actor.can_see_project(finding.project_id):
        raise NotFound()
    return finding


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise TriageError("a reason is required for every status change")
    if len(text) > MAX_REASON:
        raise TriageError(f"the reason is too long (at most {MAX_REASON} characters)")
    return text


def _target_status(raw: Any) -> FindingStatus:
    value = str(raw or "").strip().lower()
    if value == FindingStatus.ACCEPTED.value:
        raise TriageError("'accepted' is set only by an approved exception: request one instead")
    if value == FindingStatus.FIXED.value:
        raise TriageError("'fixed' is set by a scan that no longer reports the finding")
    if value not in (FindingStatus.OPEN.value, FindingStatus.FALSE_POSITIVE.value):
        raise TriageError("status must be 'open' or 'false_positive'")
    return FindingStatus(value)


@dataclass(frozen=True)
class TriageResult:
    changed: list[int]
    unchanged: list[int]


def triage(
    session: Session, actor: Actor, finding_ids: Sequence[int], status: Any, reason: str | None
) -> TriageResult:
    """Move findings between open and false positive, with one history row and audit event each.

    Validation happens before any change, so a bad request changes nothing. Findings already in the
    target status, accepted under an exception, or fixed are left as they are and reported.
    """
    require(actor, "finding.triage")
    target = _target_status(status)
    text = _clean_reason(reason)
    ids = list(dict.fromkeys(int(i) for i in finding_ids))
    if not ids:
        raise TriageError("select at least one finding")
    if len(ids) > MAX_BULK:
        raise TriageError(f"at most {MAX_BULK} findings can be triaged at once")
    findings = {f.id: f for f in session.scalars(select(Finding).where(Finding.id.in_(ids)))}
    if set(findings) != set(ids) or any(not actor.can_see_project(f.project_id) for f in findings.values()):
        raise NotFound()
    now = utcnow()
    changed, unchanged = [], []
    for fid in ids:
        finding = findings[fid]
        if (finding.status, target) not in TRIAGE_MOVES:
            unchanged.append(fid)
            continue
        before = finding.status
        session.add(
            FindingStatusHistory(
                finding_id=fid,
                from_status=before,
                to_status=target,
                changed_at=now,
                actor_user_id=actor.id if actor.is_user else None,
                actor=actor.label,
                reason=text,
            )
        )
        finding.status = target
        finding.status_changed_at = now
        audit.record(
            session,
            actor,
            "finding_triage",
            object_type="finding",
            object_id=fid,
            before={"status": before.value},
            after={"status": target.value, "reason": text},
        )
        changed.append(fid)
    session.flush()
    return TriageResult(changed, unchanged)


def update_finding(session: Session, actor: Actor, finding_id: int, payload: Mapping[str, Any]) -> Finding:
    """The PATCH use case: only ``status`` (open / false_positive) with a ``reason`` may change.

    Any other field (severity, approved_by, exception_id, ...) is refused as a whole: the request
    fails and nothing is written, rather than silently applying half of it.
    """
    require(actor, "finding.triage")
    finding = get_finding(session, actor, finding_id)
    if not isinstance(payload, Mapping):
        raise TriageError('send a JSON object such as {"status": "false_positive", "reason": "..."}')
    extra = sorted(str(k)[:40] for k in payload if k not in PATCHABLE)
    if extra:
        raise TriageError(f"these fields cannot be changed here: {', '.join(extra)}")
    if "status" not in payload:
        raise TriageError("nothing to change: send 'status' and 'reason'")
    reason = payload.get("reason")
    triage(session, actor, [finding.id], payload.get("status"), reason if isinstance(reason, str) else None)
    return finding


def refuse_delete(session: Session, actor: Actor, finding_id: int) -> None:
    """Findings are evidence and are never deleted; a hidden one is still a plain 404."""
    require(actor, "finding.triage")
    get_finding(session, actor, finding_id)
    raise TriageError("findings are never deleted: mark it as a false positive with a reason instead")


__all__ = [
    "FilterError",
    "Page",
    "TriageError",
    "TriageResult",
    "get_finding",
    "list_findings",
    "refuse_delete",
    "triage",
    "update_finding",
]
