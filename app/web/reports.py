"""Reports page: the compliance report on screen, exports to download, stored monthly reports."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request

from app.reports import EXPORTERS
from app.reports.rendering import report_context
from app.services import projects as project_service
from app.services import reports as report_service
from app.services import scheduled_reports
from app.services.permissions import NotFound
from app.web.access import current_actor, policy
from app.web.database import db_session

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _params() -> tuple[list[str], date | None, int]:
    source = request.form if request.method == "POST" else request.args
    projects = [p for p in source.getlist("project") if p]
    raw_date = source.get("as_of", "").strip()
    try:
        as_of = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise report_service.ReportError("as_of must be a date (YYYY-MM-DD)") from None
    try:
        period = int(source.get("period_days", "30") or 30)
    except ValueError:
        raise report_service.ReportError("period_days must be a whole number of days") from None
    return projects, as_of, period


def download(filename: str, media_type: str, content: bytes, sha256: str) -> Response:
    """A download whose file name the server chooses (never taken from user input)."""
    response = Response(content, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Vigil-SHA256"] = sha256
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
@policy("report.export")
def index() -> str:
    session, actor = db_session(), current_actor()
    error = None
    data_context = None
    try:
        projects, as_of, period = _params()
        if request.args.get("view"):
            data = report_service.compliance_data(
                session, actor, projects or None, as_of=as_of, period_days=period
            )
            data_context = report_context(data)
    except report_service.ReportError as exc:
        error = str(exc)
        projects, as_of, period = [], None, 30
    return render_template(
        "reports/page.html",
        projects=project_service.list_projects(session, actor),
        selected=set(projects),
        as_of=as_of.isoformat() if as_of else "",
        period_days=period,
        formats=list(EXPORTERS),
        stored=scheduled_reports.list_stored(session, actor),
        report=data_context,
        error=error,
    )


@bp.post("/export")
@policy("report.export")
def export() -> Response:
    projects, as_of, period = _params()
    fmt = request.form.get("format", "pdf")
    result = report_service.export(
        db_session(), current_actor(), fmt, projects or None, as_of=as_of, period_days=period
    )
    return download(result.filename, result.media_type, result.content, result.sha256)


@bp.get("/stored/<int:report_id>")
@policy("report.export")
def stored(report_id: int) -> Response:
    report = scheduled_reports.get_stored(db_session(), current_actor(), report_id)
    if report is None:
        raise NotFound()
    return download(report.filename, report.media_type, report.content, report.sha256)
