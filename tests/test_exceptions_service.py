"""Accepted-risk lifecycle in the service layer: every transition, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    ExceptionScope,
    ExceptionState,
    FindingStatus,
    FindingStatusHistory,
    RiskException,
    Role,
    Severity,
    utcnow,
)
from app.services import exception_decisions as decisions
from app.services import exception_queries as queries
from app.services import exception_requests, gate
from app.services.actor import Actor
from app.services.exception_effects import blocking_findings
from app.services.exception_expiry import expire_due
from app.services.exception_policy import ExceptionInputError, ExpiryPolicy, parse_max_days
from app.services.permissions import NotFound, PermissionDenied
from tests.exception_helpers import actor_for, finding, finding_request, project, user

POLICY = ExpiryPolicy()


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    proj = project(session)
    analyst = user(session, "ana", Role.ANALYST)
    approver = user(session, "bob", Role.APPROVER)
    other_approver = user(session, "carol", Role.APPROVER)
    viewer = user(session, "vic", Role.VIEWER)
    return {
        "project": proj,
        "analyst": actor_for(analyst, {proj.id}),
        "approver": actor_for(approver),
        "approver2": actor_for(other_approver),
        "viewer": actor_for(viewer, {proj.id}),
    }


def _actions(session: Session, exception_id: int) -> list[str]:
    rows = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "exception", AuditEvent.object_id == str(exception_id))
        .order_by(AuditEvent.id)
    )
    return list(rows)


def test_done_when_request_approve_gate_expire_reopen_all_audited(session: Session, world: dict) -> None:
    proj = world["project"]
    now = utcnow()
    target = finding(session, proj, severity=Severity.HIGH, sla_due_at=now + timedelta(days=30))
    other = finding(session, proj, severity=Severity.CRITICAL, rule="B105", path="shop/settings.py")
    assert {f.id for f in blocking_findings(session, proj.id, "high")} == {target.id, other.id}

    (exc,) = exception_requests.request_exception(
        session, world["analyst"], finding_request(target, days=60), POLICY, now
    )
    assert exc.state is ExceptionState.PENDING and exc.severity is Severity.HIGH
    assert target.status is FindingStatus.OPEN  # a request alone changes nothing

    decisions.approve(session, world["approver"], exc.id, "Compensating WAF rule verified.", now)
    assert exc.state is ExceptionState.ACTIVE and exc.decided_by_id == world["approver"].id
    assert target.status is FindingStatus.ACCEPTED and target.exception_id == exc.id
    assert target.sla_paused_at == now
    assert [f.id for f in blocking_findings(session, proj.id, "high")] == [other.id]
    result = gate.evaluate(session, Actor.system(), proj.id, fail_on="high")
    assert [b.id for b in result.blocking] == [other.id]

    later = now + timedelta(days=61)
    assert expire_due(session, now + timedelta(days=59)).expired == []  # not yet
    summary = expire_due(session, later)  # the scheduler's expiry job, time moved past the date
    assert summary.expired == [exc.id] and summary.reopened_findings == 1
    assert exc.state is ExceptionState.EXPIRED
    assert target.status is FindingStatus.OPEN and target.exception_id is None
    # The SLA clock did not run while the risk was accepted: the due date moved by the paused time.
    assert target.sla_due_at == now + timedelta(days=30) + timedelta(days=61)
    assert target.sla_paused_at is None
    assert {f.id for f in blocking_findings(session, proj.id, "high")} == {target.id, other.id}
    history = session.scalars(
        select(FindingStatusHistory)
        .where(FindingStatusHistory.finding_id == target.id)
        .order_by(FindingStatusHistory.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (FindingStatus.OPEN, FindingStatus.ACCEPTED),
        (FindingStatus.ACCEPTED, FindingStatus.OPEN),
    ]
    assert "expired" in history[-1].reason and history[-1].exception_id == exc.id
    assert _actions(session, exc.id) == ["exception_request", "exception_approve", "exception_expire"]


def test_reject_needs_comment_and_changes_no_finding(session: Session, world: dict) -> None:
    target = finding(session, world["project"])
    (exc,) = exception_requests.request_exception(session, world["analyst"], finding_request(target), POLICY)
    with pytest.raises(ExceptionInputError, match="comment"):
        decisions.reject(session, world["approver"], exc.id, "  ")
    decisions.reject(session, world["approver"], exc.id, "Fix it instead: the patch is one line.")
    assert exc.state is ExceptionState.REJECTED and target.status is FindingStatus.OPEN
    with pytest.raises(exception_requests.ExceptionStateError):
        decisions.approve(session, world["approver"], exc.id, "changed my mind")
    assert _actions(session, exc.id) == ["exception_request", "exception_reject"]


def test_revoke_is_immediate_and_reopens(session: Session, world: dict) -> None:
    target = finding(session, world["project"])
    (exc,) = exception_requests.request_exception(session, world["analyst"], finding_request(target), POLICY)
    decisions.approve(session, world["approver"], exc.id, "ok")
    with pytest.raises(PermissionDenied):
        decisions.revoke(session, world["analyst"], exc.id, "no longer needed")
    decisions.revoke(session, world["approver2"], exc.id, "The WAF rule was removed.")
    assert exc.state is ExceptionState.REVOKED and exc.revoke_reason == "The WAF rule was removed."
    assert target.status is FindingStatus.OPEN
    with pytest.raises(exception_requests.ExceptionStateError):
        decisions.revoke(session, world["approver2"], exc.id, "again")
    assert _actions(session, exc.id) == ["exception_request", "exception_approve", "exception_revoke"]


def test_renewal_is_a_new_request_needing_its_own_approval(session: Session, world: dict) -> None:
    target = finding(session, world["project"])
    (old,) = exception_requests.request_exception(
        session, world["analyst"], finding_request(target, days=30), POLICY
    )
    with pytest.raises(exception_requests.ExceptionStateError, match="only active"):
        exception_requests.renew(
            session,
            world["analyst"],
            old.id,
            expires_at=utcnow() + timedelta(days=60),
            justification="x",
            policy=POLICY,
        )
    decisions.approve(session, world["approver"], old.id, "ok")
    new = exception_requests.renew(
        session,
        world["analyst"],
        old.id,
        expires_at=utcnow() + timedelta(days=80),
        justification="Vendor patch slipped to next quarter.",
        policy=POLICY,
    )
    assert new.state is ExceptionState.PENDING and new.renews_id == old.id
    assert new.severity is Severity.HIGH
    with pytest.raises(exception_requests.ExceptionStateError, match="pending renewal"):
        exception_requests.renew(
            session,
            world["analyst"],
            old.id,
            expires_at=utcnow() + timedelta(days=80),
            justification="y",
            policy=POLICY,
        )
    assert old.state is ExceptionState.ACTIVE and target.exception_id == old.id
    decisions.approve(session, world["approver2"], new.id, "Renewed once; no further renewals.")
    assert old.state is ExceptionState.EXPIRED and new.state is ExceptionState.ACTIVE
    assert target.status is FindingStatus.ACCEPTED and target.exception_id == new.id
    assert "exception_supersede" in _actions(session, old.id)


def test_checklist_19_requester_cannot_approve_own_request(session: Session, world: dict) -> None:
    target = finding(session, world["project"])
    approver = world["approver"]
    (exc,) = exception_requests.request_exception(session, approver, finding_request(target), POLICY)
    with pytest.raises(PermissionDenied):
        decisions.approve(session, approver, exc.id, "looks fine to me")
    assert exc.state is ExceptionState.PENDING and target.status is FindingStatus.OPEN


def test_four_eyes_is_also_a_database_constraint(session: Session, world: dict) -> None:
    target = finding(session, world["project"])
    (exc,) = exception_requests.request_exception(session, world["analyst"], finding_request(target), POLICY)
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(
            text("UPDATE risk_exception SET decided_by_id = requested_by_id WHERE id = :id"), {"id": exc.id}
        )
        session.flush()
    session.rollback()


def test_viewer_and_analyst_cannot_decide(session: Session, world: dict) -> None:
    target = finding(session, world["project"])
    (exc,) = exception_requests.request_exception(session, world["analyst"], finding_request(target), POLICY)
    for who in ("viewer", "analyst"):
        with pytest.raises(PermissionDenied):
            decisions.approve(session, world[who], exc.id, "ok")
    with pytest.raises(PermissionDenied):
        exception_requests.request_exception(session, world["viewer"], finding_request(target), POLICY)
    assert exc.state is ExceptionState.PENDING


def test_expiry_is_required_and_capped_by_severity(session: Session, world: dict) -> None:
    crit = finding(session, world["project"], severity=Severity.CRITICAL)
    req = finding_request(crit, days=31)
    with pytest.raises(ExceptionInputError, match="at most 30 days"):
        exception_requests.request_exception(session, world["analyst"], req, POLICY)
    req.expires_at = None
    with pytest.raises(ExceptionInputError, match="required"):
        exception_requests.request_exception(session, world["analyst"], req, POLICY)
    req.expires_at = utcnow() - timedelta(days=1)
    with pytest.raises(ExceptionInputError, match="future"):
        exception_requests.request_exception(session, world["analyst"], req, POLICY)
    custom = ExpiryPolicy(max_days=parse_max_days("critical=45"))
    (exc,) = exception_requests.request_exception(
        session, world["analyst"], finding_request(crit, days=40), custom
    )
    assert exc.severity is Severity.CRITICAL
    with pytest.raises(ExceptionInputError):
        parse_max_days("critical=soon")


def test_bad_scope_input_is_refused_with_a_reason(session: Session, world: dict) -> None:
    proj = world["project"]
    analyst = world["analyst"]
    base = dict(justification="Reason enough.", owner="alice", expires_at=utcnow() + timedelta(days=10))
    cases = [
        (
            exception_requests.ExceptionRequest(scope=ExceptionScope.FINDING, finding_id=99999, **base),
            "existing finding",
        ),
        (
            exception_requests.ExceptionRequest(
                scope=ExceptionScope.ADVISORY, advisory_id="<script>", project_ids=[proj.id], **base
            ),
            "advisory id",
        ),
        (
            exception_requests.ExceptionRequest(
                scope=ExceptionScope.RULE, rule_id="B608", path_glob="../etc/*", project_ids=[proj.id], **base
            ),
            "relative",
        ),
        (
            exception_requests.ExceptionRequest(scope=ExceptionScope.RULE, rule_id="B608", **base),
            "at least one project",
        ),
        (
            exception_requests.ExceptionRequest(
                scope=ExceptionScope.RULE,
                rule_id="B608",
                project_ids=[proj.id],
                ticket_url="javascript:alert(1)",
                **base,
            ),
            "http",
        ),
        (
            exception_requests.ExceptionRequest(
                scope=ExceptionScope.RULE,
                rule_id="B608",
                project_ids=[proj.id],
                justification=" ",
                owner="a",
                expires_at=base["expires_at"],
            ),
            "justification",
        ),
    ]
    for req, message in cases:
        with pytest.raises(ExceptionInputError, match=message):
            exception_requests.request_exception(session, analyst, req, POLICY)
    # Analysts limited to some projects may neither target other projects nor "all projects".
    outsider = project(session, "other")
    with pytest.raises(NotFound):
        exception_requests.request_exception(
            session,
            analyst,
            exception_requests.ExceptionRequest(
                scope=ExceptionScope.RULE, rule_id="B608", project_ids=[outsider.id], **base
            ),
            POLICY,
        )
    with pytest.raises(PermissionDenied):
        exception_requests.request_exception(
            session,
            analyst,
            exception_requests.ExceptionRequest(
                scope=ExceptionScope.RULE, rule_id="B608", all_projects=True, **base
            ),
            POLICY,
        )


def test_advisory_scope_with_aliases_and_package_across_projects(session: Session, world: dict) -> None:
    shop = world["project"]
    billing = project(session, "billing")
    hit1 = finding(
        session,
        shop,
        advisory_ids=["PYSEC-2024-1", "CVE-2024-1111"],
        package="Django",
        severity=Severity.MEDIUM,
    )
    hit2 = finding(
        session, billing, advisory_ids=["GHSA-aaaa-bbbb-cccc"], package="django", severity=Severity.LOW
    )
    wrong_pkg = finding(session, billing, advisory_ids=["CVE-2024-1111"], package="flask")
    req = exception_requests.ExceptionRequest(
        scope=ExceptionScope.ADVISORY,
        advisory_id="cve-2024-1111",
        aliases=["GHSA-aaaa-bbbb-cccc"],
        package="Django",
        project_ids=[shop.id, billing.id],
        justification="Vulnerable function not used.",
        owner="alice",
        expires_at=utcnow() + timedelta(days=150),
    )
    approver = world["approver"]
    assert [f.id for f in exception_requests.preview(session, approver, req)] == [hit1.id, hit2.id]
    rows = exception_requests.request_exception(session, approver, req, POLICY)
    assert len(rows) == 2 and rows[0].group_key and rows[0].group_key == rows[1].group_key
    assert {r.severity for r in rows} == {Severity.MEDIUM}
    for row in rows:
        decisions.approve(session, world["approver2"], row.id, "ok")
    assert hit1.status is FindingStatus.ACCEPTED and hit2.status is FindingStatus.ACCEPTED
    assert wrong_pkg.status is FindingStatus.OPEN


def _approve_rule(session: Session, world: dict, rule: str, glob: str, days: int) -> RiskException:
    """A rule + path glob exception on the world's project, requested by the analyst and approved."""
    req = exception_requests.ExceptionRequest(
        scope=ExceptionScope.RULE,
        rule_id=rule,
        path_glob=glob,
        project_ids=[world["project"].id],
        justification="Reason enough.",
        owner="alice",
        expires_at=utcnow() + timedelta(days=days),
    )
    (exc,) = exception_requests.request_exception(session, world["analyst"], req, POLICY)
    decisions.approve(session, world["approver"], exc.id, "ok")
    return exc


def test_rule_scope_with_path_glob(session: Session, world: dict) -> None:
    proj = world["project"]
    in_tests = finding(session, proj, rule="B101", path="tests/unit/test_db.py", severity=Severity.LOW)
    in_code = finding(session, proj, rule="B101", path="shop/db.py", severity=Severity.LOW)
    exc = _approve_rule(session, world, "B101", "tests/*", days=300)
    assert in_tests.status is FindingStatus.ACCEPTED and in_code.status is FindingStatus.OPEN
    assert exc.matched_count == 1


def test_rule_scope_names_detect_secrets_rules_which_contain_spaces(session: Session, world: dict) -> None:
    """detect-secrets names its rules by plugin, with spaces: they must be acceptable for a path."""
    fake_key = finding(session, world["project"], rule="detect-secrets:AWS Access Key", path="tests/t.py")
    exc = _approve_rule(session, world, " detect-secrets:AWS Access Key ", "tests/t.py", days=60)
    assert exc.rule_id == "detect-secrets:AWS Access Key"
    assert fake_key.status is FindingStatus.ACCEPTED


def test_one_open_exception_per_finding(session: Session, world: dict) -> None:
    target = finding(session, world["project"])
    exception_requests.request_exception(session, world["analyst"], finding_request(target), POLICY)
    with pytest.raises(ExceptionInputError, match="already has"):
        exception_requests.request_exception(session, world["analyst"], finding_request(target), POLICY)


def test_analyst_sees_only_own_projects_exceptions(session: Session, world: dict) -> None:
    other = project(session, "other")
    hidden = finding(session, other)
    (exc,) = exception_requests.request_exception(session, world["approver"], finding_request(hidden), POLICY)
    with pytest.raises(NotFound):
        queries.get_exception(session, world["analyst"], exc.id)
    assert exc.id not in {e.id for e in queries.list_exceptions(session, world["analyst"])}
    assert exc.id in {e.id for e in queries.list_exceptions(session, world["approver"])}
