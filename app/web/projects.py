"""Project pages: the list with each scanner's last run, and one project's overview."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.errors import VigilError
from app.reports.charts import Series, line_chart
from app.services import project_overview
from app.web.access import current_actor, fresh_auth_required, policy
from app.web.database import db_session
from app.web.errors import error_response
from app.web.render import page
from app.web.scans import queue_scan

bp = Blueprint("projects", __name__, url_prefix="/projects")


@bp.errorhandler(VigilError)
def _bad_request(exc: VigilError) -> Response:
    return error_response(400, "Bad Request", str(exc))


@bp.get("")
@policy("project.view")
def index() -> Response:
    rows = project_overview.project_rows(db_session(), current_actor())
    return page("projects/page.html", "projects/_fragment.html", rows=rows)


@bp.get("/<int:project_id>")
@policy("project.view")
def detail(project_id: int) -> Response:
    data = project_overview.overview(db_session(), current_actor(), project_id)
    svg = Markup(  # noqa: S704 - every label and value is escaped by app.reports.charts
        line_chart(
            f"Open findings by severity, last {project_overview.PROJECT_TREND_DAYS} days",
            data.trend.labels,
            [Series(k, v) for k, v in data.trend.series.items()],
        )
    )
    project = data.project
    upcoming = project_overview.next_runs(project.schedule_cron, project.timezone)
    return page("projects/detail.html", "projects/_detail.html", o=data, svg=svg, upcoming=upcoming)


@bp.post("/<int:project_id>/schedule")
@policy("project.manage")
@fresh_auth_required
def schedule(project_id: int) -> Response:
    project_overview.update_schedule(
        db_session(),
        current_actor(),
        project_id,
        cron=request.form.get("cron", ""),
        timezone=request.form.get("timezone", ""),
        enabled=request.form.get("enabled") == "on",
    )
    flash("Schedule saved.", "info")
    return redirect(url_for("projects.detail", project_id=project_id))


@bp.post("/<int:project_id>/scan")
@policy("scan.trigger")
def scan_now(project_id: int) -> Response:
    queued = queue_scan(project_id)
    message = f"Queued {len(queued.run_ids)} scan run(s)."
    if queued.busy:
        message += f" Already running: {', '.join(queued.busy)}."
    flash(message, "info")
    if len(queued.run_ids) == 1:
        return redirect(url_for("scans.detail", run_id=queued.run_ids[0]))
    return redirect(url_for("scans.index", project=project_id))
