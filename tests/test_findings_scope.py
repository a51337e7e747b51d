"""A few projects' findings (an analyst, a project filter) are read from the project-led index.

On SQLite the list and its count name ``ix_finding_project_browse``; whatever the index, an
analyst's pages must be exactly the portfolio's pages restricted to their projects.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import ActorType, Role, utcnow
from app.services import findings as svc
from app.services.actor import Actor
from app.services.finding_filters import FindingFilter, parse_filter
from tests.finding_helpers import add_finding, add_project

ADMIN = Actor(type=ActorType.USER, id=None, label="admin", role=Role.ADMIN)
FILTERS = (
    {},
    {"status": ["any"]},
    {"scanner": ["ruff"]},
    {"rule": ["B105"], "status": ["any"]},
    {"path": ["src/pkg1/"]},
    {"category": ["dependency"], "sort": ["-first_seen"]},
    {"severity": ["critical", "high"], "sort": ["severity"]},
    {"overdue": ["1"], "sort": ["first_seen"]},
    {"status": ["fixed"], "sort": ["first_seen"]},
)


def _pages(session: Session, actor: Actor, flt: FindingFilter) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        page = svc.list_findings(session, actor, flt, cursor=cursor, limit=4)
        seen += [f.id for f in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_an_analysts_pages_are_the_portfolio_restricted_to_their_projects(session: Session) -> None:
    projects = [add_project(session) for _ in range(3)]
    now = utcnow()
    project_of = {}
    for n in range(60):
        finding = add_finding(
            session,
            projects[n % 3],
            scanner=("bandit", "ruff", "osv")[n % 3 if n % 4 else 1],
            category="dependency" if n % 5 == 0 else "security",
            rule_id=("B105", "B602", "S301")[n % 7 % 3],
            severity=("critical", "high", "medium", "low", "info")[n % 5],
            status=("open", "open", "fixed", "false_positive")[n % 4],
            path=f"src/pkg{n % 3}/m{n}.py",
            first_seen=now - timedelta(days=n % 11),  # ties: the id decides
            sla_due_at=now + timedelta(days=n % 6 - 3),
        )
        project_of[finding.id] = finding.project_id
    session.commit()
    mine = {projects[0].id, projects[2].id}
    ann = Actor(type=ActorType.USER, id=None, label="ann", role=Role.ANALYST, project_ids=frozenset(mine))
    statements: list[str] = []
    bind = session.get_bind()

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", record)
    try:
        for args in FILTERS:
            flt = parse_filter(args)
            expected = [fid for fid in _pages(session, ADMIN, flt) if project_of[fid] in mine]
            assert _pages(session, ann, flt) == expected, args
            assert svc.list_findings(session, ann, flt).total == len(expected), args
    finally:
        event.remove(bind, "before_cursor_execute", record)
    hinted = [s for s in statements if "INDEXED BY ix_finding_project_browse" in s]
    if bind.dialect.name == "sqlite":
        assert hinted and all("finding.project_id IN" in s for s in hinted)
    else:
        assert not hinted


def test_the_covering_index_is_kept_for_a_handful_of_projects() -> None:
    few = frozenset(range(1, svc.FEW_PROJECTS + 1))
    assert svc.few_projects(few, FindingFilter())
    assert not svc.few_projects(few | {999}, FindingFilter())
    assert svc.few_projects(None, FindingFilter(project_ids=(3,)))  # an admin's project filter
    assert not svc.few_projects(None, FindingFilter())
