"""``GET /api/v1/reports/<format>``: a compliance export for CI archives (API key, ``read`` scope)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, request

from app.services import reports as report_service
from app.web.access import api_policy, current_actor
from app.web.api import API_PREFIX
from app.web.database import db_session
from app.web.errors import error_response
from app.web.reports import download

bp = Blueprint("api_reports", __name__, url_prefix=API_PREFIX)


@bp.get("/reports/<fmt>")
@api_policy("report.export")
def export(fmt: str) -> Response:
    try:
        raw = request.args.get("as_of", "")
        as_of = date.fromisoformat(raw) if raw else None
        period = int(request.args.get("period_days", "30"))
    except ValueError:
        return error_response(400, "Bad Request", "as_of must be YYYY-MM-DD and period_days a whole number")
    try:
        result = report_service.export(
            db_session(),
            current_actor(),
            fmt,
            request.args.getlist("project") or None,
            as_of=as_of,
            period_days=period,
        )
    except report_service.ReportError as exc:
        return error_response(400, "Bad Request", str(exc))
    return download(result.filename, result.media_type, result.content, result.sha256)
