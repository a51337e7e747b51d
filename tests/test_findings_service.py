"""Findings service: allow-listed filters, keyset pages, visibility, triage with a reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ActorType, AuditEvent, Finding, FindingStatus, FindingStatusHistory, Role, utcnow
from app.services import findings as svc
from app.services.actor import Actor
from app.services.finding_detail import finding_detail
from app.services.finding_filters import FilterError, FindingFilter, encode_cursor, parse_filter
from app.services.permissions import NotFound, PermissionDenied
from tests.finding_helpers import add_finding, add_project

ADMIN = Actor(type=ActorType.USER, id=None, label="admin", role=Role.ADMIN)


def analyst(*project_ids: int) -> Actor:
    return Actor(
        type=ActorType.USER, id=None, label="ann", role=Role.ANALYST, project_ids=frozenset(project_ids)
    )


def _all_pages(session: Session, actor: Actor, flt: FindingFilter, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    for _ in range(100):
        page = svc.list_findings(session, actor, flt, cursor=cursor, limit=limit)
        seen += [f.id for f in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def test_parse_filter_allow_list_and_errors() -> None:
    flt = parse_filter({"severity": ["high,critical"], "status": ["any"], "bogus": ["x"], "project": ["3"]})
    assert [s.value for s in flt.severities] == ["high", "critical"]
    assert flt.statuses == () and flt.project_ids == (3,)
    assert parse_filter({}).statuses == (FindingStatus.OPEN,)
    for bad in (
        {"severity": ["urgent"]},
        {"sort": ["title; drop table"]},
        {"project": ["1 or 1=1"]},
        {"seen_from": ["yesterday"]},
    ):
        with pytest.raises(FilterError):
            parse_filter(bad)
    # The filter survives a round trip through the URL.
    assert parse_filter({k: [v] for k, v in [("severity", "high")]}).query_string() == "severity=high"


def test_retired_last_seen_sorts_are_a_clear_error() -> None:
    for sort in ("-last_seen", "last_seen"):
        with pytest.raises(FilterError, match="choose from -first_seen, first_seen, severity"):
            parse_filter({"sort": [sort]})


def test_keyset_pages_cover_every_row_once_in_every_sort(session: Session) -> None:
    project = add_project(session)
    now = utcnow()
    same_time = now - timedelta(hours=1)
    for i in range(23):
        add_finding(
            session,
            project,
            severity=["critical", "high", "medium", "low", "info"][i % 5],
            # Ties on the sort key: the id breaks them, so no row is skipped or repeated.
            first_seen=same_time if i % 3 == 0 else now - timedelta(days=i % 4),
        )
    session.commit()
    expected = set(session.scalars(select(Finding.id)))
    for sort in ("-first_seen", "first_seen", "severity"):
        ids = _all_pages(session, ADMIN, FindingFilter(sort=sort), limit=4)
        assert len(ids) == len(set(ids)) == 23, sort
        assert set(ids) == expected
    severity_order = [
        session.get(Finding, i).severity.rank
        for i in _all_pages(session, ADMIN, FindingFilter(sort="severity"), 5)
    ]
    assert severity_order == sorted(severity_order, reverse=True)


def test_filters_narrow_the_list(session: Session) -> None:
    p1, p2 = add_project(session), add_project(session)
    add_finding(session, p1, scanner="ruff", path="src/api/views.py", title="SQL built from input")
    add_finding(session, p1, scanner="bandit", path="tests/test_x.py", status="false_positive")
    add_finding(session, p2, severity="low", rule_id="B105", title="100%_literal")
    add_finding(session, p2, severity="critical", sla_due_at=utcnow() - timedelta(days=1))
    session.commit()

    def titles(**args: list[str]) -> int:
        return svc.list_findings(session, ADMIN, parse_filter(args)).total

    assert titles() == 3  # open only by default
    assert titles(status=["any"]) == 4
    assert titles(scanner=["ruff"]) == 1
    assert titles(path=["src/api/"]) == 1
    assert titles(path=["tests/"], status=["any"]) == 1
    assert titles(q=["sql built"]) == 1
    assert titles(q=["100%"]) == 1  # LIKE wildcards in the text are literal
    assert titles(rule=["B105"]) == 1
    assert titles(project=[str(p2.id)], severity=["critical"]) == 1
    assert titles(overdue=["1"]) == 1


def test_visibility_and_hidden_ids_are_not_found(session: Session) -> None:
    mine, theirs = add_project(session), add_project(session)
    own = add_finding(session, mine)
    other = add_finding(session, theirs)
    session.commit()
    actor = analyst(mine.id)
    assert [f.id for f in svc.list_findings(session, actor, FindingFilter()).items] == [own.id]
    with pytest.raises(NotFound):
        svc.get_finding(session, actor, other.id)
    with pytest.raises(NotFound):
        svc.list_findings(session, actor, FindingFilter(project_ids=(theirs.id,)))
    with pytest.raises(NotFound):
        svc.list_findings(session, ADMIN, FindingFilter(project_ids=(999_999,)))
    with pytest.raises(NotFound):
        svc.triage(session, actor, [own.id, other.id], "false_positive", "not reachable")
    assert session.get(Finding, own.id).status is FindingStatus.OPEN


def test_triage_writes_history_and_audit_and_refuses_accepted(session: Session) -> None:
    project = add_project(session)
    a, b = add_finding(session, project), add_finding(session, project, status="fixed")
    session.commit()
    actor = analyst(project.id)
    with pytest.raises(svc.TriageError, match="reason"):
        svc.triage(session, actor, [a.id], "false_positive", "   ")
    with pytest.raises(svc.TriageError, match="exception"):
        svc.triage(session, actor, [a.id], "accepted", "ok")
    viewer = Actor(
        type=ActorType.USER, id=None, label="v", role=Role.VIEWER, project_ids=frozenset({project.id})
    )
    with pytest.raises(PermissionDenied):
        svc.triage(session, viewer, [a.id], "false_positive", "test code")
    result = svc.triage(session, actor, [a.id, b.id], "false_positive", "test fixture, not shipped")
    session.commit()
    assert result.changed == [a.id] and result.unchanged == [b.id]
    assert session.get(Finding, a.id).status is FindingStatus.FALSE_POSITIVE
    history = session.scalars(
        select(FindingStatusHistory).where(FindingStatusHistory.finding_id == a.id)
    ).all()
    assert [(h.from_status, h.to_status, h.reason) for h in history] == [
        (FindingStatus.OPEN, FindingStatus.FALSE_POSITIVE, "test fixture, not shipped")
    ]
    assert session.scalar(select(func.count()).where(AuditEvent.action == "finding_triage")) == 1


def test_update_finding_rejects_extra_fields_whole(session: Session) -> None:
    project = add_project(session)
    finding = add_finding(session, project)
    session.commit()
    actor = analyst(project.id)
    with pytest.raises(svc.TriageError, match="severity"):
        svc.update_finding(
            session, actor, finding.id, {"status": "false_positive", "reason": "x", "severity": "info"}
        )
    session.rollback()
    session.expire_all()
    refreshed = session.get(Finding, finding.id)
    assert refreshed.status is FindingStatus.OPEN and refreshed.severity == "high"
    svc.update_finding(session, actor, finding.id, {"status": "false_positive", "reason": "generated code"})
    session.commit()
    assert session.get(Finding, finding.id).status is FindingStatus.FALSE_POSITIVE


def test_bad_cursor_is_a_clear_error(session: Session) -> None:
    add_project(session)
    session.commit()
    # The last one is a valid cursor of another sort order ("oldest first", not the default).
    for cursor in ("!!!", "WyJ4Il0", encode_cursor("first_seen", [utcnow(), 1])):
        with pytest.raises(FilterError):
            svc.list_findings(session, ADMIN, FindingFilter(), cursor=cursor)


def test_detail_reads_code_only_inside_the_checkout(session: Session, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "app.py").write_text("".join(f"line {n}\n" for n in range(1, 21)), encoding="utf-8")
    (tmp_path / "secret.txt").write_text("top secret\n", encoding="utf-8")
    project = add_project(session)
    project.local_path = str(repo)
    inside = add_finding(session, project, path="src/app.py", line=10)
    outside = add_finding(session, project, path="../secret.txt", line=1, snippet="as the scanner saw it")
    session.commit()
    detail = finding_detail(session, ADMIN, inside.id)
    assert detail.code_source == "repository"
    assert [(c.number, c.text, c.hit) for c in detail.code][4:7] == [
        (9, "line 9", False),
        (10, "line 10", True),
        (11, "line 11", False),
    ]
    escaped = finding_detail(session, ADMIN, outside.id)
    assert escaped.code_source == "scanner"
    assert [c.text for c in escaped.code] == ["as the scanner saw it"]
    with pytest.raises(NotFound):
        finding_detail(session, analyst(), inside.id)
