"""Exception pages and API over HTTP: checklist items 17, 19 and 21, the flow, fragments, downloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import Database
from app.models import (
    AuditEvent,
    ExceptionState,
    Finding,
    FindingStatus,
    RiskException,
    Role,
    Severity,
    utcnow,
)
from tests.exception_helpers import finding, project

Login = Callable[..., FlaskClient]


@pytest.fixture
def seeded(database: Database) -> dict[str, int]:
    with database.transaction() as session:
        proj = project(session)
        target = finding(
            session, proj, severity=Severity.HIGH, advisory_ids=["CVE-2024-1111"], package="requests"
        )
        return {"project": proj.id, "finding": target.id}


def _request(client: FlaskClient, seeded: dict[str, int], **overrides: str) -> Any:
    data = {
        "csrf_token": client.csrf(),  # type: ignore[attr-defined]
        "scope": "finding",
        "finding_id": str(seeded["finding"]),
        "justification": "Only reachable from the admin VPN.",
        "mitigation": "VPN + WAF",
        "owner": "alice",
        "ticket_url": "https://tracker.example.test/SEC-1",
        "expires_at": (utcnow() + timedelta(days=20)).date().isoformat(),
        **overrides,
    }
    return client.post("/exceptions/new", data=data)


def _pending(database: Database, requester: FlaskClient, seeded: dict[str, int]) -> int:
    response = _request(requester, seeded)
    assert response.status_code == 303, response.get_data(as_text=True)
    with database.reader() as session:
        return session.scalars(select(RiskException.id).order_by(RiskException.id.desc())).first()


def _state(database: Database, exception_id: int) -> ExceptionState:
    with database.reader() as session:
        return session.get(RiskException, exception_id).state


def _authz_fails(database: Database) -> list[dict[str, Any]]:
    with database.reader() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "authz_fail").order_by(AuditEvent.id)
        )
        return [
            {"actor_id": e.actor_id, "actor": e.actor, "object_id": e.object_id, "after": e.after}
            for e in rows
        ]


def test_checklist_17_viewer_post_approve_is_403_unchanged_and_audited(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    exception_id = _pending(database, logged_in(Role.ANALYST, projects=[seeded["project"]]), seeded)
    viewer = logged_in(Role.VIEWER, projects=[seeded["project"]])
    response = viewer.post(
        f"/exceptions/{exception_id}/approve", data={"csrf_token": viewer.csrf(), "comment": "ok"}
    )
    assert response.status_code == 403
    assert _state(database, exception_id) is ExceptionState.PENDING
    with database.reader() as session:
        assert session.get(Finding, seeded["finding"]).status is FindingStatus.OPEN
    (event,) = _authz_fails(database)
    assert event["actor_id"] == viewer.user.id and event["actor"] == viewer.user.username
    assert event["object_id"] == str(exception_id)
    assert event["after"]["route"] == "/exceptions/<int:exception_id>/approve"


def test_checklist_19_requester_cannot_approve_own_exception(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    analyst = logged_in(Role.ANALYST, projects=[seeded["project"]])
    exception_id = _pending(database, analyst, seeded)
    assert (
        analyst.post(f"/exceptions/{exception_id}/approve", data={"csrf_token": analyst.csrf()}).status_code
        == 403
    )
    # Even a requester who is an approver may not decide their own request (segregation of duties).
    approver = logged_in(Role.APPROVER)
    own = _pending(database, approver, {**seeded, "finding": _second_finding(database, seeded)})
    response = approver.post(
        f"/exceptions/{own}/approve", data={"csrf_token": approver.csrf(), "comment": "mine"}
    )
    assert response.status_code == 403
    assert _state(database, own) is ExceptionState.PENDING
    assert [e["actor_id"] for e in _authz_fails(database)] == [analyst.user.id, approver.user.id]
    page = approver.get(f"/exceptions/{own}").get_data(as_text=True)
    assert "nobody decides their own request" in page and ">Approve<" not in page


def _second_finding(database: Database, seeded: dict[str, int]) -> int:
    with database.transaction() as session:
        from app.models import Project

        return finding(
            session, session.get(Project, seeded["project"]), rule="B105", path="shop/settings.py"
        ).id


def test_checklist_21_get_on_approve_is_405(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    exception_id = _pending(database, logged_in(Role.ANALYST, projects=[seeded["project"]]), seeded)
    approver = logged_in(Role.APPROVER)
    for action in ("approve", "reject", "revoke", "renew"):
        assert approver.get(f"/exceptions/{exception_id}/{action}").status_code == 405
    assert _state(database, exception_id) is ExceptionState.PENDING


def test_request_approve_revoke_through_the_pages(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    analyst = logged_in(Role.ANALYST, projects=[seeded["project"]])
    form = analyst.get(f"/exceptions/new?finding_id={seeded['finding']}")
    assert form.status_code == 200 and "This finding: #" in form.get_data(as_text=True)
    assert "This finding: #" in analyst.get(f"/exceptions/new?finding={seeded['finding']}").get_data(
        as_text=True
    )
    exception_id = _pending(database, analyst, seeded)
    approver = logged_in(Role.APPROVER)
    response = approver.post(
        f"/exceptions/{exception_id}/approve", data={"csrf_token": approver.csrf(), "comment": "WAF verified"}
    )
    assert response.status_code == 303
    assert _state(database, exception_id) is ExceptionState.ACTIVE
    detail = approver.get(f"/exceptions/{exception_id}").get_data(as_text=True)
    assert "exception_approve" in detail and "WAF verified" in detail
    response = approver.post(
        f"/exceptions/{exception_id}/revoke", data={"csrf_token": approver.csrf(), "reason": "WAF removed"}
    )
    assert response.status_code == 303 and _state(database, exception_id) is ExceptionState.REVOKED
    with database.reader() as session:
        assert session.get(Finding, seeded["finding"]).status is FindingStatus.OPEN


def test_reject_without_comment_is_400_and_keeps_pending(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    exception_id = _pending(database, logged_in(Role.ANALYST, projects=[seeded["project"]]), seeded)
    approver = logged_in(Role.APPROVER)
    response = approver.post(
        f"/exceptions/{exception_id}/reject", data={"csrf_token": approver.csrf(), "comment": ""}
    )
    assert response.status_code == 400 and "comment explaining the rejection" in response.get_data(
        as_text=True
    )
    assert _state(database, exception_id) is ExceptionState.PENDING


def test_approval_needs_a_fresh_sign_in(
    database: Database, logged_in: Login, seeded: dict[str, int], frozen_clock: Any
) -> None:
    exception_id = _pending(database, logged_in(Role.ANALYST, projects=[seeded["project"]]), seeded)
    approver = logged_in(Role.APPROVER)
    token = approver.csrf()
    frozen_clock.travel(timedelta(minutes=16))
    response = approver.post(f"/exceptions/{exception_id}/approve", data={"csrf_token": token})
    assert response.status_code == 302 and "/reauth" in response.headers["Location"]
    assert _state(database, exception_id) is ExceptionState.PENDING


def test_bad_request_form_is_400_with_reason_and_keeps_input(
    logged_in: Login, seeded: dict[str, int]
) -> None:
    analyst = logged_in(Role.ANALYST, projects=[seeded["project"]])
    response = _request(analyst, seeded, justification="", mitigation="kept <b>text</b>")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "a justification is required" in body
    assert "kept &lt;b&gt;text&lt;/b&gt;" in body
    too_long = _request(analyst, seeded, expires_at=(utcnow() + timedelta(days=200)).date().isoformat())
    assert too_long.status_code == 400 and "at most 90 days" in too_long.get_data(as_text=True)
    assert _request(analyst, seeded, expires_at="31/12/2026").status_code == 400
    assert _request(analyst, seeded, scope="everything").status_code == 400


def test_list_fragment_preview_and_review_queue(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    analyst = logged_in(Role.ANALYST, projects=[seeded["project"]])
    _pending(database, analyst, seeded)
    full = analyst.get("/exceptions")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    fragment = analyst.get("/exceptions?state=pending", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "pending" in text and "HX-Request" in fragment.headers["Vary"]
    preview = analyst.get(
        f"/exceptions/preview?scope=advisory&advisory_id=CVE-2024-1111&project_id={seeded['project']}",
        headers={"HX-Request": "true"},
    )
    assert "1</strong> finding(s) would be accepted" in preview.get_data(as_text=True)
    bad_preview = analyst.get(
        "/exceptions/preview?scope=rule&rule_id=&project_id=1", headers={"HX-Request": "true"}
    )
    assert bad_preview.status_code == 200 and "rule id" in bad_preview.get_data(as_text=True)
    assert analyst.get("/exceptions/review").status_code == 200


def test_export_download_import_and_api(
    database: Database, logged_in: Login, make_api_key: Callable[..., str], seeded: dict[str, int]
) -> None:
    exception_id = _pending(database, logged_in(Role.ANALYST, projects=[seeded["project"]]), seeded)
    approver = logged_in(Role.APPROVER)
    approver.post(f"/exceptions/{exception_id}/approve", data={"csrf_token": approver.csrf()})
    download = approver.get(f"/exceptions/projects/{seeded['project']}/export?format=osv-scanner")
    assert download.headers["Content-Disposition"] == 'attachment; filename="osv-scanner.toml"'
    assert 'id = "CVE-2024-1111"' in download.get_data(as_text=True)
    assert approver.get(f"/exceptions/projects/{seeded['project']}/export?format=exe").status_code == 400

    imported = approver.post(
        f"/exceptions/projects/{seeded['project']}/import",
        data={
            "csrf_token": approver.csrf(),
            "format": "ignore-list",
            "owner": "bob",
            "text": "GHSA-aaaa-bbbb-cccc\n",
        },
    )
    assert imported.status_code == 303
    broken = approver.post(
        f"/exceptions/projects/{seeded['project']}/import",
        data={"csrf_token": approver.csrf(), "format": "osv-scanner", "owner": "bob", "text": "[[Ignored"},
    )
    assert broken.status_code == 400 and "not a valid TOML" in broken.get_data(as_text=True)

    key = make_api_key(["read"])
    listed = approver.application.test_client().get(
        "/api/v1/exceptions?state=active",
        headers={"Authorization": f"Bearer {key}"},
        base_url="https://localhost",
    )
    assert listed.status_code == 200
    assert [e["id"] for e in listed.get_json()["exceptions"]] == [exception_id]
    exported = approver.application.test_client().get(
        f"/api/v1/projects/{seeded['project']}/exceptions/export?format=pip-audit",
        headers={"Authorization": f"Bearer {key}"},
        base_url="https://localhost",
    )
    assert exported.get_data(as_text=True) == "--ignore-vuln CVE-2024-1111"


def test_inline_suppressions_page_and_admin_setting(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    analyst = logged_in(Role.ANALYST, projects=[seeded["project"]])
    page = analyst.get(f"/exceptions/projects/{seeded['project']}/inline")
    assert page.status_code == 200 and "Inline suppressions" in page.get_data(as_text=True)
    url = f"/exceptions/projects/{seeded['project']}/inline"
    assert (
        analyst.post(url, data={"csrf_token": analyst.csrf(), "ignore_inline_suppressions": "1"}).status_code
        == 403
    )
    admin = logged_in(Role.ADMIN)
    assert (
        admin.post(url, data={"csrf_token": admin.csrf(), "ignore_inline_suppressions": "1"}).status_code
        == 303
    )
    from app.models import Project

    with database.reader() as session:
        assert session.get(Project, seeded["project"]).ignore_inline_suppressions is True


def test_analyst_cannot_see_other_projects_exceptions(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    exception_id = _pending(database, logged_in(Role.APPROVER), seeded)
    outsider = logged_in(Role.ANALYST, projects=["elsewhere"])
    assert outsider.get(f"/exceptions/{exception_id}").status_code == 404
    assert f"#{exception_id}<" not in outsider.get("/exceptions").get_data(as_text=True)
    assert outsider.get(f"/exceptions/new?finding_id={seeded['finding']}").status_code == 404


def test_renewal_and_notifications_through_the_pages(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    analyst = logged_in(Role.ANALYST, projects=[seeded["project"]])
    exception_id = _pending(database, analyst, seeded)
    approver = logged_in(Role.APPROVER)
    approver.post(f"/exceptions/{exception_id}/approve", data={"csrf_token": approver.csrf()})
    expires = (utcnow() + timedelta(days=40)).date().isoformat()
    renewal = analyst.post(
        f"/exceptions/{exception_id}/renew",
        data={"csrf_token": analyst.csrf(), "expires_at": expires, "justification": "Patch slipped."},
    )
    assert renewal.status_code == 303
    new_id = int(renewal.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert _state(database, new_id) is ExceptionState.PENDING
    again = analyst.post(
        f"/exceptions/{exception_id}/renew",
        data={"csrf_token": analyst.csrf(), "expires_at": expires, "justification": "Again."},
    )
    assert again.status_code == 400 and "pending renewal" in again.get_data(as_text=True)

    from app.services import exception_review, notifications

    owner = logged_in(Role.VIEWER, projects=[seeded["project"]], username="alice")
    with database.transaction() as session:
        exception_review.send_reminders(session, notifications.Notifier(), days=30)
    listing = owner.get("/exceptions/notifications")
    assert listing.status_code == 200 and f"Accepted risk #{exception_id} expires on" in listing.get_data(
        as_text=True
    )
    with database.reader() as session:
        from app.models import Notification

        note_id = session.scalars(select(Notification.id).where(Notification.user_id == owner.user.id)).one()
    read = owner.post(f"/exceptions/notifications/{note_id}/read", data={"csrf_token": owner.csrf()})
    assert read.status_code == 303
    assert (
        analyst.post(
            f"/exceptions/notifications/{note_id}/read", data={"csrf_token": analyst.csrf()}
        ).status_code
        == 404
    )


def test_hostile_text_is_rendered_escaped(
    database: Database, logged_in: Login, seeded: dict[str, int]
) -> None:
    analyst = logged_in(Role.ANALYST, projects=[seeded["project"]])
    hostile = '<img src=x onerror=alert(1)> <a hx-get="/admin">x</a>'
    assert _request(analyst, seeded, justification=hostile, owner=hostile).status_code == 303
    with database.reader() as session:
        exception_id = session.scalars(select(RiskException.id)).one()
    for url, headers in (
        (f"/exceptions/{exception_id}", {}),
        (f"/exceptions/{exception_id}", {"HX-Request": "true"}),
        ("/exceptions", {}),
    ):
        body = analyst.get(url, headers=headers).get_data(as_text=True)
        assert "<img src=x" not in body and 'hx-get="/admin"' not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body
