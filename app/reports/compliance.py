"""The compliance report's data, for a scope of projects, as of a date.

Everything is reconstructed from history tables (status history, scan runs, exception decisions,
audit events, count snapshots), so a report "as of" a past date shows that date's state rather
than today's: an auditor asking about the end of last quarter gets the end of last quarter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    CountSnapshot,
    ExceptionState,
    Finding,
    FindingStatus,
    FindingStatusHistory,
    Project,
    RiskException,
    RunStatus,
    ScanRun,
    User,
)
from app.models.base import SEVERITY_RANK, Severity

SEVERITY_ORDER = [s.value for s in sorted(Severity, key=lambda s: -SEVERITY_RANK[s])]
FAILED_STATES = (RunStatus.FAILED, RunStatus.TIMED_OUT)
# A report "as of" a moment this close to now reads current statuses instead of replaying history.
LIVE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class CoverageRow:
    project: str
    scanner: str
    last_success_at: datetime | None
    age_days: float | None
    failures_in_period: int


@dataclass(frozen=True)
class OpenFinding:
    id: int
    project: str
    scanner: str
    rule_id: str
    severity: str
    category: str
    title: str
    path: str | None
    line: int | None
    package: str | None
    advisory_ids: list[str]
    first_seen: datetime
    sla_due_at: datetime | None
    overdue: bool
    age_days: float


@dataclass(frozen=True)
class AcceptedRisk:
    id: int
    project: str
    scope: str
    subject: str
    justification: str
    mitigation: str
    owner: str
    requested_by: str
    approver: str
    approved_at: datetime | None
    expires_at: datetime
    state_as_of: str


@dataclass
class ComplianceData:
    """All sections of the report; every exporter renders from this one object."""

    as_of: datetime
    period_start: datetime
    projects: list[str]
    coverage: list[CoverageRow] = field(default_factory=list)
    open_findings: list[OpenFinding] = field(default_factory=list)
    open_by_severity: dict[str, int] = field(default_factory=dict)
    overdue_by_severity: dict[str, int] = field(default_factory=dict)
    new_in_period: int = 0
    fixed_in_period: int = 0
    mean_time_to_fix_days: float | None = None
    accepted_risks: list[AcceptedRisk] = field(default_factory=list)
    ended_exceptions: list[AcceptedRisk] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    audit_summary: dict[str, int] = field(default_factory=dict)

    @property
    def coverage_gaps(self) -> list[CoverageRow]:
        return [row for row in self.coverage if row.last_success_at is None]


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def as_of_end(day: date | datetime | None) -> datetime:
    """A report "as of" a day covers that whole day (UTC)."""
    if day is None:
        return datetime.now(UTC)
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1) - timedelta(microseconds=1)


def build_compliance(
    session: Session, project_ids: Sequence[int], as_of: datetime, *, period_days: int = 30
) -> ComplianceData:
    """Assemble every section for the given projects as they were at ``as_of``."""
    projects = {
        p.id: p
        for p in session.scalars(select(Project).where(Project.id.in_(project_ids)).order_by(Project.name))
    }
    start = as_of - timedelta(days=period_days)
    data = ComplianceData(as_of=as_of, period_start=start, projects=[p.name for p in projects.values()])
    if not projects:
        return data
    ids = list(projects)
    data.coverage = _coverage(session, projects, as_of, start)
    data.open_findings = _open_findings(session, projects, as_of)
    counts = Counter(f.severity for f in data.open_findings)
    overdue = Counter(f.severity for f in data.open_findings if f.overdue)
    data.open_by_severity = {s: counts.get(s, 0) for s in SEVERITY_ORDER}
    data.overdue_by_severity = {s: overdue.get(s, 0) for s in SEVERITY_ORDER}
    data.new_in_period = (
        session.scalar(
            select(func.count()).where(
                Finding.project_id.in_(ids), Finding.first_seen > start, Finding.first_seen <= as_of
            )
        )
        or 0
    )
    data.fixed_in_period, data.mean_time_to_fix_days = _fixed(session, ids, start, as_of)
    data.accepted_risks, data.ended_exceptions = _exceptions(session, projects, start, as_of)
    data.trend = _trend(session, ids, as_of)
    data.audit_summary = _audit_summary(session, start, as_of)
    return data


def _coverage(
    session: Session, projects: dict[int, Project], as_of: datetime, start: datetime
) -> list[CoverageRow]:
    ids = list(projects)
    last_ok = dict(
        ((row.project_id, row.scanner), _aware(row.last))
        for row in session.execute(
            select(ScanRun.project_id, ScanRun.scanner, func.max(ScanRun.finished_at).label("last"))
            .where(
                ScanRun.project_id.in_(ids),
                ScanRun.status == RunStatus.SUCCEEDED,
                ScanRun.finished_at <= as_of,
            )
            .group_by(ScanRun.project_id, ScanRun.scanner)
        )
    )
    failures = Counter(
        {
            (row.project_id, row.scanner): row.n
            for row in session.execute(
                select(ScanRun.project_id, ScanRun.scanner, func.count().label("n"))
                .where(
                    ScanRun.project_id.in_(ids),
                    ScanRun.status.in_(FAILED_STATES),
                    ScanRun.queued_at > start,
                    ScanRun.queued_at <= as_of,
                )
                .group_by(ScanRun.project_id, ScanRun.scanner)
            )
        }
    )
    rows = []
    for pid, project in projects.items():
        scanners = sorted(set(project.enabled_scanners) | {s for (p, s) in last_ok if p == pid})
        for scanner in scanners:
            last = last_ok.get((pid, scanner))
            age = (as_of - last).total_seconds() / 86400 if last else None
            rows.append(CoverageRow(project.name, scanner, last, age, failures.get((pid, scanner), 0)))
    return rows


def _status_as_of(session: Session, finding_ids: list[int], as_of: datetime) -> dict[int, str]:
    """Each finding's status at ``as_of`` from its history (latest change not after the date)."""
    ranked = (
        select(
            FindingStatusHistory.finding_id,
            FindingStatusHistory.to_status,
            func.row_number()
            .over(
                partition_by=FindingStatusHistory.finding_id,
                order_by=(FindingStatusHistory.changed_at.desc(), FindingStatusHistory.id.desc()),
            )
            .label("rn"),
        )
        .where(FindingStatusHistory.changed_at <= as_of, FindingStatusHistory.finding_id.in_(finding_ids))
        .subquery()
    )
    rows = session.execute(select(ranked.c.finding_id, ranked.c.to_status).where(ranked.c.rn == 1))
    return {fid: FindingStatus(status).value for fid, status in rows}


def _open_findings(session: Session, projects: dict[int, Project], as_of: datetime) -> list[OpenFinding]:
    live = (datetime.now(UTC) - as_of) < LIVE_WINDOW
    stmt = (
        select(
            Finding.id,
            Finding.project_id,
            Finding.scanner,
            Finding.rule_id,
            Finding.severity,
            Finding.category,
            Finding.title,
            Finding.path,
            Finding.line,
            Finding.package,
            Finding.advisory_ids,
            Finding.first_seen,
            Finding.sla_due_at,
        )
        .where(Finding.project_id.in_(list(projects)), Finding.first_seen <= as_of)
        .order_by(Finding.id)
    )
    if live:
        # "As of now" is the current state: no need to replay history.
        stmt = stmt.where(Finding.status == FindingStatus.OPEN)
    existing = session.execute(stmt).all()
    statuses: dict[int, str] = {}
    if not live:
        chunk = 5000
        for i in range(0, len(existing), chunk):
            statuses.update(_status_as_of(session, [r.id for r in existing[i : i + chunk]], as_of))
    open_value = FindingStatus.OPEN.value
    names = {pid: p.name for pid, p in projects.items()}
    result: list[OpenFinding] = []
    append = result.append
    for row in existing:
        if not live and statuses.get(row.id, open_value) != open_value:
            continue
        first_seen = row.first_seen
        due = row.sla_due_at
        append(
            OpenFinding(
                id=row.id,
                project=names[row.project_id],
                scanner=row.scanner,
                rule_id=row.rule_id,
                severity=str(row.severity),
                category=str(row.category),
                title=row.title,
                path=row.path,
                line=row.line,
                package=row.package,
                advisory_ids=list(row.advisory_ids or ()),
                first_seen=first_seen,
                sla_due_at=due,
                overdue=due is not None and due < as_of,
                age_days=round((as_of - first_seen).total_seconds() / 86400, 1),
            )
        )
    rank = {s.value: SEVERITY_RANK[s] for s in Severity}
    result.sort(key=lambda f: (-rank[f.severity], f.first_seen, f.id))
    return result


def _fixed(session: Session, ids: list[int], start: datetime, as_of: datetime) -> tuple[int, float | None]:
    rows = session.execute(
        select(FindingStatusHistory.changed_at, Finding.first_seen)
        .join(Finding, Finding.id == FindingStatusHistory.finding_id)
        .where(
            Finding.project_id.in_(ids),
            FindingStatusHistory.to_status == FindingStatus.FIXED,
            FindingStatusHistory.changed_at > start,
            FindingStatusHistory.changed_at <= as_of,
        )
    ).all()
    if not rows:
        return 0, None
    days = [((_aware(c) or as_of) - (_aware(f) or as_of)).total_seconds() / 86400 for c, f in rows]
    return len(rows), round(sum(days) / len(days), 1)


def _exceptions(
    session: Session, projects: dict[int, Project], start: datetime, as_of: datetime
) -> tuple[list[AcceptedRisk], list[AcceptedRisk]]:
    ids = list(projects)
    users = {uid: name for uid, name in session.execute(select(User.id, User.username))}
    candidates = session.scalars(
        select(RiskException)
        .where(
            or_(RiskException.project_id.in_(ids), RiskException.project_id.is_(None)),
            RiskException.decided_at.is_not(None),
            RiskException.decided_at <= as_of,
            RiskException.state.in_([ExceptionState.ACTIVE, ExceptionState.EXPIRED, ExceptionState.REVOKED]),
        )
        .order_by(RiskException.expires_at)
    ).all()
    active, ended = [], []
    for exc in candidates:
        revoked_at = _aware(exc.revoked_at)
        expires_at = _aware(exc.expires_at) or as_of
        if expires_at > as_of and (revoked_at is None or revoked_at > as_of):
            active.append(_risk(exc, projects, users, "active"))
        elif revoked_at is not None and start < revoked_at <= as_of:
            ended.append(_risk(exc, projects, users, "revoked"))
        elif start < expires_at <= as_of:
            ended.append(_risk(exc, projects, users, "expired"))
    return active, ended


def _risk(
    exc: RiskException, projects: dict[int, Project], users: dict[int, str], state: str
) -> AcceptedRisk:
    subject = {
        "finding": f"finding #{exc.finding_id}",
        "advisory": " / ".join(x for x in [exc.advisory_id, exc.package] if x),
        "rule": " in ".join(x for x in [exc.rule_id, exc.path_glob] if x),
    }.get(exc.scope.value, "")
    return AcceptedRisk(
        id=exc.id,
        project=projects[exc.project_id].name if exc.project_id in projects else "all projects",
        scope=exc.scope.value,
        subject=subject,
        justification=exc.justification,
        mitigation=exc.mitigation,
        owner=exc.owner,
        requested_by=users.get(exc.requested_by_id, "?"),
        approver=users.get(exc.decided_by_id or -1, "?"),
        approved_at=_aware(exc.decided_at),
        expires_at=_aware(exc.expires_at) or datetime.max.replace(tzinfo=UTC),
        state_as_of=state,
    )


def _trend(session: Session, ids: list[int], as_of: datetime, days: int = 90) -> list[dict[str, Any]]:
    first = (as_of - timedelta(days=days)).date()
    rows = session.execute(
        select(CountSnapshot.day, CountSnapshot.severity, func.sum(CountSnapshot.count))
        .where(
            CountSnapshot.project_id.in_(ids),
            CountSnapshot.status == FindingStatus.OPEN,
            and_(CountSnapshot.day >= first, CountSnapshot.day <= as_of.date()),
        )
        .group_by(CountSnapshot.day, CountSnapshot.severity)
        .order_by(CountSnapshot.day)
    ).all()
    by_day: dict[date, dict[str, Any]] = {}
    for day, severity, total in rows:
        entry = by_day.setdefault(day, {"day": day.isoformat(), **{s: 0 for s in SEVERITY_ORDER}})
        entry[Severity(severity).value] = int(total or 0)
    return list(by_day.values())


def _audit_summary(session: Session, start: datetime, as_of: datetime) -> dict[str, int]:
    rows = session.execute(
        select(AuditEvent.action, func.count())
        .where(AuditEvent.at > start, AuditEvent.at <= as_of)
        .group_by(AuditEvent.action)
        .order_by(AuditEvent.action)
    ).all()
    return {action: int(n) for action, n in rows}
