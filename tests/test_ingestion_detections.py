"""Detection rows only where a second scanner reports a finding (SQLite and PostgreSQL).

A finding with no ``finding_detection`` row is detected by its own scanner alone, active unless the
finding is fixed; the rows appear, own scanner's first, once another scanner reports it.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.ingestion import ingest
from app.models import Finding, FindingDetection, FindingStatus, Project, utcnow
from app.services.actor import Actor
from app.services.finding_detail import finding_detail
from app.services.findings import triage
from tests.ingestion_helpers import code, count, dependency, findings_of, project, run, scan

BANDIT = code(scanner="bandit", tool_rule_id="B307")
RUFF = code(scanner="ruff", tool_rule_id="S307")


def _detections(session: Session, finding: Finding) -> dict[str, FindingDetection]:
    session.expire_all()
    stmt = select(FindingDetection).where(FindingDetection.finding_id == finding.id)
    return {d.scanner: d for d in session.scalars(stmt)}


def test_finding_only_its_own_scanner_reports_has_no_detection_rows(session: Session) -> None:
    proj = project(session)
    first = scan(session, proj, [BANDIT, code(path="shop/other.py")])
    again = scan(session, proj, [BANDIT, code(path="shop/other.py")])
    assert (first.new, again.unchanged, again.fixed) == (2, 2, 0)
    assert count(session, FindingDetection) == 0
    # Its own scanner's complete run without it still closes it.
    assert scan(session, proj, [BANDIT]).fixed == 1
    assert count(session, FindingDetection) == 0


def test_two_scanners_in_one_report_get_both_rows(session: Session) -> None:
    proj = project(session)
    summary = scan(session, proj, [BANDIT, RUFF])
    assert summary.new == 1
    [finding] = findings_of(session, proj)
    assert set(_detections(session, finding)) == {"bandit", "ruff"}


def test_second_scanner_writes_out_the_own_detection_as_it_stood(session: Session) -> None:
    proj = project(session)
    t1 = utcnow() - timedelta(days=3)
    t2, t3 = t1 + timedelta(days=1), t1 + timedelta(days=2)
    r1 = run(session, proj, "bandit")
    ingest(session, r1, [BANDIT], now=t1)
    r2 = run(session, proj, "bandit")
    ingest(session, r2, [BANDIT], now=t2)
    r3 = run(session, proj, "ruff")
    assert ingest(session, r3, [RUFF], now=t3).unchanged == 1
    [finding] = findings_of(session, proj)
    rows = _detections(session, finding)
    own, other = rows["bandit"], rows["ruff"]
    assert (own.tool_rule_id, own.first_run_id, own.last_run_id, own.active) == ("B307", r1.id, r2.id, True)
    assert (own.first_seen, own.last_seen) == (t1, t2)
    assert (other.tool_rule_id, other.first_run_id, other.last_run_id, other.active) == (
        "S307",
        r3.id,
        r3.id,
        True,
    )
    # Both scanners in one later report: both detections touched.
    r4 = run(session, proj, "bandit")
    ingest(session, r4, [BANDIT, RUFF])
    assert {d.last_run_id for d in _detections(session, finding).values()} == {r4.id}


def test_both_scanners_in_one_report_on_a_finding_without_rows(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [BANDIT])
    r2 = run(session, proj, "bandit")
    ingest(session, r2, [BANDIT, RUFF])
    [finding] = findings_of(session, proj)
    rows = _detections(session, finding)
    assert {s: (d.last_run_id, d.active) for s, d in rows.items()} == {
        "bandit": (r2.id, True),
        "ruff": (r2.id, True),
    }
    assert rows["bandit"].first_run_id == finding.first_run_id != r2.id


def test_shared_finding_is_fixed_only_when_neither_scanner_reports_it(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [BANDIT], "bandit")
    scan(session, proj, [RUFF], "ruff")
    [finding] = findings_of(session, proj)
    # ruff stops, bandit still reports it: open, ruff's detection inactive.
    assert scan(session, proj, [], "ruff").fixed == 0
    assert findings_of(session, proj)[0].status is FindingStatus.OPEN
    assert {s: d.active for s, d in _detections(session, finding).items()} == {"bandit": True, "ruff": False}
    assert scan(session, proj, [BANDIT], "bandit").fixed == 0
    # ruff reports it again, then bandit stops: still open.
    assert scan(session, proj, [RUFF], "ruff").fixed == 0
    assert scan(session, proj, [], "bandit").fixed == 0
    assert findings_of(session, proj)[0].status is FindingStatus.OPEN
    assert {s: d.active for s, d in _detections(session, finding).items()} == {"bandit": False, "ruff": True}
    # Neither reports it any more: fixed.
    assert scan(session, proj, [], "ruff").fixed == 1
    assert findings_of(session, proj)[0].status is FindingStatus.FIXED


def test_other_scanners_run_does_not_fix_a_finding_without_rows(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [BANDIT], "bandit")
    assert scan(session, proj, [], "ruff").fixed == 0
    assert findings_of(session, proj)[0].status is FindingStatus.OPEN
    assert scan(session, proj, [], "bandit").fixed == 1


def test_fixed_single_scanner_finding_is_reopened_without_rows(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [BANDIT])
    assert scan(session, proj, []).fixed == 1
    back = scan(session, proj, [BANDIT])
    assert (back.new, back.reopened) == (0, 1)
    [finding] = findings_of(session, proj)
    assert finding.status is FindingStatus.OPEN and finding.reopen_count == 1
    assert count(session, FindingDetection) == 0


def test_fixed_finding_back_through_another_scanner(session: Session) -> None:
    proj = project(session)
    r1 = run(session, proj, "bandit")
    ingest(session, r1, [BANDIT])
    assert scan(session, proj, [], "bandit").fixed == 1
    r3 = run(session, proj, "ruff")
    assert ingest(session, r3, [RUFF]).reopened == 1
    [finding] = findings_of(session, proj)
    assert finding.status is FindingStatus.OPEN
    rows = _detections(session, finding)
    assert (rows["bandit"].last_run_id, rows["bandit"].active) == (r1.id, False)
    assert (rows["ruff"].first_run_id, rows["ruff"].active) == (r3.id, True)
    # bandit still does not report it: its run changes nothing; ruff's does.
    assert scan(session, proj, [], "bandit").fixed == 0
    assert scan(session, proj, [], "ruff").fixed == 1


def test_false_positive_keeps_its_own_detection_active(session: Session) -> None:
    proj = project(session)
    scan(session, proj, [BANDIT])
    [finding] = findings_of(session, proj)
    finding.status = FindingStatus.FALSE_POSITIVE
    session.flush()
    r2 = run(session, proj, "ruff")
    ingest(session, r2, [RUFF])
    rows = _detections(session, finding)
    assert {s: d.active for s, d in rows.items()} == {"bandit": True, "ruff": True}
    assert findings_of(session, proj)[0].status is FindingStatus.FALSE_POSITIVE


def test_other_scanner_in_a_later_chunk_sees_the_earlier_chunk(session: Session) -> None:
    """A known finding without rows, its own scanner in the first chunk, another in a later one."""
    proj = project(session)
    files = [code(path=f"src/m{i}.py", snippet=f"eval(x_{i})", scanner="pip-audit") for i in range(4)]
    scan(session, proj, [dependency(), *files], "pip-audit")
    osv = dataclasses.replace(dependency(), scanner="osv-scanner", tool_rule_id="OSV-1")
    r2 = run(session, proj, "pip-audit")
    summary = ingest(session, r2, iter([dependency(), *files, osv]), chunk_size=2)
    assert (summary.new, summary.unchanged, summary.fixed) == (0, 5, 0)
    [dep] = [f for f in findings_of(session, proj) if f.package]
    rows = _detections(session, dep)
    assert {s: (d.last_run_id, d.active) for s, d in rows.items()} == {
        "pip-audit": (r2.id, True),
        "osv-scanner": (r2.id, True),
    }
    assert count(session, FindingDetection) == 2


def test_detail_shows_the_implicit_own_detection(database: Database, logged_in: Any) -> None:
    with database.transaction() as session:
        proj = project(session)
        project_id = proj.id
        r1 = run(session, proj, "bandit")
        ingest(session, r1, [BANDIT])
        [finding] = findings_of(session, proj)
        finding_id = finding.id
        [shown] = finding_detail(session, Actor.system("test"), finding_id).detections
        assert (shown.scanner, shown.tool_rule_id, shown.active) == ("bandit", "B307", True)
        assert (shown.first_run_id, shown.last_run_id) == (r1.id, r1.id)
        assert shown not in session and count(session, FindingDetection) == 0
        assert r1.id in {r.id for r in finding_detail(session, Actor.system("test"), finding_id).runs}
    page = logged_in("admin").get(f"/findings/{finding_id}")
    assert page.status_code == 200
    assert "Reported by: bandit (B307)" in page.get_data(as_text=True)
    with database.transaction() as session:
        scan(session, session.get_one(Project, project_id), [], "bandit")
    fixed = logged_in("admin").get(f"/findings/{finding_id}").get_data(as_text=True)
    assert "Reported by: bandit (B307, no longer)" in fixed


def test_a_false_positive_its_scanner_stopped_reporting_is_fixed_by_any_scanner_once_reopened(
    session: Session,
) -> None:
    """The triage hides the finding, not the fact that bandit stopped reporting it: set back to open,
    the next complete run of any scanner fixes it, as when every finding had its detection rows."""
    p = project(session)
    scan(session, p, [code()], "bandit")
    finding = findings_of(session, p)[0]
    actor = Actor.system()
    triage(session, actor, [finding.id], "false_positive", "noise")
    scan(session, p, [code(rule="py.other", path="other.py")], "bandit")  # bandit stops reporting it
    rows = session.scalars(select(FindingDetection).where(FindingDetection.finding_id == finding.id)).all()
    assert [(d.scanner, d.active) for d in rows] == [("bandit", False)]
    triage(session, actor, [finding.id], "open", "it was real after all")
    summary = scan(session, p, [code(rule="py.third", path="third.py", scanner="ruff")], "ruff")
    session.refresh(finding)
    assert (finding.status, summary.fixed) == (FindingStatus.FIXED, 1)


def test_a_false_positive_still_reported_keeps_no_detection_rows(session: Session) -> None:
    p = project(session)
    scan(session, p, [code()], "bandit")
    finding = findings_of(session, p)[0]
    triage(session, Actor.system(), [finding.id], "false_positive", "noise")
    scan(session, p, [code()], "bandit")
    rows = session.scalars(select(FindingDetection).where(FindingDetection.finding_id == finding.id)).all()
    assert rows == []
    session.refresh(finding)
    assert finding.status is FindingStatus.FALSE_POSITIVE
