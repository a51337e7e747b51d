"""The portfolio dashboard at ``/``: one service call, a full page or the htmx fragment."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.reports.charts import Series, bar_chart, line_chart
from app.services import dashboard as dashboard_service
from app.web.access import current_actor, policy
from app.web.database import db_session
from app.web.errors import error_response
from app.web.render import page

bp = Blueprint("dashboard", __name__)


@bp.errorhandler(dashboard_service.DashboardError)
def _bad_parameter(exc: dashboard_service.DashboardError) -> Response:
    return error_response(400, "Bad Request", str(exc))


@bp.get("/")
@policy("dashboard.view")
def index() -> Response:
    window = dashboard_service.parse_window(request.args.get("days"))
    data = dashboard_service.portfolio(db_session(), current_actor(), window)
    # The SVG renderer escapes every label and value it writes, so its output is safe markup.
    svg = {
        "severity": line_chart(
            f"Open findings by severity, last {window} days",
            data.by_severity.labels,
            [Series(k, v) for k, v in data.by_severity.series.items()],
        ),
        "scanner": line_chart(
            f"Open findings by scanner, last {window} days",
            data.by_scanner.labels,
            [Series(k, v) for k, v in data.by_scanner.series.items()],
        ),
        "overdue": bar_chart("Open findings past their SLA", data.overdue),
    }
    svg = {k: Markup(v) for k, v in svg.items()}  # noqa: S704 - escaped by app.reports.charts
    return page("dashboard/page.html", "dashboard/_fragment.html", data=data, svg=svg)


@bp.get("/dashboard/health")
@policy("dashboard.view")
def health() -> Response:
    settings = current_app.config["VIGIL"]
    flags = dashboard_service.health_flags(
        db_session(), current_actor(), advisory_max_age_days=settings.advisory_max_age_days
    )
    return page("dashboard/health.html", "dashboard/_health_flags.html", flags=flags)
