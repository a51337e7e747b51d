"""Administration of API keys: create (the secret is shown once), list, revoke.

Creating a key needs a fresh sign-in: a key outlives the session that made it, so a hijacked idle
session must not be able to mint one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from app.services import api_keys as key_service
from app.services import projects as project_service
from app.services.api_keys import ApiKeyError
from app.web.access import current_actor, fresh_auth_required, policy
from app.web.database import db_session
from app.web.render import page

bp = Blueprint("apikeys", __name__, url_prefix="/admin/apikeys")


def _page(status: int = 200, error: str | None = None, created: Any = None) -> Response:
    session = db_session()
    actor = current_actor()
    keys = key_service.list_keys(session, actor)
    projects = project_service.list_projects(session, actor)
    return page(
        "admin/apikeys.html",
        "admin/_apikeys_table.html",
        status,
        keys=keys,
        status_of=key_service.status_of,
        project_names={p.id: p.name for p in projects},
        projects=projects,
        scopes=key_service.SCOPES,
        error=error,
        created=created,
        form=request.form,
    )


@bp.get("")
@policy("apikey.manage")
def index() -> Response:
    return _page()


@bp.post("")
@policy("apikey.manage")
@fresh_auth_required
def create() -> Response:
    form = request.form
    raw_days = form.get("expires_days", "90").strip()
    try:
        if raw_days and not raw_days.isdigit():
            raise ApiKeyError("expiry must be a number of days")
        created = key_service.create(
            db_session(),
            current_actor(),
            name=form.get("name", ""),
            scopes=form.getlist("scope"),
            projects=form.getlist("project_id"),
            expires_days=int(raw_days) if raw_days else None,
            description=form.get("description", ""),
        )
    except ApiKeyError as exc:
        return _page(400, str(exc))
    return _page(201, created={"name": created.key.name, "secret": created.secret})


@bp.post("/<int:key_id>/revoke")
@policy("apikey.manage")
def revoke(key_id: int) -> Response:
    try:
        key = key_service.revoke(db_session(), current_actor(), key_id)
    except ApiKeyError as exc:
        return _page(404, str(exc))
    flash(f"API key {key.name} revoked.", "success")
    return redirect(url_for("apikeys.index"))
