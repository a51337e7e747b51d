"""Findings browser: the filtered list (full page or htmx fragment), detail, triage, PATCH.

Views only parse and call one service. A finding outside the actor's projects raises ``NotFound``
in the service, which the access layer turns into the same 404 as a missing id.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response

from app.models import Category, FindingStatus, Severity
from app.services import findings as finding_service
from app.services.finding_detail import finding_detail
from app.services.finding_filters import SORTS, FilterError, parse_filter, parse_page_size
from app.web.access import current_actor, policy
from app.web.database import db_session
from app.web.errors import error_response, wants_json
from app.web.render import page

bp = Blueprint("findings", __name__, url_prefix="/findings")


@bp.errorhandler(FilterError)
@bp.errorhandler(finding_service.TriageError)
def _bad_request(exc: Exception) -> Response:
    if request.is_json:  # a JSON PATCH gets a JSON answer whatever its Accept header says
        response = jsonify(error="Bad Request", detail=str(exc), request_id=g.get("request_id"))
        response.status_code = 400
        return response
    return error_response(400, "Bad Request", str(exc))


def _list_context(args: Any) -> dict[str, Any]:
    flt = parse_filter(args.to_dict(flat=False))
    per_page = parse_page_size(args.get("per_page"))
    result = finding_service.list_findings(
        db_session(), current_actor(), flt, cursor=args.get("cursor") or None, limit=per_page
    )
    return {
        "flt": flt,
        "result": result,
        "per_page": per_page,
        "sorts": SORTS,
        "severities": [s.value for s in Severity],
        "categories": [c.value for c in Category],
        "statuses": [s.value for s in FindingStatus],
    }


@bp.get("")
@policy("finding.view")
def index() -> Response:
    return page("findings/page.html", "findings/_fragment.html", **_list_context(request.args))


@bp.get("/<int:finding_id>")
@policy("finding.view")
def detail(finding_id: int) -> Response:
    data = finding_detail(db_session(), current_actor(), finding_id)
    return page("findings/detail.html", "findings/_detail.html", d=data)


@bp.post("/triage")
@policy("finding.triage")
def bulk_triage() -> Response:
    ids: list[int] = []
    for raw in request.form.getlist("finding"):
        if not raw.isdigit():
            raise finding_service.TriageError("finding ids must be numbers")
        ids.append(int(raw))
    result = finding_service.triage(
        db_session(), current_actor(), ids, request.form.get("status"), request.form.get("reason")
    )
    message = f"{len(result.changed)} finding(s) changed"
    if result.unchanged:
        message += f", {len(result.unchanged)} left as they were (already there, fixed or accepted)"
    flash(message, "info")
    # Back to the same filtered list (or the detail page): always a path of ours, never a URL.
    back = request.form.get("back", "").replace("\r", "").replace("\n", "")
    if len(ids) == 1 and request.form.get("from") == "detail":
        return redirect(url_for("findings.detail", finding_id=ids[0]))
    return redirect(url_for("findings.index") + (f"?{back}" if back else ""))


@bp.patch("/<int:finding_id>")
@policy("finding.triage")
def patch(finding_id: int) -> Response:
    payload = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if payload is None:
        raise finding_service.TriageError("the body must be a JSON object")
    finding = finding_service.update_finding(db_session(), current_actor(), finding_id, payload)
    if wants_json() or request.is_json:
        return jsonify(id=finding.id, status=finding.status.value)
    data = finding_detail(db_session(), current_actor(), finding_id)
    return page("findings/detail.html", "findings/_detail.html", d=data)


@bp.delete("/<int:finding_id>")
@policy("finding.triage")
def delete(finding_id: int) -> Response:
    try:
        finding_service.refuse_delete(db_session(), current_actor(), finding_id)
    except finding_service.TriageError as exc:
        response = error_response(405, "Method Not Allowed", str(exc))
        response.headers["Allow"] = "GET, PATCH"
        return response
    raise AssertionError("unreachable: refuse_delete always raises")
