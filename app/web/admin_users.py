"""Administration of users: create (one-time password), role, enable/disable, projects, sessions.

Role changes, new users and password resets need a fresh sign-in; every change ends up in the
audit log through the users service. A one-time password is shown in the response that created it
and nowhere else.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from app.models import Role
from app.security.passwords import WeakPassword, generate_password
from app.services import projects as project_service
from app.services import sessions as session_service
from app.services import users as user_service
from app.services.users import UserError
from app.web.access import current_actor, fresh_auth_required, policy
from app.web.database import db_session
from app.web.render import page

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLES = [r.value for r in Role]


def _list_page(status: int = 200, error: str | None = None, created: Any = None) -> Response:
    session = db_session()
    actor = current_actor()
    return page(
        "admin/users.html",
        "admin/_users_table.html",
        status,
        users=user_service.list_users(session),
        roles=ROLES,
        error=error,
        created=created,
        form=request.form,
        actor_id=actor.id,
    )


@bp.get("/users")
@policy("user.manage")
def users() -> Response:
    return _list_page()


@bp.post("/users")
@policy("user.manage")
@fresh_auth_required
def create_user() -> Response:
    form = request.form
    password = generate_password()
    try:
        user = user_service.create_user(
            db_session(),
            current_actor(),
            username=form.get("username", ""),
            password=password,
            role=user_service.parse_role(form.get("role", "viewer")),
            display_name=form.get("display_name", "").strip()[:255],
            email=form.get("email", "").strip()[:255] or None,
            must_change_password=True,
        )
    except (UserError, WeakPassword) as exc:
        return _list_page(400, str(exc))
    return _list_page(201, created={"username": user.username, "password": password})


def _detail_page(user_id: int, status: int = 200, error: str | None = None, **extra: Any) -> Response:
    session = db_session()
    actor = current_actor()
    user = user_service.get_user(session, actor, user_id)
    return page(
        "admin/user.html",
        "admin/_user_detail.html",
        status,
        user=user,
        roles=ROLES,
        projects=project_service.list_projects(session, actor),
        member_of=set(user_service.memberships(session, user.id)),
        error=error,
        actor_id=actor.id,
        **extra,
    )


@bp.get("/users/<int:user_id>")
@policy("user.manage")
def user_detail(user_id: int) -> Response:
    return _detail_page(user_id)


def _back(user_id: int, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/role")
@policy("user.manage")
@fresh_auth_required
def change_role(user_id: int) -> Response:
    try:
        role = user_service.parse_role(request.form.get("role", ""))
        user = user_service.set_role(db_session(), current_actor(), user_id, role)
    except UserError as exc:
        return _detail_page(user_id, 400, str(exc))
    return _back(user_id, f"{user.username} is now {role.value}; their sessions were ended.")


@bp.post("/users/<int:user_id>/active")
@policy("user.manage")
def change_active(user_id: int) -> Response:
    active = request.form.get("active") == "1"
    try:
        user = user_service.set_active(db_session(), current_actor(), user_id, active)
    except UserError as exc:
        return _detail_page(user_id, 400, str(exc))
    return _back(user_id, f"{user.username} is {'enabled' if active else 'disabled'}.")


@bp.post("/users/<int:user_id>/projects")
@policy("user.manage")
def change_projects(user_id: int) -> Response:
    raw = request.form.getlist("project_id")
    if any(not value.isdigit() for value in raw):
        return _detail_page(user_id, 400, "project ids must be numbers")
    try:
        user = user_service.set_projects(db_session(), current_actor(), user_id, [int(v) for v in raw])
    except UserError as exc:
        return _detail_page(user_id, 400, str(exc))
    return _back(user_id, f"Projects of {user.username} updated.")


@bp.post("/users/<int:user_id>/sessions/terminate")
@policy("user.manage")
def terminate_sessions(user_id: int) -> Response:
    count = session_service.terminate_user_sessions(db_session(), current_actor(), user_id)
    return _back(user_id, f"{count} session(s) ended.")


@bp.post("/users/<int:user_id>/password-reset")
@policy("user.manage")
@fresh_auth_required
def reset_password(user_id: int) -> Response:
    try:
        password = user_service.reset_password(db_session(), current_actor(), user_id)
    except UserError as exc:
        return _detail_page(user_id, 400, str(exc))
    return _detail_page(user_id, one_time_password=password)
