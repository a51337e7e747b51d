"""Checklist items 16, 17, 19 (permission table) and 21: access control through real requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import IntegerConverter, Rule

from app.db import Database
from app.models import AuditEvent, Role, User
from app.services.actor import Actor
from app.services.permissions import ROLE_PERMISSIONS, can
from app.web.access import route_policy
from tests.auth_fixtures import get_csrf

ROLES = [Role.ADMIN, Role.APPROVER, Role.ANALYST, Role.VIEWER]
SWEPT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _url(rule: Rule) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 999999 if isinstance(converter, IntegerConverter) else "nonexistent"
    built = rule.build(values, append_unknown=False)
    assert built is not None
    return built[1]


def _call(client: FlaskClient, method: str, url: str, token: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token})


def _is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_checklist_16_every_route_has_a_policy_and_is_enforced_per_role(
    app: Flask, client: FlaskClient, logged_in: Callable[..., FlaskClient]
) -> None:
    rules = [r for r in app.url_map.iter_rules()]
    missing = [r.endpoint for r in rules if route_policy(app, r.endpoint)[0] == "missing"]
    assert missing == [], f"routes without a registered policy: {missing}"

    anonymous_token = get_csrf(client)
    clients = {role: logged_in(role) for role in ROLES}
    tokens = {role: c.csrf() for role, c in clients.items()}  # type: ignore[attr-defined]
    checked = 0
    for rule in rules:
        kind, permission = route_policy(app, rule.endpoint)
        if kind == "public":
            continue
        url = _url(rule)
        for method in sorted(set(rule.methods or ()) & set(SWEPT_METHODS)):
            anon = _call(client, method, url, anonymous_token)
            if kind == "api":
                assert anon.status_code == 401, (method, url, anon.status_code)
            else:
                assert _is_login_redirect(anon), (method, url, anon.status_code)
            for role, role_client in clients.items():
                response = _call(role_client, method, url, tokens[role])
                where = (role.value, method, url, response.status_code)
                assert response.status_code < 500, where
                if kind == "api":
                    # A signed-in browser session is not an API credential (item 23).
                    assert response.status_code == 401, where
                elif permission in ROLE_PERMISSIONS[role]:
                    assert response.status_code != 403 and not _is_login_redirect(response), where
                else:
                    assert response.status_code == 403, where
                    assert "Traceback" not in response.get_data(as_text=True)
                checked += 1
    assert checked > 50  # the sweep really covered the site


def test_checklist_16_user_without_projects_sees_403_and_no_data(
    logged_in: Callable[..., FlaskClient], make_user: Callable[..., Any]
) -> None:
    other = make_user(Role.ADMIN, username="hidden-admin")
    viewer = logged_in(Role.VIEWER)
    for path in ("/admin/users", "/admin/apikeys", "/admin/audit", f"/admin/users/{other.id}"):
        response = viewer.get(path)
        assert response.status_code == 403, path
        assert "hidden-admin" not in response.get_data(as_text=True)


def test_checklist_17_viewer_forbidden_action_is_403_unchanged_and_audited(
    logged_in: Callable[..., FlaskClient], make_user: Callable[..., Any], database: Database
) -> None:
    target = make_user(Role.ANALYST)
    viewer = logged_in(Role.VIEWER)
    response = viewer.post(
        f"/admin/users/{target.id}/role",
        data={"role": "admin", "csrf_token": viewer.csrf()},  # type: ignore[attr-defined]
    )
    assert response.status_code == 403
    with database.reader() as db:
        user = db.get(User, target.id)
        assert user is not None and user.role is Role.ANALYST
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "authz_fail")).one()
        db.expunge(event)
    assert event.actor == viewer.user.username and event.actor_id == viewer.user.id  # type: ignore[attr-defined]
    assert event.object_id == str(target.id)
    assert event.after is not None and event.after["route"] == "/admin/users/<int:user_id>/role"
    assert event.after["permission"] == "user.manage" and event.ip == "127.0.0.1"


def test_checklist_19_permission_table_keeps_decisions_with_approvers() -> None:
    def actor(role: Role) -> Actor:
        from app.models.base import ActorType

        return Actor(type=ActorType.USER, id=1, label="x", role=role)

    assert not can(actor(Role.ANALYST), "exception.decide")
    assert not can(actor(Role.VIEWER), "exception.request")
    assert can(actor(Role.ANALYST), "exception.request")
    assert can(actor(Role.APPROVER), "exception.decide")
    assert not can(actor(Role.APPROVER), "user.manage")
    # Deny by default: no role means no permission at all.
    from app.models.base import ActorType

    assert not can(Actor(type=ActorType.USER, id=None, label="anonymous"), "dashboard.view")


def test_checklist_21_state_changing_routes_refuse_get(
    app: Flask, logged_in: Callable[..., FlaskClient]
) -> None:
    admin = logged_in(Role.ADMIN)
    for path in (
        "/logout",
        "/admin/users/1/role",
        "/admin/users/1/sessions/terminate",
        "/admin/apikeys/1/revoke",
        "/account/totp/start",
        "/account/sessions/1/end",
    ):
        assert admin.get(path).status_code == 405, path
    readable = {r.rule for r in app.url_map.iter_rules() if r.methods and "GET" in r.methods}
    post_only = [
        r.rule
        for r in app.url_map.iter_rules()
        if r.methods and "POST" in r.methods and r.rule not in readable and not r.rule.startswith("/api/")
    ]
    assert len(post_only) >= 6
    for rule in post_only:
        url = _url(next(r for r in app.url_map.iter_rules() if r.rule == rule))
        assert admin.get(url).status_code == 405, rule
