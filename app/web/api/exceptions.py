"""JSON API for accepted risks: read the record and export ignore files from CI (API key with ``read``).

Decisions stay in the browser (four eyes, fresh sign-in); no API key scope grants them.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, make_response, request

from app.models import ExceptionState
from app.services import exception_queries as queries
from app.services import exceptions_as_code as as_code
from app.services.exception_policy import ExceptionInputError
from app.web.access import api_policy, current_actor
from app.web.api import API_PREFIX
from app.web.database import db_session
from app.web.errors import error_response

bp = Blueprint("api_exceptions", __name__, url_prefix=API_PREFIX)


@bp.get("/exceptions")
@api_policy("exception.view")
def list_exceptions() -> Response:
    raw_state = request.args.get("state")
    if raw_state and raw_state not in {s.value for s in ExceptionState}:
        return error_response(400, "Bad Request", "unknown state")
    project_id = request.args.get("project_id", type=int)
    rows = queries.list_exceptions(
        db_session(),
        current_actor(),
        state=ExceptionState(raw_state) if raw_state else None,
        project_id=project_id,
    )
    return jsonify(exceptions=[queries.summary(r) for r in rows])


@bp.get("/exceptions/<int:exception_id>")
@api_policy("exception.view")
def get_exception(exception_id: int) -> Response:
    return jsonify(queries.summary(queries.get_exception(db_session(), current_actor(), exception_id)))


@bp.get("/projects/<int:project_id>/exceptions/export")
@api_policy("exception.view")
def export(project_id: int) -> Response:
    fmt = request.args.get("format", "json")
    try:
        body = as_code.export(db_session(), current_actor(), project_id, fmt)
    except ExceptionInputError as exc:
        return error_response(400, "Bad Request", str(exc))
    response = make_response(body)
    response.mimetype = {"json": "application/json", "osv-scanner": "application/toml"}.get(fmt, "text/plain")
    return response
