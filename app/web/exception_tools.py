"""Per-project accepted-risk tools: ignore-file export and import, inline suppressions, notifications.

Exports are downloads with a server-chosen file name; imports create pending requests only.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.services import exceptions_as_code as as_code
from app.services import inline_suppressions as inline
from app.services import notifications
from app.services.exception_policy import ExceptionInputError, ExpiryPolicy
from app.services.projects import get_project
from app.web.access import current_actor, policy
from app.web.database import db_session
from app.web.errors import error_response
from app.web.render import page

bp = Blueprint("exception_tools", __name__, url_prefix="/exceptions")

DOWNLOADS = {
    "pip-audit": ("pip-audit-ignores.txt", "text/plain; charset=utf-8"),
    "osv-scanner": ("osv-scanner.toml", "application/toml; charset=utf-8"),
    "json": ("vigil-exceptions.json", "application/json"),
}


@bp.get("/projects/<int:project_id>/export")
@policy("exception.view")
def export(project_id: int) -> Response:
    fmt = request.args.get("format", "osv-scanner")
    if fmt not in DOWNLOADS:
        return error_response(400, "Bad Request", "format must be pip-audit, osv-scanner or json")
    body = as_code.export(db_session(), current_actor(), project_id, fmt)
    filename, mimetype = DOWNLOADS[fmt]
    response = make_response(body + ("\n" if fmt == "pip-audit" else ""))
    response.mimetype = mimetype.split(";")[0]
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _import_page(project_id: int, status: int = 200, error: str | None = None) -> Response:
    project = get_project(db_session(), current_actor(), project_id)
    html = render_template("exceptions/import.html", project=project, error=error, form=request.form)
    return make_response(html, status)


@bp.get("/projects/<int:project_id>/import")
@policy("exception.request")
def import_form(project_id: int) -> Response:
    return _import_page(project_id)


@bp.post("/projects/<int:project_id>/import")
@policy("exception.request")
def import_file(project_id: int) -> Response:
    upload = request.files.get("file")
    text = request.form.get("text", "")
    try:
        if upload is not None and upload.filename:
            raw = upload.read(as_code.MAX_IMPORT_BYTES + 1)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ExceptionInputError("the ignore file must be UTF-8 text") from None
        rows = as_code.import_ignores(
            db_session(),
            current_actor(),
            project_id,
            text,
            fmt=request.form.get("format", "osv-scanner"),
            owner=request.form.get("owner", ""),
            policy=ExpiryPolicy.from_settings(current_app.config["VIGIL"]),
        )
    except ExceptionInputError as exc:
        return _import_page(project_id, 400, str(exc))
    flash(f"Imported {len(rows)} pending exception request(s); each needs an approval.")
    return redirect(url_for("exceptions.index", state="pending"), code=303)


@bp.get("/projects/<int:project_id>/inline")
@policy("project.view")
def inline_page(project_id: int) -> Response:
    summary = inline.project_summary(db_session(), current_actor(), project_id)
    peak = max((count for _day, count in summary.trend), default=0)
    return page("exceptions/inline.html", "exceptions/_inline.html", summary=summary, peak=peak)


@bp.post("/projects/<int:project_id>/inline")
@policy("project.manage")
def inline_setting(project_id: int) -> Response:
    ignore = request.form.get("ignore_inline_suppressions") == "1"
    inline.set_ignore_inline(db_session(), current_actor(), project_id, ignore)
    flash(
        "Inline suppressions are now "
        + ("ignored by the scanners." if ignore else "honoured by the scanners.")
    )
    return redirect(url_for("exception_tools.inline_page", project_id=project_id), code=303)


@bp.get("/notifications")
@policy("dashboard.view")
def notification_list() -> Response:
    rows = notifications.list_for(db_session(), current_actor())
    return page("exceptions/notifications.html", "exceptions/_notifications.html", rows=rows)


@bp.post("/notifications/<int:notification_id>/read")
@policy("dashboard.view")
def notification_read(notification_id: int) -> Response:
    notifications.mark_read(db_session(), current_actor(), notification_id)
    return redirect(url_for("exception_tools.notification_list"), code=303)
