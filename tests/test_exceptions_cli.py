"""``vigil exceptions ...``: the whole workflow from the console, with one-line errors for bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import Result
from sqlalchemy import select

from app.db import Database
from app.models import (
    AuditEvent,
    ExceptionState,
    Finding,
    FindingStatus,
    ProjectMember,
    RiskException,
    Role,
    utcnow,
)
from tests.conftest import VigilRunner
from tests.exception_helpers import finding, project, user


def _seed(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.transaction() as session:
            proj = project(session)
            session.add(ProjectMember(project_id=proj.id, user_id=user(session, "ana", Role.ANALYST).id))
            user(session, "bob", Role.APPROVER)
            return finding(session, proj, advisory_ids=["CVE-2024-1111"], package="requests").id
    finally:
        db.dispose()


def _request(runner: VigilRunner, finding_id: int, justification: str, *, days: int) -> Result:
    """``vigil exceptions request`` by the analyst for one finding, expiring in ``days``."""
    expires = (utcnow() + timedelta(days=days)).date().isoformat()
    args = ["--as", "ana", "--finding", str(finding_id), "--justification", justification]
    return runner.invoke(["exceptions", "request", *args, "--owner", "ana", "--expires", expires])


def test_cli_request_approve_export_revoke(runner: VigilRunner, database_url: str, tmp_path: Path) -> None:
    finding_id = _seed(database_url)
    result = _request(runner, finding_id, "Not reachable.", days=20)
    assert result.exit_code == 0, result.output
    assert "requested exception 1 (pending" in result.output
    own = runner.invoke(["exceptions", "approve", "1", "--as", "ana"])
    assert own.exit_code == 2 and "error:" in own.output
    ok = runner.invoke(["exceptions", "approve", "1", "--as", "bob", "--comment", "fine"])
    assert ok.exit_code == 0 and "1 finding(s) accepted" in ok.output
    exported = runner.invoke(["exceptions", "export", "shop", "--format", "pip-audit"])
    assert exported.output.strip() == "--ignore-vuln CVE-2024-1111"
    listing = runner.invoke(["exceptions", "list", "--state", "active"])
    assert listing.output.startswith("1\tactive\tfinding")
    revoked = runner.invoke(["exceptions", "revoke", "1", "--as", "bob", "--reason", "Fixed upstream."])
    assert revoked.exit_code == 0

    ignore = tmp_path / "ignores.txt"
    ignore.write_text("GHSA-aaaa-bbbb-cccc # dev only\n", encoding="utf-8")
    imported = runner.invoke(
        [
            "exceptions",
            "import",
            "shop",
            str(ignore),
            "--format",
            "ignore-list",
            "--as",
            "ana",
            "--owner",
            "ana",
        ]
    )
    assert imported.exit_code == 0 and "imported 1 pending" in imported.output
    bad = runner.invoke(
        [
            "exceptions",
            "request",
            "--as",
            "ana",
            "--rule",
            "B101",
            "--project",
            "nope",
            "--justification",
            "x",
            "--owner",
            "ana",
            "--expires",
            "tomorrow",
        ]
    )
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "Traceback" not in bad.output

    db = Database(database_url)
    try:
        with db.reader() as session:
            assert session.get(RiskException, 1).state is ExceptionState.REVOKED
            assert session.get(Finding, finding_id).status is FindingStatus.OPEN
            actions = session.scalars(
                select(AuditEvent.action).where(AuditEvent.object_type == "exception")
            ).all()
            assert actions == [
                "exception_request",
                "exception_approve",
                "exception_revoke",
                "exception_request",
            ]
    finally:
        db.dispose()


def test_cli_expire_reopens_past_due(runner: VigilRunner, database_url: str) -> None:
    _request(runner, _seed(database_url), "j", days=10)
    runner.invoke(["exceptions", "approve", "1", "--as", "bob"])
    assert "expired 0 exception(s)" in runner.invoke(["exceptions", "expire"]).output
    assert "sent 1 reminder(s)" in runner.invoke(["exceptions", "remind"]).output
    db = Database(database_url)
    try:
        with db.transaction() as session:
            exc = session.get(RiskException, 1)
            exc.expires_at = utcnow() - timedelta(minutes=1)
    finally:
        db.dispose()
    result = runner.invoke(["exceptions", "expire"])
    assert "expired 1 exception(s); 1 finding(s) reopened" in result.output
