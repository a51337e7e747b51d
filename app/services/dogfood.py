"""Vigil scans itself: its own repository through the normal scan path, exceptions and CI gate.

Nothing here is a side channel. The repository becomes an ordinary git project (a clone of the
committed HEAD, so caches, virtualenvs and uncommitted files never enter the scan) with the
exclusions of ``.vigil-dogfood.toml``; each scanner runs as a queued run executed by
:func:`app.execution.executor.execute_run`, exactly as a worker would; the file's accepted risks are
requested by one named user and approved by another through the exception service; and the answer
is the CI gate's. Re-running on the same database is idempotent: unchanged entries keep their
exception, changed or removed ones are revoked, so the database always mirrors the file.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.errors import VigilError
from app.execution.executor import execute_run
from app.models import ExceptionScope, ExceptionState, Finding, FindingStatus, Project, RiskException, ScanRun
from app.models.base import SEVERITY_RANK, ActorType, Role, RunStatus, Severity
from app.security import clock
from app.services import exception_decisions, exception_requests, gate, projects, scans, users
from app.services.actor import Actor
from app.services.advisories import store_status
from app.services.dogfood_config import AcceptedRisk, DogfoodConfig
from app.services.exception_policy import ExceptionInputError, ExpiryPolicy
from app.services.permissions import NotFound, PermissionDenied
from app.services.sessions import project_ids_of
from app.sources import local_commit

ACTOR = Actor.cli("dogfood")
WAIT_POLL_SECONDS = 0.5


class DogfoodError(VigilError, ValueError):
    """The self-scan cannot be carried out as the file describes (no git tree, expired entry...)."""


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    scanner: str
    status: str
    total: int
    error: str | None


@dataclass(frozen=True)
class AcceptedSummary:
    exception_id: int
    entry: int
    rule: str
    path_glob: str
    findings: int
    justification: str
    expires_at: datetime


@dataclass
class DogfoodReport:
    project: str
    project_id: int
    commit: str
    fail_on: str
    runs: list[RunSummary] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    accepted: list[AcceptedSummary] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)
    created_users: list[str] = field(default_factory=list)
    # status -> severity -> number of findings of the project
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Accepted findings at or above fail_on whose exception has no written justification.
    unexplained: list[int] = field(default_factory=list)
    gate: gate.GateResult | None = None

    @property
    def runs_ok(self) -> bool:
        return bool(self.runs) and all(run.status == RunStatus.SUCCEEDED.value for run in self.runs)

    @property
    def passed(self) -> bool:
        return self.runs_ok and self.gate is not None and self.gate.passed and not self.unexplained


def source_url(repo: Path) -> tuple[str, str]:
    """The repository as a git URL plus its HEAD commit; only a git work tree can be dogfooded."""
    root = repo.resolve()
    commit = local_commit(root)
    if commit is None:
        raise DogfoodError(f"{root} is not a git work tree with a commit: dogfood scans the committed tree")
    return f"file://{root}", commit


def _project(session: Session, config: DogfoodConfig, url: str) -> Project:
    excludes = [e.path for e in config.exclusions]
    project = projects.get_by_name(session, config.name)
    if project is None:
        return projects.add_project(
            session,
            ACTOR,
            name=config.name,
            git_url=url,
            scanners=config.scanners,
            description=f"Vigil's own repository, scanned by `vigil dogfood` ({config.source})",
            exclude_paths=excludes,
            dependency_files=list(config.dependency_files),
        )
    projects.configure_scans(
        session,
        ACTOR,
        project,
        scanners=config.scanners,
        exclude_paths=excludes,
        dependency_files=config.dependency_files,
        git_url=url,
    )
    return project


def _scan(
    database: Database, settings: Settings, project_id: int, names: list[str], threads: int
) -> list[int]:
    """Queue one run per scanner and execute them here, as the embedded worker pool would."""
    with database.transaction() as session:
        queued = scans.queue_scans(session, ACTOR, project_id, scanners=names, details={"dogfood": True})
    if queued.busy:
        raise DogfoodError(f"a run of {', '.join(queued.busy)} is already queued or running; try again later")
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="dogfood") as pool:
        list(pool.map(lambda run_id: execute_run(database, run_id, settings=settings), queued.run_ids))
    # A run another worker (a running `vigil serve`) claimed first is finished by that worker.
    deadline = time.monotonic() + settings.scan_timeout_seconds + 120
    while True:
        with database.reader() as session:
            statuses = session.scalars(select(ScanRun.status).where(ScanRun.id.in_(queued.run_ids))).all()
        if all(status.finished for status in statuses) or time.monotonic() > deadline:
            return queued.run_ids
        time.sleep(WAIT_POLL_SECONDS)


def _person(session: Session, name: str, role: Role, project_id: int, report: DogfoodReport) -> Actor:
    """The named user as an actor; created (random password nobody knows) when the database lacks it."""
    user = users.get_by_username(session, name)
    if user is None:
        user = users.create_user(
            session,
            ACTOR,
            username=name,
            password=secrets.token_urlsafe(32),
            role=role,
            display_name=f"{name} (named in the dogfood file)",
            must_change_password=True,
        )
        if role not in (Role.ADMIN, Role.APPROVER):
            users.set_projects(session, ACTOR, user.id, [project_id])
        report.created_users.append(f"{user.username} ({role.value})")
    if not user.active:
        raise DogfoodError(f"user {name!r} named in the dogfood file is disabled")
    projects_seen = project_ids_of(session, user.id, user.role)
    return Actor(
        type=ActorType.USER, id=user.id, label=user.username, role=user.role, project_ids=projects_seen
    )


def _same(exc: RiskException, risk: AcceptedRisk) -> bool:
    return (
        exc.justification == risk.justification
        and exc.mitigation == risk.mitigation
        and exc.owner == risk.owner
        and exc.expires_at == risk.expires
    )


def _accept(session: Session, config: DogfoodConfig, report: DogfoodReport, policy: ExpiryPolicy) -> None:
    """Make the project's active dogfood exceptions equal to the file's ``[[accept]]`` entries."""
    now = clock.now()
    wanted = {(risk.rule, glob): risk for risk in config.accepted for glob in risk.paths}
    current = session.scalars(
        select(RiskException).where(
            RiskException.project_id == report.project_id,
            RiskException.state.in_((ExceptionState.PENDING, ExceptionState.ACTIVE)),
        )
    ).all()
    kept: set[tuple[str, str]] = set()
    for exc in current:
        if (exc.details or {}).get("dogfood") != config.source:
            continue  # exceptions made by people in the dashboard are theirs to manage
        key = (exc.rule_id or "", exc.path_glob or "")
        risk = wanted.get(key)
        # An entry past its expiry is never kept, even before the expiry job has run: it must fail.
        if (
            risk is not None
            and exc.state is ExceptionState.ACTIVE
            and _same(exc, risk)
            and exc.expires_at > now
        ):
            kept.add(key)
            report.accepted.append(_summary(session, exc, risk.number))
            continue
        reason = f"changed in or removed from {config.source}"
        exception_decisions.revoke(session, ACTOR, exc.id, reason, now)
        report.revoked.append(exc.id)
    for (rule, glob), risk in wanted.items():
        if (rule, glob) not in kept:
            _request_and_approve(session, config, report, policy, risk, glob, now)


def _request_and_approve(
    session: Session,
    config: DogfoodConfig,
    report: DogfoodReport,
    policy: ExpiryPolicy,
    risk: AcceptedRisk,
    glob: str,
    now: datetime,
) -> None:
    where = f"{config.source} accept entry {risk.number} ({risk.rule} in {glob})"
    requester = _person(session, risk.requested_by, Role.ANALYST, report.project_id, report)
    approver = _person(session, risk.approved_by, Role.APPROVER, report.project_id, report)
    req = exception_requests.ExceptionRequest(
        scope=ExceptionScope.RULE,
        rule_id=risk.rule,
        path_glob=glob,
        project_ids=[report.project_id],
        justification=risk.justification,
        mitigation=risk.mitigation,
        owner=risk.owner,
        ticket_url=risk.ticket_url,
        expires_at=risk.expires,
        details={"dogfood": config.source, "entry": risk.number},
    )
    try:
        if not exception_requests.preview(session, requester, req):
            report.stale.append(f"{where}: matches no finding any more; remove it from the file")
            return
        (row,) = exception_requests.request_exception(session, requester, req, policy, now)
        comment = f"Approved in the review of {config.source}, accept entry {risk.number}"
        exception_decisions.approve(session, approver, row.id, comment, now)
    except ExceptionInputError as exc:
        raise DogfoodError(f"{where}: {exc}") from None
    except PermissionDenied as exc:
        raise DogfoodError(f"{where}: the exception service refused it ({exc.permission})") from None
    except NotFound:
        raise DogfoodError(
            f"{where}: {risk.requested_by!r} is not a member of project {config.name!r}"
        ) from None
    report.accepted.append(_summary(session, row, risk.number))


def _summary(session: Session, exc: RiskException, entry: int) -> AcceptedSummary:
    findings = session.scalar(select(func.count()).select_from(Finding).where(Finding.exception_id == exc.id))
    return AcceptedSummary(
        exc.id,
        entry,
        exc.rule_id or "",
        exc.path_glob or "",
        int(findings or 0),
        exc.justification,
        exc.expires_at,
    )


def _tally(session: Session, report: DogfoodReport) -> None:
    """Counts per status and severity, and accepted blocking findings that lack a written reason."""
    rows = session.execute(
        select(Finding.status, Finding.severity, func.count())
        .where(Finding.project_id == report.project_id)
        .group_by(Finding.status, Finding.severity)
    ).all()
    for status, severity, number in rows:
        report.counts.setdefault(FindingStatus(status).value, {})[Severity(severity).value] = int(number)
    threshold = SEVERITY_RANK[Severity(report.fail_on)]
    blocking = [s for s in Severity if SEVERITY_RANK[s] >= threshold]
    accepted = session.execute(
        select(Finding.id, RiskException.justification)
        .outerjoin(RiskException, RiskException.id == Finding.exception_id)
        .where(
            Finding.project_id == report.project_id,
            Finding.status == FindingStatus.ACCEPTED,
            Finding.severity.in_(blocking),
        )
    ).all()
    report.unexplained = [finding_id for finding_id, why in accepted if not (why or "").strip()]


def run_dogfood(
    database: Database, settings: Settings, config: DogfoodConfig, repo: Path, *, threads: int = 2
) -> DogfoodReport:
    """Scan ``repo`` as the file says, apply its accepted risks, and ask the gate."""
    url, commit = source_url(repo)
    with database.transaction() as session:
        project = _project(session, config, url)
        report = DogfoodReport(config.name, project.id, commit, config.fail_on)
        names = list(config.scanners)
        if "osv" in names and store_status(session).advisories == 0:
            names.remove("osv")
            report.skipped["osv"] = "the offline advisory store is empty (vigil advisories import PATH)"
    if not names:
        raise DogfoodError("no scanner left to run")
    run_ids = _scan(database, settings, report.project_id, names, threads)
    with database.transaction() as session:
        for run in session.scalars(select(ScanRun).where(ScanRun.id.in_(run_ids)).order_by(ScanRun.id)):
            report.runs.append(
                RunSummary(run.id, run.scanner, run.status.value, run.count_total or 0, run.error)
            )
        if report.runs_ok:
            # On a failed run the findings are incomplete: accepting against them would judge nothing.
            _accept(session, config, report, ExpiryPolicy.from_settings(settings))
        _tally(session, report)
        report.gate = gate.evaluate(session, ACTOR, report.project_id, config.fail_on)
    return report
