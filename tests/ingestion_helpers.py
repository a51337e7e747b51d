"""Builders for the ingestion tests: projects, runs and normalized findings, written for real."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.ingestion import IngestSummary, ingest
from app.models import ExceptionState, Finding, Project, RiskException, Role, RunStatus, ScanRun, User, utcnow
from app.scanners.base import NormalizedFinding


def project(session: Session, name: str = "shop") -> Project:
    row = Project(name=name, local_path=f"/srv/{name}")
    session.add(row)
    session.flush()
    return row


def code(
    rule: str = "py.eval_used",
    path: str = "shop/views.py",
    line: int = 10,
    snippet: str | None = "result = eval(user_input)",
    *,
    scanner: str = "bandit",
    column: int | None = None,
    severity: str = "high",
    tool_rule_id: str | None = None,
    suppressed: bool = False,
) -> NormalizedFinding:
    return NormalizedFinding(
        scanner=scanner,
        rule_id=rule,
        tool_rule_id=tool_rule_id or rule,
        category="security",
        severity=severity,
        title=f"{rule} in {path}",
        message="eval of user input",
        path=path,
        line=line,
        column=column,
        snippet=snippet,
        suppressed=suppressed,
    )


def dependency(package: str = "Django", ids: tuple[str, ...] = ("GHSA-aaaa-bbbb-cccc",)) -> NormalizedFinding:
    return NormalizedFinding(
        scanner="pip-audit",
        rule_id=ids[0],
        tool_rule_id=ids[0],
        category="dependency",
        severity="high",
        title=f"{package} is vulnerable",
        package=package,
        installed_version="4.2.0",
        advisory_ids=ids,
        fixed_versions=("4.2.9",),
    )


def run(
    session: Session,
    proj: Project,
    scanner: str = "bandit",
    *,
    status: RunStatus = RunStatus.RUNNING,
    complete: bool = True,
) -> ScanRun:
    row = ScanRun(project_id=proj.id, scanner=scanner, status=status, complete=complete)
    session.add(row)
    session.flush()
    return row


def scan(
    session: Session,
    proj: Project,
    findings: list[NormalizedFinding],
    scanner: str = "bandit",
    *,
    now: datetime | None = None,
    **kwargs: Any,
) -> IngestSummary:
    return ingest(session, run(session, proj, scanner, **kwargs), findings, now=now)


def findings_of(session: Session, proj: Project) -> list[Finding]:
    session.expire_all()
    return list(session.scalars(select(Finding).where(Finding.project_id == proj.id).order_by(Finding.id)))


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def sarif_report(path: Path, results: list[tuple[str, str, int, str]], tool: str = "semgrep") -> Path:
    """A small SARIF 2.1.0 file: (rule id, file, line, snippet) per result."""
    rules = sorted({r[0] for r in results})
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": "1.0.0",
                        "rules": [{"id": r, "shortDescription": {"text": r}} for r in rules],
                    }
                },
                "results": [
                    {
                        "ruleId": rule,
                        "level": "error",
                        "message": {"text": f"{rule} found"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": file},
                                    "region": {"startLine": line, "snippet": {"text": snippet}},
                                }
                            }
                        ],
                    }
                    for rule, file, line, snippet in results
                ],
            }
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def active_exception(
    session: Session, proj_id: int | None, expires_in: timedelta, **scope: object
) -> RiskException:
    """An active exception with the given scope, requested and approved by two fresh users."""
    requester = User(username=f"req{utcnow().timestamp()}", password_hash="x", role=Role.ANALYST)
    approver = User(username=f"app{utcnow().timestamp()}", password_hash="x", role=Role.APPROVER)
    session.add_all([requester, approver])
    session.flush()
    exc = RiskException(
        project_id=proj_id,
        justification="compensating control in the proxy",
        owner="team-shop",
        state=ExceptionState.ACTIVE,
        requested_by_id=requester.id,
        decided_by_id=approver.id,
        expires_at=utcnow() + expires_in,
        **scope,
    )
    session.add(exc)
    session.flush()
    return exc
