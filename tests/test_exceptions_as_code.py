"""Exceptions as code (pip-audit, osv-scanner.toml, JSON; imports as pending) and inline suppressions."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from app.models import ExceptionScope, ExceptionState, Role, RunStatus, ScanRun, Severity, utcnow
from app.services import exception_decisions as decisions
from app.services import exception_queries as queries
from app.services import exception_requests
from app.services import exceptions_as_code as code
from app.services import inline_suppressions as inline
from app.services.actor import Actor
from app.services.exception_policy import ExceptionInputError, ExpiryPolicy
from app.services.permissions import PermissionDenied
from tests.exception_helpers import actor_for, finding, finding_request, project, user

POLICY = ExpiryPolicy()


@pytest.fixture
def setup(session: Session) -> dict:
    proj = project(session)
    analyst = actor_for(user(session, "ana", Role.ANALYST), {proj.id})
    approver = actor_for(user(session, "bob", Role.APPROVER))
    admin = actor_for(user(session, "root", Role.ADMIN))
    return {"project": proj, "analyst": analyst, "approver": approver, "admin": admin}


def _approved_advisory(session: Session, setup: dict, advisory: str, aliases: list[str], days: int) -> int:
    req = exception_requests.ExceptionRequest(
        scope=ExceptionScope.ADVISORY,
        advisory_id=advisory,
        aliases=aliases,
        package="requests",
        project_ids=[setup["project"].id],
        justification='Proxy "auth" path unused\nsecond line',
        owner="ana",
        expires_at=utcnow() + timedelta(days=days),
    )
    (exc,) = exception_requests.request_exception(session, setup["analyst"], req, POLICY)
    decisions.approve(session, setup["approver"], exc.id, "ok")
    return exc.id


def test_export_formats_list_active_advisories_with_expiry(session: Session, setup: dict) -> None:
    proj = setup["project"]
    first = _approved_advisory(session, setup, "GHSA-j8r2-6x86-q33q", ["CVE-2023-32681"], 20)
    dep = finding(session, proj, advisory_ids=["PYSEC-2024-9"], package="urllib3", severity=Severity.LOW)
    (exc,) = exception_requests.request_exception(
        session, setup["analyst"], finding_request(dep, days=40), POLICY
    )
    decisions.approve(session, setup["approver"], exc.id, "ok")
    pending = exception_requests.ExceptionRequest(
        scope=ExceptionScope.ADVISORY,
        advisory_id="CVE-2099-0001",
        project_ids=[proj.id],
        justification="waiting",
        owner="ana",
        expires_at=utcnow() + timedelta(days=5),
    )
    exception_requests.request_exception(session, setup["analyst"], pending, POLICY)

    args = code.export(session, setup["analyst"], proj.id, "pip-audit")
    assert args == "--ignore-vuln CVE-2023-32681 --ignore-vuln GHSA-J8R2-6X86-Q33Q --ignore-vuln PYSEC-2024-9"
    parsed = tomllib.loads(code.export(session, setup["analyst"], proj.id, "osv-scanner"))
    ids = [v["id"] for v in parsed["IgnoredVulns"]]
    assert ids == ["GHSA-J8R2-6X86-Q33Q", "PYSEC-2024-9"]
    assert isinstance(parsed["IgnoredVulns"][0]["ignoreUntil"], datetime)
    assert parsed["IgnoredVulns"][0]["reason"].startswith(f'Vigil exception #{first}: Proxy "auth"')
    data = json.loads(code.export(session, setup["analyst"], proj.id, "json"))["ignored_vulns"]
    assert [d["exception_id"] for d in data] == [first, exc.id]
    with pytest.raises(ExceptionInputError, match="unknown export format"):
        code.export(session, setup["analyst"], proj.id, "yaml")


def test_import_osv_scanner_toml_creates_pending_requests(session: Session, setup: dict) -> None:
    proj = setup["project"]
    until = (utcnow() + timedelta(days=10)).date().isoformat()
    text = f"""
[[IgnoredVulns]]
id = "GHSA-xxxx-yyyy-zzzz"
ignoreUntil = {until}
reason = "No untrusted input reaches it"

[[IgnoredVulns]]
id = "PYSEC-2023-100"
"""
    rows = code.import_ignores(
        session, setup["analyst"], proj.id, text, fmt="osv-scanner", owner="ana", policy=POLICY
    )
    assert [r.state for r in rows] == [ExceptionState.PENDING, ExceptionState.PENDING]
    assert (
        rows[0].advisory_id == "GHSA-XXXX-YYYY-ZZZZ"
        and rows[0].justification == "No untrusted input reaches it"
    )
    assert rows[0].expires_at == datetime.fromisoformat(until).replace(tzinfo=UTC)
    # No date given: the policy's cap for the (unknown, so critical) severity is used and noted.
    assert rows[1].details == {"imported_from": "osv-scanner", "expiry_set_by_policy": True}
    assert rows[1].expires_at <= utcnow() + timedelta(days=30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[IgnoredVulns]\nid=1", "not a valid TOML"),
        ("IgnoredVulns = 3", "array of tables"),
        ("[[IgnoredVulns]]\nreason = 'x'", "entry 1: id is missing"),
        ("[[IgnoredVulns]]\nid = 'rm -rf /'", "entry 1"),
        ("[[IgnoredVulns]]\nid = 'CVE-2024-1'\nignoreUntil = 'soon'", "ignoreUntil"),
        ("", "no advisory"),
    ],
)
def test_bad_osv_scanner_files_are_refused_whole(
    session: Session, setup: dict, text: str, message: str
) -> None:
    with pytest.raises(ExceptionInputError, match=message):
        code.import_ignores(
            session,
            setup["analyst"],
            setup["project"].id,
            text,
            fmt="osv-scanner",
            owner="ana",
            policy=POLICY,
        )
    assert queries.list_exceptions(session, setup["approver"]) == []


def test_import_plain_ignore_list(session: Session, setup: dict) -> None:
    text = "# pip-audit ignores\n--ignore-vuln GHSA-aaaa-bbbb-cccc  # dev only\nCVE-2024-3651\n\n"
    rows = code.import_ignores(
        session, setup["analyst"], setup["project"].id, text, fmt="ignore-list", owner="ana", policy=POLICY
    )
    assert [(r.advisory_id, r.justification[:8]) for r in rows] == [
        ("GHSA-AAAA-BBBB-CCCC", "dev only"),
        ("CVE-2024-3651", "Imported"),
    ]
    with pytest.raises(ExceptionInputError, match="line 2"):
        code.import_ignores(
            session,
            setup["analyst"],
            setup["project"].id,
            "CVE-2024-1\n$(id)\n",
            fmt="ignore-list",
            owner="ana",
            policy=POLICY,
        )


def _run(session: Session, project_id: int, scanner: str, when: datetime) -> ScanRun:
    run = ScanRun(
        project_id=project_id, scanner=scanner, status=RunStatus.SUCCEEDED, queued_at=when, finished_at=when
    )
    session.add(run)
    session.flush()
    return run


def test_inline_suppressions_recorded_per_run_with_trend(session: Session, setup: dict) -> None:
    proj = setup["project"]
    day1 = datetime(2026, 11, 1, 2, tzinfo=UTC)
    day2 = day1 + timedelta(days=1)
    first = _run(session, proj.id, "bandit", day1)
    assert (
        inline.record_inline_suppressions(
            session,
            first,
            [
                {"path": "shop/db.py", "line": 12, "comment": "cursor.execute(sql)  # nosec B608"},
                {"path": "shop/x.py", "line": 3, "comment": "# an ordinary comment"},
            ],
        )
        == 1
    )
    second = _run(session, proj.id, "bandit", day2)
    ruff = _run(session, proj.id, "ruff", day2)
    inline.record_inline_suppressions(
        session,
        second,
        [
            {"path": "shop/db.py", "line": 12, "kind": "nosec"},
            {"path": "shop/db.py", "line": 40, "comment": "# nosec"},
        ],
    )
    inline.record_inline_suppressions(
        session,
        ruff,
        [
            {"path": "shop/a.py", "line": 1, "comment": "x = 1  # noqa: S105"},
            {"path": "shop/b.py", "line": 2, "comment": "# pragma: allowlist secret"},
        ],
    )
    summary = inline.project_summary(session, setup["analyst"], proj.id)
    assert [(s.path, s.line, s.kind) for s in summary.current] == [
        ("shop/a.py", 1, "noqa"),
        ("shop/b.py", 2, "allowlist-secret"),
        ("shop/db.py", 12, "nosec"),
        ("shop/db.py", 40, "nosec"),
    ]
    assert summary.by_kind == {"nosec": 2, "noqa": 1, "nosemgrep": 0, "allowlist-secret": 1}
    assert summary.trend == [(day1.date(), 1), (day2.date(), 4)]


def test_classify_recognises_each_kind() -> None:
    assert inline.classify("foo()  # nosemgrep: python.lang.security") == "nosemgrep"
    assert inline.classify("x = 1  # noqa: E501") is None
    assert inline.classify("x = 1  # noqa: E501, S311") == "noqa"
    assert inline.classify("key = 'abc'  # pragma: allowlist secret") == "allowlist-secret"


def test_ignore_inline_setting_is_admin_only_and_audited(session: Session, setup: dict) -> None:
    proj = setup["project"]
    with pytest.raises(PermissionDenied):
        inline.set_ignore_inline(session, setup["approver"], proj.id, True)
    inline.set_ignore_inline(session, setup["admin"], proj.id, True)
    assert proj.ignore_inline_suppressions is True
    inline.set_ignore_inline(session, Actor.system(), proj.id, False)
    assert proj.ignore_inline_suppressions is False
