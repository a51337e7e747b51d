"""The living record: identity, close-missing, reopen, triage and exceptions (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ingestion import IngestSummary, ingest
from app.models import (
    CountSnapshot,
    ExceptionScope,
    Finding,
    FindingDetection,
    FindingStatus,
    FindingStatusHistory,
    RunStatus,
    utcnow,
)
from app.scanners.base import NormalizedFinding
from tests.ingestion_helpers import active_exception, code, count, dependency, findings_of, project, run, scan


def test_finding_moved_to_another_line_stays_the_same_finding(session: Session) -> None:
    proj = project(session)
    first = scan(session, proj, [code(line=10)])
    second = scan(session, proj, [code(line=42)])
    assert (first.new, second.new, second.unchanged, second.fixed) == (1, 0, 1, 0)
    [finding] = findings_of(session, proj)
    assert finding.line == 42 and finding.status is FindingStatus.OPEN


def test_same_rule_twice_in_one_file_stays_two_findings(session: Session) -> None:
    proj = project(session)
    summary = scan(session, proj, [code(line=10), code(line=30)])
    assert summary.new == 2
    ids = [f.id for f in findings_of(session, proj)]
    # Both move down by five lines: still the same two findings, nothing new, nothing fixed.
    again = scan(session, proj, [code(line=15), code(line=35)])
    assert (again.new, again.unchanged, again.fixed) == (0, 2, 0)
    assert [f.id for f in findings_of(session, proj)] == ids


def test_exact_duplicate_in_one_report_is_one_finding(session: Session) -> None:
    proj = project(session)
    summary = scan(session, proj, [code(line=10), code(line=10)])
    assert (summary.new, summary.total) == (1, 1)


def test_subset_reimport_closes_the_rest(session: Session) -> None:
    proj = project(session)
    full = [code(path=f"shop/m{i}.py") for i in range(3)]
    scan(session, proj, full)
    summary = scan(session, proj, full[:2])
    assert (summary.unchanged, summary.fixed) == (2, 1)
    statuses = {f.path: f.status for f in findings_of(session, proj)}
    assert statuses["shop/m2.py"] is FindingStatus.FIXED
    fixed = next(f for f in findings_of(session, proj) if f.path == "shop/m2.py")
    assert fixed.fixed_at is not None
    history = session.scalars(
        select(FindingStatusHistory).where(FindingStatusHistory.finding_id == fixed.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [(FindingStatus.OPEN, FindingStatus.FIXED)]


def test_failed_timed_out_or_partial_run_closes_nothing(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [code(path="a.py"), code(path="b.py")])
    for kwargs in ({"status": RunStatus.FAILED}, {"status": RunStatus.TIMED_OUT}, {"complete": False}):
        summary = scan(session, proj, [code(path="a.py")], **kwargs)
        assert summary.fixed == 0 and summary.closed_nothing
    assert {f.status for f in findings_of(session, proj)} == {FindingStatus.OPEN}


def test_other_scanner_run_does_not_close_and_shared_finding_needs_both_gone(session: Session) -> None:
    proj = project(session)
    # bandit B307 and ruff S307 map to one canonical rule: one finding, two detections.
    scan(session, proj, [code(scanner="bandit", tool_rule_id="B307")], "bandit")
    both = scan(session, proj, [code(scanner="ruff", tool_rule_id="S307")], "ruff")
    assert both.new == 0 and both.unchanged == 1
    [finding] = findings_of(session, proj)
    stmt = select(FindingDetection.scanner).where(FindingDetection.finding_id == finding.id)
    scanners = set(session.scalars(stmt))
    assert scanners == {"bandit", "ruff"}
    assert scan(session, proj, [], "bandit").fixed == 0  # ruff still reports it
    assert findings_of(session, proj)[0].status is FindingStatus.OPEN
    assert scan(session, proj, [], "ruff").fixed == 1
    assert findings_of(session, proj)[0].status is FindingStatus.FIXED


def test_fixed_then_back_is_reopened(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [code()])
    scan(session, proj, [])
    summary = scan(session, proj, [code(line=99)])
    assert (summary.new, summary.reopened) == (0, 1)
    [finding] = findings_of(session, proj)
    assert finding.status is FindingStatus.OPEN and finding.reopen_count == 1 and finding.fixed_at is None


def test_false_positive_decision_survives_reimports(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [code()])
    [finding] = findings_of(session, proj)
    finding.status = FindingStatus.FALSE_POSITIVE
    session.flush()
    summary = scan(session, proj, [code(line=12)])
    assert summary.unchanged == 1
    assert findings_of(session, proj)[0].status is FindingStatus.FALSE_POSITIVE
    scan(session, proj, [])
    assert findings_of(session, proj)[0].status is FindingStatus.FALSE_POSITIVE


def test_active_exception_suppresses_and_expired_one_stops(session: Session) -> None:
    proj = project(session)
    exc = active_exception(
        session,
        None,
        timedelta(days=2),
        scope=ExceptionScope.ADVISORY,
        advisory_id="CVE-2024-0001",
        aliases=["GHSA-aaaa-bbbb-cccc"],
        package="django",
    )
    summary = scan(session, proj, [dependency("Django", ("GHSA-aaaa-bbbb-cccc",))], "pip-audit")
    assert (summary.new, summary.suppressed) == (1, 1)
    [finding] = findings_of(session, proj)
    assert finding.status is FindingStatus.ACCEPTED and finding.exception_id == exc.id
    assert finding.sla_paused_at is not None
    # Three days later the exception has expired (even if the expiry job has not run yet).
    later = utcnow() + timedelta(days=3)
    summary = scan(session, proj, [dependency("django", ("GHSA-aaaa-bbbb-cccc",))], "pip-audit", now=later)
    assert (summary.unchanged, summary.suppressed) == (1, 0)
    [finding] = findings_of(session, proj)
    assert finding.status is FindingStatus.OPEN and finding.exception_id is None
    assert finding.sla_paused_at is None


def test_rule_and_path_glob_exception_covers_only_matching_paths(session: Session) -> None:
    proj = project(session)
    rule = {"scope": ExceptionScope.RULE, "rule_id": "py.eval_used", "path_glob": "tests/*"}
    active_exception(session, proj.id, timedelta(days=30), **rule)
    summary = scan(session, proj, [code(path="tests/test_x.py"), code(path="shop/x.py")])
    assert summary.suppressed == 1
    statuses = {f.path: f.status for f in findings_of(session, proj)}
    assert statuses == {"tests/test_x.py": FindingStatus.ACCEPTED, "shop/x.py": FindingStatus.OPEN}


def test_dependency_identity_is_package_and_alias_group(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [dependency("Django", ("GHSA-aaaa-bbbb-cccc",))], "pip-audit")
    # The advisory got a CVE alias, and the package is spelled differently: the same finding.
    summary = scan(
        session, proj, [dependency("django", ("CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"))], "pip-audit"
    )
    assert (summary.new, summary.unchanged, summary.fixed) == (0, 1, 0)
    assert len(findings_of(session, proj)) == 1


def test_secret_identity_is_path_and_hashed_secret(session: Session) -> None:
    proj = project(session)

    def secret(line: int, digest: str) -> NormalizedFinding:
        return NormalizedFinding(
            scanner="gitleaks",
            rule_id="secret.aws",
            tool_rule_id="aws-access-key",
            category="secret",
            severity="high",
            title="AWS key",
            path="settings.py",
            line=line,
            secret_hash=digest,
        )

    scan(session, proj, [secret(3, "a" * 64), secret(9, "b" * 64)], "gitleaks")
    summary = scan(session, proj, [secret(30, "a" * 64)], "gitleaks")
    assert (summary.new, summary.unchanged, summary.fixed) == (0, 1, 1)


def test_source_context_read_from_checkout_when_no_snippet(session: Session, tmp_path: Path) -> None:
    proj = project(session)

    def at(line: int) -> IngestSummary:
        finding = code(path="shop/views.py", line=line, snippet=None)
        return ingest(session, run(session, proj), [finding], checkout=tmp_path)

    src = tmp_path / "shop"
    src.mkdir()
    (src / "views.py").write_text("import os\n\nx = eval(data)\n", encoding="utf-8")
    at(3)
    (src / "views.py").write_text("import os\n# moved\n\n\nx = eval(data)\n", encoding="utf-8")
    summary = at(5)
    assert (summary.new, summary.unchanged) == (0, 1)
    (src / "views.py").write_text("import os\ny = eval(other)\n", encoding="utf-8")
    summary = at(2)
    assert (summary.new, summary.fixed) == (1, 1)


def test_snapshots_written_for_the_day(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [code(path="a.py"), code(path="b.py", severity="low")])
    scan(session, proj, [code(path="a.py")])
    rows = session.scalars(select(CountSnapshot).where(CountSnapshot.project_id == proj.id)).all()
    counts = {(r.severity.value, r.status.value): r.count for r in rows}
    assert counts == {("high", "open"): 1, ("low", "fixed"): 1}
    assert {r.day for r in rows} == {utcnow().date()}


def test_run_counts_and_sla_due_date(session: Session) -> None:
    proj = project(session)
    proj.sla_days = {"high": 30}
    session.flush()
    summary = scan(session, proj, [code(path="a.py")])
    [finding] = findings_of(session, proj)
    assert finding.sla_due_at is not None
    assert abs((finding.sla_due_at - finding.first_seen) - timedelta(days=30)) < timedelta(seconds=1)
    run = session.get(Finding, finding.id)
    assert run is not None and summary.total == 1 and count(session, Finding) == 1


def test_results_without_source_text_on_one_line_differ_by_message(session: Session) -> None:
    proj = project(session)

    def misconfig(container: str, line: int) -> NormalizedFinding:
        finding = code(rule="trivy:KSV001", path="deploy.yaml", line=line, snippet=None, scanner="trivy")
        return dataclasses.replace(finding, message=f"container {container} may escalate")

    summary = scan(session, proj, [misconfig("leader", 12), misconfig("follower", 12)], "trivy")
    assert summary.new == 2
    # The manifest gained lines above: both containers are still the same two findings.
    again = scan(session, proj, [misconfig("leader", 20), misconfig("follower", 20)], "trivy")
    assert (again.new, again.unchanged, again.fixed) == (0, 2, 0)
